//! What a contract has been charged, and what is owed: the contract rules applied to use.
//!
//! - Use of covered capacity inside a term is charged at the committed price against that
//!   term's total, and only up to it; beyond it, at the overage rate ([`Contract::price_at`]).
//! - Outside every term (before the start, after the end without a stated renewal) it is billed
//!   at list, not to the contract, and [`ContractLedger::pace`] closes the pool to new work.
//! - At the end of each term its shortfall (total less what was charged in it) is owed: use it
//!   or lose it ([`ContractLedger::owed`]).
//!
//! Everything bills through [`ContractLedger::bill`]: the scenario simulator as its rentals
//! run, the simulated service at each round, the service from its stored attempts
//! ([`ContractLedger::from_uses`], which replays them in time order); the placement policies read
//! [`ContractLedger::quote`].

use super::contract::{Contract, PACE_LEAD, Rate};
use crate::SimTime;
use serde::{Deserialize, Serialize};
use spillway_model::Usd;

/// What a contract has been charged so far.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ContractLedger {
    /// Dollars charged at the committed price, all terms together (never more than each term's
    /// total).
    pub spent: Usd,
    /// Of those, per term (0: the first, then the renewals). Empty for a ledger made from one
    /// sum (`spent` alone, as in a test), which counts earlier terms as fully spent.
    pub term_spent: Vec<f64>,
    /// Dollars billed at the overage rate: use inside a term beyond its total.
    pub overage: Usd,
    /// Dollars billed at list for covered capacity used outside every term (capacity that was
    /// still running when the term ended).
    pub list: Usd,
    /// Reference accelerator-seconds of work done on capacity bought under it (chips x time x
    /// speed).
    pub work_s: f64,
    /// When a term's spending last reached its total, if it did.
    pub exhausted_at: Option<SimTime>,
}

/// A stretch of use of capacity a contract covers: from when to when, at what committed price
/// per hour (all its accelerators), and the reference work it did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CoveredUse {
    /// When it started.
    pub from: SimTime,
    /// When it ended (or now, while it runs).
    pub to: SimTime,
    /// Its price per hour at the committed rate, when it started.
    pub committed_per_hour: f64,
    /// Reference accelerator-seconds of work it did.
    pub work_s: f64,
}

/// What one stretch of use was billed, by rate.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Bill {
    /// At the committed price, against a term's total.
    pub committed: f64,
    /// At the overage rate.
    pub overage: f64,
    /// At list, outside every term.
    pub list: f64,
}

impl Bill {
    /// All of it.
    pub fn total(&self) -> f64 {
        self.committed + self.overage + self.list
    }
}

/// What a contract costs the organization up to an instant (an accounting horizon).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Owed {
    /// Charged at the committed price.
    pub committed: f64,
    /// Owed for nothing: for each term ended by then, its total less what was charged in it;
    /// for a term still running, what its schedule says was due by then less what was charged
    /// (the prorated share of the commitment).
    pub shortfall: f64,
    /// Billed at the overage rate.
    pub overage: f64,
    /// Billed at list outside the terms.
    pub list: f64,
}

impl Owed {
    /// All of it.
    pub fn total(&self) -> f64 {
        self.committed + self.shortfall + self.overage + self.list
    }
}

/// Whether and how committed capacity may take new work at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pace {
    /// The money will be owed anyway: using the capacity costs (nearly) nothing more.
    Within,
    /// It would pull spending ahead of the schedule (borrowing from later in the term).
    Ahead,
    /// The term's total is used up: the capacity is billed at the overage rate, like on-demand
    /// capacity.
    Overage,
    /// Outside every term: the committed pool takes no new work.
    Closed,
}

impl Pace {
    /// The rate new use is billed at.
    pub fn rate(self) -> Rate {
        match self {
            Pace::Within | Pace::Ahead => Rate::Committed,
            Pace::Overage => Rate::Overage,
            Pace::Closed => Rate::List,
        }
    }
}

