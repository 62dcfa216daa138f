//! Committed-spend contracts: a total in dollars over a term, at a discount on list prices, for
//! some accelerators and regions of one provider, with a burn schedule, an overage rule and
//! optional renewals. This file holds what a contract *says* (its terms, when each term runs,
//! what an hour costs under it); [`super::ledger`] holds what it was charged and what is owed.
//!
//! Every contract rule of Spillway lives here and in [`super::ledger`] (the table in
//! `docs/economics.md`): the simulator, the service's report and the placement policies call
//! these functions and write none of the rules themselves.

use crate::SimTime;
use serde::{Deserialize, Serialize};
use spillway_model::Usd;

/// Seconds in an average month (365.25 / 12 days).
pub const SECONDS_PER_MONTH: f64 = 365.25 / 12.0 * 86_400.0;

/// How far ahead of the schedule [`ContractLedger::pace`](super::ContractLedger::pace) lets
/// spending run, as a share of the schedule: spending below it is lost for good (use it or lose
/// it), spending ahead of it only borrows from later in the term at the discounted rate, so the
/// pace aims a little ahead, enough to absorb a lull in demand (see `docs/economics.md` for how
/// it was chosen).
pub const PACE_LEAD: f64 = 0.10;

/// The look-ahead of [`ContractLedger::pace`](super::ContractLedger::pace) used by the
/// drivers: a day, short against a term of years (the burn stays within a day's spending of the
/// schedule) and long against a launch decision (one big job does not flip it every tick).
pub const PACE_HORIZON_S: f64 = 86_400.0;

/// How the commitment is expected to be spent over each term.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BurnSchedule {
    /// The same amount every hour of the term.
    Linear,
    /// Cumulative shares at given months, linear in between (`[(12, 0.1), (36, 0.5), (72, 1.0)]`);
    /// 0 at month 0.
    Points(Vec<(f64, f64)>),
}

/// One committed-spend contract.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contract {
    /// Its name (for reports).
    pub name: String,
    /// The provider it is signed with (`gcp`).
    pub provider: String,
    /// Total commitment of one term.
    pub total: Usd,
    /// When the (first) term starts.
    pub start: SimTime,
    /// Length of one term, months.
    pub term_months: f64,
    /// Discount on list prices inside the term and up to the total, as a fraction (0.30 = 30%
    /// off).
    pub discount: f64,
    /// Discount on list prices of use beyond the total inside the term (the overage rate), as a
    /// fraction; 0 = list price.
    pub overage_discount: f64,
    /// Renewals stated in the contract: each one a further term of the same length, total,
    /// discount and schedule, starting when the previous one ends. 0 = none: the committed
    /// pool closes at the end of the term.
    pub renewals: u32,
    /// Accelerators it covers (canonical names); empty = all of the provider's.
    pub accelerators: Vec<String>,
    /// Regions it covers; empty = all.
    pub regions: Vec<String>,
    /// The burn schedule of each term.
    pub burn: BurnSchedule,
}

/// What an hour of covered capacity costs at one instant, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rate {
    /// Inside a term, below its total: the committed (discounted) price, charged to the total.
    Committed,
    /// Inside a term, its total used up: the overage rate (list less the overage discount).
    Overage,
    /// Outside every term (before the start, after the end without a renewal): list price, and
    /// the committed pool is closed to new work.
    List,
}

impl Contract {
    /// Length of one term.
    fn term(&self) -> SimTime {
        SimTime::from_secs(self.term_months * SECONDS_PER_MONTH)
    }

    /// Number of terms: the first and its stated renewals.
    pub fn terms(&self) -> u32 {
        self.renewals + 1
    }

    /// When term `k` (0: the first, 1..: renewals) starts.
    pub fn term_start(&self, k: u32) -> SimTime {
        SimTime(self.start.0 + i64::from(k) * self.term().0)
    }

    /// When term `k` ends.
    pub fn term_end(&self, k: u32) -> SimTime {
        self.term_start(k + 1)
    }

    /// When the last term (renewals included) ends.
    pub fn end(&self) -> SimTime {
        self.term_end(self.renewals)
    }

    /// The term that `at` lies in, if any: start <= at < end.
    pub fn term_at(&self, at: SimTime) -> Option<u32> {
        if at < self.start || at >= self.end() {
            return None;
        }
        let k = (at.0 - self.start.0) / self.term().0.max(1);
        Some((k as u32).min(self.renewals))
    }

