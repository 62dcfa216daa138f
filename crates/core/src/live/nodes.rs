//! Nodes of a pool: which accelerator indices a job takes on a pool made of several machines.
//!
//! A pool that declares nodes (`nodes = N` in the config: a Slurm partition or a Ray cluster of
//! N machines with the same accelerators each) numbers its accelerators node by node: node `k`
//! holds indices `k * per_node .. (k + 1) * per_node`. A job asks for `num_nodes` nodes with
//! `count` accelerators on each, as SkyPilot means `num_nodes` and `accelerators`: it starts
//! only when that many nodes each have that many free (all or nothing, a gang), and a
//! single-node job never takes accelerators of two machines. A pool without nodes is one
//! machine: a job takes its lowest free indices, as before nodes existed.

use super::types::PoolView;

/// Accelerators per node of pool `p`: all of them on a pool of one node.
pub(crate) fn per_node(p: &PoolView<'_>) -> u32 {
    p.capacity / p.nodes.max(1)
}

/// Whether pool `p` has room, at its full size, for `num_nodes` nodes of `count` accelerators
/// each: enough nodes, and enough accelerators on one node.
pub(crate) fn shape_holds(p: &PoolView<'_>, num_nodes: u32, count: u32) -> bool {
    p.nodes.max(1) >= num_nodes.max(1) && per_node(p) >= count
}

/// Whether a job of `num_nodes` nodes holding `total` accelerators in all (the same number on
/// each node) can start on pool `p` with these free indices now.
pub(crate) fn can_take(p: &PoolView<'_>, free: &[u32], total: u32, num_nodes: u32) -> bool {
    if p.nodes <= 1 {
        return free.len() as u32 >= total;
    }
    choose(p, free, total, num_nodes).is_some()
}

/// Takes the accelerators a job of `num_nodes` nodes and `total` accelerators in all gets on
/// pool `p` out of `free` (ascending) and returns them, ascending; `None` (and `free`
/// untouched) when the pool has no such room. On a pool of one node: the lowest `total` free
/// indices, or on a pool cut into rented blocks the best fit among them ([`in_blocks`]). On a
/// pool of nodes: the lowest free indices of each of the chosen nodes.
pub(crate) fn take(
    p: &PoolView<'_>,
    free: &mut Vec<u32>,
    total: u32,
    num_nodes: u32,
) -> Option<Vec<u32>> {
    if p.nodes <= 1 && p.block <= 1 {
        let n = total as usize;
        return (free.len() >= n).then(|| free.drain(..n).collect());
    }
    let chosen = if p.nodes <= 1 {
        in_blocks(p.block, free, total)?
    } else {
        choose(p, free, total, num_nodes)?
    };
    let mut taken = chosen.iter().peekable();
    free.retain(|i| {
        if taken.peek() == Some(&i) {
            taken.next();
            false
        } else {
            true
        }
    });
    Some(chosen)
}

/// Whether a pool of `block` accelerators per rented block, `nodes` machines and maybe TPU
/// slices is cut into rented blocks that jobs share (a pool of one node, no slices).
pub(crate) fn rents_blocks(block: u32, nodes: u32, sliced: bool) -> bool {
    block > 1 && nodes <= 1 && !sliced
}

/// The indices a job of `total` accelerators takes on a pool of one node cut into rented
/// blocks of `block` (ascending), if `free` (ascending) has that many: whole free blocks for
/// each full `block` it needs (the lowest first), and the rest in the block with the fewest
/// free indices that holds it (best fit, then the lowest), so that rented blocks fill before a
/// new one opens and whole blocks stay whole. When no such choice exists (the free indices are
/// scattered over blocks), the lowest free indices: a job never waits for a tidier fit.
pub(crate) fn in_blocks(block: u32, free: &[u32], total: u32) -> Option<Vec<u32>> {
    let n = total as usize;
    if free.len() < n {
        return None;
    }
    let lowest = || Some(free[..n].to_vec());
    if block <= 1 || total == 0 {
        return lowest();
    }
    let runs = runs_of(free, block);
    let whole = (total / block) as usize;
    let rest = (total % block) as usize;
    let mut chosen: Vec<usize> = runs
        .iter()
        .enumerate()
        .filter(|(_, (_, f))| f.len() == block as usize)
        .map(|(k, _)| k)
        .take(whole)
        .collect();
    if chosen.len() < whole {
        return lowest();
    }
    let mut partial = None;
    if rest > 0 {
        let fit = runs
            .iter()
            .enumerate()
            .filter(|(k, (_, f))| f.len() >= rest && !chosen.contains(k))
            .min_by_key(|(_, (b, f))| (f.len(), *b))
            .map(|(k, _)| k);
        match fit {
            Some(k) => partial = Some(k),
            None => return lowest(),
        }
    }
    if let Some(k) = partial {
        chosen.push(k);
    }
    chosen.sort_unstable();
    let mut out = Vec::with_capacity(n);
    for k in chosen {
        let f = runs[k].1;
        let take = if Some(k) == partial { rest } else { f.len() };
        out.extend_from_slice(&f[..take]);
    }
    Some(out)
}

