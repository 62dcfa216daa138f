//! What the machine keeps up to date as events come, so that a round costs what its queue
//! costs: the running jobs as the live mechanism sees them (with their load per pool), and the
//! queue outside the rounds with what tells at once whether any of it could act.

use super::job::MachineJob;
use crate::JobId;
use crate::live::{RunningLoad, RunningView};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The running jobs' views, in no particular order, and their load.
#[derive(Debug)]
pub(super) struct RunningSet {
    pub(super) views: Vec<RunningView>,
    at: HashMap<JobId, usize>,
    pub(super) load: RunningLoad,
    /// Tenant names, shared by their jobs' views.
    tenants: HashMap<String, Arc<str>>,
}

impl RunningSet {
    pub(super) fn new(pools: usize) -> RunningSet {
        RunningSet {
            views: Vec::new(),
            at: HashMap::new(),
            load: RunningLoad::new(pools),
            tenants: HashMap::new(),
        }
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
        self.load.add(&view);
        self.at.insert(job.id, self.views.len());
        self.views.push(view);
    }

    /// `job`'s attempt ended.
    pub(super) fn remove(&mut self, job: JobId) {
        let Some(i) = self.at.remove(&job) else {
            return;
        };
        let view = self.views.swap_remove(i);
        self.load.remove(&view);
        if let Some(moved) = self.views.get(i) {
            self.at.insert(moved.id, i);
        }
    }

    /// `job` is asked to stop.
    pub(super) fn stopping(&mut self, job: JobId) {
        let Some(&i) = self.at.get(&job) else {
            return;
        };
        self.load.stopping(&self.views[i]);
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
    of: HashMap<JobId, (QueueKey, u32, u32)>,
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
