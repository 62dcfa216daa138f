//! The service's side of scheduling: an adapter to the decision core. Every placement decision
//! is made by [`spillway_core::live::decide`] (the policy chosen in the config plus the round
//! mechanism, the same core the simulator drives); this module only converts between the
//! service's ids and the core's, and gives each pool its speed for heterogeneity-aware
//! policies. The reactor builds the round's input from its live state and carries the
//! resulting actions out; the HTTP handlers only record requests and the executors only run
//! what they are told.

use crate::accelerators::specs;
use crate::config::Config;
use crate::job::JobId;

pub use spillway_core::live::{
    Action, Choice, Decision, PoolView, QueuedView, QuotaView, RoundInput, RunningView,
    StartReason, WaitReason, can_ever_place, decide,
};

/// The reference accelerator whose speed is 1.0.
const REFERENCE: &str = "H100";

/// The core's id of a job (store ids are positive).
pub fn core_id(id: JobId) -> spillway_core::JobId {
    spillway_core::JobId(u64::try_from(id.0).unwrap_or(0))
}

/// The store's id of a job the core names.
pub fn job_id(id: spillway_core::JobId) -> JobId {
    JobId(i64::try_from(id.0).unwrap_or(i64::MAX))
}

/// Each pool's speed relative to an H100, for a compute-bound job: the ratio of dense BF16
/// peaks from the bundled catalog (a roofline with equal utilization); 1.0 where either is
/// unknown or the pool has no accelerators. Live jobs carry no model description, so this is
/// the best estimate available before a job has run.
pub fn pool_throughputs(config: &Config) -> Vec<f64> {
    let peak = |name: &str| {
        specs()
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.bf16_dense_tflops)
            .filter(|t| *t > 0.0)
    };
    let reference = peak(REFERENCE);
    config
        .pools
        .iter()
        .map(
            |p| match (p.accelerator.as_deref().and_then(&peak), reference) {
                (Some(t), Some(r)) => t / r,
                _ => 1.0,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_speeds_follow_the_catalog() {
        assert_eq!(job_id(core_id(JobId(42))), JobId(42));
        let c = Config::parse(
            "[[pool]]\nname = \"h\"\naccelerator = \"H100\"\ncount = 1\n\
             [[pool]]\nname = \"b\"\naccelerator = \"B200\"\ncount = 1\n\
             [[pool]]\nname = \"c\"\n",
            "t",
        )
        .unwrap();
        let t = pool_throughputs(&c);
        assert_eq!(t[0], 1.0);
        assert!(t[1] > 1.5, "a B200 is faster than an H100: {t:?}");
        assert_eq!(t[2], 1.0, "CPU pools have the neutral speed");
    }
}
