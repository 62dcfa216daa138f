//! Contracts from real usage: every attempt on a committed pool is charged to its contract at
//! the committed price it started under (kept in the store), and the core's contract rules bill
//! those attempts in time order ([`ContractLedger::from_uses`]: committed inside each term up
//! to its total, then the overage rate; list outside the terms; each renewal its own total).
//! The result is reported against the burn schedule, projected to the end of the current term,
//! with the shortfall owed and the share of all work it carried (accelerator-hours x speed).
//! The reactor feeds the same ledgers to the machine, which paces committed pools by them.

use super::{Service, ServiceError};
use crate::config::Config;
use crate::job::now_ms;
use crate::schedule::pool_throughputs;
use crate::store::ContractUsageRow;
use spillway_core::SimTime;
use spillway_core::econ::{ContractLedger, ContractReport, CoveredUse};

/// Each of `config`'s contracts (in its order) billed by the core's rules for the attempts
/// charged to it (`rows`, from the store).
pub(crate) fn ledgers(config: &Config, rows: &[ContractUsageRow]) -> Vec<ContractLedger> {
    let speeds = pool_throughputs(config);
    let speed = |pool: &str| {
        config
            .pools
            .iter()
            .position(|p| p.name == pool)
            .map_or(1.0, |i| speeds[i])
    };
    config
        .contracts
        .iter()
        .map(|c| {
            let uses: Vec<CoveredUse> = rows
                .iter()
                .filter(|r| r.contract == c.name)
                .map(|r| CoveredUse {
                    from: SimTime(r.started_ms.saturating_mul(1000)),
                    to: SimTime(r.until_ms.saturating_mul(1000)),
                    committed_per_hour: r.usd_per_chip_hour * f64::from(r.chips),
                    work_s: r.chip_ms() as f64 / 1000.0 * speed(&r.pool),
                })
                .collect();
            ContractLedger::from_uses(c, &uses)
        })
        .collect()
}

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
        let ledgers = ledgers(&self.config, &charged);
        let standings = self
            .config
            .contracts
            .iter()
            .zip(ledgers)
            .map(|(c, ledger)| {
                let chip_ms: i64 = charged
                    .iter()
                    .filter(|r| r.contract == c.name)
                    .map(ContractUsageRow::chip_ms)
                    .sum();
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
