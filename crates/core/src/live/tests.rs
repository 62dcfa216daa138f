//! Scenario tests of the live round.

use super::*;
use crate::econ::PlanKind;
use crate::{JobId, PolicyKind, SimTime};
use spillway_model::UsdPerHour;
use spillway_model::spec::{AcceleratorChoice, ChoiceOrder};
use std::collections::HashMap;

mod gangs;
mod slices;
mod spot;

fn h100(n: u32) -> Vec<AcceleratorChoice> {
    vec![AcceleratorChoice {
        accelerator: "H100".into(),
        count: n,
    }]
}

fn pool(
    name: &'static str,
    acc: Option<&'static str>,
    cap: u32,
    free: &[u32],
) -> PoolView<'static> {
    PoolView {
        name,
        executor: "local",
        accelerator: acc,
        capacity: cap,
        slice: None,
        nodes: 1,
        block: 1,
        free: free.to_vec(),
        free_unlisted: 0,
        max_jobs: 64,
        price: UsdPerHour(1.0),
        plan: PlanKind::Owned,
        throughput: 1.0,
        location: ("local", name, name),
        contract: None,
        preemptions_per_hour: 0.0,
    }
}

fn queued<'a>(id: u64, priority: u32, choices: &'a [AcceleratorChoice]) -> QueuedView<'a> {
    QueuedView {
        id: JobId(id),
        tenant: "t",
        submitted_ms: 0,
        priority,
        choices,
        accelerator_ids: &[],
        order: ChoiceOrder::Ordered,
        slice_choices: &[],
        topology: None,
        num_nodes: 1,
        infra: None,
        use_spot: false,
        alternatives: &[],
        budget: None,
        work_secs: None,
        deadline_ms: None,
        checkpoint_interval_s: None,
        speeds: None,
        failover: None,
    }
}

fn input<'a>(
    pools: Vec<PoolView<'a>>,
    queued: Vec<QueuedView<'a>>,
    running: Vec<RunningView>,
) -> RoundInput<'a> {
    RoundInput {
        now_ms: 0,
        pool_index: super::PoolIndex::ByName(super::types::pools_by_accelerator(&pools)),
        pools,
        queued,
        running: running.into(),
        load: None,
        stop_when_stuck: None,
        quotas: HashMap::new(),
        policy: PolicyKind::PriorityBackfill.into(),
        failover: None,
        restart_overhead_s: 0.0,
        failover_allowance_s: 0.0,
        contracts: Vec::new(),
    }
}

fn started(d: &Decision) -> Vec<(u64, Vec<u32>)> {
    d.actions
        .iter()
        .filter_map(|a| match a {
            Action::Start {
                job, accelerators, ..
            } => Some((job.0, accelerators.clone())),
            Action::Preempt { .. } => None,
        })
        .collect()
}

#[test]
fn priority_then_fifo_with_lowest_indices() {
    let (a, b) = (h100(2), h100(4));
    let d = decide(&input(
        vec![pool("p", Some("H100"), 8, &[0, 1, 2, 3, 4, 5, 6, 7])],
        vec![queued(2, 500, &a), queued(1, 500, &a), queued(3, 900, &b)],
        vec![],
    ));
    assert_eq!(
        started(&d),
        vec![(3, vec![0, 1, 2, 3]), (1, vec![4, 5]), (2, vec![6, 7])]
    );
}

#[test]
fn blocked_job_reserves_and_only_short_jobs_backfill() {
    let (big, small) = (h100(4), h100(2));
    let held = [0u32, 1];
    let running = vec![RunningView {
        id: JobId(9),
        tenant: "t".into(),
        priority: 500,
        pool: 0,
        accelerators: held.to_vec(),
        started_ms: 0,
        expected_end_ms: Some(3_600_000),
        stopping: false,
    }];
    let mut short = queued(3, 500, &small);
    short.work_secs = Some(1800);
    let long = queued(2, 500, &small);
    let d = decide(&input(
        vec![pool("p", Some("H100"), 4, &[2, 3])],
        vec![queued(1, 500, &big), long, short],
        running,
    ));
    // Job 1 needs all 4 and reserves; job 2 (no estimate) may not take the 2 free ones, job 3
    // (ends in 30 min, before job 9 frees its chips in 60) may.
    assert_eq!(started(&d), vec![(3, vec![2, 3])]);
    assert!(matches!(
        d.waiting[0],
        (JobId(1), WaitReason::NoCapacity { behind: None, .. })
    ));
    assert!(matches!(
        d.waiting[1],
        (
            JobId(2),
            WaitReason::NoCapacity {
                behind: Some(JobId(1)),
                ..
            }
        )
    ));
}

