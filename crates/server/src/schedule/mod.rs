//! The service's side of scheduling: an adapter to the decision core. Every placement decision
//! is made by the core's state machine ([`spillway_core::machine::Machine`]: the policy chosen
//! in the config plus the round mechanism, the same machine the simulator drives); this module
//! only turns the config into the machine's pools and settings and a job into what the machine
//! knows of it, converts between the service's ids and the core's, and gives each pool its
//! speed for heterogeneity-aware policies. The simulator's `--config` mode builds its machine
//! with these same functions, so a simulated service and the real one decide from the same
//! inputs. The reactor reports events to the machine and carries its actions out; the HTTP
//! handlers only record requests and the executors only run what they are told.

use crate::accelerators::specs;
use crate::config::{Config, PricePlan};
use crate::job::JobId;
use spillway_core::econ::PlanKind;
use spillway_core::machine::{MachineConfig, MachineJob, MachinePool, TimeSharing};
use spillway_model::spec::JobSpec;

pub use spillway_core::live::{
    Action, Choice, Decision, LivePolicy, PoolView, QuotaView, StartReason, WaitReason,
};
pub use spillway_core::machine::{Event, Machine};

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

/// The machine's pools, in the config's order, with their speeds.
pub fn machine_pools(config: &Config) -> Vec<MachinePool> {
    let speeds = pool_throughputs(config);
    (0..config.pools.len())
        .map(|i| {
            let v = pool_view(config, i, Vec::new(), speeds[i]);
            MachinePool {
                name: v.name.to_string(),
                executor: v.executor.to_string(),
                accelerator: v.accelerator.map(str::to_string),
                capacity: v.capacity,
                max_jobs: v.max_jobs,
                price: v.price,
                plan: v.plan,
                throughput: v.throughput,
                location: (
                    v.location.0.to_string(),
                    v.location.1.to_string(),
                    v.location.2.to_string(),
                ),
                contract: v.contract,
                preemptions_per_hour: v.preemptions_per_hour,
            }
        })
        .collect()
}

/// The machine's settings from the config: policy, restart overhead, failover half-life,
/// tenants' quotas, contracts and the lease (round length) of time-sharing policies.
pub fn machine_config(config: &Config) -> MachineConfig {
    MachineConfig {
        policy: config.policy,
        restart_overhead_s: config.restart_overhead_s,
        failover_half_life_s: config.failover_half_life_s,
        quotas: config
            .tenants
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    QuotaView {
                        max_accelerators: t.max_accelerators.clone(),
                        max_usd_per_hour: t.max_usd_per_hour,
                    },
                )
            })
            .collect(),
        contracts: config.contracts.clone(),
        time_sharing: config.round_s.map(TimeSharing::rounds_of),
    }
}

/// What the machine knows of a job: its spec's scheduling fields, its tenant, when it was
/// submitted and its absolute deadline.
pub fn machine_job(
    id: JobId,
    tenant: &str,
    submitted_ms: i64,
    deadline_ms: Option<i64>,
    spec: &JobSpec,
) -> MachineJob {
    MachineJob::from_spec(core_id(id), tenant, submitted_ms, deadline_ms, spec)
}

/// The core's view of pool `i` of `config`, with `free` accelerator indices and `throughput`
/// (its speed, from [`pool_throughputs`]). A committed pool's contract is its index in
/// `config.contracts`, the order in which the machine lists them; a spot pool's
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
