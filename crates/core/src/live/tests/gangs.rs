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
    // Its words say them per node.
    let words = reason.describe(2);
    assert!(
        words.starts_with("placed on pool hpc with 2 nodes x 4 H100 (its first choice)"),
        "{words}"
    );
    assert!(reason.to_string().contains("with H100:8 ("), "{reason}");
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

/// A running job of priority `priority` holding `accelerators` on pool 0.
fn holding(id: u64, priority: u32, accelerators: &[u32], started_ms: i64) -> RunningView {
    RunningView {
        id: JobId(id),
        tenant: "t".into(),
        priority,
        pool: 0,
        accelerators: accelerators.to_vec(),
        started_ms,
        expected_end_ms: None,
        stopping: false,
    }
}

fn preempted(d: &crate::live::Decision) -> Vec<u64> {
    d.actions
        .iter()
        .filter_map(|a| match a {
            crate::live::Action::Preempt { job, .. } => Some(job.0),
            crate::live::Action::Start { .. } => None,
        })
        .collect()
}

#[test]
fn a_waiting_gang_reserves_whole_nodes_not_a_count_of_accelerators() {
    // 4 nodes of 4: one accelerator held (for good) on each of nodes 0, 1, 2; node 3 whole.
    // 13 free, but the gang of 2 nodes x 4 needs two whole nodes: it reserves node 3 and the
    // node with the most free among the rest (node 0).
    let running = vec![
        holding(7, 900, &[0], 0),
        holding(8, 900, &[4], 0),
        holding(9, 900, &[8], 0),
    ];
    let free: Vec<u32> = (0..16).filter(|i| ![0, 4, 8].contains(i)).collect();
    let (four, three) = (h100(4), h100(3));
    let d = decide(&input(
        vec![nodes_pool("hpc", 4, 4, &free)],
        vec![
            gang(1, 500, 2, &four),
            // 13 - 8 = 5 free beyond the gang's count, but only node 3 has 4: it waits.
            queued(2, 400, &four),
            // Nodes 1 and 2, beyond the reservation, have 3 each: it goes there.
            queued(3, 400, &three),
        ],
        running,
    ));
    assert_eq!(started(&d), vec![(3, vec![5, 6, 7])]);
    let [(JobId(1), gang_wait), (JobId(2), single_wait)] = &d.waiting[..] else {
        panic!("{:?}", d.waiting);
    };
    assert_eq!(
        gang_wait.to_string(),
        "waiting for 2 nodes x 4 H100 on pool hpc (13 free now); capacity is reserved for it, so it starts first when running jobs end"
    );
    assert!(
        matches!(
            single_wait,
            WaitReason::NoCapacity {
                behind: Some(JobId(1)),
                ..
            }
        ),
        "{single_wait:?}"
    );
}

#[test]
fn backfill_next_to_a_gang_uses_the_time_its_nodes_free_up() {
    // 3 nodes of 4. Node 0 has 2 free (its job ends at 100 s); nodes 1 and 2 one each (their
    // jobs end at 900 s). 4 free: a count would say the gang of 2 nodes x 2 starts now, but
    // its second node frees up only at 900 s.
    let mut running = vec![
        holding(7, 900, &[0, 1], 0),
        holding(8, 900, &[4, 5, 6], 0),
        holding(9, 900, &[8, 9, 10], 0),
    ];
    running[0].expected_end_ms = Some(100_000);
    running[1].expected_end_ms = Some(900_000);
    running[2].expected_end_ms = Some(900_000);
    let (two, one) = (h100(2), h100(1));
    let d = decide(&input(
        vec![nodes_pool("hpc", 3, 4, &[2, 3, 7, 11])],
        vec![
            gang(1, 500, 2, &two),
            // Ends at 500 s, before the gang could start: backfills on a reserved node.
            QueuedView {
                work_secs: Some(500),
                ..queued(2, 400, &two)
            },
            // No estimate: only beyond the reservation (nodes 0 and 1), on node 2.
            queued(3, 400, &one),
        ],
        running,
    ));
    assert_eq!(started(&d), vec![(2, vec![2, 3]), (3, vec![11])]);
    let crate::live::Action::Start { reason, .. } = &d.actions[0] else {
        panic!("a start");
    };
    assert!(reason.backfilled);
}

#[test]
fn preemption_for_a_gang_frees_whole_nodes_and_spares_the_rest() {
    // 3 nodes of 4. Node 0: job 5 (priority 50, the first victim by priority) holds one
    // accelerator next to job 6 (priority 950, never preempted). Nodes 1 and 2: jobs 7 and 8
    // (priority 100) hold them whole. The gang of 2 nodes x 4 at priority 900 needs nodes 1
    // and 2: it stops jobs 7 and 8 and spares job 5, which would free no whole node.
    let running = vec![
        holding(5, 50, &[0], 5),
        holding(6, 950, &[1, 2, 3], 0),
        holding(7, 100, &[4, 5, 6, 7], 10),
        holding(8, 100, &[8, 9, 10, 11], 20),
    ];
    let four = h100(4);
    let d = decide(&input(
        vec![nodes_pool("hpc", 3, 4, &[])],
        vec![gang(1, 900, 2, &four)],
        running.clone(),
    ));
    assert_eq!(preempted(&d), vec![8, 7]);
    assert!(
        matches!(&d.waiting[..], [(JobId(1), WaitReason::Preempting { jobs, .. })] if jobs == &[JobId(8), JobId(7)]),
        "{:?}",
        d.waiting
    );

    // A single-node job of 4 with 4 free in all (2 on each of two nodes) still preempts: the
    // most recently started job of the lowest priority whose node it completes.
    let running = vec![holding(7, 100, &[2, 3], 10), holding(8, 100, &[6, 7], 30)];
    let d = decide(&input(
        vec![nodes_pool("hpc", 2, 4, &[0, 1, 4, 5])],
        vec![queued(1, 900, &four)],
        running,
    ));
    assert_eq!(preempted(&d), vec![8]);

    // The next round, while jobs 7 and 8 stop: the gang waits for them, holding nodes 1 and
    // 2, and a job that would fit only on them does not take them.
    let mut stopping = running_after(&[7, 8]);
    stopping.push(holding(5, 50, &[0], 5));
    stopping.push(holding(6, 950, &[1, 2, 3], 0));
    let one = h100(1);
    let d = decide(&input(
        vec![nodes_pool("hpc", 3, 4, &[])],
        vec![gang(1, 900, 2, &four), queued(2, 900, &one)],
        stopping,
    ));
    assert!(started(&d).is_empty(), "{:?}", d.actions);
    assert!(preempted(&d).is_empty(), "{:?}", d.actions);
    assert!(
        matches!(&d.waiting[0], (JobId(1), WaitReason::Preempting { .. })),
        "{:?}",
        d.waiting
    );
}

/// Jobs 7 and 8 of the preemption test, asked to stop.
fn running_after(ids: &[u64]) -> Vec<RunningView> {
    ids.iter()
        .map(|&id| {
            let acc: Vec<u32> = if id == 7 {
                vec![4, 5, 6, 7]
            } else {
                vec![8, 9, 10, 11]
            };
            RunningView {
                stopping: true,
                ..holding(id, 100, &acc, 10)
            }
        })
        .collect()
}
