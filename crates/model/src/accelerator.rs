//! Accelerator chip types and their public specs.

use serde::{Deserialize, Serialize};

/// The broad kind of an accelerator; it decides which software stacks can use it
/// (CUDA-only jobs cannot run on TPUs, XLA/JAX jobs can run on GPUs and TPUs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AcceleratorFamily {
    /// NVIDIA or AMD GPUs.
    Gpu,
    /// Google Cloud TPUs.
    Tpu,
    /// AWS Trainium.
    Trainium,
}

/// How a slice or instance name counts chips, e.g. `tpu-v5p-8` counts TensorCores (4 chips)
/// while `tpu-v5litepod-16` counts chips (16 chips).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChipsNamedBy {
    /// One name unit is one device (GPUs, Trainium).
    Device,
    /// One name unit is one chip (TPU v5e, v6e).
    Chips,
    /// One name unit is one TensorCore; a chip holds two (TPU v4, v5p).
    Tensorcores,
}

/// Numeric precision of training arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// bfloat16 (the default for training).
    Bf16,
    /// 8-bit floating point.
    Fp8,
}

/// One accelerator type with its per-chip peak figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AcceleratorSpec {
    /// Canonical name, as the catalog spells it (`H100`, `tpu-v5p`).
    pub name: String,
    /// Who makes it (`NVIDIA`, `Google`, `AWS`, `AMD`).
    pub vendor: String,
    /// GPU, TPU or Trainium.
    pub family: AcceleratorFamily,
    /// High-bandwidth memory per chip, GiB.
    pub memory_gib: f64,
    /// Memory bandwidth per chip, TB/s.
    pub memory_tb_s: f64,
    /// Peak dense bf16 TFLOPS per chip; `None` where the chip has no bf16 support.
    pub bf16_dense_tflops: Option<f64>,
    /// Peak dense fp8 TFLOPS per chip; `None` where the chip has no fp8 support.
    pub fp8_dense_tflops: Option<f64>,
    /// How slice names count chips.
    pub chips_named_by: ChipsNamedBy,
}

impl AcceleratorSpec {
    /// Peak dense TFLOPS per chip at `precision`, if the chip supports it.
    pub fn peak_tflops(&self, precision: Precision) -> Option<f64> {
        match precision {
            Precision::Bf16 => self.bf16_dense_tflops,
            Precision::Fp8 => self.fp8_dense_tflops,
        }
    }
}
