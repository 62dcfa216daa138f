//! The roofline estimator: training FLOPs and time from model size and chip specs.
//!
//! A dense transformer of `P` parameters trained on `T` tokens costs about `6 x P x T` FLOPs
//! (2 for the forward pass, 4 for the backward pass, per parameter and token). On `n` chips of
//! peak `F` FLOP/s at the chosen precision, running at model FLOPs utilization `MFU`, it takes
//! `6 P T / (n x F x MFU)` seconds. The inputs are validated once, when the typed values are
//! built, so that every later computation is total.

use crate::input::{ChipCount, Mfu, ParamCount, TokenCount};
use serde::Serialize;
use spillway_model::{AcceleratorSpec, ChipHours, Precision};

/// Seconds in an hour.
const SECONDS_PER_HOUR: f64 = 3600.0;
/// Hours in a day.
const HOURS_PER_DAY: f64 = 24.0;

/// A number of floating-point operations.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Flops(pub f64);

/// Wall-clock time of a run, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct TrainingTime(f64);

impl TrainingTime {
    /// A duration of `seconds` seconds.
    pub fn from_seconds(seconds: f64) -> TrainingTime {
        TrainingTime(seconds)
    }

    /// The duration in seconds.
    pub fn seconds(self) -> f64 {
        self.0
    }

    /// The duration in hours.
    pub fn hours(self) -> f64 {
        self.0 / SECONDS_PER_HOUR
    }

    /// The duration in days of 24 hours.
    pub fn days(self) -> f64 {
        self.hours() / HOURS_PER_DAY
    }
}

/// Why a roofline time cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RooflineError {
    /// The chip's spec sheet gives no peak at this precision (V100 has no bf16).
    #[error(
        "estimate training time on {accelerator}: it has no {precision} support in the catalog; \
         choose another precision with --precision or another accelerator"
    )]
    UnsupportedPrecision {
        /// The accelerator's name.
        accelerator: String,
        /// The precision asked for, as the flag spells it.
        precision: PrecisionName,
    },
}

/// A precision as users type it (`bf16`, `fp8`), for messages and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PrecisionName(pub &'static str);

impl std::fmt::Display for PrecisionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl From<Precision> for PrecisionName {
    fn from(p: Precision) -> PrecisionName {
        PrecisionName(match p {
            Precision::Bf16 => "bf16",
            Precision::Fp8 => "fp8",
        })
    }
}

/// A training run to estimate: what is trained, on how much data, and how well the chips are
/// used. Built from validated inputs, so every field is in range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainingRun {
    /// Model parameters.
    pub params: ParamCount,
    /// Training tokens.
    pub tokens: TokenCount,
    /// Arithmetic precision of the matrix multiplications.
    pub precision: Precision,
    /// Fraction of peak FLOP/s the run achieves.
    pub mfu: Mfu,
}

impl TrainingRun {
    /// Training FLOPs: `6 x params x tokens`.
    pub fn flops(&self) -> Flops {
        Flops(6.0 * self.params.get() * self.tokens.get())
    }

    /// FLOP/s one chip of `spec` achieves on this run: peak at the run's precision x MFU.
    pub fn achieved_flops_per_chip(&self, spec: &AcceleratorSpec) -> Result<f64, RooflineError> {
        let peak_tflops = spec.peak_tflops(self.precision).ok_or_else(|| {
            RooflineError::UnsupportedPrecision {
                accelerator: spec.name.clone(),
                precision: self.precision.into(),
            }
        })?;
        Ok(peak_tflops * 1e12 * self.mfu.get())
    }

    /// Chip-hours of `spec` the run needs, whatever the number of chips (the roofline model
    /// assumes perfect scaling; MFU is where scaling losses belong).
    pub fn chip_hours(&self, spec: &AcceleratorSpec) -> Result<ChipHours, RooflineError> {
        let per_chip = self.achieved_flops_per_chip(spec)?;
        Ok(ChipHours(self.flops().0 / per_chip / SECONDS_PER_HOUR))
    }

    /// Training throughput on `chips` chips of `spec`, in tokens per second:
    /// `chips x peak x MFU / (6 x params)`. This is the roofline's stand-in for a measured
    /// throughput where a throughput matrix has no entry (the simulator's fallback).
    pub fn tokens_per_second(
        &self,
        spec: &AcceleratorSpec,
        chips: ChipCount,
    ) -> Result<f64, RooflineError> {
        let per_chip = self.achieved_flops_per_chip(spec)?;
        Ok(per_chip * f64::from(chips.get()) / (6.0 * self.params.get()))
    }

