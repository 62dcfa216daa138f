//! The scheduler's active jobs: each with what a round needs of it, in job order, found by id
//! and by slot without a search of a tree.

use crate::live::BuildNameHasher;
use crate::{JobId, JobSpec, Workers};
use smallvec::SmallVec;
use std::collections::HashMap;

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

/// The active jobs in job order, each found by id without a search of a tree: a list in id
/// order with an index by id. A job that leaves is only marked, and the list is compacted
/// when a quarter of it is gone, so that a job's slot (its position in the list) holds from
/// one compaction to the next: a round names its jobs by slot.
#[derive(Debug, Default)]
pub(super) struct ActiveJobs {
    /// In job-id order; `None` for a job gone since the last compaction.
    pub(super) list: Vec<Option<ActiveJob>>,
    /// Slot of each active job. The hasher is FxHash's mixing (see [`BuildNameHasher`]): job
    /// ids are ours, not chosen to collide, and the map is never iterated.
    pub(super) at: HashMap<JobId, usize, BuildNameHasher>,
}

impl ActiveJobs {
    pub(super) fn len(&self) -> usize {
        self.at.len()
    }

    /// Slots run from 0 to this (gone ones included).
    pub(super) fn slots(&self) -> usize {
        self.list.len()
    }

    pub(super) fn contains(&self, job: JobId) -> bool {
        self.at.contains_key(&job)
    }

    pub(super) fn slot_of(&self, job: JobId) -> Option<usize> {
        self.at.get(&job).copied()
    }

    pub(super) fn get(&self, job: JobId) -> Option<&ActiveJob> {
        self.list[self.slot_of(job)?].as_ref()
    }

    pub(super) fn get_mut(&mut self, job: JobId) -> Option<&mut ActiveJob> {
        let slot = self.slot_of(job)?;
        self.list[slot].as_mut()
    }

    /// The job in `slot`, which must hold one.
    pub(super) fn at_slot(&self, slot: usize) -> &ActiveJob {
        self.list[slot].as_ref().expect("a slot of an active job")
    }

    pub(super) fn at_slot_mut(&mut self, slot: usize) -> &mut ActiveJob {
        self.list[slot].as_mut().expect("a slot of an active job")
    }

    /// Adds a job that is not active. Jobs come in id order as a rule; one that does not goes
    /// in its place, and the slots are renumbered.
    pub(super) fn insert(&mut self, job: ActiveJob) {
        let id = job.spec.id;
        let in_order = self
            .list
            .iter()
            .rev()
            .find_map(Option::as_ref)
            .is_none_or(|last| last.spec.id < id);
        if in_order {
            self.at.insert(id, self.list.len());
            self.list.push(Some(job));
        } else {
            self.list.retain(Option::is_some);
            let i = self
                .list
                .partition_point(|j| j.as_ref().is_some_and(|j| j.spec.id < id));
            self.list.insert(i, Some(job));
            self.reindex();
        }
    }

    pub(super) fn remove(&mut self, job: JobId) -> Option<ActiveJob> {
        let slot = self.at.remove(&job)?;
        self.list[slot].take()
    }

    /// Drops the gone jobs' slots once they are a quarter of the list (slots change: call it
    /// only between rounds).
    pub(super) fn compact(&mut self) {
        if (self.list.len() - self.at.len()) * 4 > self.list.len() {
            self.list.retain(Option::is_some);
            self.reindex();
        }
    }

    pub(super) fn reindex(&mut self) {
        self.at.clear();
        for (slot, j) in self.list.iter().enumerate() {
            if let Some(j) = j {
                self.at.insert(j.spec.id, slot);
            }
        }
    }

    /// The active jobs in job order, with their slots.
    pub(super) fn iter(&self) -> impl Iterator<Item = (usize, &ActiveJob)> {
        self.list
            .iter()
            .enumerate()
            .filter_map(|(slot, j)| Some((slot, j.as_ref()?)))
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &ActiveJob> {
        self.list.iter().filter_map(Option::as_ref)
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut ActiveJob> {
        self.list.iter_mut().filter_map(Option::as_mut)
    }

    pub(super) fn ids(&self) -> impl Iterator<Item = JobId> + '_ {
        self.values().map(|j| j.spec.id)
    }
}
