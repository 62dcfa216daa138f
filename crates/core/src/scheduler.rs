//! The scheduler state a driver owns: active jobs, the current allocation, the round mechanism's
//! bookkeeping (time received per pool, priorities, deficits) and the current placements.
//!
//! It follows Gavel's simulator step for step so that Gavel's published results can be
//! reproduced: the allocation is recomputed when jobs arrive or finish, but at most once every
//! `min_reallocation_interval_s` (Gavel: 1,920 s); at each recomputation the time each job received
//! is compared with what its allocation promised (its deficit, a tie-breaker) and reset.

use crate::mechanism::{QueueEntry, assign_workers, select_jobs};
use crate::policy::{LpOptions, PolicyInput, PolicyJob, PolicyState};
use crate::pyrandom::PyRandom;
use crate::solver::{ClarabelSolver, LpSolver};
use crate::{
    Allocation, Cluster, CoreError, JobId, JobSpec, Placement, PlacementKind, PolicyKind, PoolId,
    RoundPlan, RoundReport, SimTime, Workers,
};
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::time::Duration;

mod active;

use active::{ActiveJob, ActiveJobs, OnPool};

/// Tunables of the scheduler.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerConfig {
    /// Round length in seconds (Gavel: 360).
    pub round_s: f64,
    /// Least time between two allocation recomputations, seconds (Gavel: 1,920; 0 recomputes at
    /// every round in which a job arrived or finished).
    pub min_reallocation_interval_s: f64,
    /// Seed of the randomized parts (agnostic pool order, agnostic FIFO). Gavel's seed 0 maps to
    /// the same streams as Gavel's.
    pub seed: u64,
    /// Time limit of each LP solve.
    pub solver_time_limit: Duration,
    /// Solve max-min fairness over classes of identical jobs (see [`LpOptions`]).
    pub aggregate_classes: bool,
    /// Solve max-min fairness and minimum makespan with the specialized interior-point methods
    /// (see [`LpOptions`]).
    pub specialized_max_min: bool,
}

impl Default for SchedulerConfig {
    fn default() -> SchedulerConfig {
        SchedulerConfig {
            round_s: 360.0,
            min_reallocation_interval_s: 1920.0,
            seed: 0,
            solver_time_limit: Duration::from_secs(30),
            aggregate_classes: true,
            specialized_max_min: true,
        }
    }
}

/// The decision core's state. See the crate docs for the calling sequence.
#[derive(Debug)]
pub struct Scheduler {
    cluster: Cluster,
    kind: PolicyKind,
    policy: PolicyState,
    solver: Box<dyn LpSolver>,
    config: SchedulerConfig,
    jobs: ActiveJobs,
    allocation: Allocation,
    pool_time_received: Vec<f64>,
    last_reset: SimTime,
    need_reallocation: bool,
    pool_order_rng: PyRandom,
    allocations_computed: u64,
    /// The pools' queues of the last round, emptied and refilled by the next one: kept for
    /// their room (a round's queues hold every job once per pool).
    queues: Vec<Vec<QueueEntry>>,
}

impl Scheduler {
    /// A scheduler for `cluster` running `policy`, with the Clarabel LP backend.
    pub fn new(cluster: Cluster, policy: PolicyKind, config: SchedulerConfig) -> Scheduler {
        Scheduler::with_solver(cluster, policy, config, Box::new(ClarabelSolver))
    }

    /// A scheduler with a chosen LP backend.
    pub fn with_solver(
        cluster: Cluster,
        policy: PolicyKind,
        config: SchedulerConfig,
        solver: Box<dyn LpSolver>,
    ) -> Scheduler {
        let m = cluster.len();
        Scheduler {
            policy: PolicyState::new(policy, config.seed),
            pool_order_rng: PyRandom::new(config.seed + 5),
            kind: policy,
            cluster,
            solver,
            config,
            jobs: ActiveJobs::default(),
            allocation: Allocation::new(),
            pool_time_received: vec![0.0; m],
            last_reset: SimTime::ZERO,
            need_reallocation: false,
            allocations_computed: 0,
            queues: Vec::new(),
        }
    }

    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The policy.
    pub fn policy(&self) -> PolicyKind {
        self.kind
    }

    /// Checks that a job can ever run here (see [`validate_job`]).
    pub fn validate(&self, spec: &JobSpec) -> Result<(), CoreError> {
        validate_job(&self.cluster, spec)
    }

