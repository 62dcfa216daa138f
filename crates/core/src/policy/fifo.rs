//! Policies without an LP: FIFO (agnostic and aware, as Gavel implements them) and priority with
//! backfill.

use super::{Allocation, PolicyInput};
use crate::JobId;
use crate::pyrandom::PyRandom;
use std::collections::BTreeMap;

/// Pool indexes sorted by pool name: Gavel's FIFO visits accelerator types alphabetically.
fn by_name(input: &PolicyInput<'_>, avail: &[i64]) -> Vec<usize> {
    let mut types: Vec<usize> = (0..input.capacities.len())
        .filter(|&p| avail[p] > 0)
        .collect();
    types.sort_by(|&a, &b| input.pool_names[a].cmp(&input.pool_names[b]));
    types
}

fn to_allocation(input: &PolicyInput<'_>, chosen: &BTreeMap<JobId, usize>) -> Allocation {
    input
        .jobs
        .iter()
        .map(|job| {
            let mut row = vec![0.0; input.capacities.len()];
            if let Some(&p) = chosen.get(&job.id) {
                row[p] = 1.0;
            }
            (job.id, row)
        })
        .collect()
}

/// Heterogeneity-aware FIFO: in arrival order, each job gets the fastest pool that still has
/// room for its whole gang; the first job that fits nowhere stops the queue (no overtaking).
pub(crate) fn aware(input: &PolicyInput<'_>) -> Allocation {
    let mut avail: Vec<i64> = input.capacities.iter().map(|&c| i64::from(c)).collect();
    let mut types = by_name(input, &avail);
    let mut chosen = BTreeMap::new();
    for job in input.jobs {
        if types.is_empty() {
            break;
        }
        let sf = i64::from(job.scale_factor);
        let mut best: Option<(usize, usize)> = None;
        for (i, &p) in types.iter().enumerate() {
            if avail[p] >= sf && best.is_none_or(|(_, b)| job.throughputs[p] > job.throughputs[b]) {
                best = Some((i, p));
            }
        }
        let Some((i, p)) = best else { break };
        if job.throughputs[p] > 0.0 {
            chosen.insert(job.id, p);
            avail[p] -= sf;
            if avail[p] == 0 {
                types.remove(i);
            }
        }
    }
    to_allocation(input, &chosen)
}

/// Heterogeneity-agnostic FIFO, exactly as Gavel's simulator runs it so that its published
/// numbers can be reproduced: placements persist between allocations, a finished job's pool
/// goes to the head of the queue, and the remaining jobs go to the alphabetically last pool
/// that has room, while a pool picked at random (Python's `random.Random(seed)` stream) leaves
/// the candidate list when the chosen pool fills up. (That last rule is a quirk of Gavel's code
/// — it can place more jobs on a pool than it holds; the mechanism then runs them in turn.) One
/// deviation: where Gavel would pick a pool on which the job cannot run at all (throughput 0, or
/// fewer accelerators than its gang), and so never place it, we take the randomly drawn pool.
pub(crate) fn agnostic(
    input: &PolicyInput<'_>,
    assignments: &mut BTreeMap<JobId, usize>,
    rng: &mut PyRandom,
) -> Allocation {
    let jobs: BTreeMap<JobId, &super::PolicyJob> = input.jobs.iter().map(|j| (j.id, j)).collect();
    let mut avail: Vec<i64> = input.capacities.iter().map(|&c| i64::from(c)).collect();
    let mut queue: std::collections::VecDeque<JobId> = input
        .jobs
        .iter()
        .map(|j| j.id)
        .filter(|id| !assignments.contains_key(id))
        .collect();
    let previous: Vec<(JobId, usize)> = assignments.iter().map(|(&j, &p)| (j, p)).collect();
    for (id, p) in previous {
        if jobs.contains_key(&id) {
            avail[p] -= i64::from(jobs[&id].scale_factor);
            continue;
        }
        // The job finished: its pool goes to the head of the queue if it fits there.
        if let Some(&head) = queue.front() {
            let job = jobs[&head];
            if i64::from(job.scale_factor) <= avail[p] && job.throughputs[p] > 0.0 {
                queue.pop_front();
                assignments.insert(head, p);
                avail[p] -= i64::from(job.scale_factor);
            }
        }
        assignments.remove(&id);
    }
    let mut types = by_name(input, &avail);
    while !types.is_empty() {
        let Some(id) = queue.pop_front() else { break };
        let job = jobs[&id];
        let sf = i64::from(job.scale_factor);
        let candidates: Vec<usize> = (0..types.len())
            .filter(|&i| avail[types[i]] >= sf)
            .collect();
        if candidates.is_empty() {
            break;
        }
        let drawn = candidates[rng.randbelow(candidates.len() as u32) as usize];
        let mut p = *types.last().expect("types is not empty");
        if job.throughputs[p] <= 0.0 || i64::from(input.capacities[p]) < sf {
            // Gavel would leave the job unallocated, or allocated to a pool too small for its
            // gang, until the next recomputation, which never comes when nothing else changes (a
            // hang); take the drawn pool instead.
            p = types[drawn];
        }
        if job.throughputs[p] > 0.0 {
            assignments.insert(id, p);
            avail[p] -= sf;
            if avail[p] == 0 {
                types.remove(drawn);
            }
        }
    }
    to_allocation(input, assignments)
}