    /// The term that is running at `at`, or the last one that began before it (after the end:
    /// the last term); `None` before the start.
    pub fn latest_term(&self, at: SimTime) -> Option<u32> {
        (at >= self.start).then(|| self.term_at(at).unwrap_or(self.renewals))
    }

    /// Whether the committed pool takes new work at `at`: only inside a term.
    pub fn is_open(&self, at: SimTime) -> bool {
        self.term_at(at).is_some()
    }

    /// Whether capacity of `accelerator` in `region` of `provider` is bought under this contract.
    pub fn covers(&self, provider: &str, accelerator: &str, region: &str) -> bool {
        self.provider.eq_ignore_ascii_case(provider)
            && (self.accelerators.is_empty()
                || self
                    .accelerators
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(accelerator)))
            && (self.regions.is_empty()
                || self.regions.iter().any(|r| r.eq_ignore_ascii_case(region)))
    }

    /// The committed price per hour for a list price per hour.
    pub fn price(&self, list_per_hour: f64) -> f64 {
        list_per_hour * (1.0 - self.discount)
    }

    /// The price per hour at `rate` for a list price per hour.
    pub fn price_at(&self, rate: Rate, list_per_hour: f64) -> f64 {
        match rate {
            Rate::Committed => self.price(list_per_hour),
            Rate::Overage => list_per_hour * (1.0 - self.overage_discount),
            Rate::List => list_per_hour,
        }
    }

    /// The list price per hour of capacity whose committed price is `committed_per_hour` (the
    /// service configures committed pools by their discounted price).
    pub fn list_of(&self, committed_per_hour: f64) -> f64 {
        committed_per_hour / (1.0 - self.discount)
    }

    /// Share of one term's total that should be spent by `months` into the term.
    fn scheduled_share(&self, months: f64) -> f64 {
        let months = months.clamp(0.0, self.term_months);
        match &self.burn {
            BurnSchedule::Linear => months / self.term_months,
            BurnSchedule::Points(points) => {
                let mut prev = (0.0, 0.0);
                for &(m, share) in points {
                    if months <= m {
                        let span = (m - prev.0).max(1e-12);
                        return prev.1 + (share - prev.1) * (months - prev.0) / span;
                    }
                    prev = (m, share);
                }
                prev.1
            }
        }
    }

    /// What the schedule of term `k` says should be spent in that term by `at` (0 before it
    /// starts, its total after it ends).
    pub fn scheduled_in_term(&self, k: u32, at: SimTime) -> Usd {
        let months = (at.0 - self.term_start(k).0) as f64 / 1e6 / SECONDS_PER_MONTH;
        Usd(self.total.0 * self.scheduled_share(months))
    }

    /// What the schedule says should be spent by `at`, all terms together (a renewal's schedule
    /// starts again from 0 when it begins).
    pub fn scheduled(&self, at: SimTime) -> Usd {
        Usd((0..self.terms())
            .map(|k| self.scheduled_in_term(k, at).0)
            .sum())
    }
}

/// A contract as a file writes it (a scenario's or the service config's `[[contract]]`), before
/// it is checked; where the term starts is the file's own business (an offset into a run, a
/// date).
#[derive(Debug, Clone, PartialEq)]
pub struct ContractTerms {
    /// Its name.
    pub name: String,
    /// The provider it is signed with.
    pub provider: String,
    /// Total commitment of one term, dollars.
    pub total_usd: f64,
    /// Length of one term, months.
    pub term_months: f64,
    /// Discount on list prices, percent.
    pub discount_percent: f64,
    /// Discount on list prices of use beyond the total inside the term, percent (`None`: list
    /// price).
    pub overage_discount_percent: Option<f64>,
    /// Renewal terms stated in the contract (`None`: none).
    pub renewals: Option<u32>,
    /// Accelerators it covers, as written (empty: all of the provider's).
    pub accelerators: Vec<String>,
    /// Regions it covers (empty: all).
    pub regions: Vec<String>,
    /// Cumulative burn schedule `[month, share]` (empty: linear).
    pub burn_points: Vec<(f64, f64)>,
}

