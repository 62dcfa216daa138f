//! Placement from a plan of the whole queue (`srpt_perf` while jobs still arrive): every job is
//! put on one pool, in Smith's order there, and the plan is improved by moving single jobs
//! between pools; the jobs at the head of each pool's plan run now.
//!
//! The model is the positional cost of scheduling on unrelated machines ($R \| \sum C_j$), with a
//! pool of $C_j$ accelerators seen as one fluid machine that does $C_j$ accelerator-seconds of
//! work a second. Job $i$ on pool $j$ needs $p_{ij} = R_i / T_{ij}$ seconds and
//! $a_{ij} = s_i\, p_{ij}$ accelerator-seconds. The jobs planned on a pool are served in
//! increasing $a_{ij} / w_i$ (Smith's rule, which minimizes their weighted completion time on
//! that pool), and job $i$ completes at about
//!
//! $$C_i = \frac{1}{C_j} \sum_{k \prec_j i} a_{kj} + p_{ij},$$
//!
//! $k \prec_j i$ the jobs before it on $j$. The plan minimizes $\sum_i w_i C_i$: a job put on
//! $j$ costs its own weighted completion there plus the delay $a_{ij} / C_j$ it adds to each
//! job after it (times their weights). Jobs are first inserted one by one, least area on their
//! best pool first, each where it costs least; then each job in turn moves to the pool where it
//! would cost least, while that lowers the total ([`MOVE_PASSES`] passes at most; the total falls
//! at each move, so the search ends). So a pool whose queue is long sends work to a slower pool
//! when waiting would cost more than running slower, and a job that loses much on a slow pool
//! waits for a fast one instead.
//!
//! Each pool's order of all jobs is fixed ($a_{ij} / w_i$ does not depend on the plan), so each
//! pool keeps the planned jobs' area and weight in Fenwick trees over that order: an insertion
//! cost is two prefix sums, a move two point updates, and a pass costs $O(n m \log n)$.
//!
//! The jobs that run now are, per pool, the planned ones in order while their gangs fit (a later,
//! smaller job may take what a gang that does not fit leaves). The others stand by in the order
//! of their planned start ([`super::ordered::finish`]); placed jobs keep the pool of the plan
//! (no exchanges: the plan already chose where each job goes).

use super::ordered::{finish, place_greedily};
use super::{Allocation, PolicyInput, PolicyJob};

/// Passes of single-job moves at most. Measured on Gavel-generated multi-GPU traces (600 jobs
/// at 4 jobs/h, seeds 11-13 and 21-30): the average JCT no longer changes after 4 passes.
const MOVE_PASSES: usize = 8;

/// Sums over positions `0..n`, with point updates and prefix sums in $O(\log n)$.
struct Fenwick(Vec<f64>);

impl Fenwick {
    fn new(n: usize) -> Fenwick {
        Fenwick(vec![0.0; n + 1])
    }

    fn add(&mut self, position: usize, value: f64) {
        let mut i = position + 1;
        while i < self.0.len() {
            self.0[i] += value;
            i += i & i.wrapping_neg();
        }
    }

    /// The sum over positions `0..end`.
    fn prefix(&self, end: usize) -> f64 {
        let mut i = end;
        let mut sum = 0.0;
        while i > 0 {
            sum += self.0[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }
}

/// One pool's plan: the jobs on it, in its Smith order.
struct PoolPlan {
    capacity: f64,
    /// Each job's position in this pool's order (`usize::MAX`: it cannot run here).
    position: Vec<usize>,
    /// Accelerator-seconds of the planned jobs, by position.
    area: Fenwick,
    /// Weights of the planned jobs, by position.
    weight: Fenwick,
    total_weight: f64,
}

/// The plan over the jobs of one allocation.
struct Plan<'a> {
    input: &'a PolicyInput<'a>,
    pools: Vec<PoolPlan>,
    on: Vec<Option<usize>>,
}

impl<'a> Plan<'a> {
    fn new(input: &'a PolicyInput<'a>, jobs: &[usize]) -> Plan<'a> {
        let n = input.jobs.len();
        let pools = (0..input.capacities.len())
            .map(|p| {
                let mut keyed: Vec<(f64, usize)> = jobs
                    .iter()
                    .filter(|&&i| runs_on(input, &input.jobs[i], p))
                    .map(|&i| (area(&input.jobs[i], p) / input.jobs[i].priority_weight, i))
                    .collect();
                keyed.sort_unstable_by(|a, b| {
                    a.0.total_cmp(&b.0)
                        .then(input.jobs[a.1].id.cmp(&input.jobs[b.1].id))
                });
                let mut position = vec![usize::MAX; n];
                for (r, &(_, i)) in keyed.iter().enumerate() {
                    position[i] = r;
                }
                PoolPlan {
                    capacity: f64::from(input.capacities[p].max(1)),
                    position,
                    area: Fenwick::new(keyed.len()),
                    weight: Fenwick::new(keyed.len()),
                    total_weight: 0.0,
                }
            })
            .collect();
        Plan {
            input,
            pools,
            on: vec![None; n],
        }
    }

