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
    /// (a trace that states it in seconds).
    pub deadline_s: Option<f64>,
    /// Service-level objective as a multiple of the job's run time on the reference accelerator
    /// (Gavel's SLO column): the job should finish within `slo_factor x duration` of arriving.
    /// Only whoever knows the throughputs can turn it into seconds (the simulator's workload
    /// builder does); `None` for no such objective. `deadline_s` wins when both are given.
    pub slo_factor: Option<f64>,
    /// The accelerator type the trace pins the job to (Alibaba `gpu_spec`, CSV `gpu_type`):
    /// one lowercase type (`v100`), or alternatives separated by `|` (`v100m16|v100m32`), any
    /// of which will do. See [`JobRecord::permits`].
    pub accelerator_constraint: Option<String>,
}

impl JobRecord {
    /// Whether the job may run on `accelerator`: always without a constraint, else when it is
    /// one of the `|`-separated alternatives (compared without regard to ASCII case).
    pub fn permits(&self, accelerator: &str) -> bool {
        match &self.accelerator_constraint {
            None => true,
            Some(constraint) => constraint
                .split('|')
                .any(|allowed| allowed.trim().eq_ignore_ascii_case(accelerator)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_list_alternatives() {
        let mut job = JobRecord {
            id: "0".into(),
            job_type: None,
            work: WorkAmount::Seconds(1.0),
            scale_factor: 1,
            priority_weight: 1.0,
            arrival_time_s: 0.0,
            deadline_s: None,
            slo_factor: None,
            accelerator_constraint: None,
        };
        assert!(job.permits("k80"));
        job.accelerator_constraint = Some("v100m16|v100m32".into());
        assert!(job.permits("v100m32") && job.permits("V100M16"));
        assert!(!job.permits("v100") && !job.permits("k80"));
    }
}
