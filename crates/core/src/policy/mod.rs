//! Policies: from the active jobs and the pools, an allocation (the share of time each job should
//! get on each pool). The round mechanism turns allocations into placements.
//!
//! Gavel's policy names are accepted verbatim so that published experiments re-run as they were.

mod fifo;
mod las;
mod lp;
mod ordered;
mod positional;
#[cfg(test)]
mod proptests;
mod srpt;
mod standby;

use crate::pyrandom::PyRandom;
use crate::solver::LpSolver;
use crate::{CoreError, JobId};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Time fractions: for each job, the share of time it should run on each pool (pool order of the
/// cluster). A job's shares sum to at most 1.
pub type Allocation = BTreeMap<JobId, Vec<f64>>;

/// The policies the core implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// First in, first out. Heterogeneity-agnostic (`fifo`: a random pool with room, like Gavel)
    /// or -aware (`fifo_perf`: the fastest pool with room).
    Fifo {
        /// Use throughputs when choosing a pool.
        aware: bool,
    },
    /// Max-min fairness over normalized throughput, weighted (Gavel's LP; `max_min_fairness` is
    /// LAS, heterogeneity-agnostic).
    MaxMinFairness {
        /// Use throughputs (`max_min_fairness_perf`).
        aware: bool,
    },
    /// Minimize the time for all active jobs to finish (makespan).
    MinTotalDuration,
    /// Minimize the worst finish-time-fairness ratio (Themis).
    FinishTimeFairness,
    /// Maximize total normalized throughput.
    MaxSumThroughput,
    /// Maximize normalized throughput per dollar, optionally subject to deadlines.
    ThroughputPerCost {
        /// Require each job with a deadline to be allocated enough to meet it.
        slos: bool,
    },
    /// Priority order (weight, then arrival), fastest pool with room, smaller jobs backfill
    /// around blocked ones (Slurm-like, no LP).
    PriorityBackfill,
    /// Heterogeneity-aware shortest remaining work first (accelerator time left on the job's
    /// best pool), each job where it loses least relative to its best pool, with a bound on
    /// waiting (`srpt_perf`; see `docs/policies.md`).
    ShortestRemaining,
    /// Least attained service in discrete queues, Tiresias-like, service counted at the job's
    /// best speed; needs no estimate of the work (`tiresias_perf`).
    LeastAttained,
}

/// Accepted names and their policies; the first name is the canonical one.
const NAMES: &[(&str, PolicyKind)] = &[
    ("fifo", PolicyKind::Fifo { aware: false }),
    ("fifo_perf", PolicyKind::Fifo { aware: true }),
    (
        "max_min_fairness",
        PolicyKind::MaxMinFairness { aware: false },
    ),
    ("las", PolicyKind::MaxMinFairness { aware: false }),
    (
        "max_min_fairness_perf",
        PolicyKind::MaxMinFairness { aware: true },
    ),
    ("gavel", PolicyKind::MaxMinFairness { aware: true }),
    ("min_total_duration_perf", PolicyKind::MinTotalDuration),
    ("min_total_duration", PolicyKind::MinTotalDuration),
    ("min_makespan", PolicyKind::MinTotalDuration),
    ("finish_time_fairness_perf", PolicyKind::FinishTimeFairness),
    ("finish_time_fairness", PolicyKind::FinishTimeFairness),
    ("max_sum_throughput_perf", PolicyKind::MaxSumThroughput),
    ("max_throughput", PolicyKind::MaxSumThroughput),
    (
        "throughput_normalized_by_cost_perf",
        PolicyKind::ThroughputPerCost { slos: false },
    ),
    ("min_cost", PolicyKind::ThroughputPerCost { slos: false }),
    (
        "throughput_normalized_by_cost_perf_SLOs",
        PolicyKind::ThroughputPerCost { slos: true },
    ),
    ("min_cost_slo", PolicyKind::ThroughputPerCost { slos: true }),
    ("priority_backfill", PolicyKind::PriorityBackfill),
    ("priority", PolicyKind::PriorityBackfill),
    ("srpt_perf", PolicyKind::ShortestRemaining),
    ("tiresias_perf", PolicyKind::LeastAttained),
];

