//! One placement policy over a scenario, through the core's state machine. The scenario's pools
//! become the machine's pools, its jobs the machine's jobs (their speed on each pool from the
//! roofline, the pools their framework runs on), and the service's driver
//! ([`crate::service::run_in_world`]) runs them on the scenario's clouds ([`ScenarioWorld`]):
//! the decisions `spillway serve` makes under the same policy. The books (bills, contract
//! ledgers, work, spend over time) are computed afterwards from the attempts
//! ([`super::books`]).
use super::books;
use super::report::SpendSample;
use super::scenario::{Scenario, SimPool};
use super::world::{ScenarioWorld, block_of};
use crate::service::{ServiceJob, ServiceSimConfig, run_in_world};
use spillway_core::econ::{ContractLedger, EconPolicy, PlanKind, roofline_speed};
use spillway_core::live::LivePolicy;
use spillway_core::machine::{MachineConfig, MachineJob, MachinePool};
use spillway_core::{JobId, SimTime};
use spillway_model::UsdPerHour;
use spillway_model::spec::{AcceleratorChoice, ChoiceOrder};

/// What happened in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct EconOutcome {
    /// The policy.
    pub policy: EconPolicy,
    /// When each job finished (`None`: never).
    pub finishes: Vec<Option<SimTime>>,
    /// Spot preemptions.
    pub preemptions: u64,
    /// Jobs moved from on-demand back to spot while their slack allowed (commitment-aware).
    pub migrations: u64,
    /// Launches that failed for lack of capacity (each one a failover to the next option).
    pub failovers: u64,
    /// Marginal dollars billed per pool (owned: 0; committed: what its contract billed, at the
    /// committed price, the overage rate or list).
    pub pool_cost: Vec<f64>,
    /// Chip-hours rented per pool.
    pub pool_chip_hours: Vec<f64>,
    /// Reference accelerator-seconds of work done per pool (chips x time x speed).
    pub pool_work_s: Vec<f64>,
    /// What each contract was charged.
    pub ledgers: Vec<ContractLedger>,
    /// When the last job finished.
    pub makespan: SimTime,
    /// Spending against each contract over time (hourly).
    pub spend: Vec<SpendSample>,
    /// The books at the scenario's accounting horizon (at the end of the run if it ended
    /// before).
    pub at_horizon: AtHorizon,
}

/// The books at the accounting horizon: what was billed and done by then, and what was not.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AtHorizon {
    /// Marginal dollars billed per pool by the horizon.
    pub pool_cost: Vec<f64>,
    /// Reference accelerator-seconds of work done per pool by the horizon.
    pub pool_work_s: Vec<f64>,
    /// Each contract's ledger at the horizon.
    pub ledgers: Vec<ContractLedger>,
    /// Jobs not finished by the horizon.
    pub unfinished_jobs: usize,
    /// Reference accelerator-seconds of their work left at the horizon (chips x time on the
    /// reference accelerator).
    pub unfinished_work_s: f64,
}

/// Each job kind's speed on each pool (roofline ratio to the scenario's reference).
pub(super) fn kind_speeds(s: &Scenario) -> Vec<[f64; 3]> {
    let reference = (s.reference.bf16_dense_tflops, s.reference.memory_tb_s);
    s.pools
        .iter()
        .map(|p| {
            let here = (p.spec.bf16_dense_tflops, p.spec.memory_tb_s);
            use spillway_core::econ::JobKind::*;
            [Pretrain, Finetune, Eval].map(|k| roofline_speed(k, here, reference).unwrap_or(0.0))
        })
        .collect()
}

/// The zone of pool `p` as the failover memory scopes it: a zone's capacity is per accelerator
/// and price plan (a stockout of spot H100 says nothing of H200, or of on-demand H100, there).
pub(super) fn zone_scope(p: &SimPool) -> String {
    let spot = if p.plan == PlanKind::Spot {
        "#spot"
    } else {
        ""
    };
    format!("{}#{}{spot}", p.zone, p.accelerator)
}

