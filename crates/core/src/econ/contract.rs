//! Committed-spend contracts: a total in dollars over a term, at a discount on list prices, for
//! some accelerators and regions of one provider, with a burn schedule; and the accounting of
//! what was spent against that schedule, projected to the end of the term.

use crate::SimTime;
use serde::{Deserialize, Serialize};
use spillway_model::Usd;

/// Seconds in an average month (365.25 / 12 days).
pub const SECONDS_PER_MONTH: f64 = 365.25 / 12.0 * 86_400.0;

/// How far ahead of the schedule [`ContractLedger::pace`] lets spending run, as a share of the
/// schedule: spending below it is lost for good (use it or lose it), spending ahead of it only
/// borrows from later in the term at the discounted rate, so the pace aims a little ahead, enough
/// to absorb a lull in demand (see `docs/economics.md` for how it was chosen).
pub const PACE_LEAD: f64 = 0.10;

/// The look-ahead of [`ContractLedger::pace`] used by the drivers: a day, short against a term of
/// years (the burn stays within a day's spending of the schedule) and long against a launch
/// decision (one big job does not flip it every tick).
pub const PACE_HORIZON_S: f64 = 86_400.0;

/// How the commitment is expected to be spent over the term.
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
    /// Total commitment over the term.
    pub total: Usd,
    /// When the term starts.
    pub start: SimTime,
    /// Length of the term, months.
    pub term_months: f64,
    /// Discount on list prices, as a fraction (0.30 = 30% off).
    pub discount: f64,
    /// Accelerators it covers (canonical names); empty = all of the provider's.
    pub accelerators: Vec<String>,
    /// Regions it covers; empty = all.
    pub regions: Vec<String>,
    /// The burn schedule.
    pub burn: BurnSchedule,
}