impl PolicyKind {
    /// The canonical (Gavel) name.
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap_or("unknown")
    }

    /// Every accepted name.
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(n, _)| *n)
    }

    /// Whether the policy ignores throughput differences between pools; Gavel then visits pools
    /// in a random order each round.
    pub fn is_agnostic(self) -> bool {
        matches!(
            self,
            PolicyKind::Fifo { aware: false } | PolicyKind::MaxMinFairness { aware: false }
        )
    }

    /// Whether the mechanism must not run jobs whose priority is zero (FIFO-style policies: a
    /// job without an allocation waits).
    pub(crate) fn skips_zero_priority(self) -> bool {
        matches!(
            self,
            PolicyKind::Fifo { .. }
                | PolicyKind::PriorityBackfill
                | PolicyKind::ShortestRemaining
                | PolicyKind::LeastAttained
        )
    }
}

impl FromStr for PolicyKind {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<PolicyKind, CoreError> {
        let wanted = s.trim();
        NAMES
            .iter()
            .find(|(n, _)| *n == wanted || n.eq_ignore_ascii_case(wanted))
            .map(|(_, k)| *k)
            .ok_or_else(|| CoreError::UnknownPolicy {
                name: s.to_string(),
                known: NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            })
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One active job as a policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyJob {
    /// The job.
    pub id: JobId,
    /// Gang size.
    pub scale_factor: u32,
    /// Steps/s on each pool (0 = cannot run there).
    pub throughputs: Vec<f64>,
    /// Fairness weight.
    pub priority_weight: f64,
    /// Steps left.
    pub remaining_steps: u64,
    /// Seconds since it arrived.
    pub time_since_arrival_s: f64,
    /// Seconds left until its deadline, if it has one.
    pub time_to_deadline_s: Option<f64>,
}

impl PolicyJob {
    /// Steps/s on the job's fastest pool (0 if it runs nowhere).
    pub(crate) fn best_throughput(&self) -> f64 {
        self.throughputs.iter().copied().fold(0.0, f64::max)
    }
}

/// Everything a policy decides from.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// Active jobs, in id order.
    pub jobs: &'a [PolicyJob],
    /// Accelerators in each pool.
    pub capacities: &'a [u32],
    /// Pool names (accelerator types); FIFO visits pools in name order, as Gavel does.
    pub pool_names: &'a [String],
    /// Price per accelerator-hour of each pool, where known.
    pub prices: &'a [Option<f64>],
}

/// How LP policies are solved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LpOptions {
    /// Time limit of each solve.
    pub time_limit: Duration,
    /// Solve max-min fairness over classes of identical jobs instead of job by job (same
    /// optimum, much smaller LP).
    pub aggregate_classes: bool,
    /// Solve max-min fairness with the specialized interior-point method
    /// ([`crate::solver::solve_max_min`]), and minimum makespan's feasibility LP with Clarabel's
    /// method on its structure ([`crate::solver::solve_finish_within`]), instead of the general
    /// LP backend.
    pub specialized_max_min: bool,
}

impl Default for LpOptions {
    fn default() -> LpOptions {
        LpOptions {
            time_limit: Duration::from_secs(30),
            aggregate_classes: true,
            specialized_max_min: true,
        }
    }
}

/// Computes one allocation of a policy from scratch (no memory of earlier allocations); for
/// benchmarks, tests and callers outside the round mechanism.
pub fn allocate_once(
    kind: PolicyKind,
    input: &PolicyInput<'_>,
    solver: &dyn LpSolver,
    options: &LpOptions,
) -> Result<Allocation, CoreError> {
    PolicyState::new(kind, 0).allocate(input, solver, options)
}

/// A policy with whatever it remembers between allocations (agnostic FIFO keeps its placements
/// and random stream, like Gavel's; `tiresias_perf` the work each job had left when it came).
#[derive(Debug)]
pub(crate) struct PolicyState {
    kind: PolicyKind,
    fifo_assignments: BTreeMap<JobId, usize>,
    rng: PyRandom,
    agnostic_cache: lp::AgnosticCache,
    attained: las::AttainedService,
    finish_by: srpt::FinishBy,
}

impl PolicyState {
    pub(crate) fn new(kind: PolicyKind, seed: u64) -> PolicyState {
        PolicyState {
            kind,
            fifo_assignments: BTreeMap::new(),
            rng: PyRandom::new(seed),
            agnostic_cache: lp::AgnosticCache::new(),
            attained: las::AttainedService::default(),
            finish_by: srpt::FinishBy::default(),
        }
    }

