//! `use_spot` as SkyPilot means it: spot capacity only, per alternative, with the spot
//! deadline rule as the one exception; and each alternative's own `infra`.

use super::{h100, input, pool, queued, started};
use crate::econ::PlanKind;
use crate::live::{Action, PoolView, QueuedView, can_ever_place, decide};
use spillway_model::spec::{AcceleratorChoice, AlternativeFields, ChoiceOrder};

fn spot_pool(name: &'static str, acc: &'static str, free: &[u32]) -> PoolView<'static> {
    PoolView {
        plan: PlanKind::Spot,
        price: spillway_model::UsdPerHour(0.3),
        ..pool(name, Some(acc), 4, free)
    }
}

#[test]
fn use_spot_means_spot_only_and_waits_for_it() {
    let one = h100(1);
    let od = pool("od", Some("H100"), 4, &[0, 1, 2, 3]);
    let spot = spot_pool("spot", "H100", &[]);
    let willing = QueuedView {
        use_spot: true,
        ..queued(1, 500, &one)
    };
    // The spot pool is full: the job waits for it rather than run on demand.
    let d = decide(&input(
        vec![od.clone(), spot.clone()],
        vec![willing.clone()],
        vec![],
    ));
    assert!(started(&d).is_empty(), "{d:?}");
    assert!(
        d.waiting[0].1.to_string().contains("pool spot"),
        "{}",
        d.waiting[0].1
    );
    // Without any spot pool it can never run, and says what would.
    let e = can_ever_place(&[od], &willing).unwrap_err().to_string();
    assert_eq!(
        e,
        "no pool can run it: it asks for spot capacity only (resources.use_spot: true, SkyPilot's rule) and no spot pool could run it; reliable pools could (od): set use_spot: false to run there"
    );
}

#[test]
fn a_deadline_that_can_no_longer_absorb_a_preemption_moves_a_spot_job_to_reliable_capacity() {
    let one = h100(1);
    let od = pool("od", Some("H100"), 4, &[0, 1, 2, 3]);
    let spot = spot_pool("spot", "H100", &[0, 1, 2, 3]);
    let mut tight = QueuedView {
        use_spot: true,
        work_secs: Some(3600),
        deadline_ms: Some(3_600_000 + 60_000),
        ..queued(1, 500, &one)
    };
    let mut i = input(vec![od, spot], vec![tight.clone()], vec![]);
    i.restart_overhead_s = 300.0;
    let d = decide(&i);
    let [Action::Start { pool, reason, .. }] = &d.actions[..] else {
        panic!("{d:?}")
    };
    assert_eq!((*pool, reason.spot_ruled_out), (0, true));
    // With a day of slack, spot only.
    tight.deadline_ms = Some(86_400_000);
    i.queued = vec![tight];
    let d = decide(&i);
    assert!(
        matches!(&d.actions[..], [Action::Start { pool: 1, .. }]),
        "{d:?}"
    );
}

#[test]
fn each_alternative_keeps_its_own_spot_and_infra() {
    // The case: H100 on demand first, else L4 on spot.
    let choices = vec![
        AcceleratorChoice {
            accelerator: "H100".into(),
            count: 1,
        },
        AcceleratorChoice {
            accelerator: "L4".into(),
            count: 1,
        },
    ];
    let alternatives = vec![
        AlternativeFields {
            use_spot: Some(false),
            infra: None,
        },
        AlternativeFields {
            use_spot: Some(true),
            infra: Some("gcp/us-central1".into()),
        },
    ];
    let job = QueuedView {
        alternatives: &alternatives,
        order: ChoiceOrder::Ordered,
        ..queued(1, 500, &choices)
    };
    let h100_spot = spot_pool("h100-spot", "H100", &[0, 1, 2, 3]);
    let h100_od = pool("h100-od", Some("H100"), 4, &[]);
    let l4_od = pool("l4-od", Some("L4"), 4, &[0, 1, 2, 3]);
    let l4_spot_aws = PoolView {
        location: ("aws", "us-east-1", "us-east-1a#spot"),
        ..spot_pool("l4-spot-aws", "L4", &[0, 1, 2, 3])
    };
    let l4_spot_gcp = PoolView {
        location: ("gcp", "us-central1", "us-central1-a#spot"),
        ..spot_pool("l4-spot-gcp", "L4", &[0, 1, 2, 3])
    };
    let pools = vec![h100_spot, h100_od, l4_od, l4_spot_aws, l4_spot_gcp];
    // H100 on demand is full: the job falls back to L4 on spot in gcp/us-central1, never to
    // H100 on spot, L4 on demand or L4 on spot in aws.
    let d = decide(&input(pools.clone(), vec![job.clone()], vec![]));
    let [Action::Start { pool, reason, .. }] = &d.actions[..] else {
        panic!("{d:?}")
    };
    assert_eq!(*pool, 4, "{reason}");
    assert!(
        reason
            .to_string()
            .contains("its first choice H100:1 on pool h100-od had no room"),
        "{reason}"
    );
    // With room on demand, H100 there: its first choice.
    let mut open = pools;
    open[1].free = vec![0, 1, 2, 3];
    let d = decide(&input(open, vec![job], vec![]));
    assert!(
        matches!(&d.actions[..], [Action::Start { pool: 1, .. }]),
        "{d:?}"
    );
}
