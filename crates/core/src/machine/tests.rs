//! Scenario tests of the machine: events in, actions out, state kept between rounds.

use super::*;
use crate::JobId;
use crate::econ::{FailureKind, PlanKind};
use crate::live::{Action, WaitReason};
use spillway_model::UsdPerHour;
use spillway_model::spec::{AcceleratorChoice, ChoiceOrder};

fn pool(name: &str, zone: &str, capacity: u32) -> MachinePool {
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
        plan: PlanKind::OnDemand,
        throughput: 1.0,
        location: ("gcp".into(), "us-central1".into(), zone.into()),
        contract: None,
        preemptions_per_hour: 0.0,
    }
}

fn job(id: u64, priority: u32, count: u32, work_s: Option<u64>) -> MachineJob {
    MachineJob {
        id: JobId(id),
        tenant: "t".into(),
        submitted_ms: id as i64,
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
        work_secs: work_s,
        deadline_ms: None,
        checkpoint_interval_s: None,
        resumable: false,
        speeds: None,
        weight: None,
    }
}

fn starts(d: &crate::live::Decision) -> Vec<(u64, usize)> {
    d.actions
        .iter()
        .filter_map(|a| match a {
            Action::Start { job, pool, .. } => Some((job.0, *pool)),
            Action::Preempt { .. } => None,
        })
        .collect()
}

#[test]
fn a_started_job_holds_its_accelerators_until_its_attempt_ends() {
    let mut m = Machine::new(vec![pool("a", "z1", 4)], MachineConfig::default());
    m.handle(0, Event::Submitted(job(1, 0, 3, None)));
    m.handle(0, Event::Submitted(job(2, 0, 3, None)));
    let d = m.decide(0);
    assert_eq!(starts(&d), [(1, 0)]);
    assert_eq!(m.free(0).count(), 1);
    assert!(matches!(m.phase(JobId(1)), Some(Phase::Running { .. })));
    // Nothing changed: the second round starts nothing, and job 1 is not started twice.
    assert!(starts(&m.decide(10)).is_empty());
    m.handle(
        20,
        Event::AttemptEnded {
            job: JobId(1),
            requeue: false,
        },
    );
    assert!(m.phase(JobId(1)).is_none(), "a finished job leaves");
    assert_eq!(starts(&m.decide(20)), [(2, 0)]);
}

#[test]
fn a_preempted_job_is_stopping_then_requeued_and_restarts_later() {
    let mut m = Machine::new(vec![pool("a", "z1", 2)], MachineConfig::default());
    m.handle(0, Event::Submitted(job(1, 0, 2, None)));
    assert_eq!(starts(&m.decide(0)), [(1, 0)]);
    m.handle(5, Event::Submitted(job(2, 900, 2, None)));
    let d = m.decide(5);
    assert!(
        d.actions.iter().any(
            |a| matches!(a, Action::Preempt { job, for_job, .. } if *job == JobId(1) && *for_job == JobId(2))
        ),
        "{d:?}"
    );
    assert!(matches!(
        m.phase(JobId(1)),
        Some(Phase::Running { stopping: true, .. })
    ));
    // While it stops, nothing is preempted again and job 2 waits for the room being made.
    let d = m.decide(6);
    assert!(d.actions.is_empty(), "{d:?}");
    m.handle(
        7,
        Event::AttemptEnded {
            job: JobId(1),
            requeue: true,
        },
    );
    assert_eq!(starts(&m.decide(7)), [(2, 0)]);
    m.handle(
        9,
        Event::AttemptEnded {
            job: JobId(2),
            requeue: false,
        },
    );
    assert_eq!(starts(&m.decide(9)), [(1, 0)], "the preempted job restarts");
}

#[test]
fn a_refused_launch_blocks_its_zone_for_every_job_and_fails_over() {
    let mut m = Machine::new(
        vec![pool("a", "z1", 2), pool("b", "z2", 2)],
        MachineConfig::default(),
    );
    m.handle(0, Event::Submitted(job(1, 0, 1, None)));
    assert_eq!(starts(&m.decide(0)), [(1, 0)]);
    m.handle(
        1,
        Event::LaunchRefused {
            job: JobId(1),
            kind: FailureKind::ZoneCapacity,
        },
    );
    assert_eq!(m.phase(JobId(1)), Some(&Phase::Queued));
    assert_eq!(m.free(0).count(), 2, "the refused launch holds nothing");
    m.handle(1, Event::Submitted(job(2, 0, 1, None)));
    let d = m.decide(1);
    assert_eq!(starts(&d), [(1, 1), (2, 1)], "both go to the other zone");
}

