//! Workload records: one job of a trace, in the form every trace reader produces and the
//! simulator consumes.

use serde::{Deserialize, Serialize};

/// How much work a job is, as its trace states it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkAmount {
    /// A number of training steps (Gavel traces); the time it takes depends on the accelerator.
    Steps(u64),
    /// Seconds of run time as observed on the trace's own cluster (Philly, Alibaba, CSV). It is
    /// turned into steps with the job type's throughput on a reference accelerator.
    Seconds(f64),
}

/// One job of a workload trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Position in the trace (0-based) or the trace's own id.
    pub id: String,
    /// The job type, a key of the throughput matrix (`ResNet-50 (batch size 32)`); `None` when
    /// the trace has none and one is to be assigned by a seeded rule.
    pub job_type: Option<String>,
    /// Work to do.
    pub work: WorkAmount,
    /// Accelerators used at once, gang-scheduled (all or nothing).
    pub scale_factor: u32,
    /// Fairness weight (1.0 = normal).
    pub priority_weight: f64,
    /// Arrival, seconds from the start of the trace.
    pub arrival_time_s: f64,
    /// Service-level objective: the job should finish within this many seconds of arriving
    /// (Gavel's SLO column as a multiple is converted to seconds by the reader).
    pub deadline_s: Option<f64>,
    /// The accelerator type the trace pins the job to (Alibaba `gpu_spec`, CSV `gpu_type`).
    pub accelerator_constraint: Option<String>,
}