/// The scenario's pools as the machine sees them: each its own accelerator type (named after
/// the pool, so that a job's choice names the pool and says how many chips it holds there).
fn machine_pools(s: &Scenario) -> Vec<MachinePool> {
    s.pools
        .iter()
        .enumerate()
        .map(|(i, p)| MachinePool {
            name: p.name.clone(),
            executor: "simulated".into(),
            accelerator: Some(p.name.clone()),
            capacity: p.quota_chips,
            slice: None,
            nodes: 1,
            block: block_of(s, i),
            max_jobs: p.quota_chips.max(1),
            price: UsdPerHour(p.price_per_chip_hour),
            plan: p.plan,
            throughput: 1.0,
            location: (p.provider.clone(), p.region.clone(), zone_scope(p)),
            contract: p.contract,
            preemptions_per_hour: p.availability.drops_per_hour(),
        })
        .collect()
}

/// Chips job `j` holds on pool `p`, if it can run there: what it needs on a pool whose blocks
/// the policy packs, else the whole rental (a VM or slice of the smallest shape that holds it).
pub(super) fn held_chips(s: &Scenario, policy: EconPolicy, j: usize, p: usize) -> Option<u32> {
    let job = &s.jobs[j];
    let pool = &s.pools[p];
    if !job.framework.runs_on(pool.kind) {
        return None;
    }
    let rented = pool.rented_chips(job.chips)?;
    Some(if policy.packs_rentals() && block_of(s, p) > 1 {
        job.chips
    } else {
        rented
    })
}

/// The scenario's jobs as the machine sees them.
fn machine_jobs(s: &Scenario, policy: EconPolicy, speeds: &[[f64; 3]]) -> Vec<ServiceJob> {
    let ms = |t: SimTime| t.0.div_euclid(1000) + i64::from(t.0.rem_euclid(1000) > 0);
    s.jobs
        .iter()
        .enumerate()
        .map(|(j, job)| {
            let kind = job.kind as usize;
            let mut choices: Vec<AcceleratorChoice> = (0..s.pools.len())
                .filter_map(|p| {
                    let count = held_chips(s, policy, j, p)?;
                    (speeds[p][kind] > 0.0).then(|| AcceleratorChoice {
                        accelerator: s.pools[p].name.clone(),
                        count,
                    })
                })
                .collect();
            if choices.is_empty() {
                // No pool can run it: the machine refuses it at submit (never as CPU-only).
                choices.push(AcceleratorChoice {
                    accelerator: format!(
                        "{} (no pool runs {})",
                        job.trace_id,
                        job.framework.name()
                    ),
                    count: job.chips,
                });
            }
            ServiceJob {
                job: MachineJob {
                    id: JobId(j as u64 + 1),
                    tenant: "scenario".into(),
                    submitted_ms: ms(job.arrival),
                    priority: 500,
                    choices,
                    order: ChoiceOrder::AnyOf,
                    slice_choices: Vec::new(),
                    topology: None,
                    num_nodes: 1,
                    infra: None,
                    use_spot: true,
                    alternatives: Vec::new(),
                    budget: None,
                    work_secs: Some(job.work_s.ceil() as u64),
                    deadline_ms: job.deadline.map(ms),
                    checkpoint_interval_s: Some(s.checkpoint.interval_s.round().max(1.0) as u64),
                    resumable: true,
                    speeds: Some(speeds.iter().map(|sp| sp[kind]).collect()),
                    weight: None,
                },
                work_s: job.work_s,
            }
        })
        .collect()
}

/// Runs `policy` over `scenario` through the core's state machine.
pub fn run_scenario(
    scenario: &Scenario,
    policy: EconPolicy,
    progress: &mut dyn FnMut(usize, usize),
) -> EconOutcome {
    let s = scenario;
    let speeds = kind_speeds(s);
    let jobs = machine_jobs(s, policy, &speeds);
    let config = MachineConfig {
        policy: LivePolicy::Econ(policy),
        restart_overhead_s: s.checkpoint.restart_overhead_s,
        failover_half_life_s: s.failover_half_life_s,
        failover_allowance_s: s.checkpoint.failover_allowance_s,
        contracts: s.contracts.clone(),
        explain_every_wait: false,
        ..MachineConfig::default()
    };
    let sim = ServiceSimConfig {
        tick_ms: ((s.tick_s * 1000.0).round() as i64).max(1),
        stop_ms: 0,
        keep_reasons: false,
        restart_overhead_ms: (s.checkpoint.restart_overhead_s * 1000.0).round() as i64,
        tell_work_left: true,
        keep_accelerators: true,
    };
    let mut world = ScenarioWorld::new(s);
    let out = run_in_world(machine_pools(s), config, &jobs, &sim, &mut world, progress);
    books::close(s, policy, &speeds, &out)
}
