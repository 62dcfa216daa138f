//! Placement in a priority order, shared by the order-based policies (`srpt_perf`,
//! `tiresias_perf`): each policy ranks the active jobs, and this module turns the ranking into an
//! allocation the round mechanism honours.
//!
//! Jobs are taken in rank order; each gets, whole gang on one pool, the pool with room on which
//! it loses least relative to its fastest pool (largest $T_{ij} / \max_k T_{ik}$; ties go to the
//! faster pool in absolute terms, then the lower index), $x_{ij} = 1$. A job that fits nowhere is
//! passed over and the jobs behind it may take what is left (backfill); it is not starved by
//! them, because the next allocation places it first again if it still ranks first, and the
//! mechanism then stops the jobs that were in its way.
//!
//! Jobs left over get a *standby* share: a tiny $x_{ij} = \varepsilon_r$ on every pool where they
//! run, decreasing geometrically with their rank $r$. Allocations are recomputed only when jobs
//! arrive or finish, and at most once every `min_reallocation_interval_s` (Gavel: 32 minutes);
//! without standby shares the accelerators of a job that finishes would sit idle until then. The
//! mechanism ranks jobs per pool by allocation over time received, so a placed job
//! ($x = 1$) always goes before a standby one ($\varepsilon \le 10^{-9}$), and standby jobs take
//! idle accelerators in rank order. The shares add at most $10^{-9}$ per job to a pool's load on
//! paper; the mechanism never runs more than a pool holds.
//!
//! Placed jobs also get an *upgrade* share on every pool where they run faster, below every
//! standby share ([`upgrade_shares`]): an accelerator of a faster pool that frees up between
//! two allocations and that no placed or standby job takes goes to a job running slower
//! elsewhere instead of sitting idle.

use super::{Allocation, PolicyInput, PolicyJob};
use std::collections::BTreeMap;

/// Standby shares stay below this: the first job left over gets `STANDBY_SHARE /
/// STANDBY_RATIO`, so that a job that arrives before the next allocation and ranks before all
/// of them can be given more ([`super::standby::Standby::share_for`]).
pub(crate) const STANDBY_SHARE: f64 = 1e-9;
/// Each further standby job gets this much less: a standby job that started keeps its place
/// against the next one for about `(STANDBY_RATIO - 1) / 2` rounds of the mechanism (its
/// priority falls as its received time grows), which covers Gavel's 32-minute interval at
/// 6-minute rounds.
pub(crate) const STANDBY_RATIO: f64 = 16.0;
/// The smallest standby share: jobs further down still fill idle accelerators, in id order.
pub(crate) const STANDBY_FLOOR: f64 = 1e-300;

/// The pool on which `job` loses least relative to its fastest pool, among those with room for
/// its gang.
pub(crate) fn least_loss_pool(job: &PolicyJob, avail: &[i64]) -> Option<usize> {
    let sf = i64::from(job.scale_factor);
    (0..avail.len())
        .filter(|&p| avail[p] >= sf && job.throughputs[p] > 0.0)
        .max_by(|&a, &b| {
            // Relative and absolute speed order the same pools for one job; the comparison is
            // kept in relative terms because that is what the policy promises.
            let best = job.best_throughput();
            (job.throughputs[a] / best)
                .total_cmp(&(job.throughputs[b] / best))
                .then(b.cmp(&a))
        })
}

/// Relative speed of `job` on pool `p`: $T_{ip} / \max_k T_{ik}$.
fn relative(job: &PolicyJob, p: usize) -> f64 {
    job.throughputs[p] / job.best_throughput().max(f64::MIN_POSITIVE)
}

/// Jobs that could change pools, each with what it gains by moving (index into the input).
type Candidates = Vec<(usize, f64)>;

/// Rounds of pairwise exchanges between pools at most (each pass visits every pair of pools).
const SWAP_PASSES: usize = 4;