#[test]
fn higher_priority_preempts_the_lowest_most_recent() {
    let big = h100(2);
    let (h0, h1) = ([0u32], [1u32]);
    let run = |id, prio, started, acc: &'static [u32]| RunningView {
        id: JobId(id),
        tenant: "t".into(),
        priority: prio,
        pool: 0,
        accelerators: acc.to_vec(),
        started_ms: started,
        expected_end_ms: None,
        stopping: false,
    };
    let h0: &'static [u32] = Box::leak(Box::new(h0));
    let h1: &'static [u32] = Box::leak(Box::new(h1));
    let d = decide(&input(
        vec![pool("p", Some("H100"), 2, &[])],
        vec![queued(5, 900, &big)],
        vec![run(1, 100, 10, h0), run(2, 100, 20, h1)],
    ));
    assert_eq!(
        d.actions,
        vec![
            Action::Preempt {
                job: JobId(2),
                for_job: JobId(5),
                lease_ended: false,
            },
            Action::Preempt {
                job: JobId(1),
                for_job: JobId(5),
                lease_ended: false,
            }
        ]
    );
    // Equal priority never preempts.
    let d = decide(&input(
        vec![pool("p", Some("H100"), 2, &[])],
        vec![queued(5, 100, &big)],
        vec![run(1, 100, 10, h0), run(2, 100, 20, h1)],
    ));
    assert!(d.actions.is_empty());
}

#[test]
fn ordered_alternatives_fall_back_and_any_of_picks_cheapest() {
    let choices = vec![
        AcceleratorChoice {
            accelerator: "H100".into(),
            count: 8,
        },
        AcceleratorChoice {
            accelerator: "A100".into(),
            count: 8,
        },
    ];
    let mut a100 = pool("a", Some("A100"), 8, &[0, 1, 2, 3, 4, 5, 6, 7]);
    a100.price = UsdPerHour(0.5);
    let h = pool("h", Some("H100"), 8, &[0, 1, 2, 3, 4, 5, 6, 7]);
    let d = decide(&input(
        vec![h.clone(), a100.clone()],
        vec![queued(1, 500, &choices)],
        vec![],
    ));
    assert!(
        matches!(&d.actions[0], Action::Start { pool: 0, .. }),
        "ordered: first choice"
    );
    let mut any = queued(1, 500, &choices);
    any.order = ChoiceOrder::AnyOf;
    let d = decide(&input(vec![h, a100], vec![any], vec![]));
    assert!(
        matches!(&d.actions[0], Action::Start { pool: 1, .. }),
        "any-of: cheapest"
    );
}

#[test]
fn quotas_hold_jobs_back_with_a_reason() {
    let two = h100(2);
    let mut inp = input(
        vec![pool("p", Some("H100"), 8, &[0, 1, 2, 3, 4, 5, 6, 7])],
        vec![queued(1, 500, &two), queued(2, 500, &two)],
        vec![],
    );
    inp.quotas.insert(
        "t",
        QuotaView {
            max_accelerators: [("H100".to_string(), 3)].into(),
            max_usd_per_hour: None,
        },
    );
    let d = decide(&inp);
    assert_eq!(started(&d), vec![(1, vec![0, 1])]);
    assert_eq!(
        d.waiting[0].1.to_string(),
        "tenant t holds 2 of its quota of 3 H100; it waits until some of its jobs finish"
    );
    // A job larger than the quota is told it can never start under it.
    let four = h100(4);
    inp.queued = vec![queued(3, 500, &four)];
    assert_eq!(
        decide(&inp).waiting[0].1.to_string(),
        "it needs 4 H100, more than tenant t's quota of 3: it cannot start under this quota (raise the quota or ask for fewer)"
    );
}

#[test]
fn cpu_jobs_use_job_slots_and_unplaceable_jobs_say_why() {
    let mut cpu = pool("cpu", None, 0, &[]);
    cpu.max_jobs = 1;
    let b200 = vec![AcceleratorChoice {
        accelerator: "B200".into(),
        count: 1,
    }];
    let d = decide(&input(
        vec![cpu],
        vec![
            queued(1, 500, &[]),
            queued(2, 500, &[]),
            queued(3, 500, &b200),
        ],
        vec![],
    ));
    assert_eq!(started(&d), vec![(1, vec![])]);
    assert_eq!(
        d.waiting[0].1.to_string(),
        "pool cpu already runs its limit of 1 jobs"
    );
    assert_eq!(
        d.waiting[1].1.to_string(),
        "no pool can run it: no declared pool has B200:1"
    );
}

#[test]
fn spot_pools_take_only_jobs_that_accept_spot() {
    let one = h100(1);
    let mut spot = pool("spot", Some("H100"), 8, &[0, 1, 2, 3, 4, 5, 6, 7]);
    spot.plan = PlanKind::Spot;
    let mut willing = queued(2, 500, &one);
    willing.use_spot = true;
    let d = decide(&input(
        vec![spot.clone()],
        vec![queued(1, 500, &one), willing],
        vec![],
    ));
    assert_eq!(started(&d), vec![(2, vec![0])]);
    assert_eq!(
        d.waiting[0].1.to_string(),
        "no pool can run it: only spot pools could run it: set resources.use_spot: true to accept preemptible capacity"
    );
}

