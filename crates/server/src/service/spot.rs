//! Injected spot preemptions (`[pool.faults] preempt_at_s` / `preempt_rate_per_hour`): at
//! each time the pool reclaims its running jobs. Each job is stopped through its executor's
//! normal stop path (for a local process group: SIGTERM, then SIGKILL after a grace period);
//! when it has exited it is requeued, not failed (no restart is used), its preemption is
//! counted, and its next attempt runs with the same `SPILLWAY_CHECKPOINT_DIR` and a higher
//! `SPILLWAY_RESTART_COUNT` (and `checkpoint.resume` when the spec has one), so that it
//! resumes from what it saved.

use super::reactor::{Reactor, Stop, event};
use crate::job::JobId;
use crate::store::Write;
use std::time::Duration;

impl Reactor {
    /// When the next injected preemption of any pool falls due.
    pub(super) fn next_reclaim(&self) -> Option<tokio::time::Instant> {
        let next = self
            .reclaims
            .iter()
            .filter_map(|c| c.as_ref().and_then(|c| c.next()))
            .min_by(f64::total_cmp)?;
        let at = self.started + Duration::from_secs_f64(next.max(0.0));
        Some(tokio::time::Instant::from_std(at))
    }

    /// Carries out every injected preemption that is due: each such pool reclaims the jobs
    /// running on it.
    pub(super) async fn reclaim_due(&mut self) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let mut writes = Vec::new();
        for pool in 0..self.reclaims.len() {
            let due = self.reclaims[pool]
                .as_mut()
                .map_or(0, |c| c.take_due(elapsed));
            if due == 0 {
                continue;
            }
            let name = self.config.pools[pool].name.clone();
            let victims: Vec<JobId> = self
                .jobs
                .iter()
                .filter(|(_, l)| {
                    l.stopping.is_none()
                        && l.handle.is_some()
                        && l.attempt.as_ref().is_some_and(|a| a.pool == name)
                })
                .map(|(id, _)| *id)
                .collect();
            tracing::info!(pool = %name, jobs = victims.len(), at_s = elapsed, "injected preemption: the spot pool reclaims its running jobs");
            for id in victims {
                self.reclaim(id, &name, elapsed, &mut writes).await;
            }
        }
        self.write(writes).await;
    }

    /// Stops one job because its spot pool reclaimed the capacity; its exit requeues it.
    async fn reclaim(&mut self, id: JobId, pool: &str, at_s: f64, writes: &mut Vec<Write>) {
        let Some(live) = self.jobs.get_mut(&id) else {
            return;
        };
        let (Some(a), Some(h)) = (live.attempt.as_ref(), live.handle.clone()) else {
            return;
        };
        live.stopping = Some(Stop::Reclaim);
        let number = a.number;
        self.machine.handle(
            crate::job::now_ms(),
            crate::schedule::Event::Stopping {
                job: crate::schedule::core_id(id),
            },
        );
        self.metrics.preempted(pool, "spot");
        writes.push(Write::Event(
            id,
            event(
                "preempt",
                format!(
                    "attempt {number}: pool {pool} reclaimed its spot capacity {at_s:.1} s after the service started (injected preemption): stopping the job; it will be requeued and restarted from its checkpoint"
                ),
            ),
        ));
        let executor = self.executor_of(pool);
        if let Err(e) = executor.stop(id, number, h).await {
            tracing::warn!(job = %id, error = %e, "failed to stop a job its spot pool reclaimed");
        }
    }
}