impl Contract {
    /// When the term ends.
    pub fn end(&self) -> SimTime {
        SimTime(self.start.0 + SimTime::from_secs(self.term_months * SECONDS_PER_MONTH).0)
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

    /// Share of the term's total that should be spent by `months` into the term.
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

    /// What the schedule says should be spent by `at`.
    pub fn scheduled(&self, at: SimTime) -> Usd {
        let months = (at.0 - self.start.0) as f64 / 1e6 / SECONDS_PER_MONTH;
        Usd(self.total.0 * self.scheduled_share(months))
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
    /// Total commitment, dollars.
    pub total_usd: f64,
    /// Length of the term, months.
    pub term_months: f64,
    /// Discount on list prices, percent.
    pub discount_percent: f64,
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
        if !(self.term_months > 0.0 && self.term_months.is_finite()) {
            return Err(bad(
                "term_months",
                format!("must be more than 0, found {}", self.term_months),
            ));
        }
        if !(0.0..100.0).contains(&self.discount_percent) {
            return Err(bad(
                "discount_percent",
                format!("must be in [0, 100), found {}", self.discount_percent),
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

/// What a contract has been charged so far.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ContractLedger {
    /// Dollars charged against the commitment.
    pub spent: Usd,
    /// Reference-accelerator seconds of work done on capacity bought under it.
    pub work_s: f64,
    /// When the spending first reached the total, if it did.
    pub exhausted_at: Option<SimTime>,
}

impl ContractLedger {
    /// Records a charge of `usd` made at `at` for `work_s` seconds of reference work.
    pub fn charge(&mut self, contract: &Contract, at: SimTime, usd: f64, work_s: f64) {
        self.spent.0 += usd;
        self.work_s += work_s;
        if self.exhausted_at.is_none() && self.spent.0 >= contract.total.0 {
            self.exhausted_at = Some(at);
        }
    }

    /// Whether spending is at or behind the schedule at `at` (committed capacity is then nearly
    /// free: the money will be owed anyway).
    pub fn behind_schedule(&self, contract: &Contract, at: SimTime) -> bool {
        self.spent.0 < contract.scheduled(at).0
    }

    /// Whether capacity that would cost `added_usd` over the next `horizon_s` can start at `now`
    /// and keep the spending on schedule: what is spent already, plus what the capacity running
    /// under the contract will cost over the horizon (`running_usd`: each rental's price until its
    /// jobs are expected to end, at most the horizon), plus the new capacity must not exceed what
    /// the schedule allows by the end of the horizon, plus [`PACE_LEAD`]. A controller with time
    /// constant `horizon_s`: behind schedule the headroom grows, ahead of it new launches wait
    /// until running capacity ends.
    pub fn pace(
        &self,
        contract: &Contract,
        now: SimTime,
        running_usd: f64,
        added_usd: f64,
        horizon_s: f64,
    ) -> Pace {
        let allowed = contract.scheduled(now.plus_secs_ceil(horizon_s)).0 * (1.0 + PACE_LEAD);
        if self.spent.0 + running_usd + added_usd <= allowed {
            Pace::Within
        } else {
            Pace::Ahead
        }
    }

    /// The report at `now`; `total_work_s` is all reference work done anywhere (for the share).
    pub fn report(&self, contract: &Contract, now: SimTime, total_work_s: f64) -> ContractReport {
        let scheduled = contract.scheduled(now);
        let end = contract.end();
        let elapsed_s = (now.0 - contract.start.0) as f64 / 1e6;
        let left_s = ((end.0 - now.0) as f64 / 1e6).max(0.0);
        let rate_per_s = if elapsed_s > 0.0 {
            self.spent.0 / elapsed_s
        } else {
            0.0
        };
        let projected = self.spent.0 + rate_per_s * left_s;
        let total = contract.total.0;
        let projection = if let Some(at) = self.exhausted_at {
            Projection::Exhausted { at }
        } else if projected > total && rate_per_s > 0.0 {
            let at = now.plus_secs_ceil((total - self.spent.0) / rate_per_s);
            Projection::Exhausted { at }
        } else if projected < 0.95 * total {
            Projection::Shortfall {
                lost: Usd(total - projected),
            }
        } else {
            Projection::OnTrack
        };
        ContractReport {
            contract: contract.name.clone(),
            provider: contract.provider.clone(),
            total,
            spent: self.spent.0,
            scheduled: scheduled.0,
            burn_ratio: if scheduled.0 > 0.0 {
                self.spent.0 / scheduled.0
            } else {
                0.0
            },
            projected_at_end: projected,
            projection,
            share_of_work: if total_work_s > 0.0 {
                self.work_s / total_work_s
            } else {
                0.0
            },
        }
    }
}

/// Whether a launch on committed capacity keeps the contract's spending on its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// The money will be owed anyway: using the capacity costs (nearly) nothing more.
    Within,
    /// It would pull spending ahead of the schedule (borrowing from later in the term).
    Ahead,
}

/// Where the spending is heading by the end of the term, at the run rate so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Projection {
    /// It will end within 5% below the total (or exactly on it).
    OnTrack,
    /// It will end short: `lost` dollars would be paid for nothing (use it or lose it).
    Shortfall {
        /// Dollars owed but not used.
        lost: Usd,
    },
    /// It will be (or was) used up before the end of the term, at `at`; later use is billed on
    /// demand (or at the discounted rate, if the contract says so).
    Exhausted {
        /// When.
        at: SimTime,
    },
}

/// A contract's standing at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractReport {
    /// The contract.
    pub contract: String,
    /// Its provider.
    pub provider: String,
    /// Total commitment, dollars.
    pub total: f64,
    /// Charged so far.
    pub spent: f64,
    /// What the schedule says by now.
    pub scheduled: f64,
    /// spent / scheduled.
    pub burn_ratio: f64,
    /// Spending at the end of the term at the run rate so far.
    pub projected_at_end: f64,
    /// On track, shortfall, or exhausted early.
    pub projection: Projection,
    /// Share of all work done on capacity under this contract.
    pub share_of_work: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract() -> Contract {
        Contract {
            name: "gcp-tpu".into(),
            provider: "gcp".into(),
            total: Usd(1_200.0),
            start: SimTime::ZERO,
            term_months: 12.0,
            discount: 0.3,
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
    fn terms_are_checked_field_by_field_whatever_file_they_come_from() {
        let terms = ContractTerms {
            name: "gcp-tpu".into(),
            provider: "GCP".into(),
            total_usd: 1_200.0,
            term_months: 12.0,
            discount_percent: 30.0,
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
            ..terms
        });
        assert_eq!(e.field, "discount_percent");
    }

    #[test]
    fn projections_say_on_track_shortfall_or_exhausted() {
        let c = contract();
        let at = months(3.0);
        let mut l = ContractLedger::default();
        assert!(l.behind_schedule(&c, at));
        l.charge(&c, at, 300.0, 10.0);
        assert!(!l.behind_schedule(&c, at));
        let r = l.report(&c, at, 40.0);
        assert_eq!(r.projection, Projection::OnTrack);
        assert!((r.burn_ratio - 1.0).abs() < 1e-9);
        assert!((r.share_of_work - 0.25).abs() < 1e-12);
        let mut low = ContractLedger::default();
        low.charge(&c, at, 150.0, 1.0);
        match low.report(&c, at, 1.0).projection {
            Projection::Shortfall { lost } => assert!((lost.0 - 600.0).abs() < 1e-3),
            p => panic!("{p:?}"),
        }
        // Pace: 300 spent at 3 months, schedule 100/month; over one month with 50 committed by
        // running capacity, 350 + 90 <= 440 allowed (400 and the 10% lead), but 100 more would
        // reach 450.
        let pace = |added: f64| l.pace(&c, at, 50.0, added, SECONDS_PER_MONTH);
        assert_eq!(pace(90.0), Pace::Within);
        assert_eq!(pace(100.0), Pace::Ahead);
        let mut high = ContractLedger::default();
        high.charge(&c, at, 600.0, 1.0);
        match high.report(&c, at, 1.0).projection {
            // Twice the schedule: used up at 6 months.
            Projection::Exhausted { at } => {
                assert!((at.as_secs() / SECONDS_PER_MONTH - 6.0).abs() < 1e-6)
            }
            p => panic!("{p:?}"),
        }
    }
}