#[test]
fn pools_blocked_by_the_failover_memory_are_skipped_then_waited_for() {
    use crate::econ::{FailoverMemory, FailureKind};
    let one = h100(1);
    let cheap = pool("a", Some("H100"), 1, &[0]);
    let mut dear = pool("b", Some("H100"), 2, &[0, 1]);
    dear.price = UsdPerHour(2.0);
    let mut memory = FailoverMemory::new(60.0);
    memory.record(FailureKind::ZoneCapacity, cheap.location, SimTime::ZERO);
    let mut i = input(
        vec![cheap.clone(), dear.clone()],
        vec![queued(1, 500, &one)],
        vec![],
    );
    i.failover = Some(&memory);
    let d = decide(&i);
    let Action::Start { pool, reason, .. } = &d.actions[0] else {
        panic!("{d:?}")
    };
    assert_eq!(*pool, 1, "the next pool at once");
    assert_eq!(
        reason.to_string(),
        "placed on pool b with H100:1 (its first choice) by policy priority_backfill; priority 500, skipping pool a (zone a of local blocked for 60 s more), accelerator indices [0]"
    );
    // A blocked pool it would only have tried after the one it got is not "skipped".
    let mut i = input(
        vec![dear.clone(), cheap.clone()],
        vec![queued(1, 500, &one)],
        vec![],
    );
    i.failover = Some(&memory);
    i.pools[0].price = UsdPerHour(0.5);
    let d = decide(&i);
    let Action::Start { reason, .. } = &d.actions[0] else {
        panic!("{d:?}")
    };
    assert!(reason.blocked.is_empty(), "{reason}");
    // Only the blocked pool could run it: it waits, saying for how long.
    let mut i = input(vec![cheap.clone()], vec![queued(1, 500, &one)], vec![]);
    i.failover = Some(&memory);
    i.now_ms = 20_000;
    let d = decide(&i);
    assert!(d.actions.is_empty());
    assert_eq!(
        d.waiting[0].1.to_string(),
        "every pool that could run it is blocked after launches failed there for lack of capacity: pool a (zone a of local blocked for 40 s more); it starts when a block fades"
    );
    // A region failure blocks every pool of the region; the block fades after a half-life.
    memory.record(FailureKind::RegionQuota, ("local", "r", "x"), SimTime::ZERO);
    let (mut a, mut b) = (cheap, dear);
    a.location = ("local", "r", "a");
    b.location = ("local", "r", "b");
    let mut i = input(vec![a, b], vec![queued(1, 500, &one)], vec![]);
    i.failover = Some(&memory);
    assert!(decide(&i).actions.is_empty());
    i.now_ms = 61_000;
    assert_eq!(started(&decide(&i)), vec![(1, vec![0])]);
}

#[test]
fn a_deadline_job_uses_spot_only_while_its_slack_absorbs_a_preemption() {
    let one = h100(1);
    let mut spot = pool("spot", Some("H100"), 1, &[0]);
    spot.plan = PlanKind::Spot;
    spot.price = UsdPerHour(0.5);
    let mut od = pool("od", Some("H100"), 1, &[0]);
    od.price = UsdPerHour(2.0);
    let hour = 3_600_000;
    let job = |deadline_h: Option<f64>| {
        let mut q = queued(1, 500, &one);
        q.use_spot = true;
        q.work_secs = Some(10 * 3600);
        q.checkpoint_interval_s = Some(1800);
        q.deadline_ms = deadline_h.map(|h| (h * hour as f64) as i64);
        q
    };
    let place = |q: QueuedView<'_>| {
        let mut i = input(vec![spot.clone(), od.clone()], vec![q], vec![]);
        i.restart_overhead_s = 300.0;
        match decide(&i).actions.remove(0) {
            Action::Start { pool, reason, .. } => (pool, reason),
            a => panic!("{a:?}"),
        }
    };
    // 10 h of work due in 12 h: 2 h of slack beyond a restart covers a lost half hour.
    let (p, r) = place(job(Some(12.0)));
    assert_eq!((p, r.spot_ruled_out), (0, false));
    // Due in 10.5 h: 25 min of slack after a restart cannot absorb a lost half hour.
    let (p, r) = place(job(Some(10.5)));
    assert_eq!((p, r.spot_ruled_out), (1, true));
    assert!(
        r.to_string()
            .contains("not on spot: its deadline leaves too little slack"),
        "{r}"
    );
    // Without checkpoints a preemption loses all 10 h: even 12 h is too tight.
    let mut q = job(Some(12.0));
    q.checkpoint_interval_s = None;
    assert_eq!(place(q).0, 1);
    // No deadline: spot, the cheapest.
    assert_eq!(place(job(None)).0, 0);
}

