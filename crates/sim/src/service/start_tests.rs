//! Replays that start in the middle of things: jobs already running, contracts already
//! charged.

use super::driver::*;
use super::workload::ServiceJob;
use spillway_core::JobId;
use spillway_core::SimTime;
use spillway_core::econ::{BurnSchedule, Contract, ContractLedger, PlanKind};
use spillway_core::live::LivePolicy;
use spillway_core::machine::{MachineConfig, MachineJob, MachinePool};
use spillway_model::spec::{AcceleratorChoice, ChoiceOrder};
use spillway_model::{Usd, UsdPerHour};

pub(super) fn pool(name: &str, capacity: u32, plan: PlanKind, usd: f64) -> MachinePool {
    MachinePool {
        name: name.into(),
        executor: "simulated".into(),
        accelerator: Some("H100".into()),
        capacity,
        slice: None,
        nodes: 1,
        block: 1,
        max_jobs: 64,
        price: UsdPerHour(usd),
        plan,
        throughput: 1.0,
        location: ("local".into(), name.into(), name.into()),
        contract: (plan == PlanKind::Committed).then_some(0),
        preemptions_per_hour: 0.0,
    }
}

fn job(id: u64, at_ms: i64, count: u32, work_s: f64) -> ServiceJob {
    ServiceJob {
        job: MachineJob {
            id: JobId(id),
            tenant: "a".into(),
            submitted_ms: at_ms,
            priority: 500,
            choices: vec![AcceleratorChoice {
                accelerator: "H100".into(),
                count,
            }],
            order: ChoiceOrder::Ordered,
            slice_choices: Vec::new(),
            topology: None,
            num_nodes: 1,
            infra: None,
            use_spot: false,
            alternatives: Vec::new(),
            budget: None,
            work_secs: Some(work_s as u64),
            deadline_ms: None,
            checkpoint_interval_s: None,
            resumable: false,
            speeds: None,
            weight: None,
        },
        work_s,
    }
}

#[test]
fn a_job_running_at_the_start_holds_its_accelerators_for_the_work_it_has_left() {
    // Job 1 was submitted long before and runs on all 4 accelerators for 10 s more; job 2
    // arrives at the start and waits for it.
    let jobs = vec![job(1, -50_000, 4, 10.0), job(2, 1_000, 2, 5.0)];
    let start = Start {
        at_ms: 1_000,
        running: vec![RunningJob {
            job: 0,
            pool: 0,
            chips: 4,
        }],
        contract_ledgers: Vec::new(),
    };
    let o = run_from(
        vec![pool("p", 4, PlanKind::Owned, 1.0)],
        MachineConfig::default(),
        &jobs,
        &start,
        &ServiceSimConfig::default(),
    );
    let starts: Vec<(u64, i64, Option<i64>)> = o
        .attempts
        .iter()
        .map(|a| (a.job, a.started_ms, a.ended_ms))
        .collect();
    assert_eq!(
        starts,
        [(1, 1_000, Some(11_000)), (2, 11_000, Some(16_000))]
    );
    assert_eq!(o.jobs[0].finished_ms, Some(11_000));
    assert_eq!(o.busy_s[0], 4.0 * 10.0 + 2.0 * 5.0);
    // Without room on its pool (here: a pool of 2) it waits from the start instead.
    let o = run_from(
        vec![pool("p", 2, PlanKind::Owned, 1.0)],
        MachineConfig::default(),
        &[job(1, -50_000, 2, 10.0), job(2, 1_000, 2, 5.0)],
        &Start {
            running: vec![RunningJob {
                job: 0,
                pool: 0,
                chips: 4,
            }],
            ..start
        },
        &ServiceSimConfig::default(),
    );
    assert_eq!((o.attempts[0].job, o.attempts[0].started_ms), (1, 1_000));
    assert_ne!(o.attempts[0].reason, "running when the replay starts");
}

#[test]
fn charges_before_the_start_reach_the_commitment_aware_policy() {
    // A year's contract of $1M, linear: a day's schedule is about $2,700. A job of an hour
    // on one committed accelerator ($100) keeps to it, unless the contract was charged
    // $900k before the start: then the pace sends it to the on-demand pool.
    let contract = Contract {
        name: "c".into(),
        provider: "local".into(),
        total: Usd(1_000_000.0),
        start: SimTime(0),
        term_months: 12.0,
        discount: 0.3,
        accelerators: Vec::new(),
        regions: Vec::new(),
        burn: BurnSchedule::Linear,
        overage_discount: 0.0,
        renewals: 0,
    };
    let config = MachineConfig {
        policy: LivePolicy::COMMITMENT_AWARE,
        contracts: vec![contract],
        ..MachineConfig::default()
    };
    let pools = vec![
        pool("committed", 2, PlanKind::Committed, 100.0),
        pool("on-demand", 2, PlanKind::OnDemand, 140.0),
    ];
    let where_it_runs = |spent: f64| {
        let o = run_from(
            pools.clone(),
            config.clone(),
            &[job(1, 86_400_000, 1, 3600.0)],
            &Start {
                at_ms: 86_400_000,
                running: Vec::new(),
                contract_ledgers: vec![ContractLedger {
                    spent: Usd(spent),
                    term_spent: vec![spent],
                    ..ContractLedger::default()
                }],
            },
            &ServiceSimConfig::default(),
        );
        o.attempts[0].pool.clone()
    };
    assert_eq!(where_it_runs(0.0), "committed");
    assert_eq!(where_it_runs(900_000.0), "on-demand");
}

#[test]
fn a_job_held_back_for_good_by_the_clock_ends_the_replay_waiting() {
    // A dollar's contract cannot pace an hour at $100: the job waits on the clock for good,
    // and the replay stops once nothing else can happen, within the idle limit.
    let contract = Contract {
        name: "c".into(),
        provider: "local".into(),
        total: Usd(1.0),
        start: SimTime(0),
        term_months: 1.0,
        discount: 0.0,
        accelerators: Vec::new(),
        regions: Vec::new(),
        burn: BurnSchedule::Linear,
        overage_discount: 0.0,
        renewals: 0,
    };
    let config = MachineConfig {
        policy: LivePolicy::COMMITMENT_AWARE,
        contracts: vec![contract],
        ..MachineConfig::default()
    };
    let o = run(
        vec![pool("committed", 2, PlanKind::Committed, 100.0)],
        config,
        &[job(1, 1_000, 1, 3600.0)],
        &ServiceSimConfig::default(),
    );
    assert!(o.attempts.is_empty());
    assert!(o.jobs[0].waiting.is_some(), "{:?}", o.jobs[0]);
    assert!(o.rounds < 100_000, "{} rounds", o.rounds);
}