    /// Wall-clock time on `chips` chips of `spec`.
    pub fn time_on(
        &self,
        spec: &AcceleratorSpec,
        chips: ChipCount,
    ) -> Result<TrainingTime, RooflineError> {
        let per_chip = self.achieved_flops_per_chip(spec)?;
        let total = per_chip * f64::from(chips.get());
        Ok(TrainingTime(self.flops().0 / total))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use spillway_model::{AcceleratorFamily, ChipsNamedBy};

    /// An accelerator spec for tests, with the given memory and peaks.
    pub(crate) fn spec(
        name: &str,
        memory_gib: f64,
        bf16: Option<f64>,
        fp8: Option<f64>,
    ) -> AcceleratorSpec {
        AcceleratorSpec {
            name: name.to_string(),
            vendor: "test".to_string(),
            family: AcceleratorFamily::Gpu,
            memory_gib,
            memory_tb_s: 1.0,
            bf16_dense_tflops: bf16,
            fp8_dense_tflops: fp8,
            chips_named_by: ChipsNamedBy::Device,
        }
    }

    pub(crate) fn h100() -> AcceleratorSpec {
        spec("H100", 80.0, Some(989.0), Some(1979.0))
    }

    pub(crate) fn run_70b(precision: Precision) -> TrainingRun {
        TrainingRun {
            params: ParamCount::new(70e9).unwrap(),
            tokens: TokenCount::new(1.4e12).unwrap(),
            precision,
            mfu: Mfu::new(0.4).unwrap(),
        }
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        ((a - b) / b).abs() <= rel
    }

    #[test]
    fn flops_are_six_params_tokens() {
        // 6 x 70e9 x 1.4e12 = 588e21 = 5.88e23.
        let f = run_70b(Precision::Bf16).flops().0;
        assert!(close(f, 5.88e23, 1e-12), "{f}");
    }

    #[test]
    fn h100_bf16_chip_hours_match_hand_computation() {
        // 5.88e23 / (989e12 x 0.4) = 1.486349848e9 chip-seconds; / 3600 = 412,874.96
        // chip-hours. (A figure of "about 412,893" sometimes quoted is 0.004% high.)
        let ch = run_70b(Precision::Bf16).chip_hours(&h100()).unwrap().0;
        assert!(close(ch, 412_874.96, 1e-7), "{ch}");
    }

    #[test]
    fn fp8_doubles_the_peak_and_halves_the_time() {
        let bf16 = run_70b(Precision::Bf16).chip_hours(&h100()).unwrap().0;
        let fp8 = run_70b(Precision::Fp8).chip_hours(&h100()).unwrap().0;
        // 1979 / 989 = 2.00101...
        assert!(close(bf16 / fp8, 1979.0 / 989.0, 1e-12));
    }

    #[test]
    fn time_divides_by_chips() {
        let run = run_70b(Precision::Bf16);
        let one = run.time_on(&h100(), ChipCount::new(1).unwrap()).unwrap();
        let many = run.time_on(&h100(), ChipCount::new(24).unwrap()).unwrap();
        assert!(close(one.seconds() / many.seconds(), 24.0, 1e-12));
        // 412,874.96 chip-hours / 24 chips = 17,203.12 h = 716.80 days.
        assert!(close(many.hours(), 17_203.12, 1e-6), "{}", many.hours());
        assert!(close(many.days(), 716.797, 1e-6), "{}", many.days());
    }

    #[test]
    fn tokens_per_second_is_the_inverse_view_of_time() {
        let run = run_70b(Precision::Bf16);
        let chips = ChipCount::new(24).unwrap();
        // 24 x 989e12 x 0.4 / (6 x 70e9) = 9.4944e15 / 4.2e11 = 22,605.7 tokens/s.
        let tps = run.tokens_per_second(&h100(), chips).unwrap();
        assert!(close(tps, 22_605.714, 1e-7), "{tps}");
        let time = run.time_on(&h100(), chips).unwrap();
        assert!(close(1.4e12 / tps, time.seconds(), 1e-12));
    }

    #[test]
    fn mfu_scales_time_inversely() {
        let mut run = run_70b(Precision::Bf16);
        let at_04 = run.chip_hours(&h100()).unwrap().0;
        run.mfu = Mfu::new(0.2).unwrap();
        let at_02 = run.chip_hours(&h100()).unwrap().0;
        assert!(close(at_02, 2.0 * at_04, 1e-12));
    }

    #[test]
    fn missing_precision_is_reported_not_skipped() {
        let v100 = spec("V100", 16.0, None, None);
        let err = run_70b(Precision::Bf16).chip_hours(&v100).unwrap_err();
        assert_eq!(
            err,
            RooflineError::UnsupportedPrecision {
                accelerator: "V100".into(),
                precision: PrecisionName("bf16"),
            }
        );
        assert!(err.to_string().contains("V100: it has no bf16 support"));

        let a100 = spec("A100", 40.0, Some(312.0), None);
        assert!(run_70b(Precision::Bf16).chip_hours(&a100).is_ok());
        assert!(matches!(
            run_70b(Precision::Fp8).chip_hours(&a100),
            Err(RooflineError::UnsupportedPrecision { .. })
        ));
    }
}
