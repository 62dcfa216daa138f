//! Injected stockouts (`[pool.faults] stockouts`): an executor in front of a local pool's that
//! refuses launches during the configured windows, as a cloud API refuses an instance when a
//! zone has no capacity. The reactor sees the same [`ExecError::NoCapacity`] a cloud executor
//! would return, so failover runs its real course: the failover memory blocks the zone (or
//! region, or provider) and the job goes on to the next pool. Everything else (stop, recovery,
//! launches outside the windows) is the wrapped executor's.

use super::{ExecError, Executor, Handle, LaunchRequest, Recovered};
use crate::config::PoolFaults;
use crate::job::{Attempt, JobId};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Instant;

/// A pool's executor with injected stockouts.
pub struct FaultyExecutor {
    /// The executor that runs what is not refused.
    inner: Arc<dyn Executor>,
    /// The pool (for messages).
    pool: String,
    /// Its windows.
    faults: PoolFaults,
    /// When the service started: windows count from here.
    started: Instant,
}

impl FaultyExecutor {
    /// Wraps `inner` for pool `pool` with `faults`, counting time from `started`.
    pub fn new(
        inner: Arc<dyn Executor>,
        pool: &str,
        faults: PoolFaults,
        started: Instant,
    ) -> FaultyExecutor {
        FaultyExecutor {
            inner,
            pool: pool.to_string(),
            faults,
            started,
        }
    }
}

#[async_trait]
impl Executor for FaultyExecutor {
    async fn launch(&self, req: LaunchRequest) -> Result<Handle, ExecError> {
        let now = self.started.elapsed().as_secs_f64();
        if let Some(w) = self.faults.stockout_at(now) {
            return Err(ExecError::NoCapacity {
                kind: w.kind.failure(),
                detail: format!(
                    "injected stockout of pool {} ({} out of capacity from {} s to {} s after the service started; now {:.1} s)",
                    self.pool,
                    w.kind.as_str(),
                    w.start_s,
                    w.end_s,
                    now
                ),
            });
        }
        self.inner.launch(req).await
    }

    async fn stop(&self, job: JobId, attempt: u32, handle: Handle) -> Result<(), ExecError> {
        self.inner.stop(job, attempt, handle).await
    }

    async fn recover(&self, attempt: &Attempt) -> Recovered {
        self.inner.recover(attempt).await
    }
}