    /// Adds a job that arrived; the allocation will be recomputed.
    pub fn submit(&mut self, spec: JobSpec) -> Result<(), CoreError> {
        self.validate(&spec)?;
        if self.jobs.contains(spec.id) {
            return Err(CoreError::DuplicateJob(spec.id));
        }
        let m = self.cluster.len();
        // Until the next recomputation the job has no allocation and does not run (Gavel's
        // behaviour), unless the policy gives arrivals a share meanwhile (the order-based
        // policies: a standby share, so that it may take an idle accelerator).
        let share = self.policy.arrival_share(&PolicyJob {
            id: spec.id,
            scale_factor: spec.scale_factor,
            throughputs: spec.throughputs.clone(),
            priority_weight: spec.priority_weight,
            remaining_steps: spec.total_steps,
            time_since_arrival_s: 0.0,
            time_to_deadline_s: None,
        });
        if let Some(row) = &share {
            self.allocation.insert(spec.id, row.clone());
        }
        let mut job = ActiveJob {
            throughputs: SmallVec::from_slice(&spec.throughputs),
            spec,
            steps_done: 0,
            on: SmallVec::from_elem(
                OnPool {
                    time_received: self.config.round_s / 2.0,
                    ..OnPool::default()
                },
                m,
            ),
            has_share: false,
            assigned: None,
        };
        job.set_share(share.as_ref());
        self.jobs.insert(job.spec.id, job);
        self.need_reallocation = true;
        Ok(())
    }

    /// Records what the placements of the round just ended achieved; returns the jobs that are
    /// now finished (and no longer active).
    pub fn record_round(&mut self, reports: &[RoundReport]) -> Vec<JobId> {
        let mut finished = Vec::new();
        for r in reports {
            let Some(job) = self.jobs.get_mut(r.job) else {
                continue;
            };
            let Some(pool) = job.assigned.as_ref().map(|(p, _)| *p) else {
                continue;
            };
            job.steps_done += r.steps;
            job.on[pool].time_received += r.elapsed_s;
            self.pool_time_received[pool] += r.elapsed_s;
            if job.steps_done >= job.spec.total_steps {
                self.jobs.remove(r.job);
                self.need_reallocation = true;
                finished.push(r.job);
            }
        }
        finished
    }

    /// Removes a job (cancelled, or failed for good).
    pub fn cancel(&mut self, job: JobId) -> bool {
        let found = self.jobs.remove(job).is_some();
        if found {
            self.need_reallocation = true;
        }
        found
    }

    /// Lets the next [`Scheduler::plan_round`] recompute the allocation whatever the time since
    /// the last one (Gavel does this when nothing runs and no job is due to arrive).
    pub fn force_reallocation(&mut self) {
        self.last_reset = SimTime::ZERO;
        self.need_reallocation = true;
    }

    /// No job will arrive any more (a simulator at the end of a finite trace; the service, where
    /// jobs may always come, never says so). `srpt_perf` starts its makespan guard then.
    pub fn arrivals_ended(&mut self) {
        self.policy.arrivals_ended();
    }

    /// Whether some active job has no allocation yet (it arrived after the last recomputation
    /// and its policy gives arrivals no share meanwhile).
    pub fn has_unallocated_jobs(&self) -> bool {
        self.jobs.values().any(|j| !j.has_share)
    }

    /// Plans the round starting at `now`.
    pub fn plan_round(&mut self, now: SimTime) -> Result<RoundPlan, CoreError> {
        let none = vec![Vec::new(); self.cluster.len()];
        self.plan_round_with(now, &none, &BTreeMap::new())
    }

