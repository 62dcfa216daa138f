//! TPU slices: a job that asks for a slice gets one whole slice of exactly that shape, never
//! chips of two slices, of a pool of loose chips or of a pool of another shape.

use super::{input, pool, queued, started};
use crate::live::{Action, PoolView, QueuedView, WaitReason, can_ever_place, decide};
use spillway_model::spec::AcceleratorChoice;
use spillway_model::spec::tpu::SliceShape;

fn v5p(chips: u32) -> Vec<AcceleratorChoice> {
    vec![AcceleratorChoice {
        accelerator: "tpu-v5p".into(),
        count: chips,
    }]
}

fn shape(name: &str, chips: u32, topology: Option<&str>) -> SliceShape {
    SliceShape {
        name: name.into(),
        chips,
        topology: topology.map(str::to_string),
    }
}

/// A pool of `capacity` tpu-v5p chips in slices of `shape` (`None`: loose chips), with `free`.
fn tpu_pool<'a>(
    name: &'static str,
    shape: Option<&'a SliceShape>,
    capacity: u32,
    free: &[u32],
) -> PoolView<'a> {
    PoolView {
        slice: shape,
        ..pool(name, Some("tpu-v5p"), capacity, free)
    }
}

const SLICE_NAMED: &[String] = &[];

/// A job that wrote `tpu-v5p-<2 x chips>` (a slice name), with a topology if given.
fn slice_job<'a>(
    id: u64,
    priority: u32,
    choices: &'a [AcceleratorChoice],
    named: &'a [String],
    topology: Option<&'a str>,
) -> QueuedView<'a> {
    QueuedView {
        slice_choices: named,
        topology,
        ..queued(id, priority, choices)
    }
}

fn all(n: u32) -> Vec<u32> {
    (0..n).collect()
}

#[test]
fn a_slice_job_lands_on_a_pool_of_its_shape_never_on_loose_chips() {
    let named = ["tpu-v5p".to_string()];
    let (choices, s32) = (v5p(16), shape("tpu-v5p-32", 16, None));
    // The loose pool is cheaper and listed first: a job placed by chips would go there.
    let mut loose = tpu_pool("loose", None, 64, &all(64));
    loose.price = spillway_model::UsdPerHour(0.1);
    let d = decide(&input(
        vec![loose, tpu_pool("pod", Some(&s32), 32, &all(32))],
        vec![slice_job(1, 500, &choices, &named, None)],
        vec![],
    ));
    assert!(matches!(&d.actions[0], Action::Start { pool: 1, .. }));
    assert_eq!(started(&d), vec![(1, (0..16).collect())]);
}

#[test]
fn two_half_free_slices_are_not_one_slice() {
    let named = ["tpu-v5p".to_string()];
    let (choices, s32) = (v5p(16), shape("tpu-v5p-32", 16, None));
    // 16 chips free, but 8 in each slice: the job waits for a whole slice.
    let free: Vec<u32> = (8..24).collect();
    let d = decide(&input(
        vec![tpu_pool("pod", Some(&s32), 32, &free)],
        vec![slice_job(1, 500, &choices, &named, None)],
        vec![],
    ));
    assert!(started(&d).is_empty(), "{:?}", d.actions);
    let (_, reason) = &d.waiting[0];
    assert!(
        matches!(reason, WaitReason::NoCapacity { free: 0, .. }),
        "{reason:?}"
    );
    assert!(
        reason.to_string().contains("a whole tpu-v5p-32 slice"),
        "{reason}"
    );
    // The second slice free as a whole: the job takes it, all of it.
    let free: Vec<u32> = (8..32).collect();
    let d = decide(&input(
        vec![tpu_pool("pod", Some(&s32), 32, &free)],
        vec![slice_job(1, 500, &choices, &named, None)],
        vec![],
    ));
    assert_eq!(started(&d), vec![(1, (16..32).collect())]);
}

