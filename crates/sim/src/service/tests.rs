//! Scenario tests of the simulated service.

use super::*;
use spillway_core::JobId;
use spillway_core::econ::PlanKind;
use spillway_core::live::QuotaView;
use spillway_core::machine::{MachineConfig, MachineJob, MachinePool, TimeSharing};
use spillway_model::UsdPerHour;
use spillway_model::spec::{AcceleratorChoice, ChoiceOrder};

fn pool(name: &str, capacity: u32, throughput: f64) -> MachinePool {
    MachinePool {
        name: name.into(),
        executor: "simulated".into(),
        accelerator: Some("H100".into()),
        capacity,
        slice: None,
        nodes: 1,
        block: 1,
        max_jobs: 64,
        price: UsdPerHour(1.0),
        plan: PlanKind::Owned,
        throughput,
        location: ("local".into(), name.into(), name.into()),
        contract: None,
        preemptions_per_hour: 0.0,
    }
}

fn job(id: u64, at_s: i64, count: u32, priority: u32, work_s: u64) -> ServiceJob {
    ServiceJob {
        job: MachineJob {
            id: JobId(id),
            tenant: "a".into(),
            submitted_ms: at_s * 1000,
            priority,
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
            work_secs: Some(work_s),
            deadline_ms: None,
            checkpoint_interval_s: None,
            resumable: false,
            speeds: None,
            weight: None,
        },
        work_s: work_s as f64,
    }
}

fn order(o: &ServiceOutcome) -> Vec<(u64, i64)> {
    o.attempts.iter().map(|a| (a.job, a.started_ms)).collect()
}

#[test]
fn jobs_run_for_their_work_at_the_pool_speed_and_backfill_around_a_blocked_one() {
    let jobs = vec![
        job(1, 0, 6, 500, 100),
        job(2, 1, 8, 500, 50),  // blocked behind 1: reserves the pool
        job(3, 2, 2, 500, 90),  // ends before job 1: backfills
        job(4, 3, 2, 500, 500), // would delay job 2: waits
    ];
    let o = run(
        vec![pool("p", 8, 2.0)],
        MachineConfig::default(),
        &jobs,
        &ServiceSimConfig::default(),
    );
    // At speed 2, job 1 runs 50 s, job 3 45 s, job 2 25 s, job 4 250 s.
    assert_eq!(order(&o), [(1, 0), (3, 2_000), (2, 50_000), (4, 75_000)]);
    let fin: Vec<Option<i64>> = o.jobs.iter().map(|j| j.finished_ms).collect();
    assert_eq!(
        fin,
        [Some(50_000), Some(75_000), Some(47_000), Some(325_000)]
    );
    assert!(
        o.attempts[1].reason.contains("backfill"),
        "{:?}",
        o.attempts[1]
    );
    let s = ServiceSummary::new(&o, &[8]);
    assert_eq!(s.finished, 4);
    assert!((s.makespan_s - 325.0).abs() < 1e-9);
}

#[test]
fn a_higher_priority_job_preempts_and_a_job_that_cannot_resume_starts_over() {
    let jobs = vec![job(1, 0, 4, 100, 100), job(2, 10, 4, 900, 20)];
    let o = run(
        vec![pool("p", 4, 1.0)],
        MachineConfig::default(),
        &jobs,
        &ServiceSimConfig::default(),
    );
    assert_eq!(order(&o), [(1, 0), (2, 10_000), (1, 30_000)]);
    assert_eq!(o.preemptions, 1);
    assert_eq!(o.jobs[0].finished_ms, Some(130_000), "all 100 s again");
    let mut resumable = jobs.clone();
    resumable[0].job.resumable = true;
    let o = run(
        vec![pool("p", 4, 1.0)],
        MachineConfig::default(),
        &resumable,
        &ServiceSimConfig::default(),
    );
    assert_eq!(
        o.jobs[0].finished_ms,
        Some(120_000),
        "the 10 s done are kept"
    );
}

#[test]
fn quotas_hold_a_tenants_jobs_back() {
    let mut jobs = vec![job(1, 0, 2, 500, 100), job(2, 0, 2, 500, 100)];
    jobs[1].job.submitted_ms = 1;
    let mut config = MachineConfig::default();
    config.quotas.insert(
        "a".into(),
        QuotaView {
            max_accelerators: [("H100".to_string(), 2)].into(),
            max_usd_per_hour: None,
        },
    );
    let o = run(
        vec![pool("p", 8, 1.0)],
        config,
        &jobs,
        &ServiceSimConfig::default(),
    );
    assert_eq!(
        order(&o),
        [(1, 0), (2, 100_000)],
        "one at a time under the quota"
    );
}

