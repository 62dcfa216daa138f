//! Memory fit: how many chips it takes to hold a model's training state.
//!
//! Mixed-precision training with Adam holds, per parameter, 16 bytes of state:
//! bf16 weights (2) + bf16 gradients (2) + fp32 master weights (4) + Adam first moment m (4) +
//! Adam second moment v (4). fp8 training keeps the same state: the fp8 copies of the weights are
//! made on the fly for the matrix multiplications, and the fp32 master weights and moments,
//! which dominate, do not shrink. On top of the state we allow a fixed fraction for activations
//! (with activation checkpointing), temporary buffers and allocator fragmentation, and only a
//! fraction of each chip's memory is usable (the runtime, kernels and communication buffers take
//! the rest). The state is assumed to be sharded evenly over the chips (ZeRO-3 / FSDP, or tensor
//! and pipeline parallelism), so chips needed = ceil(total / usable memory per chip).

use crate::input::{ChipCount, ParamCount};
use serde::Serialize;
use spillway_model::{AcceleratorSpec, Precision};

/// Bytes in a GiB.
const BYTES_PER_GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Training-state bytes per parameter for mixed-precision Adam, itemized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StateBytesPerParam {
    /// Weights in the compute precision's storage format (bf16).
    pub weights: u32,
    /// Gradients (bf16).
    pub gradients: u32,
    /// fp32 master copy of the weights that the optimizer updates.
    pub master_weights: u32,
    /// Adam first moment (fp32).
    pub adam_m: u32,
    /// Adam second moment (fp32).
    pub adam_v: u32,
}

impl StateBytesPerParam {
    /// The itemized state for a run at `precision`. bf16 and fp8 hold the same state (see the
    /// module docs for why).
    pub fn for_precision(precision: Precision) -> StateBytesPerParam {
        match precision {
            Precision::Bf16 | Precision::Fp8 => StateBytesPerParam {
                weights: 2,
                gradients: 2,
                master_weights: 4,
                adam_m: 4,
                adam_v: 4,
            },
        }
    }

    /// The total bytes per parameter (16 for mixed-precision Adam).
    pub fn total(self) -> u32 {
        self.weights + self.gradients + self.master_weights + self.adam_m + self.adam_v
    }
}

/// The assumptions that turn a parameter count into chips needed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemoryModel {
    /// Activation allowance as a fraction of the training state (0.25: a quarter on top).
    pub activation_fraction: f64,
    /// Fraction of each chip's memory a training run can use (0.9).
    pub usable_fraction: f64,
}

impl Default for MemoryModel {
    fn default() -> MemoryModel {
        MemoryModel {
            activation_fraction: 0.25,
            usable_fraction: 0.9,
        }
    }
}

/// The memory a run needs, summed over all chips.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemoryNeed {
    /// Weights, gradients and optimizer state.
    pub state_bytes: f64,
    /// The activation allowance.
    pub activation_bytes: f64,
}

impl MemoryNeed {
    /// State plus activations, in bytes.
    pub fn total_bytes(&self) -> f64 {
        self.state_bytes + self.activation_bytes
    }

    /// State plus activations, in GiB.
    pub fn total_gib(&self) -> f64 {
        self.total_bytes() / BYTES_PER_GIB
    }
}

/// Why chips needed cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MemoryError {
    /// The catalog gives the chip no positive memory size.
    #[error(
        "compute chips needed on {accelerator}: its memory size {memory_gib} GiB is not a \
         positive number; fix memory_gib for it in the catalog"
    )]
    NoMemory {
        /// The accelerator's name.
        accelerator: String,
        /// The memory size the catalog gives.
        memory_gib: f64,
    },
    /// More chips than a u32 can count: the model is absurdly large for this chip.
    #[error("compute chips needed on {accelerator}: it would take {chips:.3e} chips")]
    TooManyChips {
        /// The accelerator's name.
        accelerator: String,
        /// The chip count, unrounded.
        chips: f64,
    },
}

impl MemoryModel {
    /// Memory to train a model of `params` parameters at `precision`.
    pub fn need(&self, params: ParamCount, precision: Precision) -> MemoryNeed {
        let per_param = f64::from(StateBytesPerParam::for_precision(precision).total());
        let state_bytes = params.get() * per_param;
        MemoryNeed {
            state_bytes,
            activation_bytes: state_bytes * self.activation_fraction,
        }
    }

    /// Bytes of one chip of `spec` that a run can use.
    pub fn usable_bytes_per_chip(&self, spec: &AcceleratorSpec) -> f64 {
        spec.memory_gib * BYTES_PER_GIB * self.usable_fraction
    }

