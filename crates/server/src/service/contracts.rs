//! Contracts from real usage: what each committed pool's attempts were charged to its contract
//! (kept in the store at the committed price, priced when each attempt started), put through
//! the core's contract rules ([`ContractLedger::from_committed_charges`]: what exceeds the
//! totals of the terms begun is repriced at the overage rate) and reported against the burn
//! schedule, projected to the end of the current term, with the shortfall owed and the share
//! of all work it carried (accelerator-hours x speed).

use super::{Service, ServiceError};
use crate::job::now_ms;
use crate::schedule::pool_throughputs;
use spillway_core::SimTime;
use spillway_core::econ::{ContractLedger, ContractReport};

/// One contract's standing.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ContractStanding {
    /// The decision core's report, as `spillway contracts --scenario` prints it: `contract`,
    /// `provider`, `total`, `spent` and `scheduled` (USD), `burn_ratio` (spent / scheduled),
    /// `projected_at_end` (USD at the run rate since the start of the term), `projection`
    /// (`{"status": "on_track"}`, `{"status": "shortfall", "lost": USD}` or
    /// `{"status": "exhausted", "at": microseconds since the epoch}`) and `share_of_work` (of
    /// all reference work the service ran, 0 to 1).
    #[schema(value_type = Object)]
    pub report: ContractReport,
    /// The committed pools charged to it.
    pub pools: Vec<String>,
    /// Accelerator-hours charged to it (running attempts up to now).
    pub chip_hours: f64,
    /// Start of the term, ms since the epoch.
    pub start_ms: i64,
    /// End of the last term (renewals included), ms since the epoch.
    pub end_ms: i64,
    /// Discount on list prices, percent.
    pub discount_percent: f64,
}

impl Service {
    /// Every configured contract's standing now, from the charges in the store.
    pub async fn contracts(&self) -> Result<(i64, Vec<ContractStanding>), ServiceError> {
        let now = now_ms();
        let charged = self.store.contract_usage(now).await?;
        let usage = self.store.usage(now).await?;
        let speeds = pool_throughputs(&self.config);
        // Reference work: accelerator time x the pool's speed (1.0 for pools no longer
        // configured), as the simulator counts the share of work.
        let speed = |pool: &str| {
            self.config
                .pools
                .iter()
                .position(|p| p.name == pool)
                .map_or(1.0, |i| speeds[i])
        };
        let total_work_s: f64 = usage
            .iter()
            .map(|u| u.chip_ms as f64 / 1000.0 * speed(&u.pool))
            .sum();
        let at = SimTime(now.saturating_mul(1000));
        let standings = self
            .config
            .contracts
            .iter()
            .map(|c| {
                let rows = charged.iter().filter(|r| r.contract == c.name);
                let (mut usd, mut work_s, mut chip_ms) = (0.0, 0.0, 0);
                for r in rows {
                    usd += r.usd;
                    work_s += r.chip_ms as f64 / 1000.0 * speed(&r.pool);
                    chip_ms += r.chip_ms;
                }
                // When it was used up is not recorded: the report projects it at the run rate.
                let ledger = ContractLedger::from_committed_charges(c, at, usd, work_s);
                ContractStanding {
                    report: ledger.report(c, at, total_work_s),
                    pools: self
                        .config
                        .pools
                        .iter()
                        .filter(|p| p.contract.as_deref() == Some(c.name.as_str()))
                        .map(|p| p.name.clone())
                        .collect(),
                    chip_hours: chip_ms as f64 / 3_600_000.0,
                    start_ms: c.start.0 / 1000,
                    end_ms: c.end().0 / 1000,
                    discount_percent: c.discount * 100.0,
                }
            })
            .collect();
        Ok((now, standings))
    }
}