#[test]
fn resumable_jobs_time_share_under_an_allocation_policy_with_rounds() {
    let mut jobs = vec![job(1, 0, 1, 500, 300), job(2, 0, 1, 500, 300)];
    for j in &mut jobs {
        j.job.resumable = true;
    }
    let config = MachineConfig {
        policy: "max_min_fairness_perf".parse().unwrap(),
        time_sharing: Some(TimeSharing::rounds_of(60)),
        ..MachineConfig::default()
    };
    let o = run(
        vec![pool("p", 1, 1.0)],
        config.clone(),
        &jobs,
        &ServiceSimConfig::default(),
    );
    let starts: Vec<u64> = o.attempts.iter().map(|a| a.job).collect();
    assert_eq!(&starts[..4], [1, 2, 1, 2], "{starts:?}");
    assert_eq!(o.makespan_ms, 600_000, "no work is lost when sharing");
    let fin: Vec<i64> = o.jobs.iter().filter_map(|j| j.finished_ms).collect();
    assert_eq!(fin.len(), 2);
    assert!(
        fin.iter().all(|&f| f >= 540_000),
        "both finish near the end: {fin:?}"
    );
    // The same jobs without rounds run one after the other.
    let o = run(
        vec![pool("p", 1, 1.0)],
        MachineConfig {
            time_sharing: None,
            ..config
        },
        &jobs,
        &ServiceSimConfig::default(),
    );
    assert_eq!(order(&o), [(1, 0), (2, 300_000)]);
}

#[test]
fn a_job_no_pool_can_run_is_refused_and_the_rest_run() {
    let jobs = vec![job(1, 0, 16, 500, 10), job(2, 0, 1, 500, 10)];
    let o = run(
        vec![pool("p", 8, 1.0)],
        MachineConfig::default(),
        &jobs,
        &ServiceSimConfig::default(),
    );
    assert_eq!(o.jobs[1].finished_ms, Some(10_000));
    let why = o.jobs[0].waiting.as_deref().unwrap();
    assert!(why.contains("refused at submit"), "{why}");
    assert_eq!(
        o,
        run(
            vec![pool("p", 8, 1.0)],
            MachineConfig::default(),
            &jobs,
            &ServiceSimConfig::default()
        ),
        "deterministic"
    );
}

#[test]
fn workload_lines_convert_observed_run_times_and_bad_lines_name_their_field() {
    let pools = vec![pool("fast", 8, 2.0)];
    let spec = r#"{"name":"j","tenant":null,"setup":null,"run":"true","workdir":null,"envs":{},"resources":{"accelerators":[{"accelerator":"H100","count":1}],"order":"ordered","use_spot":false,"cpus":null,"memory":null,"infra":null},"num_nodes":1,"priority":500,"work":null,"deadline":null,"budget":null,"checkpoint":null,"max_restarts":0}"#;
    let text = format!(
        "# a comment\n{{\"id\":5,\"tenant\":\"b\",\"submitted_ms\":1000,\"spec\":{spec},\"run_s\":30,\"pool\":\"fast\"}}\n\n{{\"id\":6,\"submitted_ms\":4000,\"spec\":{spec},\"run_s\":5}}\n"
    );
    let jobs = parse_workload(&text, &pools).unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!((jobs[0].job.submitted_ms, jobs[0].work_s), (0, 60.0));
    assert_eq!((jobs[1].job.submitted_ms, jobs[1].work_s), (3000, 5.0));
    assert_eq!(jobs[1].job.tenant, "default");
    let bad =
        format!("{{\"id\":5,\"submitted_ms\":1,\"spec\":{spec},\"pool\":\"slow\",\"run_s\":1}}");
    let e = parse_workload(&bad, &pools).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (1, "pool"), "{e}");
    let e = parse_workload(
        &format!("\n{{\"id\":5,\"submitted_ms\":1,\"spec\":{spec}}}"),
        &pools,
    )
    .unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (2, "run_s"), "{e}");
    let e = parse_workload("{\"id\":5}", &pools).unwrap_err();
    assert_eq!(e.line, 1);
    assert!(e.to_string().contains("submitted_ms"), "{e}");
}

