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
    RoundPlan, RoundReport, SimTime,
};
use std::collections::BTreeMap;
use std::time::Duration;

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
}

impl Default for SchedulerConfig {
    fn default() -> SchedulerConfig {
        SchedulerConfig {
            round_s: 360.0,
            min_reallocation_interval_s: 1920.0,
            seed: 0,
            solver_time_limit: Duration::from_secs(30),
            aggregate_classes: true,
        }
    }
}

#[derive(Debug, Clone)]
struct ActiveJob {
    spec: JobSpec,
    steps_done: u64,
    /// Seconds run on each pool since the last reset (plus half a round, Gavel's prior).
    time_received: Vec<f64>,
    priority: Vec<f64>,
    deficit: Vec<f64>,
}

/// The decision core's state. See the crate docs for the calling sequence.
#[derive(Debug)]
pub struct Scheduler {
    cluster: Cluster,
    kind: PolicyKind,
    policy: PolicyState,
    solver: Box<dyn LpSolver>,
    config: SchedulerConfig,
    jobs: BTreeMap<JobId, ActiveJob>,
    allocation: Allocation,
    pool_time_received: Vec<f64>,
    last_reset: SimTime,
    need_reallocation: bool,
    assignments: BTreeMap<JobId, (usize, Vec<u32>)>,
    pool_order_rng: PyRandom,
    allocations_computed: u64,
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
            jobs: BTreeMap::new(),
            allocation: Allocation::new(),
            pool_time_received: vec![0.0; m],
            last_reset: SimTime::ZERO,
            need_reallocation: false,
            assignments: BTreeMap::new(),
            allocations_computed: 0,
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

