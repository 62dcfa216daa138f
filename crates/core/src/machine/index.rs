//! What the machine keeps up to date as events come, so that a round costs what its queue
//! costs: the running jobs as the live mechanism sees them (with their load per pool), and the
//! queue outside the rounds with what tells at once whether any of it could act.

use super::job::MachineJob;
use crate::JobId;
use crate::live::{RunningLoad, RunningView};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// A hasher for the machine's own lookups by job id and tenant name (looked up per attempt,
/// millions of times in a long simulation): a multiplicative hash, where the standard one
/// (SipHash) guards against keys chosen to collide, which these are not (the tables are never
/// iterated, so the hash decides no order).
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Hash maps keyed by the machine's ids (and the simulator's index of its jobs by id).
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// The running jobs' views, in no particular order, and their load.
///
/// Only the live mechanism reads the load, and under time-sharing it may not run for a long
/// while (every queued job a member of the rounds) while jobs start and stop by the million:
/// the load is kept up to date as they do only while it is read; after more changes unread
/// than there are running jobs it is dropped, and built again from the views when next read,
/// the same load either way.
#[derive(Debug)]
pub(super) struct RunningSet {
    pub(super) views: Vec<RunningView>,
    at: IdMap<JobId, usize>,
    /// The views' load, when kept. (A `OnceLock` and an atomic rather than their
    /// single-threaded cells: the service's reactor, which owns the machine, must be `Sync`.)
    load: OnceLock<RunningLoad>,
    /// Changes since the load was last read.
    unread_changes: AtomicUsize,
    pools: usize,
    /// Tenant names, shared by their jobs' views.
    tenants: IdMap<String, Arc<str>>,
}

impl RunningSet {
    pub(super) fn new(pools: usize) -> RunningSet {
        RunningSet {
            views: Vec::new(),
            at: IdMap::default(),
            load: OnceLock::from(RunningLoad::new(pools)),
            unread_changes: AtomicUsize::new(0),
            pools,
            tenants: IdMap::default(),
        }
    }

    /// The running jobs' load.
    pub(super) fn load(&self) -> &RunningLoad {
        self.unread_changes.store(0, Ordering::Relaxed);
        self.load
            .get_or_init(|| RunningLoad::of(self.pools, &self.views))
    }

    /// The load to apply a change to, while it is kept.
    fn kept_load<'a>(
        load: &'a mut OnceLock<RunningLoad>,
        unread_changes: &mut AtomicUsize,
        running: usize,
    ) -> Option<&'a mut RunningLoad> {
        load.get()?;
        let unread = unread_changes.get_mut();
        *unread += 1;
        if *unread > running + 64 {
            load.take();
            return None;
        }
        load.get_mut()
    }

    /// `job` holds `accelerators` of `pool` from `started_ms`, expected to end `run_ms` later.
    pub(super) fn add(
        &mut self,
        job: &MachineJob,
        pool: usize,
        accelerators: &[u32],
        started_ms: i64,
        run_ms: Option<i64>,
        stopping: bool,
    ) {
        self.remove(job.id);
        let tenant = match self.tenants.get(&job.tenant) {
            Some(t) => t.clone(),
            None => {
                let t: Arc<str> = Arc::from(job.tenant.as_str());
                self.tenants.insert(job.tenant.clone(), t.clone());
                t
            }
        };
        let view = RunningView {
            id: job.id,
            tenant,
            priority: job.priority,
            pool,
            accelerators: accelerators.to_vec(),
            started_ms,
            expected_end_ms: run_ms.map(|r| started_ms.saturating_add(r)),
            stopping,
        };
        if let Some(load) =
            RunningSet::kept_load(&mut self.load, &mut self.unread_changes, self.views.len())
        {
            load.add(&view);
        }
        self.at.insert(job.id, self.views.len());
        self.views.push(view);
    }

    /// `job`'s attempt ended.
    pub(super) fn remove(&mut self, job: JobId) {
        let Some(i) = self.at.remove(&job) else {
            return;
        };
        let view = self.views.swap_remove(i);
        if let Some(load) =
            RunningSet::kept_load(&mut self.load, &mut self.unread_changes, self.views.len())
        {
            load.remove(&view);
        }
        if let Some(moved) = self.views.get(i) {
            self.at.insert(moved.id, i);
        }
    }

    /// `job` is asked to stop.
    pub(super) fn stopping(&mut self, job: JobId) {
        let Some(&i) = self.at.get(&job) else {
            return;
        };
        if let Some(load) =
            RunningSet::kept_load(&mut self.load, &mut self.unread_changes, self.views.len())
        {
            load.stopping(&self.views[i]);
        }
        self.views[i].stopping = true;
    }
}

/// The queued jobs the live mechanism decides on (all of them without time-sharing; with it,
/// those the rounds do not place), in the order the queue-ordering policies serve them
/// (priority, then earliest deadline where the policy knows deadlines, then submission), with
/// the smallest accelerator count any of them could take, the highest priority among them and
/// how many accelerators they could take at once.
#[derive(Debug, Default)]
pub(super) struct OutsideQueue {
    /// Whether the order counts deadlines (`commitment_aware`, `on_demand_only`).
    deadlines: bool,
    order: BTreeSet<QueueKey>,
    /// Per job: its place in the order, its smallest and largest count over its alternatives
    /// (0 for CPU-only).
    of: IdMap<JobId, (QueueKey, u32, u32)>,
    smallest: BTreeMap<u32, u32>,
    priorities: BTreeMap<u32, u32>,
    demand: u64,
}

