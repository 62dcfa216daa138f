//! What a replay of the simulated service produced: every attempt, every job, and the figures
//! users compare ([`ServiceSummary`]); and how the driver records attempts as it goes
//! (`AttemptLog`: every attempt, or only the busy timeline of a long trace).

use crate::metrics::{mean, quantile};

/// One attempt: where and when it ran.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AttemptRecord {
    /// The job.
    pub job: u64,
    /// The pool's name.
    pub pool: String,
    /// When it started, ms from the start of the workload.
    pub started_ms: i64,
    /// When it ended, ms (`None`: still running at the end).
    pub ended_ms: Option<i64>,
    /// Accelerators it held.
    pub chips: u32,
    /// Why it started where it did, in words (what `spillway explain` shows).
    pub reason: String,
    /// The accelerator indices it held on its pool (empty unless
    /// [`ServiceSimConfig::keep_accelerators`](super::ServiceSimConfig::keep_accelerators)).
    #[serde(skip)]
    pub accelerators: Vec<u32>,
}

/// What happened to one job.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobRecord {
    /// The job.
    pub job: u64,
    /// Its tenant.
    pub tenant: String,
    /// When it arrived, ms.
    pub submitted_ms: i64,
    /// When its first attempt started, ms.
    pub first_start_ms: Option<i64>,
    /// When it finished, ms (`None`: never placed, or still running at the end).
    pub finished_ms: Option<i64>,
    /// Times it was preempted.
    pub preemptions: u32,
    /// Why it never ran, when it did not.
    pub waiting: Option<String>,
}

impl JobRecord {
    /// Seconds from arrival to finish.
    pub fn jct_s(&self) -> Option<f64> {
        self.finished_ms
            .map(|f| (f - self.submitted_ms) as f64 / 1000.0)
    }

    /// Seconds from arrival to first start.
    pub fn queueing_s(&self) -> Option<f64> {
        self.first_start_ms
            .map(|s| (s - self.submitted_ms) as f64 / 1000.0)
    }
}

/// The outcome of one replay.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceOutcome {
    /// The policy's name.
    pub policy: String,
    /// Every attempt, in the order they started.
    pub attempts: Vec<AttemptRecord>,
    /// Every job, in id order.
    pub jobs: Vec<JobRecord>,
    /// Preemptions in all (spot reclaims included).
    pub preemptions: u64,
    /// Launches the world refused for lack of capacity (each one a failover).
    pub refusals: u64,
    /// Jobs the machine moved back to spot (stopped to restart at once elsewhere; they keep
    /// all their work).
    pub migrations: u64,
    /// Rounds decided (under time-sharing: Gavel rounds planned).
    pub rounds: u64,
    /// Under time-sharing: placements that kept their accelerators from the round before.
    pub lease_extensions: u64,
    /// Under time-sharing: allocations the policy computed.
    pub allocations: u64,
    /// Accelerator-seconds busy per pool (pool order).
    pub busy_s: Vec<f64>,
    /// When the last job finished, ms.
    pub makespan_ms: i64,
    /// Busy accelerators per pool over time, when the replay kept that instead of its attempts
    /// ([`run_for_timeline`](super::driver::run_for_timeline)); `None` otherwise.
    #[serde(skip)]
    pub busy_timeline: Option<BusyTimeline>,
}

/// Busy accelerators per pool at each instant at which an attempt started or ended, built as a
/// replay goes (instants never go back): what a long trace's summary reads of its attempts,
/// in a sample per instant instead of a record per attempt (a trace of millions of preemptions
/// keeps millions of attempts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BusyTimeline {
    /// Each instant (ms) at which the count changed, and the busy accelerators of each pool
    /// after every change of that instant (never below zero).
    pub samples: Vec<(i64, Vec<u32>)>,
    /// The busy count of each pool now.
    busy: Vec<i64>,
    /// When the last attempt ended, ms.
    pub last_end_ms: Option<i64>,
}

impl BusyTimeline {
    /// An empty timeline over `pools` pools.
    pub fn new(pools: usize) -> BusyTimeline {
        BusyTimeline {
            samples: Vec::new(),
            busy: vec![0; pools],
            last_end_ms: None,
        }
    }

    /// An attempt holding `chips` accelerators of `pool` started at `at_ms`; `at_ms` is never
    /// before an earlier call's.
    pub fn started(&mut self, at_ms: i64, pool: usize, chips: u32) {
        self.change(at_ms, pool, i64::from(chips));
    }

    /// An attempt holding `chips` accelerators of `pool` ended at `at_ms` (never before an
    /// earlier call's).
    pub fn ended(&mut self, at_ms: i64, pool: usize, chips: u32) {
        self.last_end_ms = Some(self.last_end_ms.map_or(at_ms, |l| l.max(at_ms)));
        self.change(at_ms, pool, -i64::from(chips));
    }