/// The nodes a job of `num_nodes` nodes and `total` accelerators would take out of `free`
/// (ascending), if it fits; empty for a job without accelerators.
pub(crate) fn chosen_nodes(
    p: &PoolView<'_>,
    free: &[u32],
    total: u32,
    num_nodes: u32,
) -> Option<Vec<u32>> {
    choose(p, free, total, num_nodes).map(|taken| nodes_of(p, &taken))
}

/// The indices a gang takes on a pool of nodes, ascending, if it fits: `total / num_nodes` on
/// each of `num_nodes` nodes. Nodes are chosen best fit (those with the fewest free
/// accelerators that still hold a share first, then the lowest), so that whole free nodes stay
/// whole for the next gang; a job without accelerators (CPU only) needs only that many nodes.
fn choose(p: &PoolView<'_>, free: &[u32], total: u32, num_nodes: u32) -> Option<Vec<u32>> {
    let num_nodes = num_nodes.max(1);
    let per = per_node(p);
    if total == 0 {
        return (p.nodes >= num_nodes).then(Vec::new);
    }
    if per == 0 || !total.is_multiple_of(num_nodes) || free.len() < total as usize {
        return None;
    }
    let want = total / num_nodes;
    let mut runs = runs_of(free, per);
    runs.retain(|(node, f)| *node < p.nodes && f.len() as u32 >= want);
    if (runs.len() as u32) < num_nodes {
        return None;
    }
    runs.sort_by_key(|(node, f)| (f.len(), *node));
    let mut nodes: Vec<(u32, &[u32])> = runs.into_iter().take(num_nodes as usize).collect();
    nodes.sort_by_key(|(node, _)| *node);
    Some(
        nodes
            .iter()
            .flat_map(|(_, f)| f[..want as usize].iter().copied())
            .collect(),
    )
}

/// The free indices of each group of `per` (a node, a rented block) that has any, in order:
/// `(group, its free indices)`; `free` is ascending, so each group's indices are contiguous.
fn runs_of(free: &[u32], per: u32) -> Vec<(u32, &[u32])> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < free.len() {
        let group = free[start] / per;
        let len = free[start..]
            .iter()
            .take_while(|&&i| i / per == group)
            .count();
        runs.push((group, &free[start..start + len]));
        start += len;
    }
    runs
}