    /// The fewest chips of `spec` whose usable memory holds `need`.
    pub fn chips_for(
        &self,
        need: &MemoryNeed,
        spec: &AcceleratorSpec,
    ) -> Result<ChipCount, MemoryError> {
        let per_chip = self.usable_bytes_per_chip(spec);
        if !(per_chip.is_finite() && per_chip > 0.0) {
            return Err(MemoryError::NoMemory {
                accelerator: spec.name.clone(),
                memory_gib: spec.memory_gib,
            });
        }
        let ratio = need.total_bytes() / per_chip;
        // A need that fills a whole number of chips exactly should not spill onto one more
        // because of a rounding error in the last bit: forgive one part in a billion.
        let chips = (ratio - ratio * 1e-9).ceil().max(1.0);
        if chips > f64::from(u32::MAX) {
            return Err(MemoryError::TooManyChips {
                accelerator: spec.name.clone(),
                chips,
            });
        }
        // In range and integral, so the cast is exact.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let chips = chips as u32;
        Ok(ChipCount::new(chips).expect("chips is at least 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roofline::tests::spec;

    fn params(p: f64) -> ParamCount {
        ParamCount::new(p).unwrap()
    }

    #[test]
    fn mixed_precision_adam_holds_sixteen_bytes_per_param() {
        assert_eq!(
            StateBytesPerParam::for_precision(Precision::Bf16).total(),
            16
        );
        assert_eq!(
            StateBytesPerParam::for_precision(Precision::Fp8).total(),
            16
        );
    }

    #[test]
    fn seventy_billion_needs_1304_gib_and_19_h100s() {
        let m = MemoryModel::default();
        let need = m.need(params(70e9), Precision::Bf16);
        // 70e9 x 16 = 1.12e12 bytes of state, + 25% = 1.4e12 bytes = 1,303.85 GiB.
        assert_eq!(need.state_bytes, 1.12e12);
        assert_eq!(need.activation_bytes, 0.28e12);
        assert!(
            (need.total_gib() - 1303.85).abs() < 0.01,
            "{}",
            need.total_gib()
        );
        // An H100 offers 80 GiB x 0.9 = 72 GiB: 1303.85 / 72 = 18.1 -> 19 chips.
        let h100 = spec("H100", 80.0, Some(989.0), None);
        assert_eq!(m.chips_for(&need, &h100).unwrap().get(), 19);
        // A 192 GiB MI300X holds 172.8 GiB: 7.55 -> 8 chips.
        let mi300x = spec("MI300X", 192.0, Some(1307.0), None);
        assert_eq!(m.chips_for(&need, &mi300x).unwrap().get(), 8);
    }

    #[test]
    fn an_exact_fit_does_not_round_up_and_a_byte_more_does() {
        // A model whose total need is exactly two chips' usable memory.
        let m = MemoryModel {
            activation_fraction: 0.0,
            usable_fraction: 1.0,
        };
        let chip = spec("X", 16.0, Some(1.0), None);
        let exact = 2.0 * 16.0 * BYTES_PER_GIB / 16.0;
        let need = m.need(params(exact), Precision::Bf16);
        assert_eq!(m.chips_for(&need, &chip).unwrap().get(), 2);
        // 1,000 parameters more (16 kB) no longer fit in two.
        let need = m.need(params(exact + 1000.0), Precision::Bf16);
        assert_eq!(m.chips_for(&need, &chip).unwrap().get(), 3);
    }

    #[test]
    fn a_tiny_model_still_needs_one_chip() {
        let m = MemoryModel::default();
        let need = m.need(params(1.0), Precision::Bf16);
        let chip = spec("X", 16.0, Some(1.0), None);
        assert_eq!(m.chips_for(&need, &chip).unwrap().get(), 1);
    }

    #[test]
    fn usable_fraction_and_activation_allowance_both_count() {
        let chip = spec("X", 10.0, Some(1.0), None);
        // 10 GiB of state exactly.
        let p = params(10.0 * BYTES_PER_GIB / 16.0);
        let bare = MemoryModel {
            activation_fraction: 0.0,
            usable_fraction: 1.0,
        };
        assert_eq!(
            bare.chips_for(&bare.need(p, Precision::Bf16), &chip)
                .unwrap()
                .get(),
            1
        );
        let tight = MemoryModel {
            activation_fraction: 0.0,
            usable_fraction: 0.9,
        };
        assert_eq!(
            tight
                .chips_for(&tight.need(p, Precision::Bf16), &chip)
                .unwrap()
                .get(),
            2
        );
        let acts = MemoryModel {
            activation_fraction: 0.25,
            usable_fraction: 1.0,
        };
        assert_eq!(
            acts.chips_for(&acts.need(p, Precision::Bf16), &chip)
                .unwrap()
                .get(),
            2
        );
    }

    #[test]
    fn a_chip_without_memory_is_an_error() {
        let m = MemoryModel::default();
        let need = m.need(params(1e9), Precision::Bf16);
        let broken = spec("Broken", 0.0, Some(1.0), None);
        let err = m.chips_for(&need, &broken).unwrap_err();
        assert!(matches!(err, MemoryError::NoMemory { .. }));
        assert!(err.to_string().contains("Broken"));
    }

    #[test]
    fn an_absurd_model_overflows_into_an_error() {
        let m = MemoryModel::default();
        let need = m.need(params(1e30), Precision::Bf16);
        let chip = spec("X", 16.0, Some(1.0), None);
        assert!(matches!(
            m.chips_for(&need, &chip),
            Err(MemoryError::TooManyChips { .. })
        ));
    }
}