/// Exchanges placed jobs of the same gang size between two pools wherever that raises their
/// summed relative speed (each job at $T_{ij} / \max_k T_{ik}$): the rank order decided *which*
/// jobs run, this decides *where*, so that a job that gains much from the fast pool is not left
/// on a slow one because a job that gains little ranked before it. Capacity is unchanged (equal
/// gangs change places); `pinned` jobs do not move.
///
/// For a pair of pools $(p, q)$ and a gang size, the jobs on $p$ are sorted by what they gain by
/// moving to $q$ and those on $q$ by what they gain by moving to $p$; the $k$-th of each list
/// change places while the two gains sum to more than zero (the best exchanges first).
fn improve_by_swaps(input: &PolicyInput<'_>, pool_of: &mut [Option<usize>], pinned: &[bool]) {
    let m = input.capacities.len();
    for _ in 0..SWAP_PASSES {
        let mut swapped = false;
        for p in 0..m {
            for q in p + 1..m {
                // Per gang size: (job, gain) on p moving to q, and on q moving to p.
                let mut lists: BTreeMap<u32, (Candidates, Candidates)> = BTreeMap::new();
                for (i, job) in input.jobs.iter().enumerate() {
                    if pinned.get(i).copied().unwrap_or(false) {
                        continue;
                    }
                    let (from, to) = match pool_of[i] {
                        Some(a) if a == p => (p, q),
                        Some(a) if a == q => (q, p),
                        _ => continue,
                    };
                    if job.throughputs[to] <= 0.0 {
                        continue;
                    }
                    let gain = relative(job, to) - relative(job, from);
                    let entry = lists.entry(job.scale_factor).or_default();
                    if from == p {
                        entry.0.push((i, gain));
                    } else {
                        entry.1.push((i, gain));
                    }
                }
                for (_, (mut on_p, mut on_q)) in lists {
                    let by_gain = |a: &(usize, f64), b: &(usize, f64)| {
                        b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
                    };
                    on_p.sort_unstable_by(by_gain);
                    on_q.sort_unstable_by(by_gain);
                    for (&(a, ga), &(b, gb)) in on_p.iter().zip(&on_q) {
                        if ga + gb <= 1e-9 {
                            break;
                        }
                        pool_of[a] = Some(q);
                        pool_of[b] = Some(p);
                        swapped = true;
                    }
                }
            }
        }
        if !swapped {
            break;
        }
    }
}

/// The allocation of `order` (indexes into `input.jobs`, highest priority first; every job must
/// appear once). Jobs marked in `pinned` (indexes into `input.jobs`; shorter slices count as
/// false) keep the pool they are given in rank order; the others may change places after.
pub(crate) fn place_in_order(
    input: &PolicyInput<'_>,
    order: &[usize],
    pinned: &[bool],
) -> Allocation {
    let mut avail: Vec<i64> = input.capacities.iter().map(|&c| i64::from(c)).collect();
    let mut pool_of: Vec<Option<usize>> = vec![None; input.jobs.len()];
    place_greedily(input, order, &mut avail, &mut pool_of);
    finish(input, order, pool_of, pinned)
}

/// Places each job of `order` in turn on the pool it loses least on, out of `avail`; returns
/// the chips left free in all pools.
pub(crate) fn place_greedily(
    input: &PolicyInput<'_>,
    order: &[usize],
    avail: &mut [i64],
    pool_of: &mut [Option<usize>],
) -> i64 {
    // Once every pool is full, no further job can be placed: skip the search.
    let mut free: i64 = avail.iter().sum();
    for &i in order {
        if free <= 0 {
            break;
        }
        let job = &input.jobs[i];
        if let Some(p) = least_loss_pool(job, avail) {
            pool_of[i] = Some(p);
            avail[p] -= i64::from(job.scale_factor);
            free -= i64::from(job.scale_factor);
        }
    }
    free
}

/// Like [`place_in_order`] for the first `urgent` jobs of `order`; the others are then placed
/// by (job, pool) pairs in increasing `key(job, pool)` (a pair whose job is placed already or
/// whose pool has no room is skipped), so that a pool goes to the jobs that need least of it.
pub(crate) fn place_by_pairs(
    input: &PolicyInput<'_>,
    order: &[usize],
    urgent: usize,
    pinned: &[bool],
    key: impl Fn(&PolicyJob, usize) -> f64,
) -> Allocation {
    let mut avail: Vec<i64> = input.capacities.iter().map(|&c| i64::from(c)).collect();
    let mut pool_of: Vec<Option<usize>> = vec![None; input.jobs.len()];
    let mut free = place_greedily(input, &order[..urgent], &mut avail, &mut pool_of);
    if free > 0 {
        let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
        for &i in &order[urgent..] {
            let job = &input.jobs[i];
            for (p, &t) in job.throughputs.iter().enumerate() {
                if t > 0.0 {
                    pairs.push((key(job, p), i, p));
                }
            }
        }
        pairs.sort_unstable_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then(input.jobs[a.1].id.cmp(&input.jobs[b.1].id))
                .then(a.2.cmp(&b.2))
        });
        for (_, i, p) in pairs {
            if free <= 0 {
                break;
            }
            let sf = i64::from(input.jobs[i].scale_factor);
            if pool_of[i].is_none() && avail[p] >= sf {
                pool_of[i] = Some(p);
                avail[p] -= sf;
                free -= sf;
            }
        }
    }
    finish(input, order, pool_of, pinned)
}

