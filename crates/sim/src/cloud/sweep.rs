//! Sizing a commitment: one scenario run for each commitment size (dollars a year) and term,
//! with everything else fixed (the accounting horizon above all, so that totals compare), and
//! the totals priced at several costs of waiting. `spillway contracts --scenario FILE --sweep`
//! prints it; `docs/economics.md` has the table.

use super::report::EconSummary;
use super::run::run_scenario;
use super::scenario::Scenario;
use serde::Serialize;
use spillway_core::econ::EconPolicy;
use spillway_model::Usd;

/// One run of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    /// Commitment, dollars a year of term.
    pub annual_usd: f64,
    /// Term, months.
    pub term_months: f64,
    /// The contract's total (annual x term).
    pub total_usd: f64,
    /// Spend over the horizon.
    pub spend_usd: f64,
    /// Charged at the committed price (never above the total: the ledger caps it).
    pub committed_usd: f64,
    /// Owed for nothing (shortfall).
    pub shortfall_usd: f64,
    /// Billed at the overage rate.
    pub overage_usd: f64,
    /// Billed at list on the committed pool after the term.
    pub list_usd: f64,
    /// Largest committed charge of one term.
    pub max_term_committed_usd: f64,
    /// Committed charges added after the first hourly sample past the end of the term (0: the
    /// sweep checks it from the samples, it does not assume it).
    pub committed_after_term_usd: f64,
    /// Job-hours of delay.
    pub delay_job_hours: f64,
    /// Deadline misses.
    pub deadline_misses: usize,
    /// Jobs not finished by the horizon.
    pub unfinished_jobs: usize,
}

impl SweepRow {
    /// Spend plus the price of waiting at `usd_per_job_hour` of delay.
    pub fn with_delay(&self, usd_per_job_hour: f64) -> f64 {
        self.spend_usd + self.delay_job_hours * usd_per_job_hour
    }
}

/// Runs `policy` over `scenario` with its contract `contract` resized to each of `annual_usd`
/// dollars a year for each of `terms_months` (the runs side by side, [`crate::parallel::map`]).
pub fn sweep_commitment(
    scenario: &Scenario,
    contract: usize,
    annual_usd: &[f64],
    terms_months: &[f64],
    policy: EconPolicy,
) -> Vec<SweepRow> {
    let runs: Vec<(f64, f64)> = terms_months
        .iter()
        .flat_map(|&term| annual_usd.iter().map(move |&annual| (term, annual)))
        .collect();
    crate::parallel::map(&runs, |&(term, annual)| {
        let mut s = scenario.clone();
        let c = &mut s.contracts[contract];
        c.term_months = term;
        c.total = Usd(annual * term / 12.0);
        let o = run_scenario(&s, policy, &mut |_, _| {});
        let summary = EconSummary::new(&s, &o);
        let c = &s.contracts[contract];
        let ledger = &o.ledgers[contract];
        let owed = summary.contracts_owed[contract];
        // Committed spending, sampled hourly: nothing may be added after the first sample
        // past the end of the last term.
        let at_end = o
            .spend
            .iter()
            .find(|x| x.at >= c.end())
            .map_or(ledger.spent.0, |x| x.spent[contract]);
        SweepRow {
            annual_usd: annual,
            term_months: term,
            total_usd: c.total.0,
            spend_usd: summary.total_cost_usd,
            committed_usd: owed.committed,
            shortfall_usd: owed.shortfall,
            overage_usd: owed.overage,
            list_usd: owed.list,
            max_term_committed_usd: ledger.term_spent.iter().copied().fold(0.0, f64::max),
            committed_after_term_usd: ledger.spent.0 - at_end,
            delay_job_hours: summary.delay_job_hours,
            deadline_misses: summary.deadline_misses,
            unfinished_jobs: summary.unfinished_jobs,
        }
    })
}

/// For each term, the size with the least spend plus delay at `usd_per_job_hour`.
pub fn cheapest_sizes(rows: &[SweepRow], usd_per_job_hour: f64) -> Vec<(f64, f64)> {
    let mut terms: Vec<f64> = rows.iter().map(|r| r.term_months).collect();
    terms.dedup();
    terms
        .into_iter()
        .map(|t| {
            let best = rows
                .iter()
                .filter(|r| r.term_months == t)
                .min_by(|a, b| {
                    a.with_delay(usd_per_job_hour)
                        .total_cmp(&b.with_delay(usd_per_job_hour))
                })
                .map_or(0.0, |r| r.annual_usd);
            (t, best)
        })
        .collect()
}
