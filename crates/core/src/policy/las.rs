//! `tiresias_perf`: least attained service in a few discrete queues (Tiresias, NSDI'19), made
//! heterogeneity-aware, for work that is not known in advance.
//!
//! A job's attained service is the accelerator time it has received, counted at its fastest
//! pool's speed: $a_i = s_i (R_i^0 - R_i) / \max_j T_{ij}$, where $R_i^0$ are the steps it had
//! left when the policy first saw it. An hour on a K80 counts for the work it did, not for an
//! hour, so a job is not demoted for having been placed on a slow pool. Jobs fall into queues by
//! $a_i$ ([`QUEUE_LIMITS_S`]); queues are served in order and each in arrival order (FIFO, as in
//! Tiresias, so that jobs of one queue do not preempt each other), each job placed by
//! [`ordered`](mod@super::ordered) where it loses least relative to its best pool.
//!
//! Only the *difference* of remaining steps is used, so the total need not be known: in the
//! service a job without `work` counts as having unbounded steps, and its attained service is
//! still exact.
//!
//! Starvation guard (Tiresias's promotion rule): a job that has been served before and has been
//! in the system for more than [`PROMOTE_FACTOR`] + 1 times its attained service per accelerator
//! ($t_i > (\kappa + 1)\, a_i / s_i$, i.e. it waited more than $\kappa$ times what it ran) goes
//! back to the first queue.

use super::ordered::place_in_order;
use super::standby::{RankKey, Standby};
use super::{Allocation, PolicyInput, PolicyJob};
use crate::JobId;
use std::collections::BTreeMap;

/// Upper limits of the queues but the last, in accelerator-seconds of attained service (at the
/// best pool's speed): below 1 accelerator-hour, below 10, the rest.
pub(crate) const QUEUE_LIMITS_S: [f64; 2] = [3_600.0, 36_000.0];

/// $\kappa$: a served job that waited more than this many times its service is promoted.
pub(crate) const PROMOTE_FACTOR: f64 = 8.0;

/// What `tiresias_perf` remembers between allocations: the steps each active job had left when
/// first seen, and where the standby jobs ranked.
#[derive(Debug, Default)]
pub(crate) struct AttainedService {
    first_remaining: BTreeMap<JobId, u64>,
    /// The last allocation's standby jobs, for the share of a job that arrives before the next.
    standby: Standby,
}

impl AttainedService {
    /// Records jobs seen for the first time and forgets those that left.
    fn update(&mut self, input: &PolicyInput<'_>) {
        let mut next = BTreeMap::new();
        for job in input.jobs {
            let first = self
                .first_remaining
                .get(&job.id)
                .copied()
                .unwrap_or(job.remaining_steps)
                .max(job.remaining_steps);
            next.insert(job.id, first);
        }
        self.first_remaining = next;
    }
}

/// The queue of attained service `a` (accelerator-seconds).
pub(crate) fn queue_of(attained_s: f64) -> usize {
    QUEUE_LIMITS_S
        .iter()
        .position(|&limit| attained_s < limit)
        .unwrap_or(QUEUE_LIMITS_S.len())
}

/// The order in which `tiresias_perf` serves `input.jobs` (indexes, first served first).
#[cfg(test)]
pub(crate) fn order(input: &PolicyInput<'_>, memory: &mut AttainedService) -> Vec<usize> {
    ranked(input, memory).into_iter().map(|(_, i)| i).collect()
}

/// [`order`] with each job's rank key (queue, then minus its age).
fn ranked(input: &PolicyInput<'_>, memory: &mut AttainedService) -> Vec<(RankKey, usize)> {
    memory.update(input);
    let mut keyed: Vec<(u8, f64, usize)> = input
        .jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let done = memory.first_remaining[&job.id] - job.remaining_steps;
            let per_accelerator = done as f64 / job.best_throughput().max(f64::MIN_POSITIVE);
            let attained = f64::from(job.scale_factor) * per_accelerator;
            let promoted =
                done > 0 && job.time_since_arrival_s > (PROMOTE_FACTOR + 1.0) * per_accelerator;
            let queue = if promoted {
                0
            } else {
                queue_of(attained) as u8
            };
            // Oldest first within a queue.
            (queue, -job.time_since_arrival_s, i)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(input.jobs[a.2].id.cmp(&input.jobs[b.2].id))
    });
    keyed.into_iter().map(|(q, age, i)| ((q, age), i)).collect()
}

