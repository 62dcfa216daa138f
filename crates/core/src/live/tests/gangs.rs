//! Gangs of several nodes (`num_nodes` > 1): a job of N nodes with k accelerators each starts
//! only on a pool of nodes where N nodes each have k free, all at once, and says why it waits
//! or can never run.

use super::{h100, input, pool, queued, started};
use crate::JobId;
use crate::live::{PoolView, QueuedView, RunningView, WaitReason, can_ever_place, decide};
use spillway_model::spec::AcceleratorChoice;

/// A Slurm pool of `nodes` nodes of `per_node` H100 each, with `free`.
fn nodes_pool(name: &'static str, nodes: u32, per_node: u32, free: &[u32]) -> PoolView<'static> {
    PoolView {
        executor: "slurm",
        nodes,
        ..pool(name, Some("H100"), nodes * per_node, free)
    }
}

fn gang<'a>(
    id: u64,
    priority: u32,
    nodes: u32,
    choices: &'a [AcceleratorChoice],
) -> QueuedView<'a> {
    QueuedView {
        num_nodes: nodes,
        ..queued(id, priority, choices)
    }
}

fn all(n: u32) -> Vec<u32> {
    (0..n).collect()
}

#[test]
fn a_gang_takes_its_count_on_each_of_its_nodes() {
    let four = h100(4);
    let d = decide(&input(
        vec![nodes_pool("hpc", 4, 4, &all(16))],
        vec![gang(1, 500, 2, &four), gang(2, 500, 2, &four)],
        vec![],
    ));
    assert_eq!(
        started(&d),
        vec![
            (1, vec![0, 1, 2, 3, 4, 5, 6, 7]),
            (2, vec![8, 9, 10, 11, 12, 13, 14, 15])
        ]
    );
    let crate::live::Action::Start { reason, .. } = &d.actions[0] else {
        panic!("a start");
    };
    assert_eq!(
        reason.count, 8,
        "the reason counts all the gang's accelerators"
    );
}

#[test]
fn all_or_nothing_free_accelerators_spread_over_nodes_are_not_a_gang() {
    // One accelerator busy on each of two nodes: 6 free in all, but no two nodes with 4.
    let held_a = [0u32];
    let held_b = [4u32];
    let running = vec![
        RunningView {
            id: JobId(8),
            tenant: "t".into(),
            priority: 900,
            pool: 0,
            accelerators: held_a.to_vec(),
            started_ms: 0,
            expected_end_ms: None,
            stopping: false,
        },
        RunningView {
            id: JobId(9),
            tenant: "t".into(),
            priority: 900,
            pool: 0,
            accelerators: held_b.to_vec(),
            started_ms: 0,
            expected_end_ms: None,
            stopping: false,
        },
    ];
    let (four, three) = (h100(4), h100(3));
    let d = decide(&input(
        vec![nodes_pool("hpc", 2, 4, &[1, 2, 3, 5, 6, 7])],
        // The second, short, backfills behind the first's reservation.
        vec![
            gang(1, 500, 2, &four),
            QueuedView {
                work_secs: Some(60),
                ..gang(2, 400, 2, &three)
            },
        ],
        running,
    ));
    assert_eq!(started(&d), vec![(2, vec![1, 2, 3, 5, 6, 7])]);
    assert!(
        matches!(&d.waiting[..], [(JobId(1), WaitReason::NoCapacity { .. })]),
        "{:?}",
        d.waiting
    );
}

#[test]
fn a_single_node_job_stays_on_one_node_and_leaves_whole_nodes_whole() {
    let (two, six) = (h100(2), h100(6));
    // Node 0 has 2 free (6 held), node 1 is whole: the 2-accelerator job fills node 0.
    let d = decide(&input(
        vec![nodes_pool(
            "hpc",
            2,
            8,
            &[6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
        )],
        vec![queued(1, 500, &two), queued(2, 500, &six)],
        vec![],
    ));
    assert_eq!(
        started(&d),
        vec![(1, vec![6, 7]), (2, vec![8, 9, 10, 11, 12, 13])]
    );
    // More than one node has is never placed, even on a pool with that many in all.
    let nine = h100(9);
    let e = can_ever_place(&[nodes_pool("hpc", 2, 8, &[])], &queued(3, 500, &nine)).unwrap_err();
    assert!(e.to_string().contains("no declared pool has H100:9"), "{e}");
}

#[test]
fn gangs_need_a_pool_with_as_many_nodes_and_say_which_pools_there_are() {
    let eight = h100(8);
    let pools = [
        pool("box", Some("H100"), 8, &[]),
        nodes_pool("hpc", 2, 8, &[]),
        pool("cpus", None, 0, &[]),
    ];
    can_ever_place(&pools, &gang(1, 500, 2, &eight)).unwrap();
    let e = can_ever_place(&pools, &gang(1, 500, 3, &eight))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "no pool can run it: it needs 3 nodes with H100:8 on each (a gang: all at once), and no declared pool has that many nodes: \
         pool box is one node (local executor); pool hpc is 2 nodes of 8 H100 \
         (declare a pool's nodes with nodes = N in its [[pool]]: Slurm or Ray)"
    );
    // A gang is never spread over single-node pools: without a pool of nodes it cannot run.
    let e = can_ever_place(&pools[..1], &gang(1, 500, 2, &eight))
        .unwrap_err()
        .to_string();
    assert!(e.contains("pool box is one node"), "{e}");
    // CPU-only gangs need nodes too.
    can_ever_place(&pools, &gang(2, 500, 2, &[])).unwrap();
    assert!(can_ever_place(&pools, &gang(2, 500, 3, &[])).is_err());
}
