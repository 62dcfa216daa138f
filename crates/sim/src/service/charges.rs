//! What the contracts have been charged during a replay, by the core's contract rules: each
//! contract's ledger is billed ([`ContractLedger::bill`]) for the list price per hour of the
//! attempts running on its pools, from one event to the next, as the service bills its stored
//! attempts ([`ContractLedger::from_uses`]). The machine reads the ledgers before each round
//! under `commitment_aware`, as the service's does.

use spillway_core::SimTime;
use spillway_core::econ::{Contract, ContractLedger};
use spillway_core::machine::MachinePool;

/// The contracts' ledgers and what runs on their pools now.
pub(super) struct Charges {
    contracts: Vec<Contract>,
    /// Per contract: what it has been charged, up to `billed_ms`.
    pub(super) ledgers: Vec<ContractLedger>,
    /// Per contract: the list price per hour of the attempts running on its pools.
    list_per_hour: Vec<f64>,
    /// Per contract: running attempts.
    running: Vec<u32>,
    /// Per contract: billed up to, ms.
    billed_ms: Vec<i64>,
}

impl Charges {
    /// The ledgers of `contracts` as charged before `at_ms` (`before`: none for a contract not
    /// in it).
    pub(super) fn new(contracts: Vec<Contract>, before: &[ContractLedger], at_ms: i64) -> Charges {
        let n = contracts.len();
        Charges {
            ledgers: (0..n)
                .map(|k| before.get(k).cloned().unwrap_or_default())
                .collect(),
            contracts,
            list_per_hour: vec![0.0; n],
            running: vec![0; n],
            billed_ms: vec![at_ms; n],
        }
    }

    /// The contract of pool `p` and the list price per hour of `chips` there, if it is charged to
    /// one.
    fn of(&self, pools: &[MachinePool], p: usize, chips: u32) -> Option<(usize, f64)> {
        let pool = pools.get(p)?;
        let k = pool.contract.filter(|&k| k < self.contracts.len())?;
        Some((
            k,
            self.contracts[k].list_of(pool.price.0 * f64::from(chips)),
        ))
    }

    /// Bills contract `k` up to `now`.
    fn advance(&mut self, k: usize, now: i64) {
        if now <= self.billed_ms[k] {
            return;
        }
        if self.running[k] > 0 {
            let from = SimTime(self.billed_ms[k].saturating_mul(1000));
            let to = SimTime(now.saturating_mul(1000));
            self.ledgers[k].bill(&self.contracts[k], from, to, self.list_per_hour[k]);
        }
        self.billed_ms[k] = now;
    }

    /// Bills every contract up to `now`.
    pub(super) fn advance_all(&mut self, now: i64) {
        for k in 0..self.contracts.len() {
            self.advance(k, now);
        }
    }

    pub(super) fn started(&mut self, pools: &[MachinePool], p: usize, chips: u32, at: i64) {
        if let Some((k, list)) = self.of(pools, p, chips) {
            self.advance(k, at);
            self.list_per_hour[k] += list;
            self.running[k] += 1;
        }
    }

    pub(super) fn ended(&mut self, pools: &[MachinePool], p: usize, chips: u32, now: i64) {
        if let Some((k, list)) = self.of(pools, p, chips) {
            self.advance(k, now);
            self.running[k] = self.running[k].saturating_sub(1);
            self.list_per_hour[k] = if self.running[k] == 0 {
                0.0 // no drift left behind by additions and subtractions
            } else {
                (self.list_per_hour[k] - list).max(0.0)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::start_tests::pool;
    use spillway_core::econ::{BurnSchedule, PlanKind};
    use spillway_model::Usd;

    #[test]
    fn charges_bill_ended_and_running_attempts_by_the_contract_rules() {
        let pools = vec![pool("c", 8, PlanKind::Committed, 36.0)];
        let contract = Contract {
            name: "c".into(),
            provider: "local".into(),
            total: Usd(0.15),
            start: SimTime(0),
            term_months: 1.0,
            discount: 0.5,
            accelerators: Vec::new(),
            regions: Vec::new(),
            burn: BurnSchedule::Linear,
            overage_discount: 0.0,
            renewals: 0,
        };
        let before = ContractLedger {
            spent: Usd(0.05),
            term_spent: vec![0.05],
            ..ContractLedger::default()
        };
        let mut c = Charges::new(vec![contract], &[before], 0);
        // $36 an hour a chip is $0.01 a second a chip, at the committed price.
        c.started(&pools, 0, 2, 1_000);
        c.started(&pools, 0, 1, 3_000);
        c.advance_all(5_000);
        assert!((c.ledgers[0].spent.0 - (0.05 + 0.08 + 0.02)).abs() < 1e-9);
        // The total (0.15) is reached at 5 s: the rest is overage, at list ($0.02 a chip-second).
        c.ended(&pools, 0, 2, 6_000);
        c.advance_all(10_000);
        assert!((c.ledgers[0].spent.0 - 0.15).abs() < 1e-9);
        assert!((c.ledgers[0].overage.0 - (0.06 + 0.08)).abs() < 1e-9);
    }
}