    /// Plans the round starting at `now` around accelerators it may not give: `held[p]` are
    /// pool `p`'s accelerators held by work outside the round (a job being stopped, a job the
    /// allocation does not cover), and `pinned` are active jobs that run to completion where
    /// they are (they cannot be stopped and resumed): they keep their accelerators, as a lease
    /// extension, and the round shares out what is left.
    pub fn plan_round_with(
        &mut self,
        now: SimTime,
        held: &[Vec<u32>],
        pinned: &BTreeMap<JobId, (usize, Vec<u32>)>,
    ) -> Result<RoundPlan, CoreError> {
        self.jobs.compact();
        self.update_priorities(now)?;
        let m = self.cluster.len();
        let mut reserved: Vec<Vec<u32>> = (0..m)
            .map(|p| held.get(p).cloned().unwrap_or_default())
            .collect();
        for (job, (pool, workers)) in pinned {
            if self.jobs.contains(*job) && *pool < m {
                reserved[*pool].extend(workers.iter().copied());
            }
        }
        let full = self.cluster.capacities();
        let capacities: Vec<u32> = full
            .iter()
            .zip(&reserved)
            .map(|(&c, r)| {
                let r = r.iter().filter(|&&w| w < c).count() as u32;
                c.saturating_sub(r)
            })
            .collect();
        let mut order: Vec<usize> = (0..m).filter(|&p| full[p] > 0).collect();
        if self.kind.is_agnostic() {
            self.pool_order_rng.shuffle(&mut order);
        }
        // The pools' queues in one pass over the jobs (in job order, as `select_jobs` wants),
        // without the entries it would drop before sorting: jobs that cannot run on the pool
        // and, under policies that skip them, jobs of no priority there.
        let skip_zero = self.kind.skips_zero_priority();
        let mut queues = std::mem::take(&mut self.queues);
        queues.resize_with(m, Vec::new);
        for queue in &mut queues {
            queue.clear();
        }
        for (slot, j) in self.jobs.iter() {
            if !pinned.is_empty() && pinned.contains_key(&j.spec.id) {
                continue;
            }
            for (p, queue) in queues.iter_mut().enumerate() {
                let runnable = j.throughputs[p] > 0.0;
                let on = &j.on[p];
                if !runnable || (skip_zero && on.priority <= 0.0) {
                    continue;
                }
                queue.push(QueueEntry {
                    slot: slot as u32,
                    priority: on.priority,
                    deficit: on.deficit,
                    allocation: j.share(p).unwrap_or(0.0),
                    scale_factor: j.spec.scale_factor,
                });
            }
        }
        let chosen = select_jobs(
            &order,
            &capacities,
            &mut queues,
            self.jobs.slots(),
            skip_zero,
        );
        self.queues = queues;
        let jobs = &self.jobs;
        let mut placed = assign_workers(
            &order,
            &full,
            &reserved,
            &chosen,
            |slot| {
                let (pool, workers) = jobs.at_slot(slot).assigned.as_ref()?;
                Some((*pool, workers.as_slice()))
            },
            // A row in the allocation, read from the job (see `ActiveJob::has_share`).
            |slot| jobs.at_slot(slot).has_share,
        );
        placed.extend(pinned.iter().filter_map(|(j, (p, w))| {
            let slot = self.jobs.slot_of(*j).filter(|_| *p < m)?;
            Some((slot, *p, Some(Workers::from_slice(w))))
        }));
        let mut plan = RoundPlan::default();
        plan.placements.reserve(placed.len());
        // Each job's placement (by slot), if it is placed in this round.
        const UNPLACED: u32 = u32::MAX;
        let mut placed_now = vec![UNPLACED; self.jobs.slots()];
        for (slot, pool, workers) in &placed {
            let active = self.jobs.at_slot(*slot);
            let throughput = active.throughputs[*pool];
            let remaining = active.spec.total_steps - active.steps_done;
            let max_steps = ((throughput * self.config.round_s) as u64).min(remaining);
            // No accelerators named: the job keeps those it ran on, on this pool.
            let (kind, workers) = match (&active.assigned, workers) {
                (Some((_, w)), None) => (PlacementKind::Keep, w),
                (Some((p, w)), Some(workers)) if p == pool && w == workers => {
                    (PlacementKind::Keep, workers)
                }
                (_, Some(workers)) => (PlacementKind::Start, workers),
                (None, None) => unreachable!("a job keeps accelerators only where it ran"),
            };
            plan.placements.push(Placement {
                job: active.spec.id,
                pool: PoolId(*pool),
                workers: workers.clone(),
                kind,
                max_steps,
                expected_duration_s: max_steps as f64 / throughput,
                left_steps: remaining,
            });
            placed_now[*slot] = (plan.placements.len() - 1) as u32;
        }
        // Slots follow job order: the placements in job order without a sort.
        plan.job_order = placed_now
            .iter()
            .filter(|&&i| i != UNPLACED)
            .map(|&i| i as usize)
            .collect();
        // Jobs that ran and are still active but not placed, in job order; they lose their
        // assignment, and the placed ones take their new one.
        for (j, &placed) in self.jobs.slots_mut().zip(&placed_now) {
            let Some(j) = j else {
                continue;
            };
            if j.assigned.is_some() && placed == UNPLACED {
                plan.preempted.push(j.spec.id);
                j.assigned = None;
            }
        }
        for (slot, pool, workers) in placed {
            if let Some(workers) = workers {
                self.jobs.at_slot_mut(slot).assigned = Some((pool, workers));
            }
        }
        Ok(plan)
    }

