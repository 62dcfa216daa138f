//! The service's side of scheduling: an adapter to the decision core. Every placement decision
//! is made by [`spillway_core::live::decide`] (the policy chosen in the config plus the round
//! mechanism, the same core the simulator drives); this module only converts between the
//! service's ids and the core's, gives each pool its speed for heterogeneity-aware
//! policies, and shows each pool to the core as it is configured (price plan, contract, spot
//! preemption rate). The reactor builds the round's input from its live state and carries the
//! resulting actions out; the HTTP handlers only record requests and the executors only run
//! what they are told.

use crate::accelerators::specs;
use crate::config::{Config, PricePlan};
use crate::job::JobId;
use spillway_core::econ::PlanKind;

pub use spillway_core::live::{
    Action, Choice, ContractView, Decision, LivePolicy, PoolView, QueuedView, QuotaView,
    RoundInput, RunningView, StartReason, WaitReason, can_ever_place, decide,
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

/// The core's view of pool `i` of `config`, with `free` accelerator indices and `throughput`
/// (its speed, from [`pool_throughputs`]). A committed pool's contract is its index in
/// `config.contracts`, the order in which [`RoundInput::contracts`] lists them; a spot pool's
/// expected preemptions per hour are its injected rate (`[pool.faults]
/// preempt_rate_per_hour`), else 0.
pub fn pool_view(config: &Config, i: usize, free: Vec<u32>, throughput: f64) -> PoolView<'_> {
    let p = &config.pools[i];
    PoolView {
        name: &p.name,
        executor: p.executor.as_str(),
        accelerator: p.accelerator.as_deref(),
        capacity: p.count,
        free,
        max_jobs: p.max_jobs,
        price: p.price,
        plan: match p.plan {
            PricePlan::Owned => PlanKind::Owned,
            PricePlan::Committed => PlanKind::Committed,
            PricePlan::OnDemand => PlanKind::OnDemand,
            PricePlan::Spot => PlanKind::Spot,
        },
        throughput,
        location: p.location.memory_key(),
        contract: p
            .contract
            .as_deref()
            .and_then(|name| config.contracts.iter().position(|c| c.name == name)),
        preemptions_per_hour: p
            .faults
            .as_ref()
            .and_then(|f| f.preempt_rate_per_hour)
            .unwrap_or(0.0),
    }
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

    #[test]
    fn pools_show_the_core_their_plan_contract_and_preemption_rate() {
        let c = Config::parse(
            r#"
[[contract]]
name = "other"
provider = "aws"
total_usd = 1000
start = 2026-01-01
term_months = 12
discount_percent = 30

[[contract]]
name = "gcp-commit"
provider = "gcp"
total_usd = 1000
start = 2026-01-01
term_months = 12
discount_percent = 30

[[pool]]
name = "committed"
accelerator = "H100"
count = 2
price = { plan = "committed", usd_per_chip_hour = 3.0 }
provider = "gcp"

[[pool]]
name = "spot"
accelerator = "H100"
count = 2
price = { plan = "spot", usd_per_chip_hour = 1.0 }
[pool.faults]
preempt_rate_per_hour = 6
"#,
            "t",
        )
        .unwrap();
        let committed = pool_view(&c, 0, vec![0, 1], 1.0);
        assert_eq!(committed.plan, PlanKind::Committed);
        assert_eq!(committed.contract, Some(1), "the contract that covers gcp");
        assert_eq!(committed.free, [0, 1]);
        let spot = pool_view(&c, 1, Vec::new(), 1.0);
        assert!(spot.is_spot());
        assert_eq!((spot.contract, spot.preemptions_per_hour), (None, 6.0));
    }
}
