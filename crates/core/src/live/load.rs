//! What the running jobs hold, per pool: the aggregates a round starts from. The machine keeps
//! them up to date as jobs start, are asked to stop and end, so that a round costs what its
//! queue costs, not what the running jobs number; a round over a bare input (tests,
//! `can_ever_place`) computes them from its running jobs.

use super::types::RunningView;
use crate::JobId;
use std::collections::{BTreeMap, BTreeSet};

/// Per pool: running jobs, accelerators being freed, expected ends, priorities.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunningLoad {
    /// Running jobs (stopping ones included), per pool.
    pub(crate) jobs: Vec<u32>,
    /// Accelerators of jobs asked to stop, per pool: free soon.
    pub(crate) stopping: Vec<u32>,
    /// Per pool, every running job by expected end (`i64::MAX` when unknown), with the
    /// accelerators it holds.
    pub(crate) ends: Vec<BTreeSet<(i64, JobId, u32)>>,
    /// Per pool, how many jobs not being stopped run at each priority.
    pub(crate) priorities: Vec<BTreeMap<u32, u32>>,
}

impl RunningLoad {
    /// No job running on `pools` pools.
    pub fn new(pools: usize) -> RunningLoad {
        RunningLoad {
            jobs: vec![0; pools],
            stopping: vec![0; pools],
            ends: vec![BTreeSet::new(); pools],
            priorities: vec![BTreeMap::new(); pools],
        }
    }

    /// The load of `running` on `pools` pools.
    pub fn of(pools: usize, running: &[RunningView]) -> RunningLoad {
        let mut load = RunningLoad::new(pools);
        for r in running {
            load.add(r);
        }
        load
    }

    /// A job started (or was restored).
    pub fn add(&mut self, r: &RunningView) {
        let p = r.pool;
        if p >= self.jobs.len() {
            return;
        }
        let n = r.accelerators.len() as u32;
        self.jobs[p] += 1;
        if r.stopping {
            self.stopping[p] += n;
        } else {
            *self.priorities[p].entry(r.priority).or_default() += 1;
        }
        self.ends[p].insert((r.expected_end_ms.unwrap_or(i64::MAX), r.id, n));
    }

    /// A job's attempt ended (its view as it was last).
    pub fn remove(&mut self, r: &RunningView) {
        let p = r.pool;
        if p >= self.jobs.len() {
            return;
        }
        let n = r.accelerators.len() as u32;
        self.jobs[p] = self.jobs[p].saturating_sub(1);
        if r.stopping {
            self.stopping[p] = self.stopping[p].saturating_sub(n);
        } else {
            self.forget_priority(p, r.priority);
        }
        self.ends[p].remove(&(r.expected_end_ms.unwrap_or(i64::MAX), r.id, n));
    }

    /// A running job (its view before the change: not stopping) is asked to stop.
    pub fn stopping(&mut self, r: &RunningView) {
        let p = r.pool;
        if r.stopping || p >= self.jobs.len() {
            return;
        }
        self.stopping[p] += r.accelerators.len() as u32;
        self.forget_priority(p, r.priority);
    }

    fn forget_priority(&mut self, p: usize, priority: u32) {
        if let Some(n) = self.priorities[p].get_mut(&priority) {
            *n -= 1;
            if *n == 0 {
                self.priorities[p].remove(&priority);
            }
        }
    }

    /// The lowest priority of a job running on `pool` and not being stopped.
    pub(crate) fn lowest_priority(&self, pool: usize) -> Option<u32> {
        self.priorities
            .get(pool)
            .and_then(|m| m.keys().next().copied())
    }

    /// When `count` accelerators will be free on `pool`, with `free` free now, from running
    /// jobs' expected ends; `i64::MAX` if some job needed has no estimate.
    pub(crate) fn shadow_ms(&self, pool: usize, free: u32, count: u32, now_ms: i64) -> i64 {
        let mut have = free;
        if have >= count {
            return now_ms;
        }
        for &(end, _, n) in self.ends.get(pool).into_iter().flatten() {
            have += n;
            if have >= count {
                return end;
            }
        }
        i64::MAX
    }
}
