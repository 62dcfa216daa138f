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
                slice: v.slice.cloned(),
                nodes: v.nodes,
                block: v.block,
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
        failover_allowance_s: 0.0,
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
        explain_every_wait: true,
    }
}

/// What the machine knows of a job: its spec's scheduling fields, its tenant, when it was
/// submitted and its absolute deadline. `estimate` is its work estimated from earlier runs
/// (reference seconds, the unit of the spec's `work`), used when the spec states no `work`;
/// the service decides when to give one (`service/estimates.rs`).
pub fn machine_job(
    id: JobId,
    tenant: &str,
    submitted_ms: i64,
    deadline_ms: Option<i64>,
    spec: &JobSpec,
    estimate: Option<u64>,
) -> MachineJob {
    let mut job = MachineJob::from_spec(core_id(id), tenant, submitted_ms, deadline_ms, spec);
    if spec.work.is_none() {
        job.work_secs = estimate;
    }
    job
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
        slice: p.slice.as_ref(),
        nodes: p.nodes,
        block: p.block,
        free,
        free_unlisted: 0,
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

    /// The starts of a decision: (job, pool, accelerators).
    fn starts(d: &spillway_core::live::Decision) -> Vec<(u64, usize, Vec<u32>)> {
        d.actions
            .iter()
            .filter_map(|a| match a {
                Action::Start {
                    job,
                    pool,
                    accelerators,
                    ..
                } => Some((job.0, *pool, accelerators.clone())),
                Action::Preempt { .. } => None,
            })
            .collect()
    }

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

    /// A slice job lands on one whole slice of its shape, through the same adapter the
    /// service and the simulator use: never on the (cheaper) pool of loose chips, never on
    /// chips of two slices; submit refuses a shape that no pool has.
    #[test]
    fn slice_jobs_take_one_whole_slice_of_their_shape() {
        let c = Config::parse(
            r#"
[[pool]]
name = "loose"
accelerator = "tpu-v5p"
count = 64
price = { plan = "on_demand", usd_per_chip_hour = 0.5 }

[[pool]]
name = "pods"
accelerator = "tpu-v5p-32"
slices = 2
topology = "2x2x4"
price = { plan = "on_demand", usd_per_chip_hour = 4.2 }
"#,
            "t",
        )
        .unwrap();
        let pools = machine_pools(&c);
        assert_eq!(pools[1].capacity, 32);
        assert_eq!(pools[1].slice.as_ref().map(|s| s.chips), Some(16));
        let names = crate::accelerators::known_accelerators();
        let spec = |yaml: &str| spillway_model::spec::parse_spec(yaml, &names).unwrap().spec;
        let slice = spec("run: x\nresources:\n  accelerators: tpu-v5p-32\n");
        let chips = spec("run: x\nresources:\n  accelerators: tpu-v5p:16\n");
        let mut machine = Machine::new(pools.clone(), machine_config(&c));
        for (id, s) in [(1, &slice), (2, &chips), (3, &slice)] {
            let job = machine_job(JobId(id), "t", id, None, s, None);
            spillway_core::machine::can_ever_place(&pools, &job).unwrap();
            machine.handle(id, Event::Submitted(job));
        }
        assert_eq!(
            starts(&machine.decide(10)),
            [
                (1, 1, (0..16).collect()),
                (2, 0, (0..16).collect()),
                (3, 1, (16..32).collect())
            ],
            "slices on the pool of slices, chips on the cheaper loose pool"
        );
        // A 4x4 slice of 16 chips is another shape; 8 chips are half a slice.
        let other = spec(
            "run: x\nresources:\n  accelerators: tpu-v5p-32\n  accelerator_args: {topology: 4x4}\n",
        );
        let e = spillway_core::machine::can_ever_place(
            &pools,
            &machine_job(JobId(4), "t", 0, None, &other, None),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("tpu-v5p-32 of topology 4x4 slice")
                && e.contains("pool pods is tpu-v5p-32 slices of topology 2x2x4")
                && e.contains("pool loose has 64 loose tpu-v5p chips"),
            "{e}"
        );
    }

    /// On a pool rented by VMs of 8 (`block = 8`), jobs fill the VMs already rented before
    /// a new one opens and never straddle two: the service places them as the simulator's
    /// scenarios do, through the same machine.
    #[test]
    fn jobs_fill_rented_vms_and_never_straddle_two() {
        let starts = |block: &str| {
            let c = Config::parse(
                &format!(
                    "[[pool]]\nname = \"od\"\naccelerator = \"H100\"\ncount = 16\n{block}price = {{ plan = \"on_demand\", usd_per_chip_hour = 4.0 }}\n"
                ),
                "t",
            )
            .unwrap();
            let names = crate::accelerators::known_accelerators();
            let spec = |n: u32| {
                spillway_model::spec::parse_spec(
                    &format!("run: x\nresources:\n  accelerators: H100:{n}\n"),
                    &names,
                )
                .unwrap()
                .spec
            };
            let mut machine = Machine::new(machine_pools(&c), machine_config(&c));
            for (id, n) in [(1, 6), (2, 4), (3, 2)] {
                machine.handle(
                    id,
                    Event::Submitted(machine_job(JobId(id), "t", id, None, &spec(n), None)),
                );
            }
            starts(&machine.decide(10))
                .into_iter()
                .map(|(job, _, accelerators)| (job, accelerators))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            starts("block = 8\n"),
            [
                (1, (0..6).collect()),
                (2, (8..12).collect()),
                (3, vec![6, 7])
            ],
            "the 4 go to a VM of their own, the 2 fill the first VM"
        );
        assert_eq!(
            starts(""),
            [
                (1, (0..6).collect()),
                (2, (6..10).collect()),
                (3, vec![10, 11])
            ],
            "without VMs, the lowest free accelerators"
        );
    }

    #[test]
    fn slice_pools_are_whole_slices() {
        let parse = |extra: &str| {
            Config::parse(
                &format!("[[pool]]\nname = \"p\"\naccelerator = \"tpu-v6e-8\"\n{extra}"),
                "t",
            )
        };
        let one = parse("").unwrap();
        assert_eq!(
            (one.pools[0].count, one.pools[0].accelerator.as_deref()),
            (8, Some("tpu-v6e"))
        );
        assert_eq!(parse("count = 32\n").unwrap().pools[0].count, 32);
        assert_eq!(parse("slices = 3\n").unwrap().pools[0].count, 24);
        let e = parse("count = 12\n").unwrap_err().to_string();
        assert!(
            e.contains("pool[0].count: tpu-v6e-8 is 8 chips, and 12 chips are not a whole number"),
            "{e}"
        );
        let e = parse("count = 16\nslices = 3\n").unwrap_err().to_string();
        assert!(
            e.contains("3 slices of tpu-v6e-8 are 24 chips, not 16"),
            "{e}"
        );
        let e = parse("topology = \"4x4\"\n").unwrap_err().to_string();
        assert!(
            e.contains(
                "pool[0].topology: tpu-v6e-8: topology 4x4 is 16 chips, but the slice has 8"
            ),
            "{e}"
        );
        let e = Config::parse(
            "[[pool]]\nname = \"p\"\naccelerator = \"tpu-v5p\"\ncount = 8\nslices = 2\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("pool[0].slices: only a pool of TPU slices takes it"),
            "{e}"
        );
    }
}
