//! `srpt_perf`: heterogeneity-aware shortest remaining work first, with a bound on waiting and
//! a makespan guard.
//!
//! A job's remaining work is the accelerator time it still needs on the pool that suits it
//! best: $W_i = s_i R_i / \max_j T_{ij}$ (gang size times the seconds left there; the gang size
//! makes an 8-accelerator job count for what it holds, as Tiresias's two-dimensional service
//! does). Jobs are ranked in increasing $W_i / w_i$. Critical and overdue jobs (below) are
//! placed first, in rank order, each where it loses least relative to its best pool. While jobs
//! still arrive, the others are placed from a plan of the whole queue (see
//! [`positional`](mod@super::positional)); once no job will arrive any more, by (job, pool)
//! pairs in increasing gang-weighted time on that pool, $s_i^\alpha R_i / (T_{ij} w_i)$
//! ([`PAIR_GANG_EXPONENT`]), so that each pool goes to the jobs that need least of it (see
//! [`ordered`](mod@super::ordered)), then swaps raise the total normalized throughput. Between allocations, a job that arrives gets a standby share where
//! its rank puts it (see [`standby`](mod@super::standby)) and placed jobs may move up to
//! faster pools that nobody else takes.
//!
//! Starvation guard: a job that has been in the system for at least
//! [`STARVATION_FACTOR`] times the time it has left alone on its best pool
//! ($t_i \ge \beta R_i / \max_j T_{ij}$) is *overdue* and goes before every job that is not,
//! oldest first. So a job waits at most about $\beta$ times its own run time before it is served
//! ahead of shorter work, which bounds its finish-time-fairness ratio near $\beta + 1$ unless
//! overdue jobs compete with each other. One of the longest jobs (time left at least
//! [`LONGEST_SHARE`] of the longest active job's) is overdue once it has been in the system for
//! [`LONGEST_WAIT`] times its time left, so that under arrivals the longest jobs do not wait
//! for all shorter work and end long after it.
//!
//! Makespan guard (latest start): when the policy first sees a job it fixes the job's
//! *finish-by* age $F_i = t_i + (1 + \sigma \rho) H$, where $H = \max(\max_k L_k, \sum_k W_k /
//! \sum_j C_j)$ is the time the active jobs need at least from now (the longest one alone on
//! its best pool, or all of them spread over the whole cluster at their best speed) and
//! $\sigma$ = [`MAKESPAN_SLACK`], scaled by $\rho = \min_k t_k / \max_k t_k$ over the active
//! jobs (1 when they all arrived at once; near 0 when the arrivals end after a long run of
//! them, where the last long arrivals make the makespan and get no slack). A job whose time left alone on its best pool reaches the time
//! left to its finish-by age ($t_i + L_i \ge F_i$) is *critical* and goes before every other
//! job, least slack first, so that the longest jobs start just late enough to end together
//! near $(1 + \sigma) H$ instead of after all the short ones. The guard acts only once no job
//! will arrive any more ([`crate::Scheduler::arrivals_ended`]; the ages are fixed at the next
//! allocation): under arrivals it made long jobs critical in busy periods, where they held
//! pools that short arrivals needed. The finish-by ages are remembered
//! between allocations; a caller without memory (one allocation from scratch) never sees a
//! critical job.

use super::ordered::place_by_pairs;
use super::positional::place_by_plan;
use super::standby::{RankKey, Standby};
use super::{Allocation, PolicyInput, PolicyJob};
use crate::JobId;
use std::collections::BTreeMap;

/// $\beta$: how many times its remaining run time a job may wait before it goes first.
pub(crate) const STARVATION_FACTOR: f64 = 8.0;

/// $\alpha$: the (job, pool) pairs are taken in increasing $s_i^\alpha R_i / (T_{ij} w_i)$. A
/// gang holds all its accelerators at once and needs them free together, so it counts for a
/// little more than its accelerator time when the pools are handed out. Measured, not derived:
/// against 1, 1.5 lowered the average JCT by 0.1-1% on 11 of 14 generated traces, equal on 2,
/// +0.1% on one (docs/policies.md).
pub(crate) const PAIR_GANG_EXPONENT: f64 = 1.5;