    /// Checks that a job can ever run here: right number of throughputs, a positive weight, some
    /// pool where it runs and that holds its whole gang.
    pub fn validate(&self, spec: &JobSpec) -> Result<(), CoreError> {
        let bad = |message: String| CoreError::BadJob {
            job: spec.id,
            message,
        };
        if spec.throughputs.len() != self.cluster.len() {
            return Err(bad(format!(
                "it has {} throughputs for {} pools",
                spec.throughputs.len(),
                self.cluster.len()
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
        let usable: Vec<u32> = self
            .cluster
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

    /// Adds a job that arrived; the allocation will be recomputed.
    pub fn submit(&mut self, spec: JobSpec) -> Result<(), CoreError> {
        self.validate(&spec)?;
        if self.jobs.contains_key(&spec.id) {
            return Err(CoreError::DuplicateJob(spec.id));
        }
        let m = self.cluster.len();
        self.jobs.insert(
            spec.id,
            ActiveJob {
                spec,
                steps_done: 0,
                time_received: vec![self.config.round_s / 2.0; m],
                priority: vec![0.0; m],
                deficit: vec![0.0; m],
            },
        );
        self.need_reallocation = true;
        Ok(())
    }

    /// Records what the placements of the round just ended achieved; returns the jobs that are
    /// now finished (and no longer active).
    pub fn record_round(&mut self, reports: &[RoundReport]) -> Vec<JobId> {
        let mut finished = Vec::new();
        for r in reports {
            let Some(pool) = self.assignments.get(&r.job).map(|(p, _)| *p) else {
                continue;
            };
            let Some(job) = self.jobs.get_mut(&r.job) else {
                continue;
            };
            job.steps_done += r.steps;
            job.time_received[pool] += r.elapsed_s;
            self.pool_time_received[pool] += r.elapsed_s;
            if job.steps_done >= job.spec.total_steps {
                self.jobs.remove(&r.job);
                self.need_reallocation = true;
                finished.push(r.job);
            }
        }
        finished
    }

    /// Removes a job (cancelled, or failed for good).
    pub fn cancel(&mut self, job: JobId) -> bool {
        let found = self.jobs.remove(&job).is_some();
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

    /// Whether some active job has no allocation yet (it arrived after the last recomputation).
    pub fn has_unallocated_jobs(&self) -> bool {
        self.jobs.keys().any(|j| !self.allocation.contains_key(j))
    }

    /// Plans the round starting at `now`.
    pub fn plan_round(&mut self, now: SimTime) -> Result<RoundPlan, CoreError> {
        self.update_priorities(now)?;
        let m = self.cluster.len();
        let capacities = self.cluster.capacities();
        let mut order: Vec<usize> = (0..m).filter(|&p| capacities[p] > 0).collect();
        if self.kind.is_agnostic() {
            self.pool_order_rng.shuffle(&mut order);
        }
        let queues: Vec<Vec<QueueEntry>> = (0..m)
            .map(|p| {
                self.jobs
                    .values()
                    .map(|j| QueueEntry {
                        job: j.spec.id,
                        priority: j.priority[p],
                        deficit: j.deficit[p],
                        allocation: self.allocation.get(&j.spec.id).map_or(0.0, |a| a[p]),
                        scale_factor: j.spec.scale_factor,
                        runnable: j.spec.throughputs[p] > 0.0,
                    })
                    .collect()
            })
            .collect();
        let chosen = select_jobs(&order, &capacities, queues, self.kind.skips_zero_priority());
        let allocation = &self.allocation;
        let placed = assign_workers(&order, &capacities, &chosen, &self.assignments, |j| {
            allocation.contains_key(&j)
        });
        let mut plan = RoundPlan::default();
        let mut next = BTreeMap::new();
        for (job, pool, workers) in placed {
            let active = &self.jobs[&job];
            let throughput = active.spec.throughputs[pool];
            let remaining = active.spec.total_steps - active.steps_done;
            let max_steps = ((throughput * self.config.round_s) as u64).min(remaining);
            let kind = match self.assignments.get(&job) {
                Some((p, w)) if *p == pool && *w == workers => PlacementKind::Keep,
                _ => PlacementKind::Start,
            };
            plan.placements.push(Placement {
                job,
                pool: PoolId(pool),
                workers: workers.clone(),
                kind,
                max_steps,
                expected_duration_s: max_steps as f64 / throughput,
            });
            next.insert(job, (pool, workers));
        }
        plan.preempted = self
            .assignments
            .keys()
            .filter(|j| self.jobs.contains_key(j) && !next.contains_key(j))
            .copied()
            .collect();
        self.assignments = next;
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
            self.allocations_computed += 1;
            self.need_reallocation = false;
        }
        let m = self.cluster.len();
        for p in 0..m {
            let pool_time = self.pool_time_received[p];
            for job in self.jobs.values_mut() {
                let fraction = if pool_time == 0.0 {
                    0.0
                } else {
                    job.time_received[p] / pool_time
                };
                job.priority[p] = match self.allocation.get(&job.spec.id) {
                    None => 0.0,
                    Some(a) if a[p] == 0.0 || job.spec.throughputs[p] == 0.0 => 0.0,
                    Some(a) if fraction > 0.0 => a[p] / fraction,
                    Some(a) => a[p] * 1e9,
                };
            }
        }
        Ok(())
    }

    fn reset_time_received(&mut self, now: SimTime) {
        let elapsed = (now.0 - self.last_reset.0) as f64 / 1e6;
        let prior = self.config.round_s / 2.0;
        for p in 0..self.cluster.len() {
            self.pool_time_received[p] = 0.0;
            for job in self.jobs.values_mut() {
                let received = job.time_received[p] - prior;
                let promised = self
                    .allocation
                    .get(&job.spec.id)
                    .map_or(0.0, |a| a[p] * elapsed);
                job.deficit[p] += promised - received;
                job.time_received[p] = prior;
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
        };
        self.policy.allocate(&input, self.solver.as_ref(), &options)
    }

    /// The current allocation.
    pub fn allocation(&self) -> &Allocation {
        &self.allocation
    }

    /// Number of active (submitted, unfinished) jobs.
    pub fn active_jobs(&self) -> usize {
        self.jobs.len()
    }

    /// Steps a job has left, if it is active.
    pub fn remaining_steps(&self, job: JobId) -> Option<u64> {
        self.jobs
            .get(&job)
            .map(|j| j.spec.total_steps - j.steps_done)
    }

    /// How many times the allocation was computed.
    pub fn allocations_computed(&self) -> u64 {
        self.allocations_computed
    }
}