/// The share of a job that arrived since the last allocation, until the next: a standby share
/// behind the first queue's standby jobs (it has no service yet; FIFO within the queue).
pub(crate) fn arrival_share(job: &PolicyJob, memory: &mut AttainedService) -> Vec<f64> {
    memory
        .standby
        .share_for(job, (0, -job.time_since_arrival_s))
}

/// The `tiresias_perf` allocation.
pub(crate) fn allocate(input: &PolicyInput<'_>, memory: &mut AttainedService) -> Allocation {
    let keyed = ranked(input, memory);
    let order: Vec<usize> = keyed.iter().map(|&(_, i)| i).collect();
    let allocation = place_in_order(input, &order, &[]);
    memory.standby.record(input, &allocation, &keyed);
    allocation
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::policy::ordered::fixtures::{input, job, placed};

    #[test]
    fn queues_by_attained_service_fifo_within_a_queue() {
        assert_eq!(queue_of(0.0), 0);
        assert_eq!(queue_of(3_599.0), 0);
        assert_eq!(queue_of(3_600.0), 1);
        assert_eq!(queue_of(1e9), 2);
        let names = vec!["v100".to_string(), "k80".to_string()];
        let caps = [1, 1];
        let mut memory = AttainedService::default();
        // Everything unknown-length and unserved: arrival order (oldest first).
        let mut jobs = vec![
            job(0, 1, 1 << 40, &[2.0, 1.0], 5000.0),
            job(1, 1, 1 << 40, &[2.0, 1.0], 4000.0),
            job(2, 1, 1 << 40, &[2.0, 1.0], 3000.0),
        ];
        assert_eq!(order(&input(&jobs, &caps, &names), &mut memory), [0, 1, 2]);
        // Job 0 then received 2 hours of v100 time (2 steps/s): it drops to the second queue
        // and the others go first. Job 1 received 1 hour of k80 time, which at its best speed
        // is half an hour of service: it stays in the first queue.
        jobs[0].remaining_steps -= 2 * 3600 * 2;
        jobs[1].remaining_steps -= 3600;
        for j in &mut jobs {
            j.time_since_arrival_s += 7200.0;
        }
        assert_eq!(order(&input(&jobs, &caps, &names), &mut memory), [1, 2, 0]);
        let a = allocate(&input(&jobs, &caps, &names), &mut memory);
        assert_eq!(placed(&a[&JobId(1)]), Some(0));
        assert_eq!(placed(&a[&JobId(2)]), Some(1));
        assert!(a[&JobId(0)][0] < 1e-8, "served job stands by");
    }

    #[test]
    fn a_served_job_that_waited_long_is_promoted() {
        let names = vec!["v100".to_string()];
        let caps = [1];
        let mut memory = AttainedService::default();
        let mut jobs = vec![
            job(0, 1, 100_000, &[1.0], 0.0),
            job(1, 1, 100_000, &[1.0], 0.0),
        ];
        order(&input(&jobs, &caps, &names), &mut memory);
        // Job 0 ran 2 hours (second queue), then waited: at 9 x 2 hours in the system it has
        // not yet waited 8 times its service; just past it, it has.
        jobs[0].remaining_steps -= 7200;
        jobs[1].remaining_steps = 100_000;
        jobs[0].time_since_arrival_s = 9.0 * 7200.0;
        jobs[1].time_since_arrival_s = 1.0;
        assert_eq!(order(&input(&jobs, &caps, &names), &mut memory), [1, 0]);
        jobs[0].time_since_arrival_s = 9.0 * 7200.0 + 1.0;
        assert_eq!(order(&input(&jobs, &caps, &names), &mut memory), [0, 1]);
    }

    #[test]
    fn memory_forgets_jobs_that_left() {
        let names = vec!["v100".to_string()];
        let mut memory = AttainedService::default();
        let jobs = vec![job(0, 1, 10, &[1.0], 0.0), job(1, 1, 10, &[1.0], 0.0)];
        order(&input(&jobs, &[1], &names), &mut memory);
        order(&input(&jobs[1..], &[1], &names), &mut memory);
        assert_eq!(memory.first_remaining.len(), 1);
    }
}