/// The nodes that `indices` lie on, ascending, each once.
pub(crate) fn nodes_of(p: &PoolView<'_>, indices: &[u32]) -> Vec<u32> {
    let per = per_node(p).max(1);
    let mut nodes: Vec<u32> = indices.iter().map(|i| i / per).collect();
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

/// The free indices of `free` that lie outside `nodes` (ascending, as `free` is): what a job
/// may take on a pool of nodes without touching the nodes reserved for a waiting gang.
pub(crate) fn outside(p: &PoolView<'_>, free: &[u32], nodes: &[u32]) -> Vec<u32> {
    let per = per_node(p).max(1);
    free.iter()
        .copied()
        .filter(|i| !nodes.contains(&(i / per)))
        .collect()
}

/// When a job of `num_nodes` nodes and `total` accelerators in all could start on pool `p`
/// (a pool of nodes), and on which nodes: node by node, the time its `free` indices plus those
/// of the running jobs that end by then (`held`: each job's expected end, `i64::MAX` when
/// unknown, and the indices it holds there) give it the job's share; the job's nodes are the
/// `num_nodes` that get there first (the most free now, then the lowest, among equal times),
/// and its time is the last of theirs. `None` when the pool does not have that many nodes of
/// that many accelerators at all.
pub(crate) fn earliest<'a>(
    p: &PoolView<'_>,
    free: &[u32],
    held: impl IntoIterator<Item = (i64, &'a [u32])>,
    total: u32,
    num_nodes: u32,
    now_ms: i64,
) -> Option<(i64, Vec<u32>)> {
    let num_nodes = num_nodes.max(1);
    let per = per_node(p);
    if per == 0 || p.nodes < num_nodes || !total.is_multiple_of(num_nodes) {
        return None;
    }
    let want = total / num_nodes;
    if want > per {
        return None;
    }
    let mut free_now = vec![0u32; p.nodes as usize];
    for &i in free {
        if let Some(n) = free_now.get_mut((i / per) as usize) {
            *n += 1;
        }
    }
    // Per node: (end, indices freed there then), by end.
    let mut ends: Vec<Vec<(i64, u32)>> = vec![Vec::new(); p.nodes as usize];
    for (end, indices) in held {
        for node in nodes_of(p, indices) {
            if let Some(e) = ends.get_mut(node as usize) {
                let n = indices.iter().filter(|&&i| i / per == node).count() as u32;
                e.push((end.max(now_ms), n));
            }
        }
    }
    let mut when: Vec<(i64, std::cmp::Reverse<u32>, u32)> = (0..p.nodes)
        .map(|node| {
            let mut have = free_now[node as usize];
            let mut at = now_ms;
            let e = &mut ends[node as usize];
            e.sort_unstable();
            for &(end, n) in e.iter() {
                if have >= want {
                    break;
                }
                have += n;
                at = end;
            }
            if have < want {
                at = i64::MAX;
            }
            (at, std::cmp::Reverse(free_now[node as usize]), node)
        })
        .collect();
    when.sort_unstable();
    when.truncate(num_nodes as usize);
    let at = when.last().map_or(now_ms, |w| w.0);
    let mut chosen: Vec<u32> = when.into_iter().map(|w| w.2).collect();
    chosen.sort_unstable();
    Some((at, chosen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::econ::PlanKind;
    use spillway_model::UsdPerHour;

    fn pool(nodes: u32, capacity: u32) -> PoolView<'static> {
        PoolView {
            name: "p",
            executor: "slurm",
            accelerator: Some("H100"),
            capacity,
            slice: None,
            nodes,
            block: 1,
            free: (0..capacity).collect(),
            free_unlisted: 0,
            max_jobs: 64,
            price: UsdPerHour(1.0),
            plan: PlanKind::Owned,
            throughput: 1.0,
            location: ("local", "p", "p"),
            contract: None,
            preemptions_per_hour: 0.0,
        }
    }

    #[test]
    fn a_gang_takes_the_same_count_on_each_of_its_nodes() {
        let p = pool(4, 16);
        let mut free: Vec<u32> = (0..16).collect();
        assert_eq!(take(&p, &mut free, 4, 2), Some(vec![0, 1, 4, 5]));
        assert_eq!(free, vec![2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    }

    #[test]
    fn all_or_nothing_when_too_few_nodes_have_room() {
        let p = pool(2, 8);
        // Node 0 has 3 free, node 1 has 1: 4 free in all, but not 2 on each node.
        let mut free = vec![0, 1, 2, 4];
        assert!(!can_take(&p, &free, 4, 2));
        assert_eq!(take(&p, &mut free, 4, 2), None);
        assert_eq!(free, vec![0, 1, 2, 4]);
        // A single-node job never spans two nodes either.
        assert!(!can_take(&p, &free, 4, 1));
        assert!(can_take(&p, &free, 3, 1));
    }

    #[test]
    fn best_fit_keeps_whole_nodes_whole() {
        let p = pool(3, 12);
        // Node 0 whole, node 1 has 2 free, node 2 whole: a 2-accelerator job goes to node 1.
        let mut free = vec![0, 1, 2, 3, 6, 7, 8, 9, 10, 11];
        assert_eq!(take(&p, &mut free, 2, 1), Some(vec![6, 7]));
        assert_eq!(
            take(&p, &mut free, 8, 2),
            Some(vec![0, 1, 2, 3, 8, 9, 10, 11])
        );
        assert!(free.is_empty());
    }

    #[test]
    fn a_job_goes_into_the_fullest_block_that_holds_it() {
        let mut p = pool(1, 24);
        p.block = 8;
        // Block 0 has 6 free (2 used), block 1 has 3 free, block 2 is whole.
        let mut free: Vec<u32> = (2..8).chain(13..16).chain(16..24).collect();
        // 3 chips: block 1 (3 free) is the tightest fit, not the lowest indices of block 0.
        assert_eq!(take(&p, &mut free, 3, 1), Some(vec![13, 14, 15]));
        // 4 chips: block 0 (6 free) before opening block 2.
        assert_eq!(take(&p, &mut free, 4, 1), Some(vec![2, 3, 4, 5]));
        // 8 chips: the whole block 2, never 2 of block 0 and 6 of block 2.
        assert_eq!(take(&p, &mut free, 8, 1), Some((16..24).collect()));
        assert_eq!(free, vec![6, 7]);
    }

    #[test]
    fn a_job_larger_than_a_block_takes_whole_blocks_then_the_best_fit() {
        let free: Vec<u32> = (1..8).chain(8..16).chain(20..24).collect();
        // 12 = one whole block (block 1) and 4 in the tightest block that holds them (block 2).
        assert_eq!(
            in_blocks(8, &free, 12),
            Some((8..16).chain(20..24).collect())
        );
        // When no whole block is free, the lowest free indices: the job still starts.
        let scattered: Vec<u32> = vec![1, 2, 3, 9, 10, 11, 17, 18, 19];
        assert_eq!(
            in_blocks(8, &scattered, 8),
            Some(vec![1, 2, 3, 9, 10, 11, 17, 18])
        );
        assert_eq!(in_blocks(8, &scattered, 10), None);
        assert_eq!(in_blocks(1, &scattered, 2), Some(vec![1, 2]));
    }

    #[test]
    fn shapes_and_cpu_gangs() {
        let p = pool(2, 8);
        assert!(shape_holds(&p, 2, 4));
        assert!(!shape_holds(&p, 3, 1));
        assert!(!shape_holds(&p, 1, 5));
        // One node: the pool's whole capacity is one machine.
        assert!(shape_holds(&pool(1, 8), 1, 8));
        assert!(!shape_holds(&pool(1, 8), 2, 4));
        let mut none: Vec<u32> = Vec::new();
        assert_eq!(take(&p, &mut none, 0, 2), Some(vec![]));
        assert_eq!(take(&p, &mut none, 0, 3), None);
    }
}