    /// What job `i` costs on pool `p` with the jobs planned there now (`i` not among them): its
    /// weighted completion and the delay it adds to the jobs after it, weighted.
    fn cost(&self, i: usize, p: usize) -> f64 {
        let job = &self.input.jobs[i];
        let pool = &self.pools[p];
        let r = pool.position[i];
        let before = pool.area.prefix(r);
        let weight_after = pool.total_weight - pool.weight.prefix(r + 1);
        job.priority_weight * (before / pool.capacity + seconds(job, p))
            + area(job, p) * weight_after / pool.capacity
    }

    fn put(&mut self, i: usize, p: usize) {
        self.change(i, p, 1.0);
        self.on[i] = Some(p);
    }

    fn take(&mut self, i: usize, p: usize) {
        self.change(i, p, -1.0);
        self.on[i] = None;
    }

    fn change(&mut self, i: usize, p: usize, sign: f64) {
        let job = &self.input.jobs[i];
        let pool = &mut self.pools[p];
        let r = pool.position[i];
        pool.area.add(r, sign * area(job, p));
        pool.weight.add(r, sign * job.priority_weight);
        pool.total_weight += sign * job.priority_weight;
    }

    /// The pool where job `i` costs least (ties to the lower index), with its cost.
    fn cheapest(&self, i: usize) -> Option<(f64, usize)> {
        (0..self.pools.len())
            .filter(|&p| runs_on(self.input, &self.input.jobs[i], p))
            .map(|p| (self.cost(i, p), p))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
    }
}

/// Whether `job` runs on pool `p` and its gang fits there.
fn runs_on(input: &PolicyInput<'_>, job: &PolicyJob, p: usize) -> bool {
    job.throughputs[p] > 0.0 && input.capacities[p] >= job.scale_factor
}

/// $p_{ij}$: seconds `job` needs alone on pool `p`.
fn seconds(job: &PolicyJob, p: usize) -> f64 {
    job.remaining_steps as f64 / job.throughputs[p]
}

/// $a_{ij}$: accelerator-seconds `job` needs on pool `p`.
fn area(job: &PolicyJob, p: usize) -> f64 {
    f64::from(job.scale_factor) * seconds(job, p)
}