#[test]
fn a_queued_job_can_be_withdrawn_and_a_running_one_only_stopped() {
    let mut m = Machine::new(vec![pool("a", "z1", 1)], MachineConfig::default());
    m.handle(0, Event::Submitted(job(1, 0, 1, None)));
    m.handle(0, Event::Submitted(job(2, 0, 1, None)));
    m.decide(0);
    m.handle(1, Event::Withdrawn { job: JobId(1) });
    assert!(
        m.phase(JobId(1)).is_some(),
        "a running job is not withdrawn"
    );
    m.handle(1, Event::Withdrawn { job: JobId(2) });
    assert!(m.phase(JobId(2)).is_none());
    assert_eq!(m.len(), 1);
}

#[test]
fn restored_attempts_keep_their_accelerators() {
    let mut m = Machine::new(vec![pool("a", "z1", 4)], MachineConfig::default());
    m.handle(
        0,
        Event::Restored {
            job: job(1, 0, 2, None),
            pool: 0,
            accelerators: vec![1, 2],
            started_ms: -5,
            stopping: false,
        },
    );
    m.handle(0, Event::Submitted(job(2, 0, 2, None)));
    let d = m.decide(0);
    match &d.actions[..] {
        [Action::Start { accelerators, .. }] => assert_eq!(accelerators, &[0, 3]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_job_no_pool_can_run_is_refused_with_the_reason() {
    let m = Machine::new(vec![pool("a", "z1", 4)], MachineConfig::default());
    let err = m.can_ever_place(&job(1, 0, 8, None)).unwrap_err();
    assert!(matches!(err, WaitReason::NoPool { .. }), "{err:?}");
    m.can_ever_place(&job(2, 0, 4, None)).unwrap();
}

#[test]
fn resumable_jobs_time_share_round_by_round_under_an_allocation_policy() {
    let config = MachineConfig {
        policy: "max_min_fairness_perf".parse().unwrap(),
        time_sharing: Some(TimeSharing::rounds_of(60)),
        ..MachineConfig::default()
    };
    let mut m = Machine::new(vec![pool("a", "z1", 1)], config);
    let mut a = job(1, 500, 1, None);
    a.resumable = true;
    let mut b = job(2, 500, 1, None);
    b.resumable = true;
    m.handle(0, Event::Submitted(a));
    m.handle(0, Event::Submitted(b));
    let mut ran = Vec::new();
    let mut now = 0;
    for _ in 0..4 {
        let d = m.decide(now);
        for a in &d.actions {
            match a {
                Action::Start { job, .. } => ran.push(job.0),
                Action::Preempt {
                    job, lease_ended, ..
                } => {
                    assert!(lease_ended, "{d:?}");
                    m.handle(
                        now,
                        Event::AttemptEnded {
                            job: *job,
                            requeue: true,
                        },
                    );
                }
            }
        }
        // The preempted job's accelerator is free: the owed job starts at once.
        for a in m.decide(now).actions {
            if let Action::Start { job, .. } = a {
                ran.push(job.0);
            }
        }
        assert_eq!(m.next_wake_ms(), Some(now + 60_000));
        now += 60_000;
    }
    assert_eq!(
        ran,
        [1, 2, 1, 2],
        "equal shares alternate, a lease at a time"
    );
}

#[test]
fn jobs_that_cannot_resume_are_never_preempted_by_a_lease() {
    let config = MachineConfig {
        policy: "max_min_fairness_perf".parse().unwrap(),
        time_sharing: Some(TimeSharing::rounds_of(60)),
        ..MachineConfig::default()
    };
    let mut m = Machine::new(vec![pool("a", "z1", 1)], config);
    m.handle(0, Event::Submitted(job(1, 500, 1, None)));
    m.handle(0, Event::Submitted(job(2, 500, 1, None)));
    assert_eq!(starts(&m.decide(0)), [(1, 0)]);
    for t in 1..5 {
        assert!(
            m.decide(t * 60_000).actions.is_empty(),
            "it keeps its accelerator round after round"
        );
    }
}

/// Three pools by price: spot (cheapest), on-demand in zone z1, on-demand in zone z2 (dearest).
fn priced_pools() -> Vec<MachinePool> {
    let mut spot = pool("spot", "z0", 2);
    spot.plan = PlanKind::Spot;
    spot.price = UsdPerHour(0.5);
    spot.preemptions_per_hour = 0.1;
    let mut cheap = pool("cheap", "z1", 2);
    cheap.price = UsdPerHour(1.0);
    let mut dear = pool("dear", "z2", 2);
    dear.price = UsdPerHour(3.0);
    vec![spot, cheap, dear]
}

fn spot_job(id: u64) -> MachineJob {
    MachineJob {
        use_spot: true,
        choices: vec![
            AcceleratorChoice {
                accelerator: "H100".into(),
                count: 1,
            };
            1
        ],
        order: ChoiceOrder::AnyOf,
        ..job(id, 0, 1, Some(3600))
    }
}

#[test]
fn baseline_takes_the_cheapest_pool_never_spot_and_fails_over_job_by_job() {
    let config = MachineConfig {
        policy: "baseline".parse().unwrap(),
        ..MachineConfig::default()
    };
    let mut m = Machine::new(priced_pools(), config);
    m.handle(0, Event::Submitted(spot_job(1)));
    assert_eq!(
        starts(&m.decide(0)),
        [(1, 1)],
        "cheapest on demand, not spot"
    );
    m.handle(
        1,
        Event::LaunchRefused {
            job: JobId(1),
            kind: FailureKind::ZoneCapacity,
        },
    );
    // Job 1 moves on to its next pool; job 2, a request of its own, still tries the cheapest.
    m.handle(1, Event::Submitted(spot_job(2)));
    assert_eq!(starts(&m.decide(1)), [(1, 2), (2, 1)]);
    assert!(
        !m.failover()
            .is_blocked(("gcp", "us-central1", "z1"), crate::SimTime(1_000)),
        "nothing is shared between requests"
    );
}

#[test]
fn on_demand_only_never_uses_spot_and_commitment_aware_does_when_allowed() {
    let run = |policy: &str| {
        let config = MachineConfig {
            policy: policy.parse().unwrap(),
            ..MachineConfig::default()
        };
        let mut m = Machine::new(priced_pools(), config);
        // Waited long enough that it rents rather than waits for owned capacity.
        let mut j = spot_job(1);
        j.submitted_ms = -86_400_000;
        m.handle(0, Event::Submitted(j));
        starts(&m.decide(0))
    };
    assert_eq!(run("on_demand_only"), [(1, 1)]);
    assert_eq!(run("commitment_aware"), [(1, 0)]);
}

/// A spot pool of one 8-GPU VM and an on-demand pool of two (rented in blocks of 8).
fn vm_pools() -> Vec<MachinePool> {
    let mut spot = pool("spot", "z0", 8);
    spot.plan = PlanKind::Spot;
    spot.price = UsdPerHour(0.5);
    spot.preemptions_per_hour = 0.1;
    spot.block = 8;
    let mut od = pool("od", "z1", 16);
    od.block = 8;
    vec![spot, od]
}

/// A job that may use spot, checkpoints every 30 minutes and has waited a day (so it rents
/// rather than waits for owned capacity).
fn vm_job(id: u64, count: u32, work_s: u64, deadline_ms: Option<i64>) -> MachineJob {
    MachineJob {
        use_spot: true,
        order: ChoiceOrder::AnyOf,
        submitted_ms: -86_400_000 + id as i64,
        deadline_ms,
        checkpoint_interval_s: Some(1800),
        resumable: true,
        ..job(id, 0, count, Some(work_s))
    }
}

fn started_on(d: &crate::live::Decision, id: u64) -> Option<(usize, Vec<u32>)> {
    d.actions.iter().find_map(|a| match a {
        Action::Start {
            job,
            pool,
            accelerators,
            ..
        } if job.0 == id => Some((*pool, accelerators.clone())),
        _ => None,
    })
}

#[test]
fn a_job_goes_into_the_fullest_rented_vm_and_never_straddles_two() {
    let config = MachineConfig {
        policy: "on_demand_only".parse().unwrap(),
        ..MachineConfig::default()
    };
    let mut m = Machine::new(vm_pools(), config);
    m.handle(0, Event::Submitted(vm_job(1, 6, 3_600, None)));
    m.handle(0, Event::Submitted(vm_job(2, 4, 36_000, None)));
    m.handle(0, Event::Submitted(vm_job(3, 2, 36_000, None)));
    m.handle(0, Event::Submitted(vm_job(4, 2, 3_000, None)));
    let d = m.decide(0);
    assert_eq!(started_on(&d, 1), Some((1, (0..6).collect())));
    // Not indices 6..10 (two VMs kept for ten hours by a 4-GPU job): a VM of its own.
    assert_eq!(started_on(&d, 2), Some((1, (8..12).collect())));
    // The 2-GPU job of 10 hours goes next to job 2 (the VM it keeps rented for as long) rather
    // than into the last 2 free GPUs of job 1's VM, which would keep that VM 9 hours more.
    assert_eq!(started_on(&d, 3), Some((1, vec![12, 13])));
    // A 2-GPU job that ends before job 1 extends neither VM; it fills job 1's (the fullest).
    assert_eq!(started_on(&d, 4), Some((1, vec![6, 7])));
}

#[test]
fn a_deadline_job_rides_on_idle_chips_of_a_rented_vm_and_moves_to_spot_once_it_holds_it_alone() {
    let run = |first_work_s: u64| {
        let config = MachineConfig {
            policy: "commitment_aware".parse().unwrap(),
            ..MachineConfig::default()
        };
        let mut m = Machine::new(vm_pools(), config);
        // Job 1 (no deadline) tries spot first; the launch is refused, so it rents a VM.
        m.handle(0, Event::Submitted(vm_job(1, 4, first_work_s, None)));
        assert_eq!(started_on(&m.decide(0), 1), Some((0, (0..4).collect())));
        m.handle(
            1,
            Event::LaunchRefused {
                job: JobId(1),
                kind: FailureKind::ZoneCapacity,
            },
        );
        assert_eq!(started_on(&m.decide(1), 1), Some((1, (0..4).collect())));
        // Job 2 has a deadline three days away: it would wait for spot rather than rent on
        // demand, but the idle half of job 1's VM costs it nothing more than the VM's time
        // beyond job 1's end.
        m.handle(2, Event::Submitted(vm_job(2, 4, 36_000, Some(259_200_000))));
        assert_eq!(started_on(&m.decide(2), 2), Some((1, (4..8).collect())));
        (m, first_work_s)
    };
    let moves = |d: &crate::live::Decision| {
        d.actions
            .iter()
            .filter(|a| matches!(a, Action::Preempt { job, for_job, .. } if job.0 == 2 && for_job.0 == 2))
            .count()
    };
    // Job 1 runs longer than job 2: the VM stays rented for it anyway, so job 2 stays.
    let (mut m, _) = run(72_000);
    let d = m.decide(3_900_000);
    assert_eq!(moves(&d), 0, "{d:?}");
    // Job 1 ends after an hour: job 2 keeps the VM alone, and moves back to spot.
    let (mut m, work) = run(3_600);
    let end = (work as i64 + 300) * 1000;
    m.handle(
        end,
        Event::AttemptEnded {
            job: JobId(1),
            requeue: false,
        },
    );
    let d = m.decide(end);
    assert_eq!(moves(&d), 1, "{d:?}");
}

#[test]
fn a_pool_that_refused_a_start_is_not_launched_on_again_in_the_same_decision() {
    let mut m = Machine::new(
        vec![pool("a", "z1", 4), pool("b", "z2", 4)],
        MachineConfig::default(),
    );
    for id in 1..=3 {
        m.handle(0, Event::Submitted(job(id, 0, 1, None)));
    }
    assert_eq!(starts(&m.decide(0)), [(1, 0), (2, 0), (3, 0)]);
    assert!(m.should_launch(JobId(1)));
    m.handle(
        0,
        Event::LaunchRefused {
            job: JobId(1),
            kind: FailureKind::ZoneCapacity,
        },
    );
    assert!(!m.should_launch(JobId(2)) && !m.should_launch(JobId(3)));
    assert!(
        m.should_launch(JobId(9)),
        "a job the machine does not track"
    );
    for id in [2, 3] {
        m.handle(
            0,
            Event::AttemptEnded {
                job: JobId(id),
                requeue: true,
            },
        );
    }
    // The next decision steers all three away from the blocked zone, and launches there go
    // ahead.
    assert_eq!(starts(&m.decide(1)), [(1, 1), (2, 1), (3, 1)]);
    assert!((1..=3).all(|id| m.should_launch(JobId(id))));
    m.handle(
        2,
        Event::LaunchRefused {
            job: JobId(1),
            kind: FailureKind::ZoneCapacity,
        },
    );
    assert!(!m.should_launch(JobId(2)) && !m.should_launch(JobId(3)));
}

#[test]
fn a_refusal_holds_back_only_starts_on_the_pool_that_refused() {
    let mut m = Machine::new(
        vec![pool("a", "z1", 1), pool("b", "z2", 1)],
        MachineConfig::default(),
    );
    m.handle(0, Event::Submitted(job(1, 0, 1, None)));
    m.handle(0, Event::Submitted(job(2, 0, 1, None)));
    assert_eq!(starts(&m.decide(0)), [(1, 0), (2, 1)]);
    m.handle(
        0,
        Event::LaunchRefused {
            job: JobId(1),
            kind: FailureKind::ZoneCapacity,
        },
    );
    assert!(m.should_launch(JobId(2)));
}