/// What committed capacity costs a new job at an instant: the pace and the price per hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quote {
    /// Within or ahead of the schedule, in overage, or closed.
    pub pace: Pace,
    /// Price per hour at that rate.
    pub price_per_hour: f64,
}

impl ContractLedger {
    /// A ledger from stretches of use of covered capacity (the service's attempts on committed
    /// pools), billed in time order: where several overlap, their list rates add up, so a term's
    /// total is reached at the instant it is, an attempt that runs past the end of a term is
    /// billed at list from then, and each renewal's term is charged only what ran in it.
    pub fn from_uses(contract: &Contract, uses: &[CoveredUse]) -> ContractLedger {
        let mut ledger = ContractLedger::default();
        // The list rate changes only where a stretch starts or ends.
        let mut steps: Vec<(SimTime, f64)> = Vec::with_capacity(uses.len() * 2);
        for u in uses.iter().filter(|u| u.to > u.from) {
            let list = contract.list_of(u.committed_per_hour);
            steps.push((u.from, list));
            steps.push((u.to, -list));
            ledger.work_s += u.work_s;
        }
        steps.sort_by_key(|s| s.0);
        let mut rate = 0.0;
        let mut at = steps.first().map_or(SimTime::ZERO, |s| s.0);
        for (t, delta) in steps {
            if t > at && rate > 1e-12 {
                ledger.bill(contract, at, t, rate);
            }
            at = t;
            rate += delta;
        }
        ledger
    }

    /// What was charged at the committed price in term `k`.
    pub fn term_spent(&self, contract: &Contract, k: u32) -> f64 {
        if self.term_spent.is_empty() {
            // One sum: earlier terms took their totals first.
            let before = contract.total.0 * f64::from(k);
            return (self.spent.0 - before).clamp(0.0, contract.total.0);
        }
        self.term_spent.get(k as usize).copied().unwrap_or(0.0)
    }

    /// Bills use of covered capacity at `list_per_hour` from `from` to `to`, splitting it where
    /// terms start and end and where a term's total is reached; records it and returns it.
    pub fn bill(
        &mut self,
        contract: &Contract,
        from: SimTime,
        to: SimTime,
        list_per_hour: f64,
    ) -> Bill {
        let mut bill = Bill::default();
        let hours = |a: SimTime, b: SimTime| (b.0 - a.0) as f64 / 3.6e9;
        let mut t = from;
        while t < to {
            let Some(k) = contract.term_at(t) else {
                let next = if t < contract.start {
                    contract.start.min(to)
                } else {
                    to
                };
                bill.list += hours(t, next) * list_per_hour;
                t = next;
                continue;
            };
            let end = contract.term_end(k).min(to);
            let rate = contract.price(list_per_hour);
            let want = hours(t, end) * rate;
            if self.term_spent.len() <= k as usize {
                self.term_spent.resize(k as usize + 1, 0.0);
            }
            let left = (contract.total.0 - self.term_spent[k as usize]).max(0.0);
            if want <= left || rate <= 0.0 {
                self.term_spent[k as usize] += want;
                bill.committed += want;
            } else {
                // The total is reached inside this stretch: the rest at the overage rate.
                let committed_h = left / rate;
                self.term_spent[k as usize] += left;
                bill.committed += left;
                bill.overage +=
                    (hours(t, end) - committed_h) * contract.price_at(Rate::Overage, list_per_hour);
                if left > 0.0 || self.exhausted_at.is_none_or(|x| x < contract.term_start(k)) {
                    self.exhausted_at = Some(t.plus_secs_ceil(committed_h * 3600.0));
                }
            }
            t = end;
        }
        self.spent.0 += bill.committed;
        self.overage.0 += bill.overage;
        self.list.0 += bill.list;
        bill
    }

    /// Records `work_s` reference accelerator-seconds of work done on covered capacity.
    pub fn record_work(&mut self, work_s: f64) {
        self.work_s += work_s;
    }