    fn change(&mut self, at_ms: i64, pool: usize, delta: i64) {
        if pool >= self.busy.len() {
            return;
        }
        debug_assert!(self.samples.last().is_none_or(|(t, _)| *t <= at_ms));
        if self.samples.last().is_none_or(|(t, _)| *t != at_ms) {
            let now: Vec<u32> = self.busy.iter().map(|&b| b.max(0) as u32).collect();
            self.samples.push((at_ms, now));
        }
        self.busy[pool] += delta;
        if let Some((_, last)) = self.samples.last_mut() {
            last[pool] = self.busy[pool].max(0) as u32;
        }
    }

    /// The same timeline from every attempt of an outcome (`pools` names the pools by
    /// index): the busy count of each pool at each instant at which one started or ended.
    pub fn from_attempts(attempts: &[AttemptRecord], pools: &[&str]) -> BusyTimeline {
        // (instant, pool, ended, chips)
        let mut changes: Vec<(i64, usize, bool, u32)> = Vec::with_capacity(attempts.len() * 2);
        for a in attempts {
            let Some(p) = pools.iter().position(|&n| n == a.pool) else {
                continue;
            };
            changes.push((a.started_ms, p, false, a.chips));
            if let Some(end) = a.ended_ms {
                changes.push((end, p, true, a.chips));
            }
        }
        changes.sort_unstable();
        let mut out = BusyTimeline::new(pools.len());
        for (at, p, ended, chips) in changes {
            if ended {
                out.ended(at, p, chips);
            } else {
                out.started(at, p, chips);
            }
        }
        out
    }
}

/// The figures of one replay that users compare.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceSummary {
    /// The policy.
    pub policy: String,
    /// Jobs in the workload.
    pub jobs: usize,
    /// Jobs that finished.
    pub finished: usize,
    /// Average seconds from arrival to finish, over finished jobs.
    pub avg_jct_s: f64,
    /// 90th percentile of the same.
    pub p90_jct_s: f64,
    /// Average seconds from arrival to first start, over jobs that started.
    pub avg_queueing_s: f64,
    /// When the last job finished, seconds from the first arrival.
    pub makespan_s: f64,
    /// Preemptions.
    pub preemptions: u64,
    /// Busy share of each pool's accelerators over the makespan (pool order).
    pub utilization: Vec<f64>,
}

impl ServiceSummary {
    /// Condenses an outcome; `capacities` are the pools' accelerator counts.
    pub fn new(outcome: &ServiceOutcome, capacities: &[u32]) -> ServiceSummary {
        let mut jcts: Vec<f64> = outcome.jobs.iter().filter_map(JobRecord::jct_s).collect();
        jcts.sort_by(f64::total_cmp);
        let waits: Vec<f64> = outcome
            .jobs
            .iter()
            .filter_map(JobRecord::queueing_s)
            .collect();
        let span_s = outcome.makespan_ms as f64 / 1000.0;
        ServiceSummary {
            policy: outcome.policy.clone(),
            jobs: outcome.jobs.len(),
            finished: jcts.len(),
            avg_jct_s: mean(&jcts),
            p90_jct_s: quantile(&jcts, 0.9),
            avg_queueing_s: mean(&waits),
            makespan_s: span_s,
            preemptions: outcome.preemptions,
            utilization: outcome
                .busy_s
                .iter()
                .zip(capacities)
                .map(|(b, &c)| {
                    if c == 0 || span_s <= 0.0 {
                        0.0
                    } else {
                        b / (f64::from(c) * span_s)
                    }
                })
                .collect(),
        }
    }
}

/// How a replay keeps its attempts: every one in the outcome, or only the busy timeline.
pub(super) struct AttemptLog {
    /// `None`: every attempt is kept in [`ServiceOutcome::attempts`].
    pub(super) timeline: Option<BusyTimeline>,
    /// Attempts started.
    pub(super) started: usize,
}

impl AttemptLog {
    pub(super) fn every_attempt() -> AttemptLog {
        AttemptLog {
            timeline: None,
            started: 0,
        }
    }

    pub(super) fn timeline(pools: usize) -> AttemptLog {
        AttemptLog {
            timeline: Some(BusyTimeline::new(pools)),
            started: 0,
        }
    }

    /// Records an attempt that starts; returns its number (its index into `attempts` when
    /// they are kept). `record` makes its record, when one is kept.
    pub(super) fn start(
        &mut self,
        out: &mut ServiceOutcome,
        at_ms: i64,
        pool: usize,
        chips: u32,
        record: impl FnOnce() -> AttemptRecord,
    ) -> usize {
        self.started += 1;
        match &mut self.timeline {
            Some(t) => t.started(at_ms, pool, chips),
            None => out.attempts.push(record()),
        }
        self.started - 1
    }

    /// Records the end of attempt number `attempt`.
    pub(super) fn end(
        &mut self,
        out: &mut ServiceOutcome,
        attempt: usize,
        at_ms: i64,
        pool: usize,
        chips: u32,
    ) {
        match &mut self.timeline {
            Some(t) => t.ended(at_ms, pool, chips),
            None => out.attempts[attempt].ended_ms = Some(at_ms),
        }
    }
}