    /// No job will arrive any more (see [`crate::Scheduler::arrivals_ended`]).
    pub(crate) fn arrivals_ended(&mut self) {
        self.finish_by.arrivals_ended();
    }

    /// The share a job that arrived since the last allocation gets until the next one, or
    /// `None` (it gets none: Gavel's behaviour, kept for Gavel's policies so that their
    /// published results reproduce). The order-based policies give it a standby share where
    /// its rank puts it among the last allocation's standby jobs, so that it may take an
    /// accelerator left idle without waiting for the next recomputation; the recomputation
    /// interval is unchanged.
    pub(crate) fn arrival_share(&mut self, job: &PolicyJob) -> Option<Vec<f64>> {
        match self.kind {
            PolicyKind::ShortestRemaining => Some(srpt::arrival_share(job, &mut self.finish_by)),
            PolicyKind::LeastAttained => Some(las::arrival_share(job, &mut self.attained)),
            _ => None,
        }
    }

    /// Computes the allocation for `input`.
    pub(crate) fn allocate(
        &mut self,
        input: &PolicyInput<'_>,
        solver: &dyn LpSolver,
        options: &LpOptions,
    ) -> Result<Allocation, CoreError> {
        let time_limit = options.time_limit;
        if input.jobs.is_empty() {
            return Ok(Allocation::new());
        }
        let kind = self.kind;
        let solver_error = |e: crate::solver::SolveError| CoreError::Solver {
            policy: kind.name().to_string(),
            message: e.to_string(),
        };
        let mut allocation = match self.kind {
            PolicyKind::Fifo { aware: false } => {
                fifo::agnostic(input, &mut self.fifo_assignments, &mut self.rng)
            }
            PolicyKind::Fifo { aware: true } => fifo::aware(input),
            PolicyKind::PriorityBackfill => fifo::priority_backfill(input),
            PolicyKind::ShortestRemaining => srpt::allocate(input, &mut self.finish_by),
            PolicyKind::LeastAttained => las::allocate(input, &mut self.attained),
            PolicyKind::MaxMinFairness { aware } => lp::max_min_fairness(
                input,
                aware,
                options.aggregate_classes,
                options.specialized_max_min,
                Some(&mut self.agnostic_cache),
                solver,
                time_limit,
            )
            .map_err(solver_error)?,
            PolicyKind::MinTotalDuration => {
                lp::min_total_duration(input, options.specialized_max_min, solver, time_limit)
                    .map_err(solver_error)?
            }
            PolicyKind::FinishTimeFairness => {
                lp::finish_time_fairness(input, solver, time_limit).map_err(solver_error)?
            }
            PolicyKind::MaxSumThroughput => {
                lp::max_sum_throughput(input, solver, time_limit).map_err(solver_error)?
            }
            PolicyKind::ThroughputPerCost { slos } => {
                if input.prices.iter().any(Option::is_none) {
                    return Err(CoreError::Solver {
                        policy: kind.name().to_string(),
                        message: "every pool needs a price per hour (e.g. --cluster v100=36@2.48)"
                            .to_string(),
                    });
                }
                lp::throughput_per_cost(input, slos, solver, time_limit).map_err(solver_error)?
            }
        };
        // No time where a job cannot run: it could never be used, and it keeps the invariant
        // simple for every consumer of the allocation.
        for job in input.jobs {
            if let Some(row) = allocation.get_mut(&job.id) {
                for (x, t) in row.iter_mut().zip(&job.throughputs) {
                    if *t <= 0.0 || !x.is_finite() {
                        *x = 0.0;
                    }
                    *x = x.clamp(0.0, 1.0);
                }
            }
        }
        Ok(allocation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_gavel_names_and_aliases() {
        for name in PolicyKind::all_names() {
            let kind: PolicyKind = name.parse().unwrap();
            assert_eq!(kind.name().parse::<PolicyKind>().unwrap(), kind);
        }
        assert_eq!(
            "max_min_fairness_perf".parse::<PolicyKind>().unwrap(),
            PolicyKind::MaxMinFairness { aware: true }
        );
        let err = "fastest".parse::<PolicyKind>().unwrap_err().to_string();
        assert!(err.contains("fifo_perf"), "{err}");
    }
}