#[test]
fn each_job_gets_its_own_slice_and_chips_written_as_a_count_take_a_whole_one() {
    let named = ["tpu-v5p".to_string()];
    let (choices, s32) = (v5p(16), shape("tpu-v5p-32", 16, None));
    let d = decide(&input(
        vec![tpu_pool("pod", Some(&s32), 48, &all(48))],
        vec![
            slice_job(1, 500, &choices, &named, None),
            // `tpu-v5p:16`: the same shape written as chips.
            slice_job(2, 500, &choices, SLICE_NAMED, None),
        ],
        vec![],
    ));
    assert_eq!(
        started(&d),
        vec![(1, (0..16).collect()), (2, (16..32).collect())]
    );
}

#[test]
fn submit_refuses_what_no_slice_holds_and_says_what_the_pools_are() {
    let named = ["tpu-v5p".to_string()];
    let (s32, s8) = (
        shape("tpu-v5p-32", 16, Some("4x4x1")),
        shape("tpu-v5p-8", 4, None),
    );
    let sixteen = v5p(16);
    let pools = vec![
        tpu_pool("loose", None, 64, &[]),
        tpu_pool("small", Some(&s8), 16, &[]),
    ];
    let e = can_ever_place(&pools, &slice_job(1, 500, &sixteen, &named, None))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "no pool can run it: no declared pool has a tpu-v5p-32 slice (16 chips as one slice, never assembled from several): \
         pool loose has 64 loose tpu-v5p chips, not declared as slices (name the slice as its accelerator, e.g. accelerator = \"tpu-v5p-32\"); \
         pool small is tpu-v5p-8 (4 chips) slices"
    );
    // The right chips in another arrangement.
    let pods = vec![tpu_pool("pod", Some(&s32), 32, &[])];
    let e = can_ever_place(&pods, &slice_job(1, 500, &sixteen, &named, Some("2x2x4")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("a tpu-v5p-32 of topology 2x2x4 slice")
            && e.contains("pool pod is tpu-v5p-32 slices of topology 4x4x1"),
        "{e}"
    );
    can_ever_place(&pods, &slice_job(1, 500, &sixteen, &named, Some("4x4x1"))).unwrap();
    can_ever_place(&pods, &slice_job(1, 500, &sixteen, &named, None)).unwrap();
    // Half a slice, even written as chips, is not a slice; a loose pool takes chips.
    let eight = v5p(8);
    assert!(can_ever_place(&pods, &slice_job(1, 500, &eight, SLICE_NAMED, None)).is_err());
    can_ever_place(&pools, &slice_job(1, 500, &eight, SLICE_NAMED, None)).unwrap();
}

mod property {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// Whatever is free and whatever is queued, every start on a pool of slices gets
        /// exactly one aligned slice that was wholly free, and no two starts share a chip.
        #[test]
        fn starts_take_whole_free_slices(
            chips in prop::sample::select(vec![4u32, 8, 16]),
            slices in 1u32..5,
            free_mask in any::<u64>(),
            priorities in prop::collection::vec(0u32..1000, 1..6),
        ) {
            let s = shape("tpu-v5p-x", chips, None);
            let capacity = chips * slices;
            let free: Vec<u32> = (0..capacity).filter(|i| free_mask >> (i % 64) & 1 == 1 || i % 3 == 0).collect();
            let choices = v5p(chips);
            let named = ["tpu-v5p".to_string()];
            let queued: Vec<QueuedView<'_>> = priorities
                .iter()
                .enumerate()
                .map(|(i, p)| slice_job(i as u64 + 1, *p, &choices, &named, None))
                .collect();
            let d = decide(&input(vec![tpu_pool("pod", Some(&s), capacity, &free)], queued, vec![]));
            let was_free: BTreeSet<u32> = free.iter().copied().collect();
            let mut given = BTreeSet::new();
            let whole_free = (0..slices)
                .filter(|k| (k * chips..(k + 1) * chips).all(|i| was_free.contains(&i)))
                .count();
            for (_, acc) in started(&d) {
                prop_assert_eq!(acc.len() as u32, chips);
                let k = acc[0] / chips;
                prop_assert_eq!(&acc, &(k * chips..(k + 1) * chips).collect::<Vec<_>>());
                for a in acc {
                    prop_assert!(was_free.contains(&a));
                    prop_assert!(given.insert(a), "chip {} given twice", a);
                }
            }
            prop_assert_eq!(started(&d).len(), whole_free.min(priorities.len()));
        }
    }
}
