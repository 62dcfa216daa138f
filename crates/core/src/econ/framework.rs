//! Where a job can run at all (its framework), and how fast relative to a reference accelerator
//! where no measured matrix has a column (the roofline ratio).
//!
//! The rule: a CUDA-only job runs on NVIDIA GPUs only; an XLA job (JAX, PyTorch/XLA) runs on
//! NVIDIA GPUs (XLA:GPU) and on TPUs; `any` runs everywhere a compiler exists for it (GPUs of any
//! vendor, TPUs, Trainium). AMD GPUs and Trainium need ROCm / Neuron builds, which we assume only
//! `any` jobs ship.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a job's code is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Framework {
    /// CUDA kernels (PyTorch eager, custom CUDA): NVIDIA GPUs only.
    Cuda,
    /// XLA-compiled (JAX, PyTorch/XLA): NVIDIA GPUs and TPUs.
    Xla,
    /// Portable: any accelerator.
    Any,
}

/// The kind of chip, as far as frameworks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceleratorKind {
    /// NVIDIA GPU.
    NvidiaGpu,
    /// Another vendor's GPU (AMD).
    OtherGpu,
    /// Google TPU.
    Tpu,
    /// AWS Trainium.
    Trainium,
}

impl AcceleratorKind {
    /// The kind of an accelerator from its catalog vendor and family (`NVIDIA`/`gpu`,
    /// `Google`/`tpu`, ...).
    pub fn of(vendor: &str, family: &str) -> AcceleratorKind {
        match family.to_ascii_lowercase().as_str() {
            "tpu" => AcceleratorKind::Tpu,
            "trainium" => AcceleratorKind::Trainium,
            _ if vendor.eq_ignore_ascii_case("nvidia") => AcceleratorKind::NvidiaGpu,
            _ => AcceleratorKind::OtherGpu,
        }
    }
}

impl Framework {
    /// Whether a job built on this framework can run on this kind of accelerator.
    pub fn runs_on(self, kind: AcceleratorKind) -> bool {
        match self {
            Framework::Cuda => kind == AcceleratorKind::NvidiaGpu,
            Framework::Xla => matches!(kind, AcceleratorKind::NvidiaGpu | AcceleratorKind::Tpu),
            Framework::Any => true,
        }
    }

    /// The name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            Framework::Cuda => "cuda",
            Framework::Xla => "xla",
            Framework::Any => "any",
        }
    }
}

impl fmt::Display for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Framework {
    type Err = String;
    fn from_str(s: &str) -> Result<Framework, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cuda" => Ok(Framework::Cuda),
            "xla" | "jax" => Ok(Framework::Xla),
            "any" => Ok(Framework::Any),
            other => Err(format!(
                "unknown framework `{other}`; expected cuda, xla or any"
            )),
        }
    }
}

/// A job's type, as far as speed goes: its arithmetic intensity (FLOPs per byte of memory
/// traffic) places it on the roofline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Large-batch pre-training: compute-bound everywhere (1,000 FLOP/B).
    Pretrain,
    /// Fine-tuning with smaller batches (250 FLOP/B): compute-bound on GPUs, near the ridge on
    /// TPUs.
    Finetune,
    /// Evaluation / batch inference (60 FLOP/B): memory-bandwidth-bound everywhere.
    Eval,
}

impl JobKind {
    /// FLOPs per byte moved.
    pub fn arithmetic_intensity(self) -> f64 {
        match self {
            JobKind::Pretrain => 1000.0,
            JobKind::Finetune => 250.0,
            JobKind::Eval => 60.0,
        }
    }

    /// The name as written in files.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Pretrain => "pretrain",
            JobKind::Finetune => "finetune",
            JobKind::Eval => "eval",
        }
    }
}

/// Attainable FLOP/s of one chip for a job of this kind: `min(peak, intensity x bandwidth)`.
fn attainable_tflops(kind: JobKind, peak_tflops: f64, memory_tb_s: f64) -> f64 {
    peak_tflops.min(kind.arithmetic_intensity() * memory_tb_s)
}

/// Speed of one chip relative to one chip of the reference, by the roofline:
/// `min(F, I x B) / min(F_ref, I x B_ref)` with `F` the peak dense bf16 TFLOPS and `B` the memory
/// bandwidth in TB/s. `None` when either chip lacks a bf16 peak.
pub fn roofline_speed(
    kind: JobKind,
    (peak_tflops, memory_tb_s): (Option<f64>, f64),
    (ref_peak_tflops, ref_memory_tb_s): (Option<f64>, f64),
) -> Option<f64> {
    let here = attainable_tflops(kind, peak_tflops?, memory_tb_s);
    let there = attainable_tflops(kind, ref_peak_tflops?, ref_memory_tb_s);
    (here > 0.0 && there > 0.0).then(|| here / there)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H100: (Option<f64>, f64) = (Some(989.0), 3.35);
    const H200: (Option<f64>, f64) = (Some(989.0), 4.8);
    const V6E: (Option<f64>, f64) = (Some(918.0), 1.64);

    #[test]
    fn cuda_jobs_never_run_on_tpus_and_xla_jobs_run_on_both() {
        assert!(!Framework::Cuda.runs_on(AcceleratorKind::Tpu));
        assert!(Framework::Cuda.runs_on(AcceleratorKind::NvidiaGpu));
        assert!(!Framework::Cuda.runs_on(AcceleratorKind::OtherGpu));
        assert!(Framework::Xla.runs_on(AcceleratorKind::Tpu));
        assert!(Framework::Xla.runs_on(AcceleratorKind::NvidiaGpu));
        assert!(!Framework::Xla.runs_on(AcceleratorKind::Trainium));
        assert!(Framework::Any.runs_on(AcceleratorKind::Trainium));
        assert_eq!(AcceleratorKind::of("Google", "tpu"), AcceleratorKind::Tpu);
        assert_eq!("jax".parse::<Framework>(), Ok(Framework::Xla));
        assert!("rocm".parse::<Framework>().is_err());
    }

    #[test]
    fn the_roofline_order_inverts_between_compute_and_memory_bound_jobs() {
        let pre_v6e = roofline_speed(JobKind::Pretrain, V6E, H100).unwrap();
        assert!((pre_v6e - 918.0 / 989.0).abs() < 1e-12);
        // Eval: 60 x 1.64 = 98.4 vs 60 x 3.35 = 201 TFLOPS.
        let eval_v6e = roofline_speed(JobKind::Eval, V6E, H100).unwrap();
        assert!((eval_v6e - 98.4 / 201.0).abs() < 1e-12);
        let eval_h200 = roofline_speed(JobKind::Eval, H200, H100).unwrap();
        assert!((eval_h200 - 4.8 / 3.35).abs() < 1e-12);
        assert_eq!(roofline_speed(JobKind::Pretrain, H200, H100), Some(1.0));
        assert_eq!(roofline_speed(JobKind::Eval, (None, 0.9), H100), None);
    }
}