/// The machine's shortcuts for long traces (no round when no queued job could act; a round
/// over the head of the queue only, as far as some job could act) change no action: a loaded
/// run with priorities, preemption, mixed sizes and two pools of different speeds starts,
/// stops and ends every attempt exactly as with every wait explained, under each
/// queue-ordering policy.
#[test]
fn the_shortcuts_for_long_traces_change_no_action() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut t = 0i64;
    let jobs: Vec<ServiceJob> = (1..=400u64)
        .map(|id| {
            t += rng.random_range(0..120i64);
            let count = [1u32, 1, 2, 4, 8][rng.random_range(0..5usize)];
            let priority = [100u32, 500, 500, 900][rng.random_range(0..4usize)];
            let mut j = job(id, t, count, priority, rng.random_range(60..3_000u64));
            if id % 3 == 0 {
                j.job.order = ChoiceOrder::AnyOf;
            }
            if id % 5 == 0 {
                j.job.work_secs = None;
            }
            if id % 7 == 0 {
                j.job.choices.clear();
            }
            j
        })
        .collect();
    let pools = vec![pool("fast", 16, 2.0), pool("slow", 24, 1.0)];
    for policy in ["priority_backfill", "commitment_aware", "baseline"] {
        let config = MachineConfig {
            policy: policy.parse().unwrap(),
            ..MachineConfig::default()
        };
        let explained = run(
            pools.clone(),
            config.clone(),
            &jobs,
            &ServiceSimConfig::default(),
        );
        let quick = run(
            pools.clone(),
            config,
            &jobs,
            &ServiceSimConfig {
                keep_reasons: false,
                ..ServiceSimConfig::default()
            },
        );
        let attempts = |o: &ServiceOutcome| -> Vec<(u64, String, i64, Option<i64>, u32)> {
            o.attempts
                .iter()
                .map(|a| (a.job, a.pool.clone(), a.started_ms, a.ended_ms, a.chips))
                .collect()
        };
        assert!(explained.preemptions > 0, "{policy}: the workload preempts");
        assert_eq!(attempts(&explained), attempts(&quick), "{policy}");
        assert_eq!(explained.makespan_ms, quick.makespan_ms, "{policy}");
        assert!(quick.rounds <= explained.rounds, "{policy}");
    }
}

#[test]
fn gangs_take_whole_nodes_all_at_once_through_the_machine() {
    // A pool of 2 nodes of 4 H100. Job 1 takes 2 on one node; the gang (2 nodes x 4) waits
    // for it although 6 are free, then holds all 8. Job 3 (4 on one node) could use the whole
    // free node, but it would end after the gang's reserved start: it waits behind the gang.
    let mut nodes = pool("hpc", 8, 1.0);
    nodes.nodes = 2;
    let mut gang = job(2, 1, 4, 500, 50);
    gang.job.num_nodes = 2;
    let jobs = vec![job(1, 0, 2, 500, 100), gang, job(3, 2, 4, 500, 200)];
    let o = run(
        vec![nodes],
        MachineConfig::default(),
        &jobs,
        &ServiceSimConfig::default(),
    );
    assert_eq!(order(&o), [(1, 0), (2, 100_000), (3, 150_000)]);
    assert_eq!(
        o.attempts[1].chips, 8,
        "the gang holds 4 on each of 2 nodes"
    );
    // Its start reason says it as SkyPilot does, per node, as `spillway explain` does.
    let reason = &o.attempts[1].reason;
    assert!(reason.contains(" with 2 nodes x 4 H100 ("), "{reason}");
    assert_eq!(o.jobs[1].finished_ms, Some(150_000));
    // The same gang can never run on a pool of one node: refused up front, never started.
    let mut one = jobs[1].clone();
    one.job.id = JobId(1);
    let o = run(
        vec![pool("box", 8, 1.0)],
        MachineConfig::default(),
        &[one],
        &ServiceSimConfig::default(),
    );
    assert!(o.attempts.is_empty());
}

#[test]
fn the_job_index_finds_every_job_by_id_with_or_without_gaps() {
    use super::job_index::JobIndex;
    let in_order: Vec<ServiceJob> = (7..12).map(|id| job(id, 0, 1, 0, 10)).collect();
    let gaps: Vec<ServiceJob> = [3, 9, 4, 100].map(|id| job(id, 0, 1, 0, 10)).into();
    for jobs in [&in_order, &gaps] {
        let index = JobIndex::new(jobs);
        for (i, j) in jobs.iter().enumerate() {
            assert_eq!(index.get(j.job.id), Some(i));
        }
        for absent in [0, 2, 6, 12, 99, u64::MAX] {
            assert_eq!(index.get(JobId(absent)), None, "id {absent}");
        }
    }
    assert!(matches!(
        JobIndex::new(&in_order),
        JobIndex::Dense { first: 7, len: 5 }
    ));
    assert!(matches!(JobIndex::new(&gaps), JobIndex::Map(_)));
    assert!(matches!(JobIndex::new(&[]), JobIndex::Dense { len: 0, .. }));
}