/// $\sigma$: how much longer than the least time the active jobs need (when a job is first
/// seen) the makespan guard lets the longest of them take.
pub(crate) const MAKESPAN_SLACK: f64 = 0.15;

/// $\lambda$: a job whose time left alone on its best pool is at least this share of the
/// longest active job's is one of the *longest* jobs, and ...
pub(crate) const LONGEST_SHARE: f64 = 0.9;

/// $\omega$: ... is overdue once it has been in the system this many times its time left.
/// Shortest-first leaves the longest jobs to the end; under arrivals that end is the arrivals'
/// end, and a long job that came late then ends far after the others (the makespan). Measured
/// (docs/policies.md): without this bound, multi-GPU traces at 4 jobs/h ended up to 9% later
/// than under the best Gavel policy.
pub(crate) const LONGEST_WAIT: f64 = 0.15;

/// Seconds `job` has left alone on its fastest pool.
fn seconds_left(job: &PolicyJob) -> f64 {
    job.remaining_steps as f64 / job.best_throughput().max(f64::MIN_POSITIVE)
}

/// Whether `job` has waited past the starvation bound, or, being one of the longest jobs
/// (`longest`: the seconds left of the longest active job), past the bound of the longest.
pub(crate) fn overdue(job: &PolicyJob, longest: f64) -> bool {
    let left = seconds_left(job);
    let age = job.time_since_arrival_s;
    age >= STARVATION_FACTOR * left
        || (left >= LONGEST_SHARE * longest && age >= LONGEST_WAIT * left)
}

/// What `srpt_perf` remembers between allocations: each active job's finish-by age (seconds
/// after its arrival), fixed when the policy first saw it, and where the standby jobs ranked.
#[derive(Debug, Default)]
pub(crate) struct FinishBy {
    /// No job will arrive any more: the guard acts.
    arrivals_ended: bool,
    ages: BTreeMap<JobId, f64>,
    /// Seconds left of the longest active job at the last allocation, alone on its best pool.
    longest: f64,
    /// The last allocation's standby jobs, for the share of a job that arrives before the next.
    standby: Standby,
}

impl FinishBy {
    /// No job will arrive any more.
    pub(crate) fn arrivals_ended(&mut self) {
        self.arrivals_ended = true;
    }

    /// Fixes the finish-by age of jobs seen for the first time and forgets those that left.
    fn update(&mut self, input: &PolicyInput<'_>) {
        if !self.arrivals_ended {
            self.ages.clear();
            return;
        }
        let capacity: f64 = input.capacities.iter().map(|&c| f64::from(c)).sum();
        let mut horizon: Option<f64> = None;
        let mut next = BTreeMap::new();
        for job in input.jobs {
            let age = match self.ages.get(&job.id) {
                Some(&age) => age,
                None => {
                    let h = *horizon.get_or_insert_with(|| {
                        let longest = input.jobs.iter().map(seconds_left).fold(0.0, f64::max);
                        let work: f64 = input
                            .jobs
                            .iter()
                            .map(|j| f64::from(j.scale_factor) * seconds_left(j))
                            .sum();
                        (1.0 + MAKESPAN_SLACK * together(input.jobs))
                            * longest.max(work / capacity.max(1.0))
                    });
                    job.time_since_arrival_s + h
                }
            };
            next.insert(job.id, age);
        }
        self.ages = next;
    }
}