/// The allocation of `order` (indexes into `input.jobs`, every job once): the first `urgent`
/// jobs placed in rank order as [`super::ordered::place_in_order`] does, the others from the
/// plan (module doc).
pub(crate) fn place_by_plan(input: &PolicyInput<'_>, order: &[usize], urgent: usize) -> Allocation {
    let n = input.jobs.len();
    let mut avail: Vec<i64> = input.capacities.iter().map(|&c| i64::from(c)).collect();
    let mut pool_of: Vec<Option<usize>> = vec![None; n];
    place_greedily(input, &order[..urgent], &mut avail, &mut pool_of);
    let rest = &order[urgent..];
    let mut plan = Plan::new(input, rest);
    // Insertion, least area on the best pool first.
    let mut by_area: Vec<(f64, usize)> = rest
        .iter()
        .map(|&i| {
            let job = &input.jobs[i];
            let least = (0..input.capacities.len())
                .filter(|&p| runs_on(input, job, p))
                .map(|p| area(job, p))
                .fold(f64::INFINITY, f64::min);
            (least, i)
        })
        .collect();
    by_area.sort_unstable_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(input.jobs[a.1].id.cmp(&input.jobs[b.1].id))
    });
    for &(_, i) in &by_area {
        if let Some((_, p)) = plan.cheapest(i) {
            plan.put(i, p);
        }
    }
    // Moves of single jobs while they lower the total.
    for _ in 0..MOVE_PASSES {
        let mut moved = false;
        for &(_, i) in &by_area {
            let Some(from) = plan.on[i] else { continue };
            plan.take(i, from);
            let stay = plan.cost(i, from);
            let to = match plan.cheapest(i) {
                Some((cost, p)) if p != from && cost < stay * (1.0 - 1e-9) => {
                    moved = true;
                    p
                }
                _ => from,
            };
            plan.put(i, to);
        }
        if !moved {
            break;
        }
    }
    // Run now: each pool's planned jobs in its order while their gangs fit; the rest stand by
    // in the order of their planned start.
    let mut listed: Vec<Vec<usize>> = vec![Vec::new(); input.capacities.len()];
    for &i in rest {
        if let Some(p) = plan.on[i] {
            listed[p].push(i);
        }
    }
    let mut starts: Vec<(f64, usize)> = Vec::with_capacity(rest.len());
    for (p, jobs) in listed.iter_mut().enumerate() {
        jobs.sort_unstable_by_key(|&i| plan.pools[p].position[i]);
        let mut ahead = 0.0;
        for &i in jobs.iter() {
            let job = &input.jobs[i];
            let sf = i64::from(job.scale_factor);
            if avail[p] >= sf {
                avail[p] -= sf;
                pool_of[i] = Some(p);
            }
            starts.push((ahead / plan.pools[p].capacity, i));
            ahead += area(job, p);
        }
    }
    starts.sort_unstable_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(input.jobs[a.1].id.cmp(&input.jobs[b.1].id))
    });
    let mut planned_order: Vec<usize> = order[..urgent].to_vec();
    planned_order.extend(starts.iter().map(|&(_, i)| i));
    // Jobs that run nowhere stay in the order, for completeness (they get no share).
    planned_order.extend(rest.iter().copied().filter(|&i| plan.on[i].is_none()));
    finish(input, &planned_order, pool_of, &vec![true; n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobId;
    use crate::policy::ordered::fixtures::{input, job, placed};

    #[test]
    fn a_long_queue_on_the_fast_pool_sends_work_to_the_slow_one() {
        let names = vec!["v100".to_string(), "k80".to_string()];
        // Four 1-hour jobs (on the v100) for one v100 and one k80: the k80 is 1.5x slower.
        // Ranked alone by time, all would queue for the v100 (completions 1, 2, 3, 4 h: 10 h);
        // planned, one runs on the k80 (1.5 h) and three on the v100 (1, 2, 3 h: 7.5 h).
        let jobs: Vec<PolicyJob> = (0..4)
            .map(|i| job(i, 1, 3600, &[1.0, 1.0 / 1.5], 0.0))
            .collect();
        let caps = [1, 1];
        let a = place_by_plan(&input(&jobs, &caps, &names), &[0, 1, 2, 3], 0);
        let on: Vec<Option<usize>> = (0..4).map(|i| placed(&a[&JobId(i)])).collect();
        assert_eq!(on.iter().filter(|p| **p == Some(0)).count(), 1, "{on:?}");
        assert_eq!(on.iter().filter(|p| **p == Some(1)).count(), 1, "{on:?}");
    }

    #[test]
    fn a_job_that_loses_much_on_the_slow_pool_waits_for_the_fast_one() {
        let names = vec!["v100".to_string(), "k80".to_string()];
        // Two 1-hour jobs, the k80 10x slower: both are planned on the v100 (1 h + 2 h) rather
        // than one running 10 h on the k80, so only one is placed now.
        let jobs: Vec<PolicyJob> = (0..2).map(|i| job(i, 1, 3600, &[1.0, 0.1], 0.0)).collect();
        let caps = [1, 1];
        let a = place_by_plan(&input(&jobs, &caps, &names), &[0, 1], 0);
        let on: Vec<Option<usize>> = (0..2).map(|i| placed(&a[&JobId(i)])).collect();
        assert_eq!(on, vec![Some(0), None]);
        // The one waiting stands by (on every pool where it runs: an accelerator nobody else
        // takes between two allocations still goes to it).
        assert!(a[&JobId(1)][0] > 0.0 && a[&JobId(1)][0] < 1.0);
    }

    #[test]
    fn urgent_jobs_keep_their_rank_order_and_gangs_fit() {
        let names = vec!["v100".to_string(), "k80".to_string()];
        // Job 2 is urgent and long: it takes the v100 first whatever the plan; a 2-gang fits
        // only on the k80 of 2.
        let jobs = vec![
            job(0, 1, 3600, &[1.0, 0.5], 0.0),
            job(1, 2, 3600, &[1.0, 0.5], 0.0),
            job(2, 1, 360_000, &[1.0, 0.5], 0.0),
        ];
        let caps = [1, 2];
        let a = place_by_plan(&input(&jobs, &caps, &names), &[2, 0, 1], 1);
        assert_eq!(placed(&a[&JobId(2)]), Some(0));
        for (p, &cap) in caps.iter().enumerate() {
            let held: u32 = jobs
                .iter()
                .filter(|j| placed(&a[&j.id]) == Some(p))
                .map(|j| j.scale_factor)
                .sum();
            assert!(held <= cap, "pool {p}: {a:?}");
        }
        assert_eq!(placed(&a[&JobId(1)]), Some(1));
    }
}