/// Priority (high first), deadline (ms; none last), id.
type QueueKey = (Reverse<u32>, i64, JobId);

impl OutsideQueue {
    /// An empty queue, ordered with deadlines or without.
    pub(super) fn new(deadlines: bool) -> OutsideQueue {
        OutsideQueue {
            deadlines,
            ..OutsideQueue::default()
        }
    }

    pub(super) fn insert(&mut self, job: &MachineJob) {
        if self.of.contains_key(&job.id) {
            return;
        }
        let deadline = job.deadline_ms.filter(|_| self.deadlines);
        let key = (Reverse(job.priority), deadline.unwrap_or(i64::MAX), job.id);
        self.order.insert(key);
        let counts = job.choices.iter().map(|c| c.count);
        let smallest = counts.clone().min().unwrap_or(0);
        let largest = counts.max().unwrap_or(0);
        self.of.insert(job.id, (key, smallest, largest));
        *self.smallest.entry(smallest).or_default() += 1;
        *self.priorities.entry(job.priority).or_default() += 1;
        self.demand += u64::from(largest);
    }

    pub(super) fn remove(&mut self, job: JobId) {
        let Some((key, smallest, largest)) = self.of.remove(&job) else {
            return;
        };
        self.order.remove(&key);
        forget(&mut self.smallest, smallest);
        forget(&mut self.priorities, key.0.0);
        self.demand -= u64::from(largest);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    /// The jobs in order.
    pub(super) fn ids(&self) -> impl Iterator<Item = JobId> + '_ {
        self.order.iter().map(|k| k.2)
    }

    /// The smallest count a queued job could take (0 when a CPU-only job waits).
    pub(super) fn smallest_count(&self) -> Option<u32> {
        self.smallest.keys().next().copied()
    }

    /// The highest priority in the queue.
    pub(super) fn highest_priority(&self) -> Option<u32> {
        self.priorities.keys().next_back().copied()
    }

    /// How many accelerators of one pool the whole queue could take at once: the sum of each
    /// job's largest count.
    pub(super) fn demand(&self) -> u64 {
        self.demand
    }
}

fn forget(counts: &mut BTreeMap<u32, u32>, key: u32) {
    if let Some(n) = counts.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(&key);
        }
    }
}

/// A pool's free accelerator indices: a bit per index and their count. Every start, end and
/// lease check of the rounds looks indices up here (a `BTreeSet<u32>` cost a tree search, or
/// an insertion, per accelerator per attempt).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct FreeSet {
    words: Vec<u64>,
    len: usize,
}

impl FreeSet {
    /// Every index of `0..n` free.
    pub(super) fn full(n: u32) -> FreeSet {
        let mut set = FreeSet::default();
        set.extend(0..n);
        set
    }

    /// An empty set with room for `0..n` without growing.
    pub(super) fn with_room(n: u32) -> FreeSet {
        FreeSet {
            words: vec![0; (n as usize).div_ceil(64)],
            len: 0,
        }
    }

    pub(super) fn contains(&self, i: u32) -> bool {
        let (w, b) = (i as usize / 64, i % 64);
        self.words.get(w).is_some_and(|word| word >> b & 1 == 1)
    }

    /// Adds `i`; whether it was not there.
    pub(super) fn insert(&mut self, i: u32) -> bool {
        let (w, b) = (i as usize / 64, i % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let fresh = self.words[w] >> b & 1 == 0;
        self.words[w] |= 1 << b;
        self.len += usize::from(fresh);
        fresh
    }

    /// Removes `i`; whether it was there.
    pub(super) fn remove(&mut self, i: u32) -> bool {
        let (w, b) = (i as usize / 64, i % 64);
        let Some(word) = self.words.get_mut(w) else {
            return false;
        };
        let there = *word >> b & 1 == 1;
        *word &= !(1 << b);
        self.len -= usize::from(there);
        there
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The indices, ascending.
    pub(super) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let b = bits.trailing_zeros();
                    bits &= bits - 1;
                    w as u32 * 64 + b
                })
            })
        })
    }
}

impl Extend<u32> for FreeSet {
    fn extend<I: IntoIterator<Item = u32>>(&mut self, indices: I) {
        for i in indices {
            self.insert(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FreeSet;
    use crate::pyrandom::PyRandom;
    use std::collections::BTreeSet;

    #[test]
    fn the_free_set_behaves_as_an_ordered_set() {
        let mut rng = PyRandom::new(3);
        for n in [0u32, 1, 63, 64, 65, 200, 704] {
            let mut set = FreeSet::full(n);
            let mut model: BTreeSet<u32> = (0..n).collect();
            assert_eq!(
                set.iter().collect::<Vec<_>>(),
                model.iter().copied().collect::<Vec<_>>()
            );
            let mut empty = FreeSet::with_room(n);
            assert_eq!((empty.len(), empty.iter().count()), (0, 0));
            for _ in 0..2000 {
                // Indices past the capacity too: the set grows for them.
                let i = rng.randbelow(n + 70);
                match rng.randbelow(3) {
                    0 => assert_eq!(set.insert(i), model.insert(i)),
                    1 => assert_eq!(set.remove(i), model.remove(&i)),
                    _ => {
                        empty.extend([i, i / 2]);
                        assert!(empty.contains(i) && empty.contains(i / 2));
                    }
                }
                assert_eq!(set.contains(i), model.contains(&i));
                assert_eq!(set.len(), model.len());
            }
            assert_eq!(
                set.iter().collect::<Vec<_>>(),
                model.iter().copied().collect::<Vec<_>>()
            );
            assert_eq!(empty.len(), empty.iter().count());
        }
    }
}