/// How together the active jobs arrived: the youngest one's age over the oldest one's, 1 when
/// they all arrived at once (or at time 0), near 0 when one came just now after a long run of
/// arrivals. The makespan slack is scaled by it: a queue that arrived together can let its
/// longest jobs wait for the short ones, but when the arrivals end after a long run of them,
/// the last long arrivals are what the makespan is, and they get no slack.
fn together(jobs: &[PolicyJob]) -> f64 {
    let (youngest, oldest) = jobs.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), j| {
        (
            lo.min(j.time_since_arrival_s),
            hi.max(j.time_since_arrival_s),
        )
    });
    if oldest > 0.0 {
        (youngest / oldest).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// Where `job` ranks: class 0 critical, 1 overdue, 2 the rest; then least slack first among
/// critical jobs, oldest first among overdue ones, least weighted work first among the rest.
/// `finish_by_age`: its finish-by age, when the makespan guard has fixed one.
fn rank_key(job: &PolicyJob, finish_by_age: Option<f64>, longest: f64) -> RankKey {
    let left = seconds_left(job);
    let slack = finish_by_age.map_or(f64::INFINITY, |age| age - job.time_since_arrival_s - left);
    if slack <= 0.0 {
        (0, slack)
    } else if overdue(job, longest) {
        (1, -job.time_since_arrival_s)
    } else {
        let work = f64::from(job.scale_factor) * left;
        (2, work / job.priority_weight)
    }
}

/// The order in which `srpt_perf` serves `input.jobs` (indexes, first served first, each with
/// its rank key; the job id breaks ties, so that the order is total and deterministic), and
/// whether each job is critical for the makespan.
fn ranked(input: &PolicyInput<'_>, memory: &mut FinishBy) -> (Vec<(RankKey, usize)>, Vec<bool>) {
    memory.update(input);
    memory.longest = input.jobs.iter().map(seconds_left).fold(0.0, f64::max);
    let longest = memory.longest;
    let mut keyed: Vec<(RankKey, usize)> = input
        .jobs
        .iter()
        .enumerate()
        .map(|(i, job)| (rank_key(job, memory.ages.get(&job.id).copied(), longest), i))
        .collect();
    let critical = keyed.iter().map(|((class, _), _)| *class == 0).collect();
    keyed.sort_unstable_by(|(a, i), (b, j)| {
        a.0.cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(input.jobs[*i].id.cmp(&input.jobs[*j].id))
    });
    (keyed, critical)
}

/// The order in which `srpt_perf` serves `input.jobs` (indexes, first served first), and
/// whether each job is critical for the makespan.
#[cfg(test)]
pub(crate) fn order(input: &PolicyInput<'_>, memory: &mut FinishBy) -> (Vec<usize>, Vec<bool>) {
    let (keyed, critical) = ranked(input, memory);
    (keyed.into_iter().map(|(_, i)| i).collect(), critical)
}

/// The share of a job that arrived since the last allocation, until the next: a standby share
/// among the last allocation's standby jobs, where its rank key puts it (see [`Standby`]).
pub(crate) fn arrival_share(job: &PolicyJob, memory: &mut FinishBy) -> Vec<f64> {
    memory.standby.share_for(
        job,
        rank_key(job, None, memory.longest.max(seconds_left(job))),
    )
}

/// The `srpt_perf` allocation.
pub(crate) fn allocate(input: &PolicyInput<'_>, memory: &mut FinishBy) -> Allocation {
    let (keyed, critical) = ranked(input, memory);
    let order: Vec<usize> = keyed.iter().map(|&(_, i)| i).collect();
    // Critical and overdue jobs come first in the order; they are placed in rank order. The
    // rest, while jobs still arrive, from a plan of the whole queue; once no job will arrive
    // (the makespan guard acts), by (job, pool) pairs, least accelerator time on that pool
    // first.
    let urgent = order
        .iter()
        .take_while(|&&i| critical[i] || overdue(&input.jobs[i], memory.longest))
        .count();
    let allocation = if memory.arrivals_ended {
        place_by_pairs(input, &order, urgent, &critical, |job, p| {
            f64::from(job.scale_factor).powf(PAIR_GANG_EXPONENT) * job.remaining_steps as f64
                / job.throughputs[p]
                / job.priority_weight
        })
    } else {
        place_by_plan(input, &order, urgent)
    };
    memory.standby.record(input, &allocation, &keyed);
    allocation
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobId;

    use crate::policy::ordered::fixtures::{input, job};

    /// The order of one allocation from scratch.
    fn order_of(input: &PolicyInput<'_>) -> Vec<usize> {
        order(input, &mut FinishBy::default()).0
    }

    #[test]
    fn least_remaining_work_on_the_best_pool_goes_first() {
        let names = vec!["v100".to_string(), "k80".to_string()];
        let jobs = vec![
            // 1000 s left on its best pool.
            job(0, 1, 4000, &[4.0, 1.0], 0.0),
            // 500 s left on its best pool (k80: it does not speed up on a v100).
            job(1, 1, 500, &[0.5, 1.0], 0.0),
            // 400 s left, but a gang of 4: 1600 accelerator-seconds.
            job(2, 4, 4000, &[10.0, 1.0], 0.0),
        ];
        let caps = [1, 1];
        assert_eq!(order_of(&input(&jobs, &caps, &names)), [1, 0, 2]);
        let a = allocate(&input(&jobs, &caps, &names), &mut FinishBy::default());
        assert_eq!(a[&JobId(1)], vec![0.0, 1.0], "k80 suits it best");
        assert_eq!(a[&JobId(0)], vec![1.0, 0.0]);
        // The gang of 4 fits nowhere: it stands by.
        assert!(a[&JobId(2)][0] < 1e-8 && a[&JobId(2)][1] < 1e-8);
    }

    #[test]
    fn a_job_waiting_past_the_bound_goes_before_shorter_work() {
        let names = vec!["v100".to_string()];
        // Job 0 has 1000 s left and has waited 8000 s: overdue. Job 1 is older but far from its
        // bound; job 2 is short and new.
        let jobs = vec![
            job(0, 1, 1000, &[1.0], STARVATION_FACTOR * 1000.0),
            job(1, 1, 100_000, &[1.0], 9000.0),
            job(2, 1, 10, &[1.0], 0.0),
        ];
        let caps = [1];
        let longest = 100_000.0;
        assert!(overdue(&jobs[0], longest));
        assert!(!overdue(&jobs[1], longest) && !overdue(&jobs[2], longest));
        assert_eq!(order_of(&input(&jobs, &caps, &names)), [0, 2, 1]);
        let a = allocate(&input(&jobs, &caps, &names), &mut FinishBy::default());
        assert_eq!(a[&JobId(0)], vec![1.0]);
        assert!(a[&JobId(2)][0] > a[&JobId(1)][0], "standby in rank order");
    }

    #[test]
    fn the_longest_jobs_wait_at_most_a_share_of_their_own_time() {
        let names = vec!["v100".to_string()];
        // Job 0 is the longest (100,000 s left) and has been there 15% of that: overdue, it
        // goes before the shorter jobs. Job 1, 90,000 s left (90% of the longest), is one of the
        // longest too but younger than its bound; job 2 (50,000 s) is not one of them, and its
        // age would not matter.
        let bound = LONGEST_WAIT * 100_000.0;
        let jobs = vec![
            job(0, 1, 100_000, &[1.0], bound),
            job(1, 1, 90_000, &[1.0], LONGEST_WAIT * 90_000.0 - 1.0),
            job(2, 1, 50_000, &[1.0], bound),
            job(3, 1, 10, &[1.0], 0.0),
        ];
        let caps = [1];
        assert!(overdue(&jobs[0], 100_000.0));
        assert!(!overdue(&jobs[1], 100_000.0) && !overdue(&jobs[2], 100_000.0));
        assert_eq!(order_of(&input(&jobs, &caps, &names)), [0, 3, 2, 1]);
        let a = allocate(&input(&jobs, &caps, &names), &mut FinishBy::default());
        assert_eq!(a[&JobId(0)], vec![1.0]);
        // A moment younger, it is not overdue and the short job goes first.
        let mut young = jobs.clone();
        young[0].time_since_arrival_s = bound - 1.0;
        assert_eq!(order_of(&input(&young, &caps, &names)), [3, 2, 1, 0]);
    }

    #[test]
    fn weights_scale_the_work() {
        let names = vec!["v100".to_string()];
        let mut jobs = vec![job(0, 1, 1000, &[1.0], 0.0), job(1, 1, 1500, &[1.0], 0.0)];
        jobs[1].priority_weight = 2.0;
        assert_eq!(order_of(&input(&jobs, &[1], &names)), [1, 0]);
    }

    #[test]
    fn the_longest_job_becomes_critical_when_its_latest_start_comes() {
        let names = vec!["v100".to_string()];
        let caps = [2];
        let mut memory = FinishBy::default();
        // One long job (10,000 s) and three short ones (100 s) on 2 accelerators: the least
        // time they need is H = 10,000 s (the longest alone), so the long job must finish by
        // (1 + sigma) H and start by sigma H.
        let mut jobs = vec![
            job(0, 1, 10_000, &[1.0], 0.0),
            job(1, 1, 100, &[1.0], 0.0),
            job(2, 1, 100, &[1.0], 0.0),
            job(3, 1, 100, &[1.0], 0.0),
        ];
        // While jobs may still arrive the makespan guard does not act (the ages stay under the
        // bound of the longest jobs, which acts whether or not jobs still arrive).
        let late = jobs.clone().into_iter().map(|mut j| {
            j.time_since_arrival_s = LONGEST_WAIT * 10_000.0 - 1.0;
            j
        });
        let late: Vec<PolicyJob> = late.collect();
        let (first, critical) = order(&input(&late, &caps, &names), &mut memory);
        assert_eq!(first, [1, 2, 3, 0]);
        assert!(!critical.iter().any(|&c| c) && memory.ages.is_empty());
        // Once the arrivals have ended it fixes the finish-by ages.
        memory.arrivals_ended();
        let (first, critical) = order(&input(&jobs, &caps, &names), &mut memory);
        assert_eq!(first, [1, 2, 3, 0], "shortest first at the start");
        assert!(!critical.iter().any(|&c| c));
        // Just before its latest start it still waits; at it, it goes first.
        let latest_start = MAKESPAN_SLACK * 10_000.0;
        for j in &mut jobs {
            j.time_since_arrival_s = latest_start - 1.0;
        }
        assert_eq!(order(&input(&jobs, &caps, &names), &mut memory).0[3], 0);
        for j in &mut jobs {
            j.time_since_arrival_s = latest_start + 1.0;
        }
        let (then, critical) = order(&input(&jobs, &caps, &names), &mut memory);
        assert_eq!(then[0], 0);
        assert!(critical[0] && !critical[1]);
        // A job seen later gets its own finish-by age, from the jobs active then: the longest
        // one's 10,000 s, without slack (it came after the others: they no longer arrived
        // together).
        jobs.push(job(4, 1, 100, &[1.0], 0.0));
        order(&input(&jobs, &caps, &names), &mut memory);
        assert!((memory.ages[&JobId(4)] - 10_000.0).abs() < 1e-6);
        assert_eq!(memory.ages.len(), 5);
    }

    #[test]
    fn the_makespan_slack_is_for_a_queue_that_arrived_together() {
        let names = vec!["v100".to_string()];
        let caps = [2];
        // All at once: the longest job (10,000 s) gets the slack, sigma H.
        let mut memory = FinishBy::default();
        memory.arrivals_ended();
        let at_once = vec![job(0, 1, 10_000, &[1.0], 0.0), job(1, 1, 100, &[1.0], 0.0)];
        let (_, critical) = order(&input(&at_once, &caps, &names), &mut memory);
        assert!(!critical[0]);
        let f = (1.0 + MAKESPAN_SLACK) * 10_000.0;
        assert!((memory.ages[&JobId(0)] - f).abs() < 1e-6);
        // The same jobs when the arrivals end after a run of them (job 1 came just now, job 0
        // 9,000 s ago): no slack, the longest job is critical at once.
        let mut memory = FinishBy::default();
        memory.arrivals_ended();
        let spread = vec![
            job(0, 1, 10_000, &[1.0], 9_000.0),
            job(1, 1, 100, &[1.0], 0.0),
        ];
        let (first, critical) = order(&input(&spread, &caps, &names), &mut memory);
        assert!((memory.ages[&JobId(0)] - 19_000.0).abs() < 1e-6);
        assert!(critical[0] && first[0] == 0);
        // Half as old as the oldest: half the slack.
        let mut memory = FinishBy::default();
        memory.arrivals_ended();
        let half = vec![
            job(0, 1, 10_000, &[1.0], 9_000.0),
            job(1, 1, 100, &[1.0], 4_500.0),
        ];
        order(&input(&half, &caps, &names), &mut memory);
        let f = 9_000.0 + (1.0 + MAKESPAN_SLACK / 2.0) * 10_000.0;
        assert!((memory.ages[&JobId(0)] - f).abs() < 1e-6);
    }

    /// Average JCT (s) of `jobs` (steps, gang, throughputs), all at t = 0, under `kind` in the
    /// round mechanism with Gavel's settings, rounds advanced as the simulator does.
    fn average_jct(kind: crate::PolicyKind, caps: &[u32], jobs: &[(u64, u32, Vec<f64>)]) -> f64 {
        use crate::{Cluster, JobSpec, Pool, RoundReport, Scheduler, SchedulerConfig, SimTime};
        let pools = caps
            .iter()
            .enumerate()
            .map(|(p, &c)| Pool {
                name: format!("t{p}"),
                capacity: c,
                price_per_hour: None,
            })
            .collect();
        let mut s = Scheduler::new(
            Cluster::new(pools).unwrap(),
            kind,
            SchedulerConfig::default(),
        );
        for (i, (steps, sf, thr)) in jobs.iter().enumerate() {
            s.submit(JobSpec {
                id: JobId(i as u64),
                scale_factor: *sf,
                total_steps: *steps,
                throughputs: thr.clone(),
                priority_weight: 1.0,
                arrival: SimTime::ZERO,
                deadline: None,
            })
            .unwrap();
        }
        let mut now = SimTime::ZERO;
        let mut total_jct = 0.0;
        let mut finished = 0;
        for _ in 0..100_000 {
            let plan = s.plan_round(now).unwrap();
            if plan.placements.is_empty() {
                s.force_reallocation();
                continue;
            }
            let reports: Vec<RoundReport> = plan.reports_as_planned();
            for id in s.record_round(&reports) {
                let r = reports.iter().find(|r| r.job == id).unwrap();
                total_jct += now.as_secs() + r.elapsed_s;
                finished += 1;
            }
            if finished == jobs.len() {
                return total_jct / jobs.len() as f64;
            }
            now = now.plus_secs_ceil(s.round_s());
        }
        panic!("{kind}: {finished} of {} finished", jobs.len());
    }

    #[test]
    fn in_the_round_mechanism_it_beats_fifo_and_max_min_fairness() {
        // 24 jobs at t = 0, lengths spread over two orders of magnitude, some gangs of 2, on 3
        // fast and 3 slow accelerators: short jobs wait behind long ones under FIFO.
        let jobs: Vec<(u64, u32, Vec<f64>)> = (0..24u64)
            .map(|i| {
                let steps = 2_000 + (i * 7_919 % 23) * 3_000;
                let sf = if i % 5 == 0 { 2 } else { 1 };
                let speedup = 1.5 + (i % 4) as f64;
                (steps, sf, vec![speedup, 1.0])
            })
            .collect();
        let caps = [3, 3];
        let srpt = average_jct(crate::PolicyKind::ShortestRemaining, &caps, &jobs);
        let las = average_jct(crate::PolicyKind::LeastAttained, &caps, &jobs);
        let fifo = average_jct(crate::PolicyKind::Fifo { aware: true }, &caps, &jobs);
        let gavel = average_jct(
            crate::PolicyKind::MaxMinFairness { aware: true },
            &caps,
            &jobs,
        );
        assert!(
            srpt < 0.9 * fifo && srpt < 0.9 * gavel,
            "{srpt} vs {fifo}, {gavel}"
        );
        // With every job known at t = 0 and FIFO within a queue, LAS cannot know which job is
        // short; it still beats FIFO, whose long jobs hold the fast accelerators.
        assert!(las < fifo, "{las} vs {fifo}");
    }
}