    /// Recomputes the allocation when due, then each job's priority on each pool.
    fn update_priorities(&mut self, now: SimTime) -> Result<(), CoreError> {
        let since = (now.0 - self.last_reset.0) as f64 / 1e6;
        let due =
            since >= self.config.min_reallocation_interval_s || self.last_reset == SimTime::ZERO;
        if self.need_reallocation && due {
            self.reset_time_received(now);
            self.allocation = self.compute_allocation(now)?;
            // Both in job order: walked side by side rather than a search per job.
            let mut rows = self.allocation.iter().peekable();
            for job in self.jobs.values_mut() {
                while rows.next_if(|(id, _)| **id < job.spec.id).is_some() {}
                job.set_share(
                    rows.peek()
                        .filter(|(id, _)| **id == job.spec.id)
                        .map(|r| r.1),
                );
            }
            self.allocations_computed += 1;
            self.need_reallocation = false;
        }
        let m = self.cluster.len();
        for job in self.jobs.values_mut() {
            let has_share = job.has_share;
            for (p, on) in job.on.iter_mut().enumerate().take(m) {
                let pool_time = self.pool_time_received[p];
                let fraction = if pool_time == 0.0 {
                    0.0
                } else {
                    on.time_received / pool_time
                };
                on.priority = if !has_share || on.share == 0.0 || job.throughputs[p] == 0.0 {
                    0.0
                } else if fraction > 0.0 {
                    on.share / fraction
                } else {
                    on.share * 1e9
                };
            }
        }
        Ok(())
    }

    fn reset_time_received(&mut self, now: SimTime) {
        let elapsed = (now.0 - self.last_reset.0) as f64 / 1e6;
        let prior = self.config.round_s / 2.0;
        // Job after job, each pool's total summed in the same order as pool after pool.
        let m = self.cluster.len();
        self.pool_time_received[..m].fill(0.0);
        for job in self.jobs.values_mut() {
            let has_share = job.has_share;
            for (p, on) in job.on.iter_mut().enumerate().take(m) {
                let received = on.time_received - prior;
                let promised = if has_share { on.share * elapsed } else { 0.0 };
                on.deficit += promised - received;
                on.time_received = prior;
                self.pool_time_received[p] += prior;
            }
        }
        self.last_reset = now;
    }

    fn compute_allocation(&mut self, now: SimTime) -> Result<Allocation, CoreError> {
        let jobs: Vec<PolicyJob> = self
            .jobs
            .values()
            .map(|j| PolicyJob {
                id: j.spec.id,
                scale_factor: j.spec.scale_factor,
                throughputs: j.spec.throughputs.clone(),
                priority_weight: j.spec.priority_weight,
                remaining_steps: j.spec.total_steps - j.steps_done,
                time_since_arrival_s: (now.0 - j.spec.arrival.0).max(0) as f64 / 1e6,
                time_to_deadline_s: j.spec.deadline.map(|d| (d.0 - now.0) as f64 / 1e6),
            })
            .collect();
        let capacities = self.cluster.capacities();
        let names: Vec<String> = self
            .cluster
            .pools()
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let prices: Vec<Option<f64>> = self
            .cluster
            .pools()
            .iter()
            .map(|p| p.price_per_hour)
            .collect();
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &capacities,
            pool_names: &names,
            prices: &prices,
        };
        let options = LpOptions {
            time_limit: self.config.solver_time_limit,
            aggregate_classes: self.config.aggregate_classes,
            specialized_max_min: self.config.specialized_max_min,
        };
        self.policy.allocate(&input, self.solver.as_ref(), &options)
    }

    /// When the allocation will next be recomputed, if a job arrived or finished since the
    /// last computation (at most once every `min_reallocation_interval_s`).
    pub fn reallocation_due_at(&self) -> Option<SimTime> {
        if !self.need_reallocation {
            return None;
        }
        if self.last_reset == SimTime::ZERO {
            return Some(SimTime::ZERO);
        }
        Some(
            self.last_reset
                .plus_secs_ceil(self.config.min_reallocation_interval_s),
        )
    }

    /// The active jobs' ids, in order.
    pub fn active_ids(&self) -> impl Iterator<Item = JobId> + '_ {
        self.jobs.ids()
    }

    /// Whether `job` is active here.
    pub fn contains(&self, job: JobId) -> bool {
        self.jobs.contains(job)
    }

    /// The round length, seconds.
    pub fn round_s(&self) -> f64 {
        self.config.round_s
    }

    /// The current allocation.
    pub fn allocation(&self) -> &Allocation {
        &self.allocation
    }

    /// An active job's share of pool `pool` in the current allocation (its row's entry), 0
    /// without a row: what `allocation()[job][pool]` holds, read from the job's own figures
    /// rather than by a search of the allocation.
    pub fn share(&self, job: JobId, pool: usize) -> Option<f64> {
        let j = self.jobs.get(job)?;
        Some(j.share(pool).unwrap_or(0.0))
    }

    /// Number of active (submitted, unfinished) jobs.
    pub fn active_jobs(&self) -> usize {
        self.jobs.len()
    }

    /// Steps a job has left, if it is active.
    pub fn remaining_steps(&self, job: JobId) -> Option<u64> {
        self.jobs
            .get(job)
            .map(|j| j.spec.total_steps - j.steps_done)
    }

    /// How many times the allocation was computed.
    pub fn allocations_computed(&self) -> u64 {
        self.allocations_computed
    }
}