/// Priority with backfill (Slurm-like): jobs in order of weight (highest first), then arrival;
/// each takes the fastest pool with room for its gang; a job that fits nowhere waits while
/// smaller jobs behind it may start (backfill).
pub(crate) fn priority_backfill(input: &PolicyInput<'_>) -> Allocation {
    let mut avail: Vec<i64> = input.capacities.iter().map(|&c| i64::from(c)).collect();
    let mut order: Vec<&super::PolicyJob> = input.jobs.iter().collect();
    order.sort_by(|a, b| {
        b.priority_weight
            .total_cmp(&a.priority_weight)
            .then(a.id.cmp(&b.id))
    });
    let mut chosen = BTreeMap::new();
    for job in order {
        let sf = i64::from(job.scale_factor);
        let best = (0..avail.len())
            .filter(|&p| avail[p] >= sf && job.throughputs[p] > 0.0)
            .max_by(|&a, &b| {
                job.throughputs[a]
                    .total_cmp(&job.throughputs[b])
                    .then(b.cmp(&a))
            });
        if let Some(p) = best {
            chosen.insert(job.id, p);
            avail[p] -= sf;
        }
    }
    to_allocation(input, &chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyJob;

    fn job(id: u64, sf: u32, thr: &[f64]) -> PolicyJob {
        PolicyJob {
            id: JobId(id),
            scale_factor: sf,
            throughputs: thr.to_vec(),
            priority_weight: 1.0,
            remaining_steps: 100,
            time_since_arrival_s: 0.0,
            time_to_deadline_s: None,
        }
    }

    fn names() -> Vec<String> {
        vec!["v100".into(), "p100".into(), "k80".into()]
    }

    #[test]
    fn aware_fifo_takes_fastest_pool_with_room_in_order() {
        let jobs = vec![
            job(0, 2, &[3.0, 2.0, 1.0]),
            job(1, 1, &[3.0, 2.0, 1.0]),
            job(2, 1, &[0.0, 2.0, 1.0]),
        ];
        let names = names();
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[2, 1, 1],
            pool_names: &names,
            prices: &[None, None, None],
        };
        let a = aware(&input);
        assert_eq!(a[&JobId(0)], vec![1.0, 0.0, 0.0]);
        assert_eq!(a[&JobId(1)], vec![0.0, 1.0, 0.0]);
        assert_eq!(a[&JobId(2)], vec![0.0, 0.0, 1.0]);
    }

    #[test]
    fn backfill_lets_small_jobs_pass_a_blocked_one() {
        let mut jobs = vec![job(0, 4, &[1.0]), job(1, 1, &[1.0]), job(2, 1, &[1.0])];
        jobs[2].priority_weight = 2.0;
        let names = vec!["v100".to_string()];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[2],
            pool_names: &names,
            prices: &[None],
        };
        let a = priority_backfill(&input);
        assert_eq!(a[&JobId(0)], vec![0.0]);
        assert_eq!(a[&JobId(1)], vec![1.0]);
        assert_eq!(a[&JobId(2)], vec![1.0]);
    }
}
