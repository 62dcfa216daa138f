//! The round-based mechanism (Gavel's): turns an allocation (time fractions) into placements for
//! one round.
//!
//! Each job has, per pool, a priority = allocation / fraction of that pool's time it has received
//! since the last reset (a job that has received nothing gets allocation x 10^9). Pools are
//! visited in order (random each round for heterogeneity-agnostic policies); in each pool jobs go
//! by priority (ties: deficit, then allocation, then arrival) and take whole gangs while
//! accelerators are left. A job keeps the exact accelerators it held (lease extension) when it
//! runs on the same pool again and they are still free; larger gangs are placed first.

use crate::{JobId, PoolId};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::cmp::Reverse;

/// A placement's accelerators: up to eight inline (most gangs), more on the heap. Every
/// running job is placed every round, so a list on the heap would cost an allocation each.
pub type Workers = SmallVec<[u32; 8]>;

/// Whether a placement continues on the same accelerators or (re)starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlacementKind {
    /// The job keeps the accelerators it ran on last round (its lease is extended).
    Keep,
    /// The job starts (or resumes from a checkpoint) on these accelerators.
    Start,
}

/// One job placed for the coming round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// The job.
    pub job: JobId,
    /// The pool it runs on.
    pub pool: PoolId,
    /// Which accelerators of that pool (indexes `0..capacity`).
    pub workers: Workers,
    /// Keep or start.
    pub kind: PlacementKind,
    /// Steps to run this round: a round's worth at the job's throughput there, at most what is
    /// left.
    pub max_steps: u64,
    /// Seconds those steps take at the job's throughput there (at most a round).
    pub expected_duration_s: f64,
    /// Steps the job had left when the round was planned: the placement completes its work
    /// when `max_steps` is all of them.
    #[serde(default)]
    pub left_steps: u64,
}

impl Placement {
    /// Whether its steps are all the job has left.
    pub fn completes(&self) -> bool {
        self.max_steps == self.left_steps
    }
}

/// What to do for the coming round.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RoundPlan {
    /// Jobs that run, in pool then placement order.
    pub placements: Vec<Placement>,
    /// Jobs that ran last round and do not run in this one (stop them, keep their checkpoint).
    pub preempted: Vec<JobId>,
    /// The placements' indices in job order, as the scheduler that planned the round knows it
    /// without a sort (see [`RoundPlan::in_job_order`]).
    #[serde(skip)]
    pub(crate) job_order: Vec<usize>,
}

/// Two plans are equal when they place and preempt the same jobs alike: the job order a
/// scheduler hands over with its plan is derived from the placements, and a plan read back
/// from JSON has none.
impl PartialEq for RoundPlan {
    fn eq(&self, other: &RoundPlan) -> bool {
        self.placements == other.placements && self.preempted == other.preempted
    }
}

impl RoundPlan {
    /// The placements' indices in job order (a job is placed once at most): the scheduler's
    /// own order when it planned the round, else sorted.
    pub fn in_job_order(&self) -> Vec<usize> {
        if self.job_order.len() == self.placements.len() {
            debug_assert!(
                self.job_order
                    .windows(2)
                    .all(|w| self.placements[w[0]].job < self.placements[w[1]].job)
            );
            return self.job_order.clone();
        }
        let mut by_job: Vec<(JobId, usize)> = self
            .placements
            .iter()
            .enumerate()
            .map(|(i, p)| (p.job, i))
            .collect();
        by_job.sort_unstable();
        by_job.into_iter().map(|(_, i)| i).collect()
    }

    /// The reports of a round in which every placement ran as planned (its steps in its
    /// expected time): what a simulator reports when nothing interrupts the round.
    pub fn reports_as_planned(&self) -> Vec<RoundReport> {
        self.placements
            .iter()
            .map(|p| RoundReport {
                job: p.job,
                steps: p.max_steps,
                elapsed_s: p.expected_duration_s,
            })
            .collect()
    }
}

/// What one placement achieved, reported at the end of its round.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RoundReport {
    /// The job.
    pub job: JobId,
    /// Steps it completed.
    pub steps: u64,
    /// Seconds it ran.
    pub elapsed_s: f64,
}

/// A job's standing in one pool's queue, where it can run. Small (32 bytes), as each round sorts
/// every queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueueEntry {
    /// The job's position among the round's jobs (`0..jobs` of [`select_jobs`]), in job-id
    /// order: the last tie-breaker.
    pub(crate) slot: u32,
    pub(crate) priority: f64,
    pub(crate) deficit: f64,
    pub(crate) allocation: f64,
    pub(crate) scale_factor: u32,
}