/// Improves the placement `pool_of` by exchanges and turns it into an allocation, with standby
/// shares for the jobs left over in `order`.
pub(crate) fn finish(
    input: &PolicyInput<'_>,
    order: &[usize],
    mut pool_of: Vec<Option<usize>>,
    pinned: &[bool],
) -> Allocation {
    let m = input.capacities.len();
    improve_by_swaps(input, &mut pool_of, pinned);
    let mut rows: Vec<Vec<f64>> = vec![vec![0.0; m]; input.jobs.len()];
    let mut standby = STANDBY_SHARE / STANDBY_RATIO;
    for &i in order {
        let job = &input.jobs[i];
        match pool_of[i] {
            Some(p) => {
                rows[i][p] = 1.0;
                upgrade_shares(job, p, &mut rows[i]);
            }
            None => {
                for (x, t) in rows[i].iter_mut().zip(&job.throughputs) {
                    if *t > 0.0 {
                        *x = standby;
                    }
                }
                standby = (standby / STANDBY_RATIO).max(STANDBY_FLOOR);
            }
        }
    }
    input
        .jobs
        .iter()
        .zip(rows)
        .map(|(job, row)| (job.id, row))
        .collect()
}

/// Upgrade shares stay below this, itself below every standby share.
const UPGRADE_SHARE: f64 = 1e-302;

/// Gives a job placed on pool `p` a share on every pool where it runs faster, below every
/// standby share: when such a pool has an accelerator that neither a placed nor a standby job
/// takes (a job there ended between two allocations), the mechanism moves the job up to it
/// instead of leaving it idle until the next allocation (Gavel's 32 minutes). The more the job
/// gains there, the larger its share, so the largest gains move first.
fn upgrade_shares(job: &PolicyJob, p: usize, row: &mut [f64]) {
    let here = job.throughputs[p];
    for (q, x) in row.iter_mut().enumerate() {
        let there = job.throughputs[q];
        if q != p && there > here {
            *x = UPGRADE_SHARE * (1.0 - here / there);
        }
    }
}