/// Checks that a job can ever run on `cluster`: right number of throughputs, a positive weight,
/// some pool where it runs and that holds its whole gang.
pub fn validate_job(cluster: &Cluster, spec: &JobSpec) -> Result<(), CoreError> {
    let bad = |message: String| CoreError::BadJob {
        job: spec.id,
        message,
    };
    if spec.throughputs.len() != cluster.len() {
        return Err(bad(format!(
            "it has {} throughputs for {} pools",
            spec.throughputs.len(),
            cluster.len()
        )));
    }
    if spec.throughputs.iter().any(|t| !t.is_finite() || *t < 0.0) {
        return Err(bad("a throughput is negative or not a number".to_string()));
    }
    if !(spec.priority_weight.is_finite() && spec.priority_weight > 0.0) {
        return Err(bad(format!(
            "priority weight must be > 0, found {}",
            spec.priority_weight
        )));
    }
    if spec.scale_factor == 0 {
        return Err(bad("scale factor must be >= 1".to_string()));
    }
    let usable: Vec<u32> = cluster
        .pools()
        .iter()
        .zip(&spec.throughputs)
        .filter(|(_, t)| **t > 0.0)
        .map(|(p, _)| p.capacity)
        .collect();
    if usable.is_empty() {
        return Err(CoreError::CannotRunAnywhere(spec.id));
    }
    let largest = usable.into_iter().max().unwrap_or(0);
    if spec.scale_factor > largest {
        return Err(CoreError::JobTooLarge {
            job: spec.id,
            scale_factor: spec.scale_factor,
            largest,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(caps: &[u32]) -> Cluster {
        Cluster::new(
            caps.iter()
                .enumerate()
                .map(|(i, &c)| crate::Pool {
                    name: format!("p{i}"),
                    capacity: c,
                    price_per_hour: None,
                })
                .collect(),
        )
        .unwrap()
    }

    fn job(id: u64, sf: u32, steps: u64, thr: &[f64]) -> JobSpec {
        JobSpec {
            id: JobId(id),
            scale_factor: sf,
            total_steps: steps,
            throughputs: thr.to_vec(),
            priority_weight: 1.0,
            arrival: SimTime::ZERO,
            deadline: None,
        }
    }

    fn run_round(s: &mut Scheduler, plan: &RoundPlan) -> Vec<JobId> {
        let reports: Vec<RoundReport> = plan.reports_as_planned();
        s.record_round(&reports)
    }

    #[test]
    fn two_jobs_time_share_one_accelerator_and_are_preempted_in_turn() {
        let config = SchedulerConfig {
            min_reallocation_interval_s: 0.0,
            ..SchedulerConfig::default()
        };
        let mut s = Scheduler::new(
            cluster(&[1]),
            PolicyKind::MaxMinFairness { aware: true },
            config,
        );
        s.submit(job(0, 1, 3600, &[1.0])).unwrap();
        s.submit(job(1, 1, 3600, &[1.0])).unwrap();
        let mut now = SimTime::ZERO;
        let mut ran = Vec::new();
        let mut preempted = 0;
        for _ in 0..4 {
            let plan = s.plan_round(now).unwrap();
            assert_eq!(plan.placements.len(), 1, "one accelerator, one job");
            ran.push(plan.placements[0].job.0);
            preempted += plan.preempted.len();
            run_round(&mut s, &plan);
            now = now.plus_secs_ceil(360.0);
        }
        assert_eq!(ran, [0, 1, 0, 1], "equal shares alternate");
        assert_eq!(preempted, 3);
    }

    #[test]
    fn a_lone_job_keeps_its_accelerators_and_finishes() {
        let mut s = Scheduler::new(
            cluster(&[4, 4]),
            PolicyKind::MaxMinFairness { aware: true },
            SchedulerConfig::default(),
        );
        s.submit(job(7, 2, 1000, &[1.0, 0.5])).unwrap();
        let first = s.plan_round(SimTime::ZERO).unwrap();
        assert_eq!(first.placements[0].kind, PlacementKind::Start);
        assert_eq!(first.placements[0].workers.len(), 2, "the whole gang");
        assert_eq!(first.placements[0].pool, PoolId(0), "the faster pool");
        assert_eq!(first.placements[0].max_steps, 360);
        assert!(run_round(&mut s, &first).is_empty());
        let second = s.plan_round(SimTime::from_secs(360.0)).unwrap();
        assert_eq!(second.placements[0].kind, PlacementKind::Keep);
        assert_eq!(second.placements[0].workers, first.placements[0].workers);
        run_round(&mut s, &second);
        let third = s.plan_round(SimTime::from_secs(720.0)).unwrap();
        assert_eq!(
            third.placements[0].max_steps,
            1000 - 720,
            "no more than what is left"
        );
        assert_eq!(run_round(&mut s, &third), [JobId(7)]);
        assert_eq!(s.active_jobs(), 0);
    }

    #[test]
    fn refuses_jobs_that_could_never_run() {
        let mut s = Scheduler::new(
            cluster(&[4, 2]),
            PolicyKind::Fifo { aware: true },
            SchedulerConfig::default(),
        );
        let err = s.submit(job(1, 4, 10, &[0.0, 1.0])).unwrap_err();
        assert!(
            matches!(err, CoreError::JobTooLarge { largest: 2, .. }),
            "{err}"
        );
        let err = s.submit(job(2, 1, 10, &[0.0, 0.0])).unwrap_err();
        assert_eq!(err, CoreError::CannotRunAnywhere(JobId(2)));
        let err = s.submit(job(3, 1, 10, &[1.0])).unwrap_err();
        assert!(
            err.to_string().contains("1 throughputs for 2 pools"),
            "{err}"
        );
        s.submit(job(4, 1, 10, &[1.0, 1.0])).unwrap();
        assert_eq!(
            s.submit(job(4, 1, 10, &[1.0, 1.0])).unwrap_err(),
            CoreError::DuplicateJob(JobId(4))
        );
        assert!(matches!(
            Cluster::new(vec![]).unwrap_err(),
            CoreError::EmptyCluster
        ));
    }

    #[test]
    fn gangs_are_all_or_nothing_and_never_exceed_a_pool() {
        let mut s = Scheduler::new(
            cluster(&[3]),
            PolicyKind::Fifo { aware: true },
            SchedulerConfig::default(),
        );
        s.submit(job(0, 2, 100, &[1.0])).unwrap();
        s.submit(job(1, 2, 100, &[1.0])).unwrap();
        s.submit(job(2, 1, 100, &[1.0])).unwrap();
        let plan = s.plan_round(SimTime::ZERO).unwrap();
        let used: usize = plan.placements.iter().map(|p| p.workers.len()).sum();
        assert!(used <= 3);
        for p in &plan.placements {
            let sf = if p.job.0 == 2 { 1 } else { 2 };
            assert_eq!(p.workers.len(), sf);
        }
        // FIFO without overtaking: job 1 does not fit after job 0, so job 2 waits too.
        let jobs: Vec<u64> = plan.placements.iter().map(|p| p.job.0).collect();
        assert_eq!(jobs, [0]);
    }
}