/// A job the selection took on a pool: its slot (as in its [`QueueEntry`]) and gang size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Chosen {
    pub(crate) slot: usize,
    pub(crate) scale_factor: u32,
}

/// Picks the jobs of the round: pools in `order`, each pool's queue (already in job order: by
/// slot) sorted by (priority, deficit, allocation) descending with ties kept in job order. Each
/// entry's `slot` is below `jobs`. The queues are left reordered and cut short.
pub(crate) fn select_jobs(
    order: &[usize],
    capacities: &[u32],
    queues: &mut [Vec<QueueEntry>],
    jobs: usize,
    skip_zero_priority: bool,
) -> Vec<Vec<Chosen>> {
    let mut left: Vec<u32> = capacities.to_vec();
    let mut chosen: Vec<Vec<Chosen>> = vec![Vec::new(); capacities.len()];
    // Whether each job (by slot) is taken already: a flag per job rather than a set, as the
    // round looks it up once per queue entry.
    let mut taken = vec![false; jobs];
    for &p in order {
        let queue = &mut queues[p];
        // Entries that can never be taken go before the sort (stable: the order of the rest
        // is unchanged), and so do the jobs that an earlier pool took.
        queue.retain(|e| !(taken[e.slot as usize] || (skip_zero_priority && e.priority <= 0.0)));
        // With the slot last the order is total: the same as a stable sort of a queue built
        // in job order. The queue is walked in that order until the pool is full, which is
        // often long before its end: it is ordered a head at a time (the first entries
        // selected, then sorted; the next ones only when the walk gets past them), the head
        // growing fourfold each time, which visits the entries in the very order a sort of
        // the whole queue gives.
        debug_assert!(queue.windows(2).all(|w| w[0].slot < w[1].slot));
        let mut rest: &mut [QueueEntry] = queue;
        let mut head_len = (2 * left[p] as usize).max(64);
        while left[p] > 0 && !rest.is_empty() {
            let k = head_len.min(rest.len());
            if k < rest.len() {
                rest.select_nth_unstable_by(k - 1, queue_order);
            }
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(k);
            head.sort_unstable_by(queue_order);
            for e in head.iter() {
                if left[p] == 0 {
                    break;
                }
                let slot = e.slot as usize;
                if taken[slot] || e.scale_factor > left[p] {
                    continue;
                }
                left[p] -= e.scale_factor;
                taken[slot] = true;
                chosen[p].push(Chosen {
                    slot,
                    scale_factor: e.scale_factor,
                });
            }
            rest = tail;
            head_len = head_len.saturating_mul(4);
        }
    }
    chosen
}

/// A pool's queue order: priority, then deficit, then allocation, all descending, then job
/// order (the slot).
fn queue_order(a: &QueueEntry, b: &QueueEntry) -> std::cmp::Ordering {
    b.priority
        .total_cmp(&a.priority)
        .then(b.deficit.total_cmp(&a.deficit))
        .then(b.allocation.total_cmp(&a.allocation))
        .then(a.slot.cmp(&b.slot))
}

