//! The scenario's clouds as a [`World`] for the machine's driver: capacity rented in the
//! catalog's shapes, spot availability series and stockouts that refuse launches and take
//! capacity back at ticks.
//!
//! Rentals: a pool whose smallest shape has several chips and which rents several units for one
//! job (8-GPU VMs) is cut into blocks of that shape: block `k` is accelerator indices
//! `k * shape .. (k + 1) * shape`, rented while any job holds one of its indices. The machine
//! knows the blocks (`MachinePool::block`) and puts a job into the fullest rented block that
//! holds it (best fit), so jobs fill rented blocks before opening new ones and a job spans two
//! blocks only when no single one holds it. On
//! any other pool (TPU slices, per-GPU shapes, owned chips) a job rents exactly what it holds.

use super::scenario::Scenario;
use crate::service::{TickOutcome, World};
use spillway_core::SimTime;
use spillway_core::econ::{FailureKind, PlanKind};
use std::collections::{BTreeMap, HashMap};

/// Chips per block of pool `p`'s rentals (1: a job rents what it holds).
pub(super) fn block_of(s: &Scenario, p: usize) -> u32 {
    let pool = &s.pools[p];
    match pool.shapes.first() {
        Some(&b) if pool.multi_unit && b > 1 => b,
        _ => 1,
    }
}

/// What each pool has rented, and what its availability was at the last tick.
pub(super) struct ScenarioWorld<'a> {
    s: &'a Scenario,
    block: Vec<u32>,
    /// Per pool: each running job's start and the blocks it holds.
    held: Vec<BTreeMap<usize, (i64, Vec<u32>)>>,
    /// Per pool: jobs on each rented block.
    blocks: Vec<HashMap<u32, u32>>,
    /// Per pool: chips obtainable at the last tick.
    last: Vec<u32>,
    tick_ms: i64,
    /// Whether any pool's capacity ever changes (else there are no ticks).
    varies: bool,
}

impl<'a> ScenarioWorld<'a> {
    pub(super) fn new(s: &'a Scenario) -> ScenarioWorld<'a> {
        let m = s.pools.len();
        ScenarioWorld {
            s,
            block: (0..m).map(|p| block_of(s, p)).collect(),
            held: vec![BTreeMap::new(); m],
            blocks: vec![HashMap::new(); m],
            // The first tick tells the machine every pool that cannot give its whole quota.
            last: s.pools.iter().map(|p| p.quota_chips).collect(),
            tick_ms: ((s.tick_s * 1000.0).round() as i64).max(1),
            varies: s
                .pools
                .iter()
                .any(|p| p.availability != super::Availability::Always),
        }
    }

    fn rented(&self, p: usize) -> u32 {
        self.blocks[p].len() as u32 * self.block[p]
    }

    fn available(&self, p: usize, now_ms: i64) -> u32 {
        let pool = &self.s.pools[p];
        pool.availability
            .chips(pool.quota_chips, SimTime(now_ms.saturating_mul(1000)))
    }

    fn blocks_of(&self, p: usize, accelerators: &[u32]) -> Vec<u32> {
        let mut b: Vec<u32> = accelerators.iter().map(|a| a / self.block[p]).collect();
        b.dedup();
        b
    }

    fn release(&mut self, p: usize, job: usize) {
        let Some((_, blocks)) = self.held[p].remove(&job) else {
            return;
        };
        for b in blocks {
            if let Some(n) = self.blocks[p].get_mut(&b) {
                *n -= 1;
                if *n == 0 {
                    self.blocks[p].remove(&b);
                }
            }
        }
    }
}

impl World for ScenarioWorld<'_> {
    fn launch(
        &mut self,
        now_ms: i64,
        pool: usize,
        job: usize,
        accelerators: &[u32],
    ) -> Result<(), FailureKind> {
        let blocks = self.blocks_of(pool, accelerators);
        let new = blocks
            .iter()
            .filter(|b| !self.blocks[pool].contains_key(b))
            .count() as u32;
        let after = self.rented(pool) + new * self.block[pool];
        if new > 0 && after > self.available(pool, now_ms) {
            return Err(self.s.pools[pool].failure);
        }
        for &b in &blocks {
            *self.blocks[pool].entry(b).or_insert(0) += 1;
        }
        self.held[pool].insert(job, (now_ms, blocks));
        Ok(())
    }

    fn ended(&mut self, _now_ms: i64, pool: usize, job: usize) {
        self.release(pool, job);
    }

    fn refusal_ms(&self) -> i64 {
        (self.s.launch_failure_s * 1000.0).round() as i64
    }

    fn next_tick_ms(&self, now_ms: i64) -> Option<i64> {
        self.varies
            .then(|| (now_ms.div_euclid(self.tick_ms) + 1) * self.tick_ms)
    }

    /// Spot capacity that shrinks is taken back from the most recently started jobs first.
    fn tick(&mut self, now_ms: i64) -> TickOutcome {
        let mut out = TickOutcome::default();
        for p in 0..self.s.pools.len() {
            let available = self.available(p, now_ms);
            out.grew |= available > self.last[p];
            if available != self.last[p] {
                out.capacity.push((p, available));
            }
            self.last[p] = available;
            if self.s.pools[p].plan != PlanKind::Spot {
                continue;
            }
            while self.rented(p) > available {
                let Some((&job, _)) = self.held[p]
                    .iter()
                    .max_by_key(|(j, (start, _))| (*start, **j))
                else {
                    break;
                };
                self.release(p, job);
                out.reclaimed.push(job);
            }
        }
        out
    }
}