#[test]
fn alternatives_over_budget_are_skipped_and_an_unaffordable_job_says_why() {
    let choices = vec![
        AcceleratorChoice {
            accelerator: "H100".into(),
            count: 8,
        },
        AcceleratorChoice {
            accelerator: "A100".into(),
            count: 8,
        },
    ];
    let mut h = pool("h", Some("H100"), 8, &[0, 1, 2, 3, 4, 5, 6, 7]);
    h.price = UsdPerHour(4.0);
    let mut a = pool("a", Some("A100"), 8, &[0, 1, 2, 3, 4, 5, 6, 7]);
    a.price = UsdPerHour(2.0);
    // 10 hours: H100 costs $320, A100 $160.
    let mut job = queued(1, 500, &choices);
    job.work_secs = Some(36_000);
    job.budget = Some(spillway_model::Usd(200.0));
    let d = decide(&input(
        vec![h.clone(), a.clone()],
        vec![job.clone()],
        vec![],
    ));
    assert!(
        matches!(&d.actions[0], Action::Start { pool: 1, .. }),
        "only A100 fits the budget"
    );
    job.budget = Some(spillway_model::Usd(100.0));
    assert_eq!(
        can_ever_place(&[h, a], &job).unwrap_err().to_string(),
        "no pool can run it: every alternative would cost more than its budget of $100.00: the cheapest is $160.00 for its estimated 10h"
    );
}

#[test]
fn start_reasons_are_data_and_words() {
    let two = h100(2);
    let d = decide(&input(
        vec![pool("p", Some("H100"), 8, &[0, 1, 2, 3, 4, 5, 6, 7])],
        vec![queued(1, 500, &two)],
        vec![],
    ));
    let Action::Start { reason, .. } = &d.actions[0] else {
        panic!("{d:?}")
    };
    assert_eq!(reason.choice, Choice::FirstChoice);
    assert_eq!(
        reason.to_string(),
        "placed on pool p with H100:2 (its first choice) by policy priority_backfill; priority 500, accelerator indices [0, 1]"
    );
}

#[test]
fn fifo_does_not_overtake_and_says_the_policy_holds_the_job() {
    let (big, small) = (h100(8), h100(1));
    let mut short = queued(2, 500, &small);
    short.work_secs = Some(60);
    let mut inp = input(
        vec![pool("p", Some("H100"), 8, &[0, 1, 2, 3])],
        vec![queued(1, 500, &big), short],
        vec![],
    );
    let held = [4u32, 5, 6, 7];
    inp.running.to_mut().push(RunningView {
        id: JobId(9),
        tenant: "t".into(),
        priority: 500,
        pool: 0,
        accelerators: held.to_vec(),
        started_ms: 0,
        expected_end_ms: None,
        stopping: false,
    });
    inp.policy = "fifo_perf".parse().unwrap();
    let d = decide(&inp);
    assert!(started(&d).is_empty(), "{d:?}");
    assert_eq!(
        d.waiting[1],
        (
            JobId(2),
            WaitReason::NoShare {
                policy: "fifo_perf"
            }
        )
    );
    // Priority with backfill lets the short job use the free accelerators meanwhile.
    inp.policy = PolicyKind::PriorityBackfill.into();
    assert_eq!(started(&decide(&inp)), vec![(2, vec![0])]);
}

#[test]
fn allocation_policies_prefer_the_pool_with_the_larger_share() {
    let choices = vec![
        AcceleratorChoice {
            accelerator: "A100".into(),
            count: 1,
        },
        AcceleratorChoice {
            accelerator: "H100".into(),
            count: 1,
        },
    ];
    let mut fast = pool("h", Some("H100"), 1, &[0]);
    fast.throughput = 3.0;
    let slow = pool("a", Some("A100"), 1, &[0]);
    let mut inp = input(vec![slow, fast], vec![queued(1, 500, &choices)], vec![]);
    // Ordered, its first choice is A100; the heterogeneity-aware FIFO gives it the faster H100.
    assert!(matches!(
        &decide(&inp).actions[0],
        Action::Start { pool: 0, .. }
    ));
    inp.policy = "fifo_perf".parse().unwrap();
    let d = decide(&inp);
    let Action::Start { pool, reason, .. } = &d.actions[0] else {
        panic!("{d:?}")
    };
    assert_eq!(*pool, 1);
    assert_eq!(reason.choice, Choice::Share { share: 1.0 });
    assert!(
        reason
            .to_string()
            .contains("allocates it 100% of this pool's time"),
        "{reason}"
    );
}