/// Test fixtures shared by the order-based policies' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::JobId;
    use crate::policy::{PolicyInput, PolicyJob};

    /// A job of `steps` steps on `sf` accelerators, `thr` steps/s per pool, `age_s` old.
    pub(crate) fn job(id: u64, sf: u32, steps: u64, thr: &[f64], age_s: f64) -> PolicyJob {
        PolicyJob {
            id: JobId(id),
            scale_factor: sf,
            throughputs: thr.to_vec(),
            priority_weight: 1.0,
            remaining_steps: steps,
            time_since_arrival_s: age_s,
            time_to_deadline_s: None,
        }
    }

    /// The pool a job of allocation row `row` is placed on ($x = 1$), if any.
    pub(crate) fn placed(row: &[f64]) -> Option<usize> {
        row.iter().position(|&x| x >= 1.0)
    }

    /// The policy's input over `jobs` and pools of `caps` named `names`, without prices.
    pub(crate) fn input<'a>(
        jobs: &'a [PolicyJob],
        caps: &'a [u32],
        names: &'a [String],
    ) -> PolicyInput<'a> {
        PolicyInput {
            jobs,
            capacities: caps,
            pool_names: names,
            prices: &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobId;
    use fixtures::placed;

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

    #[test]
    fn jobs_take_the_pool_where_they_lose_least_in_rank_order() {
        let names = vec!["v100".to_string(), "k80".to_string()];
        // Job 1 ranks first and takes the only v100; job 0 falls back to k80; job 2 (k80 only,
        // a 2-gang) finds no room and stands by.
        let jobs = vec![
            job(0, 1, &[4.0, 1.0]),
            job(1, 1, &[2.0, 1.0]),
            job(2, 2, &[0.0, 1.0]),
        ];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[1, 2],
            pool_names: &names,
            prices: &[None, None],
        };
        // (All pinned: the rank order alone; see the next test for the exchanges.)
        let a = place_in_order(&input, &[1, 0, 2], &[true; 3]);
        assert_eq!(placed(&a[&JobId(1)]), Some(0));
        assert_eq!(placed(&a[&JobId(0)]), Some(1));
        assert_eq!(a[&JobId(2)][0], 0.0, "no share where it cannot run");
        assert!(a[&JobId(2)][1] > 0.0 && a[&JobId(2)][1] <= STANDBY_SHARE);
    }

    #[test]
    fn placed_jobs_change_places_where_both_gain_in_sum() {
        let names = vec!["v100".to_string(), "k80".to_string()];
        // Job 0 ranks first and takes the v100, where it is barely faster; job 1, 4x faster
        // there, is left the k80. They change places; a pinned job keeps its pool.
        let jobs = vec![job(0, 1, &[1.1, 1.0]), job(1, 1, &[4.0, 1.0])];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[1, 1],
            pool_names: &names,
            prices: &[None, None],
        };
        let a = place_in_order(&input, &[0, 1], &[]);
        assert_eq!(placed(&a[&JobId(1)]), Some(0));
        assert_eq!(placed(&a[&JobId(0)]), Some(1));
        let pinned = place_in_order(&input, &[0, 1], &[true, false]);
        assert_eq!(placed(&pinned[&JobId(0)]), Some(0));
        // Gangs of different sizes never change places (capacity would not hold).
        let jobs = vec![job(0, 1, &[1.1, 1.0]), job(1, 2, &[4.0, 1.0])];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[2, 2],
            pool_names: &names,
            prices: &[None, None],
        };
        let a = place_in_order(&input, &[0, 1], &[]);
        assert_eq!(placed(&a[&JobId(0)]), Some(0));
        assert_eq!(placed(&a[&JobId(1)]), Some(1));
    }

    #[test]
    fn by_pairs_a_pool_goes_to_the_job_that_needs_least_of_it() {
        let names = vec!["v100".to_string(), "k80".to_string()];
        // Seconds left on (v100, k80): A (100, 400), B (120, 130), C (110, 10,000); one
        // accelerator of each. In rank order (A, C, B: least work on the best pool first) A and
        // C would run and C, 90x slower on the k80, would hold it; by pairs the k80 goes to B.
        let mut jobs = vec![
            job(0, 1, &[1.0, 0.25]),
            job(1, 1, &[100.0 / 120.0, 100.0 / 130.0]),
            job(2, 1, &[100.0 / 110.0, 0.01]),
        ];
        for j in &mut jobs {
            j.remaining_steps = 100;
        }
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[1, 1],
            pool_names: &names,
            prices: &[None, None],
        };
        let time = |j: &PolicyJob, p: usize| j.remaining_steps as f64 / j.throughputs[p];
        let a = place_by_pairs(&input, &[0, 2, 1], 0, &[], time);
        assert_eq!(placed(&a[&JobId(0)]), Some(0));
        assert_eq!(placed(&a[&JobId(1)]), Some(1));
        assert!(a[&JobId(2)][0] <= STANDBY_SHARE && a[&JobId(2)][0] > 0.0);
        // An urgent job is placed first, in rank order, whatever the pairs say.
        let a = place_by_pairs(&input, &[2, 0, 1], 1, &[true], time);
        assert_eq!(placed(&a[&JobId(2)]), Some(0));
        assert_eq!(placed(&a[&JobId(1)]), Some(1));
    }

    #[test]
    fn placed_jobs_may_move_up_to_faster_pools_below_every_standby_job() {
        let names = vec!["v100".to_string(), "p100".to_string(), "k80".to_string()];
        // Job 0 takes the only v100; job 1, 4x faster there than on the k80, is placed on the
        // k80 (the p100 is full with job 2); job 3 stands by.
        let jobs = vec![
            job(0, 1, &[8.0, 2.0, 1.0]),
            job(1, 1, &[4.0, 2.0, 1.0]),
            job(2, 1, &[3.0, 3.0, 1.0]),
            job(3, 1, &[4.0, 2.0, 1.0]),
        ];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[1, 1, 1],
            pool_names: &names,
            prices: &[None, None, None],
        };
        let a = place_in_order(&input, &[0, 2, 1, 3], &[true; 4]);
        assert_eq!(
            a[&JobId(0)],
            vec![1.0, 0.0, 0.0],
            "nothing faster than its pool"
        );
        let moving = &a[&JobId(1)];
        assert_eq!(moving[2], 1.0);
        // It gains more on the v100 (4x) than on the p100 (2x): a larger share there.
        assert!(moving[0] > moving[1] && moving[1] > 0.0, "{moving:?}");
        let waiting = &a[&JobId(3)];
        assert!(moving[0] < waiting[0] && moving[1] < waiting[1]);
        // Job 2 runs on the p100, as fast as on the v100: no share there.
        assert_eq!(a[&JobId(2)], vec![0.0, 1.0, 0.0]);
    }

    #[test]
    fn standby_shares_fall_with_rank_and_never_reach_zero() {
        let names = vec!["v100".to_string()];
        let jobs: Vec<PolicyJob> = (0..400).map(|i| job(i, 1, &[1.0])).collect();
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[1],
            pool_names: &names,
            prices: &[None],
        };
        let order: Vec<usize> = (0..400).rev().collect();
        let a = place_in_order(&input, &order, &[]);
        assert_eq!(a[&JobId(399)], vec![1.0]);
        assert!(a[&JobId(398)][0] > a[&JobId(397)][0]);
        assert!(a.values().all(|row| row[0] > 0.0));
        let load: f64 = a.values().map(|row| row[0]).sum();
        assert!(load <= 1.0 + 2e-9, "{load}");
    }
}