/// Gives each chosen job accelerators: per pool, larger gangs first; a job that ran on this pool
/// keeps its accelerators when none of them is taken yet; others take the lowest free ones.
/// `reserved[p]` are pool `p`'s accelerators that no chosen job may take; `previous(slot)` is
/// where the job in `slot` ran last round. Jobs for which `placeable` is false (no allocation
/// yet) hold their share of the pool but get no accelerators, as in Gavel. The placements are
/// (slot, pool, accelerators), the accelerators `None` for a job that keeps those it ran on
/// (not copied: every job that runs on, every round).
pub(crate) fn assign_workers<'a>(
    order: &[usize],
    capacities: &[u32],
    reserved: &[Vec<u32>],
    chosen: &[Vec<Chosen>],
    previous: impl Fn(usize) -> Option<(usize, &'a [u32])>,
    placeable: impl Fn(usize) -> bool,
) -> Vec<(usize, usize, Option<Workers>)> {
    let mut out = Vec::new();
    for &p in order {
        let mut jobs = chosen[p].clone();
        jobs.sort_by_key(|c| Reverse(c.scale_factor));
        let mut used = vec![false; capacities[p] as usize];
        for &w in reserved.get(p).map_or(&[][..], Vec::as_slice) {
            if let Some(u) = used.get_mut(w as usize) {
                *u = true;
            }
        }
        let mut next_free = 0usize;
        // Whether `jobs[i]` already has its accelerators.
        let mut placed = vec![false; jobs.len()];
        let mut sizes: Vec<u32> = jobs.iter().map(|c| c.scale_factor).collect();
        sizes.dedup();
        for size in sizes {
            let of_size = jobs
                .iter()
                .enumerate()
                .filter(move |&(_, c)| c.scale_factor == size);
            for (i, c) in of_size.clone() {
                if let Some((prev_pool, workers)) = previous(c.slot) {
                    if prev_pool == p && workers.iter().all(|&w| !used[w as usize]) {
                        for &w in workers {
                            used[w as usize] = true;
                        }
                        placed[i] = true;
                        out.push((c.slot, p, None));
                    }
                }
            }
            for (i, c) in of_size {
                if placed[i] || !placeable(c.slot) {
                    continue;
                }
                let sf = c.scale_factor;
                let mut workers = Workers::with_capacity(sf as usize);
                while workers.len() < sf as usize && next_free < used.len() {
                    if !used[next_free] {
                        used[next_free] = true;
                        workers.push(next_free as u32);
                    }
                    next_free += 1;
                }
                debug_assert_eq!(workers.len(), sf as usize, "selection fits the pool");
                placed[i] = true;
                out.push((c.slot, p, Some(workers)));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pyrandom::PyRandom;

    /// The selection as it was: every queue sorted whole, then walked.
    fn select_by_full_sort(
        order: &[usize],
        capacities: &[u32],
        mut queues: Vec<Vec<QueueEntry>>,
        jobs: usize,
        skip_zero_priority: bool,
    ) -> Vec<Vec<Chosen>> {
        let mut left = capacities.to_vec();
        let mut chosen = vec![Vec::new(); capacities.len()];
        let mut taken = vec![false; jobs];
        for &p in order {
            let queue = &mut queues[p];
            queue.sort_by(queue_order);
            for e in queue.iter() {
                if left[p] == 0 {
                    break;
                }
                let slot = e.slot as usize;
                if taken[slot] || (skip_zero_priority && e.priority <= 0.0) {
                    continue;
                }
                if e.scale_factor > left[p] {
                    continue;
                }
                left[p] -= e.scale_factor;
                taken[slot] = true;
                chosen[p].push(Chosen {
                    slot,
                    scale_factor: e.scale_factor,
                });
            }
        }
        chosen
    }

    #[test]
    fn a_plan_gives_its_placements_in_job_order_with_or_without_the_schedulers_order() {
        let placement = |job: u64| Placement {
            job: JobId(job),
            pool: PoolId(0),
            workers: Workers::from_slice(&[job as u32]),
            kind: PlacementKind::Start,
            max_steps: 1,
            expected_duration_s: 1.0,
            left_steps: 1,
        };
        // Pool then placement order, as a scheduler plans: not job order.
        let read_back = RoundPlan {
            placements: vec![placement(7), placement(2), placement(5)],
            preempted: vec![JobId(3)],
            job_order: Vec::new(),
        };
        assert_eq!(read_back.in_job_order(), [1, 2, 0]);
        let planned = RoundPlan {
            job_order: vec![1, 2, 0],
            ..read_back.clone()
        };
        assert_eq!(planned.in_job_order(), [1, 2, 0]);
        assert_eq!(planned, read_back, "the order is not part of the plan");
    }

    #[test]
    fn the_selection_a_head_at_a_time_is_the_selection_of_a_whole_sort() {
        let mut rng = PyRandom::new(11);
        for case in 0..300 {
            let pools = 1 + rng.randbelow(3) as usize;
            let jobs = rng.randbelow(if case % 10 == 0 { 3000 } else { 400 }) as usize;
            let capacities: Vec<u32> = (0..pools).map(|_| rng.randbelow(600)).collect();
            let skip_zero = rng.randbelow(2) == 0;
            // Few distinct values, so that ties go down to the job id.
            let value = |rng: &mut PyRandom| f64::from(rng.randbelow(6)) * 0.5;
            let mut queues: Vec<Vec<QueueEntry>> = vec![Vec::new(); pools];
            for slot in 0..jobs {
                let scale_factor = [1, 1, 1, 2, 4, 8, 16][rng.randbelow(7) as usize];
                for queue in &mut queues {
                    // Not on this pool: no entry (as a job that cannot run there).
                    if rng.randbelow(4) == 0 {
                        continue;
                    }
                    queue.push(QueueEntry {
                        slot: slot as u32,
                        priority: value(&mut rng) - 0.5,
                        deficit: value(&mut rng),
                        allocation: value(&mut rng),
                        scale_factor,
                    });
                }
            }
            let mut order: Vec<usize> = (0..pools).collect();
            rng.shuffle(&mut order);
            let expected =
                select_by_full_sort(&order, &capacities, queues.clone(), jobs, skip_zero);
            let got = select_jobs(&order, &capacities, &mut queues, jobs, skip_zero);
            assert_eq!(got, expected, "case {case}");
        }
    }
}
