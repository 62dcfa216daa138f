//! Moving jobs back to spot (`commitment_aware`): a job with a deadline that runs on on-demand
//! capacity because spot was short when it started moves back once the policy ranks a spot
//! place with room above every reliable one with room (its own included) and its slack allows
//! it, as Can't Be Late's policies switch back. It checkpoints as it leaves (nothing is lost)
//! and pays one restart; only a job with an hour of work left moves. A job on the idle
//! accelerators of rented blocks that other jobs keep rented at least as long stays: it costs
//! nothing more where it is. The machine looks at most once an hour.

use super::job::Phase;
use super::state::Machine;
use crate::econ::{EconPolicy, PlanKind};
use crate::live::{Action, Blocks, Economics, LivePolicy, candidates};

/// How often the machine looks for jobs to move back to spot, ms.
const EVERY_MS: i64 = 3_600_000;
/// Work a job must have left to be worth moving, reference seconds.
const MIN_LEFT_S: f64 = 3_600.0;

impl Machine {
    /// The jobs to move back to spot now, as preemptions of each job for itself (`for_job` is
    /// the job: it restarts at once, on spot).
    pub(super) fn migrations(&mut self, now_ms: i64) -> Vec<Action> {
        if self.config.policy != LivePolicy::Econ(EconPolicy::CommitmentAware)
            || self.next_migration_ms.is_some_and(|t| now_ms < t)
        {
            return Vec::new();
        }
        self.next_migration_ms = Some(now_ms.saturating_add(EVERY_MS));
        let input = self.round_input(now_ms, 0);
        let econ = Economics::new(&input);
        let blocks = Blocks::new(&input);
        // Free accelerators each pool can give now (its free indices, within what it can hold).
        let mut room: Vec<u32> = self
            .free
            .iter()
            .zip(&self.pools)
            .zip(&self.available)
            .map(|((f, p), &a)| {
                let held = p.capacity - f.len() as u32;
                (f.len() as u32).min(a.saturating_sub(held))
            })
            .collect();
        let mut out = Vec::new();
        for (id, t) in self.jobs.by_id() {
            let Phase::Running {
                pool,
                started_ms,
                stopping: false,
                ..
            } = t.phase
            else {
                continue;
            };
            let (Some(work), Some(_)) = (t.job.work_secs, t.job.deadline_ms) else {
                continue;
            };
            if self.pools[pool].plan != PlanKind::OnDemand || self.rides_along(id, pool) {
                continue;
            }
            let speed = t.job.speed_on(pool, &self.pools[pool]);
            let ran_s =
                ((now_ms - started_ms) as f64 / 1000.0 - self.config.restart_overhead_s).max(0.0);
            let left = (work as f64 - ran_s * speed).max(0.0);
            if left < MIN_LEFT_S {
                continue;
            }
            let mut q = t.job.queued_view();
            q.work_secs = Some(left.ceil() as u64);
            // Its pools found by type id, as in the round.
            q.accelerator_ids = &t.accelerator_ids;
            // Its own pool is priced for what it holds there (not as idle chips of the blocks
            // it keeps rented itself).
            let options = econ.options(&input, &blocks, &q, &candidates(&input, &q), |p| {
                if p == pool { &[] } else { &input.pools[p].free }
            });
            let target = options
                .ranked
                .iter()
                .find(|c| c.pool == pool || room[c.pool] >= c.count);
            if let Some(c) = target.filter(|c| self.pools[c.pool].plan == PlanKind::Spot) {
                room[c.pool] -= c.count;
                out.push(Action::Preempt {
                    job: id,
                    for_job: id,
                    lease_ended: false,
                });
            }
        }
        out
    }

    /// Whether job `id`, running on pool `pool`, sits on idle accelerators of rented blocks
    /// that other jobs keep rented at least until it is expected to end: staying costs nothing
    /// more, so moving to spot would only add a bill and a restart.
    fn rides_along(&self, id: crate::JobId, pool: usize) -> bool {
        let p = &self.pools[pool];
        if !crate::live::nodes::rents_blocks(p.block, p.nodes, p.slice.is_some()) {
            return false;
        }
        let block = p.block;
        let views = &self.running.views;
        let Some(own) = views.iter().find(|v| v.id == id) else {
            return false;
        };
        let end = own.expected_end_ms.unwrap_or(i64::MAX);
        let mut blocks: Vec<u32> = own.accelerators.iter().map(|i| i / block).collect();
        blocks.dedup();
        blocks.iter().all(|&b| {
            views.iter().any(|v| {
                v.id != id
                    && v.pool == pool
                    && !v.stopping
                    && v.expected_end_ms.unwrap_or(i64::MAX) >= end
                    && v.accelerators.iter().any(|i| i / block == b)
            })
        })
    }
}
