//! The scheduler's active jobs: each with what a round needs of it, in job order, found by id
//! and by slot without a search of a tree.

use crate::id_list::IdList;
use crate::{JobSpec, Workers};
use smallvec::SmallVec;

/// Pools whose figures a job keeps inline, in its own record (more go on the heap).
pub(super) const INLINE_POOLS: usize = 4;

#[derive(Debug, Clone)]
pub(super) struct ActiveJob {
    pub(super) spec: JobSpec,
    pub(super) steps_done: u64,
    /// Its figures on each pool, side by side: every round reads and writes them all, job
    /// after job (one list rather than one per figure, and inline rather than on the heap:
    /// each is read from the job's record as the round walks the jobs in order).
    pub(super) on: SmallVec<[OnPool; INLINE_POOLS]>,
    /// Its throughput on each pool (`spec.throughputs`, kept inline for the same reason).
    pub(super) throughputs: SmallVec<[f64; INLINE_POOLS]>,
    /// Whether it has a row in the current allocation (false: it arrived after the last
    /// computation); the row is [`OnPool::share`], kept here so that a round reads it without a
    /// search of the allocation map.
    pub(super) has_share: bool,
    /// Where it runs in the current round (pool, accelerators), if it was placed: kept with
    /// the job so that the next round reads it by the job's slot rather than by a search.
    pub(super) assigned: Option<(usize, Workers)>,
}

/// A job's figures on one pool.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct OnPool {
    /// Seconds run on the pool since the last reset (plus half a round, Gavel's prior).
    pub(super) time_received: f64,
    pub(super) priority: f64,
    pub(super) deficit: f64,
    /// Its share of the pool in the current allocation (0 without a row: see
    /// [`ActiveJob::has_share`]).
    pub(super) share: f64,
}

impl ActiveJob {
    /// Its share of pool `p` in the current allocation, if it has a row there.
    pub(super) fn share(&self, p: usize) -> Option<f64> {
        self.has_share.then(|| self.on[p].share)
    }

    /// Takes `row` as its row of the allocation (`None`: it has none).
    pub(super) fn set_share(&mut self, row: Option<&Vec<f64>>) {
        self.has_share = row.is_some();
        for (p, on) in self.on.iter_mut().enumerate() {
            on.share = row.map_or(0.0, |r| r[p]);
        }
    }
}

/// The active jobs in job order, each found by id and by slot without a search of a tree. A
/// job that leaves is only marked, and the list is compacted at the start of a round, so that a
/// job's slot holds through a round: a round names its jobs by slot.
pub(super) type ActiveJobs = IdList<ActiveJob>;
