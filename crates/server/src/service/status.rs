//! What the reactor tells about its live state: explanations, pool status and metrics gauges.

use super::reactor::{Reactor, Stop};
use super::{LiveExplanation, PoolStatus};
use crate::job::JobId;
use crate::metrics::PoolGauges;
use crate::schedule::WaitReason;
use std::collections::BTreeMap;

impl Reactor {
    pub(super) fn explain(&self, id: JobId) -> Option<LiveExplanation> {
        let live = self.jobs.get(&id)?;
        let reason = match (&live.attempt, live.stopping) {
            (Some(_), Some(Stop::Cancel)) => {
                "being cancelled: its processes were asked to stop".to_string()
            }
            (Some(_), Some(Stop::Preempt(by))) => {
                format!(
                    "being preempted to make room for higher-priority job {by}; it will be requeued"
                )
            }
            (Some(a), Some(Stop::Reclaim)) => format!(
                "being preempted: pool {} reclaimed its spot capacity; it will be requeued and restarted from its checkpoint",
                a.pool
            ),
            (Some(a), None) => format!("running (attempt {}): {}", a.number, live.job.message),
            (None, _) if super::deps::held(live) => format!(
                "queued: waits for job {} to succeed (it runs after it)",
                live.spec.after.unwrap_or_default()
            ),
            (None, _) => match &live.wait {
                Some(w) => format!("queued: {w}"),
                None => "queued: not yet considered by a scheduling round".to_string(),
            },
        };
        Some(LiveExplanation {
            reason,
            work: self.work_source(live).to_string(),
        })
    }

    /// The short form of each waiting job's reason: the kind its data is tagged with
    /// (`no_capacity`, `pool_full`, ...), as `squeue` shows REASON. Taken from the serialized
    /// tag rather than a match, so that a reason the core adds has a short form at once.
    pub(super) fn wait_reasons(&self, ids: &[JobId]) -> BTreeMap<JobId, String> {
        ids.iter()
            .filter_map(|id| {
                let live = self.jobs.get(id).filter(|l| l.attempt.is_none())?;
                let kind = serde_json::to_value(live.wait.as_ref()?).ok()?["kind"]
                    .as_str()?
                    .to_string();
                Some((*id, kind))
            })
            .collect()
    }

    pub(super) fn pool_status(&self) -> Vec<PoolStatus> {
        let gauges = self.gauges();
        self.config
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let g = gauges.get(&p.name).copied().unwrap_or_default();
                PoolStatus {
                    name: p.name.clone(),
                    executor: p.executor,
                    accelerator: p.accelerator.clone(),
                    count: p.count,
                    nodes: p.nodes,
                    free: self.machine.free(i).count() as u32,
                    running_jobs: g.running as u32,
                    queued_jobs: g.queued as u32,
                    max_jobs: p.max_jobs,
                    plan: p.plan,
                    usd_per_chip_hour: p.price.0,
                }
            })
            .collect()
    }

    pub(super) fn gauges(&self) -> BTreeMap<String, PoolGauges> {
        let mut g: BTreeMap<String, PoolGauges> = self
            .config
            .pools
            .iter()
            .map(|p| (p.name.clone(), PoolGauges::default()))
            .collect();
        for live in self.jobs.values() {
            match (&live.attempt, &live.wait) {
                (Some(a), _) => {
                    if let Some(pg) = g.get_mut(&a.pool) {
                        pg.running += 1;
                        pg.accelerators_busy += a.accelerators.len() as u64;
                    }
                }
                (
                    None,
                    Some(
                        WaitReason::NoCapacity { pool, .. }
                        | WaitReason::PoolFull { pool, .. }
                        | WaitReason::Preempting { pool, .. },
                    ),
                ) => {
                    if let Some(pg) = g.get_mut(pool) {
                        pg.queued += 1;
                    }
                }
                (None, _) => {
                    // Waiting for a quota or not yet considered: count it on its preferred
                    // accelerator's first pool.
                    let pool = live
                        .spec
                        .resources
                        .accelerators
                        .first()
                        .and_then(|c| {
                            self.config
                                .pools
                                .iter()
                                .find(|p| p.accelerator.as_deref() == Some(&c.accelerator))
                        })
                        .or(self.config.pools.first());
                    if let Some(pg) = pool.and_then(|p| g.get_mut(&p.name)) {
                        pg.queued += 1;
                    }
                }
            }
        }
        g
    }

    /// Refreshes the per-pool gauges of the metrics.
    pub(super) fn publish_gauges(&self) {
        *self.metrics.pools.lock().unwrap_or_else(|p| p.into_inner()) = self.gauges();
    }
}
