//! What the failover memory blocks during one round, pool by pool.
//!
//! A round asks whether a pool is blocked for many jobs (whether a job can change anything,
//! which of its candidates are open, how the policy ranks them), and each question scans the
//! memory's scopes and decays a score. The round's shared memory does not change during the
//! round, so each pool's answer is worked out once and kept; a job with a memory of its own
//! (`baseline`) is asked about directly.

use super::types::{QueuedView, RoundInput};
use crate::SimTime;
use crate::econ::{BlockScope, FailoverMemory};
use std::cell::OnceCell;

/// The blocks of one round's shared failover memory, each pool's looked up once.
pub(crate) struct Blocks<'m> {
    /// The round's memory, shared by the jobs without one of their own.
    shared: Option<&'m FailoverMemory>,
    /// The round's time, as the memory counts it.
    now: SimTime,
    /// Per pool: the scope that blocks it for longest and when that block ends, once asked.
    until: Vec<OnceCell<Option<(BlockScope, SimTime)>>>,
}

impl<'m> Blocks<'m> {
    /// Nothing looked up yet.
    pub(crate) fn new(input: &RoundInput<'m>) -> Blocks<'m> {
        Blocks {
            shared: input.failover,
            now: SimTime(input.now_ms.saturating_mul(1000)),
            until: (0..input.pools.len()).map(|_| OnceCell::new()).collect(),
        }
    }

    /// The round's time, as the memory counts it.
    pub(crate) fn now(&self) -> SimTime {
        self.now
    }

    /// Whether `job` has a memory at all (its own or the round's).
    pub(crate) fn any(&self, job: &QueuedView<'_>) -> bool {
        job.failover.is_some() || self.shared.is_some()
    }

    /// Whether the memory of `job` (its own, else the round's) blocks pool `pool` now.
    pub(crate) fn is_blocked(
        &self,
        input: &RoundInput<'_>,
        job: &QueuedView<'_>,
        pool: usize,
    ) -> bool {
        match job.failover {
            Some(own) => own.is_blocked(input.pools[pool].location, self.now),
            None => self.shared_until(input, pool).is_some(),
        }
    }

    /// If the memory of `job` blocks pool `pool` now: the scope that blocks it for longest and
    /// when that block ends ([`FailoverMemory::blocked_until`]).
    pub(crate) fn until(
        &self,
        input: &RoundInput<'_>,
        job: &QueuedView<'_>,
        pool: usize,
    ) -> Option<(BlockScope, SimTime)> {
        match job.failover {
            Some(own) => own.blocked_until(input.pools[pool].location, self.now),
            None => self.shared_until(input, pool).cloned(),
        }
    }

    /// The shared memory's block on pool `pool`, looked up the first time only.
    fn shared_until(&self, input: &RoundInput<'_>, pool: usize) -> Option<&(BlockScope, SimTime)> {
        let memory = self.shared?;
        self.until[pool]
            .get_or_init(|| memory.blocked_until(input.pools[pool].location, self.now))
            .as_ref()
    }
}