/// A contract term that does not hold: which field, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct TermError {
    /// The field (`total_usd`, `burn_points[1]`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ContractTerms {
    /// Checks the terms and makes the contract, starting at `start`; `canonical` gives an
    /// accelerator's canonical name or says why the name is unknown.
    pub fn into_contract(
        self,
        start: SimTime,
        canonical: impl Fn(&str) -> Result<String, String>,
    ) -> Result<Contract, TermError> {
        let bad = |field: &str, message: String| TermError {
            field: field.to_string(),
            message,
        };
        if self.name.trim().is_empty() {
            return Err(bad("name", "a contract needs a name".into()));
        }
        if self.provider.trim().is_empty() {
            return Err(bad(
                "provider",
                "name the provider it is signed with".into(),
            ));
        }
        if !(self.total_usd > 0.0 && self.total_usd.is_finite()) {
            return Err(bad(
                "total_usd",
                format!("must be more than 0, found {}", self.total_usd),
            ));
        }
        // A term under a day is a typo (months, not days), and one over a century would
        // overflow nothing but makes no contract.
        if !(self.term_months * SECONDS_PER_MONTH >= 86_400.0 && self.term_months <= 1200.0) {
            return Err(bad(
                "term_months",
                format!(
                    "must be a length in months, at least a day and at most 1200, found {}",
                    self.term_months
                ),
            ));
        }
        if !(0.0..100.0).contains(&self.discount_percent) {
            return Err(bad(
                "discount_percent",
                format!("must be in [0, 100), found {}", self.discount_percent),
            ));
        }
        let overage = self.overage_discount_percent.unwrap_or(0.0);
        // Use beyond the total at or below the committed price would make the total a floor with
        // no ceiling: no provider prices overage below its commitment, so it is a mistake.
        if !(0.0..=self.discount_percent).contains(&overage) {
            return Err(bad(
                "overage_discount_percent",
                format!(
                    "must be in [0, discount_percent = {}] (overage is priced at list less this discount, never below the committed price), found {overage}",
                    self.discount_percent
                ),
            ));
        }
        let renewals = self.renewals.unwrap_or(0);
        if f64::from(renewals + 1) * self.term_months > 1200.0 {
            return Err(bad(
                "renewals",
                format!(
                    "{renewals} renewals of {} months reach past a century",
                    self.term_months
                ),
            ));
        }
        let accelerators = self
            .accelerators
            .iter()
            .map(|a| canonical(a).map_err(|e| bad("accelerators", e)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut prev = (0.0, 0.0);
        for (j, &(month, share)) in self.burn_points.iter().enumerate() {
            let rising = month > prev.0 && month <= self.term_months;
            let share_ok = share >= prev.1 && share <= 1.0;
            if !(rising && share_ok) {
                return Err(bad(
                    &format!("burn_points[{j}]"),
                    format!(
                        "[{month}, {share}]: points are [month, cumulative share] with months increasing up to term_months ({}) and shares rising from 0 to at most 1",
                        self.term_months
                    ),
                ));
            }
            prev = (month, share);
        }
        Ok(Contract {
            name: self.name,
            provider: self.provider.to_ascii_lowercase(),
            total: Usd(self.total_usd),
            start,
            term_months: self.term_months,
            discount: self.discount_percent / 100.0,
            overage_discount: overage / 100.0,
            renewals,
            accelerators,
            regions: self.regions,
            burn: if self.burn_points.is_empty() {
                BurnSchedule::Linear
            } else {
                BurnSchedule::Points(self.burn_points)
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn contract() -> Contract {
        Contract {
            name: "gcp-tpu".into(),
            provider: "gcp".into(),
            total: Usd(1_200.0),
            start: SimTime::ZERO,
            term_months: 12.0,
            discount: 0.3,
            overage_discount: 0.0,
            renewals: 0,
            accelerators: vec!["tpu-v5p".into(), "tpu-v6e".into()],
            regions: vec![],
            burn: BurnSchedule::Linear,
        }
    }

    fn months(m: f64) -> SimTime {
        SimTime::from_secs(m * SECONDS_PER_MONTH)
    }

    #[test]
    fn linear_schedule_and_coverage() {
        let c = contract();
        assert!((c.scheduled(months(3.0)).0 - 300.0).abs() < 1e-6);
        assert_eq!(c.scheduled(months(24.0)).0, 1_200.0);
        assert_eq!(c.scheduled(SimTime(-5)).0, 0.0);
        assert!(c.covers("GCP", "tpu-v6e", "us-east5"));
        assert!(!c.covers("gcp", "H100", "us-east5"));
        assert!(!c.covers("aws", "tpu-v6e", "us-east5"));
        assert!((c.price(10.0) - 7.0).abs() < 1e-12);
        let points = Contract {
            burn: BurnSchedule::Points(vec![(6.0, 0.25), (12.0, 1.0)]),
            ..contract()
        };
        assert!((points.scheduled(months(3.0)).0 - 150.0).abs() < 1e-6);
        assert!((points.scheduled(months(9.0)).0 - 750.0).abs() < 1e-6);
    }

    #[test]
    fn a_term_ends_and_the_pool_closes_unless_a_renewal_is_stated() {
        let c = Contract {
            start: months(2.0),
            ..contract()
        };
        assert_eq!(c.term_at(months(1.0)), None, "before the start");
        assert_eq!(c.term_at(months(2.0)), Some(0));
        assert_eq!(c.term_at(months(13.9)), Some(0));
        assert_eq!(c.term_at(months(14.0)), None, "the term has ended");
        assert!(!c.is_open(months(14.0)));
        assert_eq!(c.latest_term(months(20.0)), Some(0));
        assert_eq!(c.end(), months(14.0));
        // Two stated renewals: three terms, each with its own schedule from 0 to the total.
        let r = Contract { renewals: 2, ..c };
        assert_eq!(r.term_at(months(14.0)), Some(1));
        assert_eq!(r.term_at(months(37.9)), Some(2));
        assert_eq!(r.term_at(months(38.0)), None);
        assert_eq!(r.end(), months(38.0));
        assert!((r.scheduled(months(20.0)).0 - 1_800.0).abs() < 1e-6);
        assert!((r.scheduled_in_term(1, months(20.0)).0 - 600.0).abs() < 1e-6);
        assert_eq!(r.scheduled(months(50.0)).0, 3_600.0);
    }

    #[test]
    fn rates_are_committed_overage_or_list() {
        let c = Contract {
            overage_discount: 0.1,
            ..contract()
        };
        assert!((c.price_at(Rate::Committed, 10.0) - 7.0).abs() < 1e-12);
        assert!((c.price_at(Rate::Overage, 10.0) - 9.0).abs() < 1e-12);
        assert_eq!(c.price_at(Rate::List, 10.0), 10.0);
        assert!((c.list_of(7.0) - 10.0).abs() < 1e-12);
    }

    #[test]
    fn terms_are_checked_field_by_field_whatever_file_they_come_from() {
        let terms = ContractTerms {
            name: "gcp-tpu".into(),
            provider: "GCP".into(),
            total_usd: 1_200.0,
            term_months: 12.0,
            discount_percent: 30.0,
            overage_discount_percent: Some(10.0),
            renewals: Some(1),
            accelerators: vec!["v5p".into()],
            regions: vec![],
            burn_points: vec![(6.0, 0.25), (12.0, 1.0)],
        };
        let canonical = |a: &str| match a {
            "v5p" => Ok("tpu-v5p".to_string()),
            other => Err(format!("unknown accelerator '{other}'")),
        };
        let c = terms
            .clone()
            .into_contract(SimTime::ZERO, canonical)
            .unwrap();
        assert_eq!(
            (c.provider.as_str(), c.accelerators[0].as_str()),
            ("gcp", "tpu-v5p")
        );
        assert_eq!((c.renewals, c.overage_discount), (1, 0.1));
        assert!((c.scheduled(months(6.0)).0 - 300.0).abs() < 1e-6);
        let bad = |t: ContractTerms| t.into_contract(SimTime::ZERO, canonical).unwrap_err();
        let e = bad(ContractTerms {
            burn_points: vec![(6.0, 0.5), (3.0, 1.0)],
            ..terms.clone()
        });
        assert_eq!(e.field, "burn_points[1]");
        let e = bad(ContractTerms {
            accelerators: vec!["v9".into()],
            ..terms.clone()
        });
        assert_eq!(e.field, "accelerators");
        assert!(e.message.contains("'v9'"));
        let e = bad(ContractTerms {
            discount_percent: 100.0,
            ..terms.clone()
        });
        assert_eq!(e.field, "discount_percent");
        for months in [-12.0, 0.0, 0.01, f64::NAN, 5000.0] {
            let e = bad(ContractTerms {
                term_months: months,
                ..terms.clone()
            });
            assert_eq!(e.field, "term_months", "{months}");
        }
        let e = bad(ContractTerms {
            overage_discount_percent: Some(40.0),
            ..terms.clone()
        });
        assert_eq!(e.field, "overage_discount_percent");
        assert!(e.message.contains("never below the committed price"));
        let e = bad(ContractTerms {
            renewals: Some(200),
            ..terms
        });
        assert_eq!(e.field, "renewals");
    }
}
