//! What the contracts have been charged during a replay: dollars settled (before the start and
//! by attempts that ended) plus the running attempts' rate, so that the charge at any instant
//! is one multiply-add per contract, read by the machine before each round under
//! `commitment_aware` as the service does.

use spillway_core::machine::MachinePool;

/// What the contracts have been charged: before the start, by ended attempts and by the
/// attempts running now (their rate, so that any instant's charge is one multiplication).
pub(super) struct Charges {
    /// Per contract: dollars charged by the start and by attempts that ended since.
    pub(super) settled: Vec<f64>,
    /// Per contract: dollars per ms of the running attempts.
    pub(super) rate: Vec<f64>,
    /// Per contract: the sum of each running attempt's rate x its start, ms.
    pub(super) offset: Vec<f64>,
}

impl Charges {
    /// Dollars per ms of `chips` on pool `p`, and its contract, if it is charged to one.
    fn of(pools: &[MachinePool], p: usize, chips: u32) -> Option<(usize, f64)> {
        let pool = pools.get(p)?;
        pool.contract
            .map(|k| (k, pool.price.0 * f64::from(chips) / 3_600_000.0))
    }

    pub(super) fn started(&mut self, pools: &[MachinePool], p: usize, chips: u32, at: i64) {
        if let Some((k, r)) = Self::of(pools, p, chips) {
            if k < self.rate.len() {
                self.rate[k] += r;
                self.offset[k] += r * at as f64;
            }
        }
    }

    pub(super) fn ended(
        &mut self,
        pools: &[MachinePool],
        p: usize,
        chips: u32,
        started: i64,
        now: i64,
    ) {
        if let Some((k, r)) = Self::of(pools, p, chips) {
            if k < self.rate.len() {
                self.rate[k] -= r;
                self.offset[k] -= r * started as f64;
                self.settled[k] += r * (now - started) as f64;
            }
        }
    }

    pub(super) fn at(&self, k: usize, now: i64) -> f64 {
        self.settled[k] + self.rate[k] * now as f64 - self.offset[k]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::start_tests::pool;
    use spillway_core::econ::PlanKind;

    #[test]
    fn charges_add_up_ended_and_running_attempts() {
        let pools = vec![pool("c", 8, PlanKind::Committed, 36.0)];
        let mut c = Charges {
            settled: vec![5.0],
            rate: vec![0.0],
            offset: vec![0.0],
        };
        // $36 an hour a chip is $0.01 a second a chip.
        c.started(&pools, 0, 2, 1_000);
        c.started(&pools, 0, 1, 3_000);
        assert!((c.at(0, 5_000) - (5.0 + 0.08 + 0.02)).abs() < 1e-9);
        c.ended(&pools, 0, 2, 1_000, 6_000);
        assert!((c.at(0, 10_000) - (5.0 + 0.10 + 0.07)).abs() < 1e-9);
    }
}