mod invariants {
    //! Whatever the state, a round never hands out an accelerator that is not free, never
    //! gives one to two jobs, never exceeds a pool's job limit or a tenant's quota, gives each
    //! job exactly one of its alternatives, and preempts only strictly lower priorities.

    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashSet};

    const ACCS: [&str; 3] = ["H100", "A100", "L4"];
    const TENANTS: [&str; 3] = ["a", "b", "c"];

    /// A queued job: alternatives (accelerator index, count), priority, tenant index, any-of.
    type QueuedSpec = (Vec<(usize, u32)>, u32, usize, bool);

    #[derive(Debug, Clone)]
    struct World {
        pools: Vec<(usize, u32, u32)>,
        queued: Vec<QueuedSpec>,
        running: Vec<(usize, u32, u32, usize)>,
        quota: u32,
        policy: LivePolicy,
        /// What the contract of the committed pools has spent beyond $11M (its pace allows about
        /// $13.2M now: mostly within, sometimes ahead).
        spent: f64,
    }

    /// The policies the live round is checked under: the default and one of each family.
    const POLICIES: [&str; 6] = [
        "priority_backfill",
        "fifo_perf",
        "fifo",
        "max_min_fairness_perf",
        "min_total_duration_perf",
        "commitment_aware",
    ];

    fn world() -> impl Strategy<Value = World> {
        (
            prop::collection::vec((0..3usize, 1..16u32, 1..6u32), 1..4),
            prop::collection::vec(
                (
                    prop::collection::vec((0..3usize, 1..9u32), 1..3),
                    0..1000u32,
                    0..3usize,
                    any::<bool>(),
                ),
                0..40,
            ),
            prop::collection::vec((0..4usize, 1..5u32, 0..1000u32, 0..3usize), 0..10),
            1..20u32,
            0..POLICIES.len(),
            0.0..4_000_000.0f64,
        )
            .prop_map(|(pools, queued, running, quota, policy, spent)| World {
                pools,
                queued,
                running,
                quota,
                policy: POLICIES[policy].parse().unwrap(),
                spent,
            })
    }

    proptest! {
        #[test]
        fn a_round_respects_capacity_quotas_and_priorities(w in world()) {
            // Running jobs take the lowest indices of their pool, as far as they fit.
            let mut taken: Vec<u32> = vec![0; w.pools.len()];
            let mut held: Vec<Vec<u32>> = Vec::new();
            let mut running_specs = Vec::new();
            for (pool, n, prio, tenant) in &w.running {
                let p = pool % w.pools.len();
                let cap = w.pools[p].1;
                if taken[p] + n > cap { continue; }
                held.push((taken[p]..taken[p] + n).collect());
                taken[p] += n;
                running_specs.push((p, *prio, *tenant));
            }
            let choices: Vec<Vec<AcceleratorChoice>> = w.queued.iter().map(|(cs, ..)| {
                let mut seen = HashSet::new();
                cs.iter().filter(|(a, _)| seen.insert(*a))
                    .map(|(a, n)| AcceleratorChoice { accelerator: ACCS[*a].to_string(), count: *n })
                    .collect()
            }).collect();
            let pools: Vec<PoolView<'_>> = w.pools.iter().enumerate().map(|(i, (a, cap, max_jobs))| PoolView {
                name: ["p0", "p1", "p2", "p3"][i],
                executor: "local",
                accelerator: Some(ACCS[*a]),
                capacity: *cap,
                slice: None,
                nodes: 1,
                block: 1,
                free: (taken[i]..*cap).collect(),
                free_unlisted: 0,
                max_jobs: *max_jobs,
                price: UsdPerHour(1.0 + i as f64),
                // Every plan but spot (no job here accepts it), committed pools under one
                // contract.
                plan: [PlanKind::Owned, PlanKind::Committed, PlanKind::OnDemand][i % 3],
                throughput: 1.0,
                location: ("local", "r", ["p0", "p1", "p2", "p3"][i]),
                contract: (i % 3 == 1).then_some(0),
                preemptions_per_hour: 0.0,
            }).collect();
            let running: Vec<RunningView> = running_specs.iter().zip(&held).enumerate().map(|(i, ((p, prio, t), acc))| RunningView {
                id: JobId(10_000 + i as u64),
                tenant: TENANTS[*t].into(),
                priority: *prio,
                pool: *p,
                accelerators: acc.to_vec(),
                started_ms: i as i64,
                expected_end_ms: None,
                stopping: false,
            }).collect();
            let queued: Vec<QueuedView<'_>> = w.queued.iter().zip(&choices).enumerate().map(|(i, ((_, prio, t, any), cs))| QueuedView {
                id: JobId(i as u64 + 1),
                tenant: TENANTS[*t],
                // Some have waited long enough to rent under commitment_aware, some not.
                submitted_ms: -(i as i64) * 600_000,
                priority: *prio,
                choices: cs,
                accelerator_ids: &[],
                order: if *any { ChoiceOrder::AnyOf } else { ChoiceOrder::Ordered },
                slice_choices: &[],
                topology: None,
                num_nodes: 1,
                infra: None,
                work_secs: (i % 2 == 0).then_some(3600 * (i as u64 % 5 + 1)),
                use_spot: false,
                alternatives: &[],
                budget: None,
                deadline_ms: None,
                checkpoint_interval_s: None,
                speeds: None,
                failover: None,
                    }).collect();
            let mut quotas = HashMap::new();
            quotas.insert("a", QuotaView { max_accelerators: [("H100".to_string(), w.quota)].into(), max_usd_per_hour: None });
            let contract = crate::econ::Contract {
                name: "c".into(),
                provider: "local".into(),
                total: spillway_model::Usd(24_000_000.0),
                start: SimTime(-(365 * 86_400 * 1_000_000)),
                term_months: 24.0,
                discount: 0.3,
                overage_discount: 0.0,
                renewals: 0,
                accelerators: Vec::new(),
                regions: Vec::new(),
                burn: crate::econ::BurnSchedule::Linear,
            };
            let contracts = vec![ContractView {
                contract: &contract,
                ledger: crate::econ::ContractLedger { spent: spillway_model::Usd(12_000_000.0 - 1_000_000.0 + w.spent), ..Default::default() },
            }];
            let input = RoundInput { now_ms: 0, pools, queued, running: running.into(), load: None, stop_when_stuck: None, quotas, policy: w.policy, failover: None, restart_overhead_s: 0.0, failover_allowance_s: 0.0, contracts, pool_index: super::PoolIndex::None };
            let d = decide(&input);
            prop_assert!(d.policy_error.is_none(), "{:?}", d.policy_error);

            let mut given: Vec<BTreeSet<u32>> = vec![BTreeSet::new(); input.pools.len()];
            let mut jobs: Vec<u32> = vec![0; input.pools.len()];
            for r in input.running.iter() { jobs[r.pool] += 1; }
            let mut h100_of_a: u32 = input.running.iter()
                .filter(|r| &*r.tenant == "a" && input.pools[r.pool].accelerator == Some("H100"))
                .map(|r| r.accelerators.len() as u32).sum();
            let mut started = HashSet::new();
            for action in &d.actions {
                match action {
                    Action::Start { job, pool, accelerators, .. } => {
                        prop_assert!(started.insert(*job), "job started twice");
                        let q = input.queued.iter().find(|q| q.id == *job).unwrap();
                        let view = &input.pools[*pool];
                        prop_assert!(q.choices.iter().any(|c| Some(c.accelerator.as_str()) == view.accelerator && c.count as usize == accelerators.len()),
                            "start matches none of the job's alternatives");
                        for i in accelerators {
                            prop_assert!(view.free.contains(i), "index {} not free", i);
                            prop_assert!(given[*pool].insert(*i), "index {} given twice", i);
                        }
                        jobs[*pool] += 1;
                        prop_assert!(jobs[*pool] <= view.max_jobs, "pool over max_jobs");
                        if q.tenant == "a" && view.accelerator == Some("H100") {
                            h100_of_a += accelerators.len() as u32;
                            prop_assert!(h100_of_a <= w.quota, "quota exceeded");
                        }
                    }
                    Action::Preempt { job, for_job, .. } => {
                        let victim = input.running.iter().find(|r| r.id == *job).unwrap();
                        let winner = input.queued.iter().find(|q| q.id == *for_job).unwrap();
                        prop_assert!(victim.priority < winner.priority, "preempted an equal or higher priority");
                    }
                }
            }
            for q in &input.queued {
                prop_assert!(started.contains(&q.id) || d.waiting.iter().any(|(id, _)| *id == q.id),
                    "job {} neither started nor explained", q.id);
            }
        }
    }
}