    /// Whether and at what price capacity whose committed price is `committed_per_hour` may
    /// start new work at `now` (see [`ContractLedger::pace`]).
    pub fn quote(
        &self,
        contract: &Contract,
        now: SimTime,
        committed_per_hour: f64,
        running_usd: f64,
        added_usd: f64,
        horizon_s: f64,
    ) -> Quote {
        let pace = self.pace(contract, now, running_usd, added_usd, horizon_s);
        Quote {
            pace,
            price_per_hour: contract.price_at(pace.rate(), contract.list_of(committed_per_hour)),
        }
    }

    /// Whether committed capacity that would cost `added_usd` over the next `horizon_s` can
    /// start at `now`. Outside every term: [`Pace::Closed`]; the term's total used up:
    /// [`Pace::Overage`]. Otherwise it keeps the term's spending on schedule when what the term
    /// has spent, plus what the capacity running under the contract will cost over the horizon
    /// (`running_usd`: each rental's price until its jobs are expected to end, at most the
    /// horizon), plus the new capacity does not exceed what the term's schedule allows by the
    /// end of the horizon, plus [`PACE_LEAD`]. A controller with time constant `horizon_s`:
    /// behind schedule the headroom grows, ahead of it new launches wait until running capacity
    /// ends.
    pub fn pace(
        &self,
        contract: &Contract,
        now: SimTime,
        running_usd: f64,
        added_usd: f64,
        horizon_s: f64,
    ) -> Pace {
        let Some(k) = contract.term_at(now) else {
            return Pace::Closed;
        };
        let spent = self.term_spent(contract, k);
        if spent >= contract.total.0 {
            return Pace::Overage;
        }
        let allowed = contract
            .scheduled_in_term(k, now.plus_secs_ceil(horizon_s))
            .0
            * (1.0 + PACE_LEAD);
        if spent + running_usd + added_usd <= allowed {
            Pace::Within
        } else {
            Pace::Ahead
        }
    }

    /// What the contract costs up to `at` (the ledger as of `at`): see [`Owed`].
    pub fn owed(&self, contract: &Contract, at: SimTime) -> Owed {
        let mut shortfall = 0.0;
        for k in 0..contract.terms() {
            if contract.term_start(k) >= at {
                break;
            }
            let due = contract.scheduled_in_term(k, at).0;
            shortfall += (due - self.term_spent(contract, k)).max(0.0);
        }
        Owed {
            committed: self.spent.0,
            shortfall,
            overage: self.overage.0,
            list: self.list.0,
        }
    }

    /// The report at `now`; `total_work_s` is all reference work done anywhere (for the share).
    pub fn report(&self, contract: &Contract, now: SimTime, total_work_s: f64) -> ContractReport {
        let scheduled = contract.scheduled(now);
        let total = contract.total.0;
        // The projection is the current term's (after the end: the last term's, final).
        let k = contract.latest_term(now).unwrap_or(0);
        let (start, end) = (contract.term_start(k), contract.term_end(k));
        let spent_k = self.term_spent(contract, k);
        let elapsed_s = ((now.min(end).0 - start.0) as f64 / 1e6).max(0.0);
        let left_s = ((end.0 - now.0) as f64 / 1e6).max(0.0);
        let rate_per_s = if elapsed_s > 0.0 {
            spent_k / elapsed_s
        } else {
            0.0
        };
        let projected = spent_k + rate_per_s * left_s;
        let projection = if spent_k >= total {
            Projection::Exhausted {
                at: self.exhausted_at.unwrap_or(now),
            }
        } else if projected > total && rate_per_s > 0.0 {
            let at = now.plus_secs_ceil((total - spent_k) / rate_per_s);
            Projection::Exhausted { at }
        } else if projected < 0.95 * total {
            Projection::Shortfall {
                lost: Usd(total - projected),
            }
        } else {
            Projection::OnTrack
        };
        let owed = self.owed(contract, now);
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
            term: k + 1,
            terms: contract.terms(),
            open: contract.is_open(now),
            overage: self.overage.0,
            list: self.list.0,
            shortfall_owed: owed.shortfall,
        }
    }
}

/// Where the spending of the current term is heading by its end, at the term's run rate so far.
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
    /// The term's total will be (or was) used up before the end of the term, at `at`; later
    /// use inside the term is billed at the overage rate.
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
    /// Total commitment of one term, dollars.
    pub total: f64,
    /// Charged at the committed price so far, all terms.
    pub spent: f64,
    /// What the schedule says by now, all terms.
    pub scheduled: f64,
    /// spent / scheduled.
    pub burn_ratio: f64,
    /// The current term's spending at its end, at the term's run rate so far.
    pub projected_at_end: f64,
    /// On track, shortfall, or exhausted early (the current term).
    pub projection: Projection,
    /// Share of all work (reference accelerator-hours: chips x time x speed) done on capacity
    /// under this contract.
    pub share_of_work: f64,
    /// The current term, from 1 (after the end: the last).
    #[serde(default)]
    pub term: u32,
    /// Terms in all: the first and its stated renewals.
    #[serde(default)]
    pub terms: u32,
    /// Whether the committed pool takes new work now (inside a term).
    #[serde(default)]
    pub open: bool,
    /// Billed at the overage rate (beyond a term's total), dollars.
    #[serde(default)]
    pub overage: f64,
    /// Billed at list outside the terms (capacity still running after the end), dollars.
    #[serde(default)]
    pub list: f64,
    /// Owed for nothing so far: shortfalls of the ended terms and the current term's schedule
    /// not used, dollars.
    #[serde(default)]
    pub shortfall_owed: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::econ::contract::{BurnSchedule, SECONDS_PER_MONTH};

    fn contract() -> Contract {
        Contract {
            name: "gcp-tpu".into(),
            provider: "gcp".into(),
            total: Usd(1_200.0),
            start: SimTime::ZERO,
            term_months: 12.0,
            discount: 0.3,
            overage_discount: 0.0,
            renewals: 0,
            accelerators: vec![],
            regions: vec![],
            burn: BurnSchedule::Linear,
        }
    }

    fn months(m: f64) -> SimTime {
        SimTime::from_secs(m * SECONDS_PER_MONTH)
    }

    /// A list price per hour that costs `usd_per_month` a month at the committed price.
    fn list_for(c: &Contract, usd_per_month: f64) -> f64 {
        c.list_of(usd_per_month / (SECONDS_PER_MONTH / 3600.0))
    }

    #[test]
    fn a_total_caps_committed_charges_and_the_rest_is_overage_at_list() {
        let c = contract();
        let mut l = ContractLedger::default();
        // 200 a month at the committed price for 9 months: 1,800 wanted, 1,200 allowed; the
        // total is reached at 6 months and the last 3 months are billed at list (200 / 0.7).
        let bill = l.bill(&c, SimTime::ZERO, months(9.0), list_for(&c, 200.0));
        assert!((bill.committed - 1_200.0).abs() < 1e-6);
        assert!((bill.overage - 600.0 / 0.7).abs() < 1e-6);
        assert_eq!(bill.list, 0.0);
        assert_eq!(l.spent.0, bill.committed);
        let at = l.exhausted_at.unwrap();
        assert!((at.as_secs() / SECONDS_PER_MONTH - 6.0).abs() < 1e-6);
        assert_eq!(l.pace(&c, months(9.0), 0.0, 0.0, 86_400.0), Pace::Overage);
        let r = l.report(&c, months(9.0), l.work_s);
        assert_eq!(r.projection, Projection::Exhausted { at });
    }

    #[test]
    fn an_overage_rate_stated_in_the_contract_prices_use_beyond_the_total() {
        let c = Contract {
            overage_discount: 0.1,
            ..contract()
        };
        let mut l = ContractLedger::default();
        let list = list_for(&c, 200.0);
        let bill = l.bill(&c, SimTime::ZERO, months(9.0), list);
        // Three months beyond the total at list less 10%.
        assert!((bill.overage - 600.0 / 0.7 * 0.9).abs() < 1e-6);
        let q = l.quote(&c, months(9.0), c.price(list), 0.0, 0.0, 86_400.0);
        assert_eq!(q.pace, Pace::Overage);
        assert!((q.price_per_hour - list * 0.9).abs() < 1e-9);
    }

    #[test]
    fn a_term_ends_its_shortfall_is_owed_and_later_use_is_billed_at_list() {
        let c = contract();
        let mut l = ContractLedger::default();
        // 50 a month from month 6 to month 14: 300 inside the term, 2 months at list after it.
        let list = list_for(&c, 50.0);
        let bill = l.bill(&c, months(6.0), months(14.0), list);
        assert!((bill.committed - 300.0).abs() < 1e-6);
        assert!((bill.list - 100.0 / 0.7).abs() < 1e-6);
        assert_eq!(l.pace(&c, months(13.0), 0.0, 0.0, 86_400.0), Pace::Closed);
        let q = l.quote(&c, months(13.0), c.price(list), 0.0, 0.0, 86_400.0);
        assert_eq!(q.price_per_hour, list);
        // Owed by month 14: the 300 charged, the 900 not used, the list billing.
        let owed = l.owed(&c, months(14.0));
        assert!((owed.committed - 300.0).abs() < 1e-6);
        assert!((owed.shortfall - 900.0).abs() < 1e-6);
        assert!((owed.total() - 1_200.0 - 100.0 / 0.7).abs() < 1e-6);
        // A horizon inside the term owes its prorated schedule: at 9 months, 900 due, 150 spent.
        let mut early = ContractLedger::default();
        early.bill(&c, months(6.0), months(9.0), list);
        assert!((early.owed(&c, months(9.0)).shortfall - 750.0).abs() < 1e-6);
        let r = l.report(&c, months(14.0), 1.0);
        assert!(!r.open);
        assert!((r.shortfall_owed - 900.0).abs() < 1e-6);
        // Nothing is charged at the committed price before the start either.
        let later = Contract {
            start: months(1.0),
            ..contract()
        };
        let mut l = ContractLedger::default();
        let bill = l.bill(&later, SimTime::ZERO, months(2.0), list);
        assert!((bill.list - 50.0 / 0.7).abs() < 1e-6);
        assert!((bill.committed - 50.0).abs() < 1e-6);
    }

    #[test]
    fn a_stated_renewal_opens_a_new_term_with_its_own_total() {
        let c = Contract {
            renewals: 1,
            ..contract()
        };
        let mut l = ContractLedger::default();
        // 150 a month for 24 months: each term caps at 1,200 (8 months), then overage.
        let bill = l.bill(&c, SimTime::ZERO, months(24.0), list_for(&c, 150.0));
        assert!((bill.committed - 2_400.0).abs() < 1e-6);
        assert_eq!(l.term_spent.len(), 2);
        assert!((l.term_spent[1] - 1_200.0).abs() < 1e-6);
        assert!((bill.overage - 2.0 * 600.0 / 0.7).abs() < 1e-6);
        assert_eq!(bill.list, 0.0);
        assert_eq!(l.pace(&c, months(13.0), 0.0, 0.0, 86_400.0), Pace::Overage);
        assert_eq!(l.owed(&c, months(24.0)).shortfall, 0.0);
        // Used lightly, each term owes its own shortfall.
        let mut light = ContractLedger::default();
        light.bill(&c, SimTime::ZERO, months(24.0), list_for(&c, 50.0));
        assert!((light.owed(&c, months(24.0)).shortfall - 1_200.0).abs() < 1e-6);
    }

    /// Use from month `from` to month `to` at `committed_a_month` dollars a month.
    fn used(from: f64, to: f64, committed_a_month: f64) -> CoveredUse {
        CoveredUse {
            from: months(from),
            to: months(to),
            committed_per_hour: committed_a_month / (SECONDS_PER_MONTH / 3600.0),
            work_s: 1.0,
        }
    }

    #[test]
    fn stored_uses_are_billed_in_time_order_term_by_term() {
        let c = Contract {
            renewals: 1,
            ..contract()
        };
        // Two overlapping attempts: 100 + 50 a month for the first 4 months, then 100 alone
        // until month 14 (past the first term's end at 12): the first term is charged
        // 600 + 800 = 1,400 > 1,200, so it caps at 1,200 (at 10 months) and the rest of it is
        // overage; the renewal is charged only months 12 to 14 (200), not what the first term
        // had spent beyond its total.
        let l = ContractLedger::from_uses(&c, &[used(0.0, 14.0, 100.0), used(0.0, 4.0, 50.0)]);
        assert!((l.term_spent(&c, 0) - 1_200.0).abs() < 1e-6, "{l:?}");
        assert!((l.term_spent(&c, 1) - 200.0).abs() < 1e-6, "{l:?}");
        assert!((l.overage.0 - 200.0 / 0.7).abs() < 1e-6, "{l:?}");
        assert_eq!(l.list.0, 0.0);
        assert_eq!(l.work_s, 2.0);
        let at = l.exhausted_at.unwrap().as_secs() / SECONDS_PER_MONTH;
        assert!((at - 10.0).abs() < 1e-3, "{at}");
        // Without a renewal, what runs past the end is billed at list, not to the contract.
        let plain = contract();
        let l = ContractLedger::from_uses(&plain, &[used(11.0, 13.0, 100.0)]);
        assert!((l.spent.0 - 100.0).abs() < 1e-6);
        assert!((l.list.0 - 100.0 / 0.7).abs() < 1e-6);
        // The order the uses come in does not matter; empty and backwards stretches are nothing.
        let a = [
            used(0.0, 14.0, 100.0),
            used(0.0, 4.0, 50.0),
            used(5.0, 5.0, 9.0),
        ];
        let b = [a[2], a[1], a[0]];
        assert_eq!(
            ContractLedger::from_uses(&c, &a),
            ContractLedger::from_uses(&c, &b)
        );
        assert_eq!(
            ContractLedger::from_uses(&c, &[]),
            ContractLedger::default()
        );
    }

    #[test]
    fn projections_say_on_track_shortfall_or_exhausted() {
        let c = contract();
        let at = months(3.0);
        let list = list_for(&c, 100.0);
        let mut l = ContractLedger::default();
        l.bill(&c, SimTime::ZERO, at, list);
        l.record_work(10.0);
        let r = l.report(&c, at, 40.0);
        assert_eq!(r.projection, Projection::OnTrack);
        assert!((r.burn_ratio - 1.0).abs() < 1e-9);
        assert!((r.share_of_work - 0.25).abs() < 1e-12);
        let mut low = ContractLedger::default();
        low.bill(&c, SimTime::ZERO, at, list / 2.0);
        match low.report(&c, at, 1.0).projection {
            Projection::Shortfall { lost } => assert!((lost.0 - 600.0).abs() < 1e-3),
            p => panic!("{p:?}"),
        }
        // Pace: 300 spent at 3 months, schedule 100/month; over one month with 50 committed by
        // running capacity, 350 + 90 <= 440 allowed (400 and the 10% lead), but 100 more would
        // reach 450.
        let pace = |added: f64| l.pace(&c, at, 50.0, added, SECONDS_PER_MONTH);
        assert!(pace(89.0) == Pace::Within);
        assert_eq!(pace(100.0), Pace::Ahead);
        let mut high = ContractLedger::default();
        high.bill(&c, SimTime::ZERO, at, list * 2.0);
        match high.report(&c, at, 1.0).projection {
            // Twice the schedule: used up at 6 months.
            Projection::Exhausted { at } => {
                assert!((at.as_secs() / SECONDS_PER_MONTH - 6.0).abs() < 1e-3)
            }
            p => panic!("{p:?}"),
        }
    }
}