mod commitment_aware {
    //! The `commitment_aware` policy in the live round: the econ ranking over live pools.

    use super::*;
    use crate::econ::{BurnSchedule, Contract, ContractLedger, PACE_HORIZON_S, PACE_LEAD};
    use spillway_model::Usd;

    const HOUR_MS: i64 = 3_600_000;
    /// Six months into a year-long contract.
    const NOW_MS: i64 = 4_383 * HOUR_MS;

    fn contract() -> Contract {
        Contract {
            name: "gcp-commit".into(),
            provider: "gcp".into(),
            total: Usd(1_000_000.0),
            start: SimTime::ZERO,
            term_months: 12.0,
            discount: 0.3,
            overage_discount: 0.0,
            renewals: 0,
            accelerators: Vec::new(),
            regions: Vec::new(),
            burn: BurnSchedule::Linear,
        }
    }

    /// What the pace allows the contract to have spent and committed a look-ahead from now.
    fn allowed(c: &Contract) -> f64 {
        c.scheduled(SimTime(NOW_MS * 1000).plus_secs_ceil(PACE_HORIZON_S))
            .0
            * (1.0 + PACE_LEAD)
    }

    /// An owned pool at $4, a committed one at $3 (contract 0), an on-demand one at $6: all
    /// H100 with `free` accelerators each.
    fn pools(free: [&[u32]; 3]) -> Vec<PoolView<'static>> {
        let mut owned = pool("owned", Some("H100"), 2, free[0]);
        owned.price = UsdPerHour(4.0);
        let mut committed = pool("committed", Some("H100"), 2, free[1]);
        committed.price = UsdPerHour(3.0);
        committed.plan = PlanKind::Committed;
        committed.contract = Some(0);
        let mut od = pool("od", Some("H100"), 2, free[2]);
        od.price = UsdPerHour(6.0);
        od.plan = PlanKind::OnDemand;
        vec![owned, committed, od]
    }

    fn round<'a>(
        pools: Vec<PoolView<'a>>,
        queued: Vec<QueuedView<'a>>,
        contract: &'a Contract,
        spent: f64,
    ) -> RoundInput<'a> {
        let mut i = input(pools, queued, vec![]);
        i.now_ms = NOW_MS;
        i.policy = LivePolicy::COMMITMENT_AWARE;
        i.contracts = vec![ContractView {
            contract,
            ledger: ContractLedger {
                spent: Usd(spent),
                ..ContractLedger::default()
            },
        }];
        i
    }

    /// A job of `work_h` hours on one H100, submitted `waited_s` seconds ago.
    fn job<'a>(
        id: u64,
        one: &'a [AcceleratorChoice],
        work_h: u64,
        waited_s: i64,
    ) -> QueuedView<'a> {
        let mut q = queued(id, 500, one);
        q.work_secs = Some(work_h * 3600);
        q.submitted_ms = NOW_MS - waited_s * 1000;
        q
    }

    fn placed(d: &Decision) -> Vec<(u64, usize)> {
        d.actions
            .iter()
            .filter_map(|a| match a {
                Action::Start { job, pool, .. } => Some((job.0, *pool)),
                Action::Preempt { .. } => None,
            })
            .collect()
    }

    #[test]
    fn committed_capacity_comes_first_while_its_contract_is_behind_schedule() {
        let (c, one) = (contract(), h100(1));
        let all: &[u32] = &[0, 1];
        let d = decide(&round(
            pools([all, all, all]),
            vec![job(1, &one, 1, 0)],
            &c,
            0.0,
        ));
        let Action::Start { pool, reason, .. } = &d.actions[0] else {
            panic!("{d:?}")
        };
        assert_eq!(*pool, 1, "{d:?}");
        assert_eq!(
            reason.choice,
            Choice::Cost {
                plan: PlanKind::Committed,
                contract: Some("gcp-commit".into()),
                pace: Some(crate::econ::Pace::Within),
                first: true
            }
        );
        assert_eq!(
            reason.to_string(),
            "placed on pool committed with H100:1 (committed capacity under contract gcp-commit, nearly free while its spending stays within the burn schedule: the lowest marginal cost per unit of work among its options) by policy commitment_aware; priority 500, accelerator indices [0]"
        );
        // The same pools by configured price: the cheapest hourly price is the committed one
        // too, but ahead of schedule the policy leaves it for the owned fleet.
        let d = decide(&round(
            pools([all, all, all]),
            vec![job(1, &one, 1, 0)],
            &c,
            allowed(&c),
        ));
        assert_eq!(placed(&d), [(1, 0)], "{d:?}");
    }

    #[test]
    fn committed_capacity_ahead_of_schedule_is_skipped_and_the_wait_says_so() {
        let (c, one) = (contract(), h100(1));
        let (all, none): (&[u32], &[u32]) = (&[0, 1], &[]);
        // The owned fleet is full, the committed pool has room but the contract is ahead, and
        // the job has not waited long enough to rent on demand.
        let d = decide(&round(
            pools([none, all, all]),
            vec![job(1, &one, 1, 0)],
            &c,
            allowed(&c),
        ));
        assert!(d.actions.is_empty(), "{d:?}");
        assert_eq!(
            d.waiting[0].1,
            WaitReason::AheadOfSchedule {
                contract: "gcp-commit".into(),
                pools: vec!["committed".into()]
            }
        );
        assert_eq!(
            d.waiting[0].1.to_string(),
            "committed capacity on pool committed would pull contract gcp-commit ahead of its burn schedule; it waits for other capacity, for running work under the contract to end or for the schedule to catch up"
        );
        // Once it has waited a tenth of its run time, it rents on demand.
        let d = decide(&round(
            pools([none, all, all]),
            vec![job(1, &one, 1, 360)],
            &c,
            allowed(&c),
        ));
        assert_eq!(placed(&d), [(1, 2)], "{d:?}");
    }

    #[test]
    fn jobs_started_in_a_round_count_against_the_pace_of_the_next() {
        let (c, one) = (contract(), h100(1));
        let all: &[u32] = &[0, 1];
        // Room under the pace for one 10-hour job at $3/h ($30), not two.
        let d = decide(&round(
            pools([all, all, all]),
            vec![job(1, &one, 10, 0), job(2, &one, 10, 0)],
            &c,
            allowed(&c) - 45.0,
        ));
        assert_eq!(placed(&d), [(1, 1), (2, 0)], "{d:?}");
        // Running committed work counts too, until its estimated end.
        let held = [0u32];
        let mut i = round(
            pools([all, &[1], all]),
            vec![job(2, &one, 10, 0)],
            &c,
            allowed(&c) - 45.0,
        );
        i.running.to_mut().push(RunningView {
            id: JobId(1),
            tenant: "t".into(),
            priority: 500,
            pool: 1,
            accelerators: held.to_vec(),
            started_ms: NOW_MS,
            expected_end_ms: Some(NOW_MS + 10 * HOUR_MS),
            stopping: false,
        });
        assert_eq!(placed(&decide(&i)), [(2, 0)]);
    }

    #[test]
    fn the_queue_goes_by_priority_then_earliest_deadline_then_submission() {
        let (c, two) = (contract(), h100(2));
        let free: &[u32] = &[0, 1];
        let none: &[u32] = &[];
        let due = |id, priority, deadline_h: Option<i64>| {
            let mut q = queued(id, priority, &two);
            q.deadline_ms = deadline_h.map(|h| NOW_MS + h * HOUR_MS);
            q
        };
        let d = decide(&round(
            pools([free, none, none]),
            vec![
                due(1, 500, None),
                due(2, 500, Some(10)),
                due(3, 500, Some(5)),
                due(4, 900, None),
            ],
            &c,
            0.0,
        ));
        assert_eq!(placed(&d), [(4, 0)], "{d:?}");
        let waiting: Vec<u64> = d.waiting.iter().map(|(j, _)| j.0).collect();
        assert_eq!(waiting, [3, 2, 1]);
        // Without job 4, the earliest deadline goes first.
        let d = decide(&round(
            pools([free, none, none]),
            vec![
                due(1, 500, None),
                due(2, 500, Some(10)),
                due(3, 500, Some(5)),
            ],
            &c,
            0.0,
        ));
        assert_eq!(placed(&d), [(3, 0)], "{d:?}");
    }

    #[test]
    fn a_job_without_a_deadline_waits_for_owned_capacity_before_bursting() {
        let (c, one) = (contract(), h100(1));
        let (all, none): (&[u32], &[u32]) = (&[0, 1], &[]);
        let d = decide(&round(
            pools([none, none, all]),
            vec![job(1, &one, 1, 60)],
            &c,
            0.0,
        ));
        assert!(d.actions.is_empty(), "{d:?}");
        assert_eq!(
            d.waiting[0].1.to_string(),
            "waiting for owned or committed capacity before bursting to pool od (waited 60 of 360 s)"
        );
        // Only on-demand capacity at all: the same wait, then it rents.
        let od = || vec![pools([none, none, all]).remove(2)];
        let d = decide(&round(od(), vec![job(1, &one, 1, 60)], &c, 0.0));
        assert!(matches!(
            d.waiting[0].1,
            WaitReason::BurstWait {
                waited_s: 60,
                wait_s: 360,
                ..
            }
        ));
        let d = decide(&round(od(), vec![job(1, &one, 1, 360)], &c, 0.0));
        assert_eq!(placed(&d), [(1, 0)]);
        // A job without a work estimate is long-running: it waits a tenth of a day.
        let mut unknown = job(1, &one, 1, 3600);
        unknown.work_secs = None;
        let d = decide(&round(od(), vec![unknown], &c, 0.0));
        assert!(
            d.waiting[0]
                .1
                .to_string()
                .ends_with("(waited 3600 of 8640 s)"),
            "{d:?}"
        );
    }

    #[test]
    fn a_deadline_job_waits_for_spot_while_its_slack_allows() {
        let (c, one) = (contract(), h100(1));
        let (all, none): (&[u32], &[u32]) = (&[0, 1], &[]);
        let mut ps = pools([none, none, all]);
        ps[0].plan = PlanKind::Spot;
        ps[0].name = "spot";
        ps[0].price = UsdPerHour(2.0);
        ps[0].preemptions_per_hour = 0.5;
        let mut q = job(1, &one, 1, 0);
        q.use_spot = true;
        q.checkpoint_interval_s = Some(1800);
        q.deadline_ms = Some(NOW_MS + 10 * HOUR_MS);
        let mut i = round(ps.clone(), vec![q.clone()], &c, 0.0);
        i.restart_overhead_s = 300.0;
        let d = decide(&i);
        assert!(d.actions.is_empty(), "{d:?}");
        // 10 h to go, 1 h of work and a restart, a lost half hour and a restart of margin.
        assert_eq!(
            d.waiting[0].1.to_string(),
            "waiting for spot capacity while its deadline's slack allows (30000 s beyond the margin of a preemption): it does not rent on-demand pool od until then"
        );
        // With spot capacity it goes there; once the slack is gone, on demand.
        i.pools[0].free = vec![0];
        assert_eq!(placed(&decide(&i)), [(1, 0)]);
        i.pools[0].free = vec![];
        i.queued[0].deadline_ms = Some(NOW_MS + HOUR_MS + 1_800_000);
        let d = decide(&i);
        let Action::Start { pool, reason, .. } = &d.actions[0] else {
            panic!("{d:?}")
        };
        assert_eq!(*pool, 2);
        assert!(reason.spot_ruled_out, "{reason}");
    }
}
