//! The two-stage stochastic model (docs/plan.md has it in math).
//!
//! First stage, decided before demand is known: servers ordered per build option and quarter
//! (integer), and per commitment offer at most one (tier, start) with its total spend. Second
//! stage, per scenario and period: chips rented on demand and on spot, committed chips used,
//! chips of each accelerator given to each class, work deferred or lost. Second-stage quantities
//! are average chips over the period; demand is in reference chips (reference-hours / hours in
//! the period); money in millions of USD inside the LP.

use crate::demand::Scenario;
use crate::input::{HOURS_PER_MONTH, PlanInput, RentKind};
use crate::lp::{Col, Lp};
use serde::Serialize;

/// USD per LP money unit.
pub(crate) const MONEY: f64 = 1e6;

/// A build option that may order this many servers a quarter or more is solved with continuous
/// orders, rounded to whole servers afterwards (`solve` fixes the rounded orders and solves the
/// second stage again): half a server in hundreds changes the cost by well under the MIP gap,
/// and branching on such orders is where branch and cut spent its time.
pub const CONTINUOUS_BUILD_MIN_SERVERS: f64 = 100.0;

/// Which sources a solve may use.
#[derive(Debug, Clone, Copy)]
pub struct Restrictions {
    pub builds: bool,
    pub commitments: bool,
    pub spot: bool,
    /// Multiplies every rental price (the build-to-peak sizing makes rentals a last resort).
    pub rental_price_factor: f64,
}

impl Restrictions {
    /// Everything allowed.
    pub const ALL: Restrictions = Restrictions {
        builds: true,
        commitments: true,
        spot: true,
        rental_price_factor: 1.0,
    };
}

/// A chosen commitment: which tier, when it starts, how much is committed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Chosen {
    pub tier: usize,
    pub start_month: usize,
    /// Total committed spend over the term, USD.
    pub spend_usd: f64,
}

/// The first-stage decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// `builds[b][q]`: chips ordered from build option `b` in quarter `q`.
    pub builds: Vec<Vec<f64>>,
    /// `commitments[c]`: the commitment signed under offer `c`, if any.
    pub commitments: Vec<Option<Chosen>>,
}

impl Decision {
    /// Nothing built, nothing committed.
    pub fn none(input: &PlanInput) -> Decision {
        Decision {
            builds: vec![vec![0.0; quarters(input)]; input.builds.len()],
            commitments: vec![None; input.commitments.len()],
        }
    }
}

/// Which first-stage parts are fixed.
#[derive(Debug, Clone, Default)]
pub struct Fixings {
    /// Builds fixed to these chips per option and quarter.
    pub builds: Option<Vec<Vec<f64>>>,
    /// `commitments[c]`: `Some(choice)` fixes offer `c` to `choice`; `None` leaves it free.
    pub commitments: Vec<Option<Option<Chosen>>>,
    /// Offers that must be signed (one of their tiers and starts).
    pub required: Vec<usize>,
}

impl Fixings {
    /// Everything fixed to `d`.
    pub fn all(d: &Decision) -> Fixings {
        Fixings {
            builds: Some(d.builds.clone()),
            commitments: d.commitments.iter().map(|c| Some(*c)).collect(),
            required: Vec::new(),
        }
    }
}

/// Cost categories, in the order of [`CostBreakdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cat {
    Owned,
    Build,
    Commit,
    OnDemand,
    Spot,
    Deferral,
    Lost,
    Shortfall,
}

/// Present value of costs by source, USD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CostBreakdown {
    pub owned: f64,
    pub build: f64,
    pub commitment: f64,
    pub on_demand: f64,
    pub spot: f64,
    pub deferral: f64,
    pub lost: f64,
    /// Work the capacity limits left unserved beyond the service level, priced at the
    /// shortfall penalty (only baselines evaluated on paths they cannot serve have any).
    pub shortfall: f64,
}

impl CostBreakdown {
    /// The sum.
    pub fn total(&self) -> f64 {
        self.owned
            + self.build
            + self.commitment
            + self.on_demand
            + self.spot
            + self.deferral
            + self.lost
            + self.shortfall
    }

    fn add(&mut self, cat: Cat, v: f64) {
        let slot = match cat {
            Cat::Owned => &mut self.owned,
            Cat::Build => &mut self.build,
            Cat::Commit => &mut self.commitment,
            Cat::OnDemand => &mut self.on_demand,
            Cat::Spot => &mut self.spot,
            Cat::Deferral => &mut self.deferral,
            Cat::Lost => &mut self.lost,
            Cat::Shortfall => &mut self.shortfall,
        };
        *slot += v;
    }

    /// `self + w x other`.
    pub(crate) fn add_scaled(&mut self, other: &CostBreakdown, w: f64) {
        self.owned += w * other.owned;
        self.build += w * other.build;
        self.commitment += w * other.commitment;
        self.on_demand += w * other.on_demand;
        self.spot += w * other.spot;
        self.deferral += w * other.deferral;
        self.lost += w * other.lost;
        self.shortfall += w * other.shortfall;
    }
}

/// Quarters in the horizon (orders are placed at quarter starts).
pub(crate) fn quarters(input: &PlanInput) -> usize {
    input.periods.horizon_months().div_ceil(3)
}

/// Discount factor of month `m`.
pub(crate) fn discount(input: &PlanInput, m: usize) -> f64 {
    (1.0 + input.discount_rate).powf(-(m as f64) / 12.0)
}

/// Months of period `t` inside `[from, to)`, as a share of the period.
fn overlap(input: &PlanInput, t: usize, from: usize, to: usize) -> f64 {
    let p = input.periods.months;
    let (a, b) = (t * p, (t + 1) * p);
    let n = b.min(to).saturating_sub(a.max(from));
    n as f64 / p as f64
}

/// Mean discount factor over the months of period `t`.
pub(crate) fn period_discount(input: &PlanInput, t: usize) -> f64 {
    let p = input.periods.months;
    (t * p..(t + 1) * p)
        .map(|m| discount(input, m))
        .sum::<f64>()
        / p as f64
}

/// Level monthly payment that repays `capex` over `months` at the plan's discount rate.
pub(crate) fn annuity(input: &PlanInput, capex: f64, months: usize) -> f64 {
    let i = (1.0 + input.discount_rate).powf(1.0 / 12.0) - 1.0;
    if i <= 0.0 {
        capex / months as f64
    } else {
        capex * i / (1.0 - (1.0 + i).powf(-(months as f64)))
    }
}

/// The penalty per reference-hour of work left unserved beyond the service level.
pub(crate) fn shortfall_penalty(input: &PlanInput) -> f64 {
    1000f64
        .max(10.0 * input.lost_cost.unwrap_or(0.0))
        .max(10.0 * input.deferral_cost.unwrap_or(0.0))
}

/// The columns of one (tier, start) of an offer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CommitCols {
    pub tier: usize,
    pub start: usize,
    pub spend: Col,
}

/// Second-stage columns of one scenario and period.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeriodCols {
    /// (class, accelerator, column).
    pub w: Vec<(usize, usize, Col)>,
    /// (rental, column).
    pub rent: Vec<(usize, Col)>,
    /// (commitment, accelerator, column).
    pub used: Vec<(usize, usize, Col)>,
    pub backlog: Vec<Option<Col>>,
    pub lost: Vec<Option<Col>>,
    pub shortfall: Vec<Col>,
}

/// The built model and where its columns are.
pub(crate) struct Model {
    pub lp: Lp,
    pub build_cols: Vec<Vec<Option<Col>>>,
    pub commit_cols: Vec<Vec<CommitCols>>,
    /// `periods[s][t]`.
    pub periods: Vec<Vec<PeriodCols>>,
    /// Columns `0..first_stage_cols` are the first stage; scenario `s`'s columns follow in one
    /// run from `scenario_start[s]` (to the next scenario's start or the end).
    pub first_stage_cols: usize,
    pub scenario_start: Vec<Col>,
    /// Per column: its cost category, its scenario (first stage: `None`) and its cost without
    /// the scenario's probability, USD.
    tags: Vec<(Cat, Option<u32>, f64)>,
    /// Present value of the owned fleet's opex, USD (the same in every scenario).
    pub owned_cost: f64,
}

/// Capacity (average chips) an order of one chip in quarter `q` of option `b` gives in `t`.
pub(crate) fn build_share(input: &PlanInput, b: usize, q: usize, t: usize) -> f64 {
    let o = &input.builds[b];
    let arrive = 3 * q + o.lead_time_months;
    overlap(input, t, arrive, arrive + o.lifetime_months)
}

/// Whether option `b` may order in quarter `q`.
pub(crate) fn may_order(input: &PlanInput, b: usize, q: usize) -> bool {
    let o = &input.builds[b];
    3 * q >= o.first_order_month && 3 * q + o.lead_time_months < input.periods.horizon_months()
}

/// Share of period `t` that (tier, start) of offer `c` is active, divided by the term in
/// periods: the share of the total committed value available in `t`.
pub(crate) fn commit_share(input: &PlanInput, c: usize, start: usize, t: usize) -> f64 {
    let term = input.commitments[c].term_months;
    overlap(input, t, start, start + term) * input.periods.months as f64 / term as f64
}

/// Owned chips of accelerator `a` in service in period `t` (average).
pub(crate) fn owned_chips(input: &PlanInput, a: usize, t: usize) -> f64 {
    input
        .owned
        .iter()
        .filter(|o| o.accelerator == a)
        .map(|o| {
            let end = o.retire_month.unwrap_or(usize::MAX);
            o.chips * overlap(input, t, 0, end)
        })
        .sum()
}

/// Builds the model for `scenarios` with `fixings` and `restrictions`. `relax` makes every
/// integer column continuous.
// Periods index several parallel tables (demand, columns, timeline): a range reads best.
#[allow(clippy::needless_range_loop)]
pub(crate) fn build(
    input: &PlanInput,
    scenarios: &[Scenario],
    fixings: &Fixings,
    restrictions: Restrictions,
    relax: bool,
) -> Model {
    let mut lp = Lp::default();
    let mut tags = Vec::new();
    let hours = input.hours_per_period();
    let n_t = input.periods.count;
    let n_acc = input.accelerators.len();
    let col =
        |lp: &mut Lp, tags: &mut Vec<_>, cat, scen: Option<u32>, unit: f64, p: f64, lb, ub, int| {
            tags.push((cat, scen, unit));
            lp.col(unit * p / MONEY, lb, ub, int)
        };

    // Owned fleet: a constant.
    let mut owned_cost = 0.0;
    for o in &input.owned {
        let end = o.retire_month.unwrap_or(usize::MAX);
        for m in 0..input.periods.horizon_months().min(end) {
            owned_cost += o.chips * o.opex_per_chip_hour * HOURS_PER_MONTH * discount(input, m);
        }
    }

    // First stage: builds.
    let nq = quarters(input);
    let mut build_cols = Vec::new();
    for (b, o) in input.builds.iter().enumerate() {
        let per_chip_month = annuity(input, o.capex_per_chip, o.lifetime_months)
            + o.opex_per_chip_hour * HOURS_PER_MONTH;
        let mut cols = Vec::new();
        for q in 0..nq {
            let fixed = fixings.builds.as_ref().map(|f| f[b][q]);
            if (!restrictions.builds && fixed.is_none()) || !may_order(input, b, q) {
                cols.push(None);
                continue;
            }
            let arrive = 3 * q + o.lead_time_months;
            let end = (arrive + o.lifetime_months).min(input.periods.horizon_months());
            let pv: f64 = (arrive..end).map(|m| discount(input, m)).sum::<f64>() * per_chip_month;
            let cps = f64::from(o.chips_per_server);
            let (lb, ub, int) = match fixed {
                Some(chips) => (chips / cps, chips / cps, false),
                None => {
                    let servers = (o.max_chips_per_quarter / cps).floor();
                    (
                        0.0,
                        servers,
                        !relax && servers < CONTINUOUS_BUILD_MIN_SERVERS,
                    )
                }
            };
            if ub <= 0.0 {
                cols.push(None);
                continue;
            }
            cols.push(Some(col(
                &mut lp,
                &mut tags,
                Cat::Build,
                None,
                pv * cps,
                1.0,
                lb,
                ub,
                int,
            )));
        }
        build_cols.push(cols);
    }

    // First stage: commitments.
    let peak_ref_chips = scenarios
        .iter()
        .flat_map(|s| (0..n_t).map(move |t| s.demand.iter().map(|d| d[t]).sum::<f64>()))
        .fold(0.0, f64::max)
        / hours;
    let mut commit_cols = Vec::new();
    for (c, offer) in input.commitments.iter().enumerate() {
        let mut cols = Vec::new();
        let fixed = fixings.commitments.get(c).copied().flatten();
        let allowed = restrictions.commitments || fixed.is_some();
        if allowed {
            let choices: Vec<(usize, usize, Option<f64>)> = match fixed {
                Some(Some(ch)) => vec![(ch.tier, ch.start_month, Some(ch.spend_usd))],
                Some(None) => Vec::new(),
                None => offer
                    .tiers
                    .iter()
                    .enumerate()
                    .flat_map(|(j, _)| offer.start_months.iter().map(move |&s| (j, s, None)))
                    .collect(),
            };
            // A useful spend is at most the list value of the peak work on the dearest covered
            // accelerator at its slowest useful speed, for the whole term.
            let max_price = offer.covered.iter().map(|x| x.1).fold(0.0, f64::max);
            let min_speed = offer
                .covered
                .iter()
                .flat_map(|&(a, _)| input.accelerators[a].speed.iter().copied())
                .filter(|&v| v > 0.0)
                .fold(f64::INFINITY, f64::min);
            let useful = if min_speed.is_finite() {
                peak_ref_chips / min_speed * max_price * HOURS_PER_MONTH * offer.term_months as f64
            } else {
                0.0
            };
            let mut zs = Vec::new();
            for (j, start, spend) in choices {
                let tier = offer.tiers[j];
                let pv: f64 = (start
                    ..(start + offer.term_months).min(input.periods.horizon_months()))
                    .map(|m| discount(input, m))
                    .sum::<f64>()
                    / offer.term_months as f64;
                let (lb, ub) = match spend {
                    Some(s) => (s / MONEY, s / MONEY),
                    None => (
                        0.0,
                        tier.max_spend.min(useful.max(tier.min_spend) * 2.0) / MONEY,
                    ),
                };
                // S is in millions: a unit of it costs pv x 1e6 USD.
                let s_col = col(
                    &mut lp,
                    &mut tags,
                    Cat::Commit,
                    None,
                    pv * MONEY,
                    1.0,
                    lb,
                    ub,
                    false,
                );
                if spend.is_none() {
                    let z = col(
                        &mut lp,
                        &mut tags,
                        Cat::Commit,
                        None,
                        0.0,
                        1.0,
                        0.0,
                        1.0,
                        !relax,
                    );
                    lp.row(
                        0.0,
                        f64::INFINITY,
                        [(s_col, 1.0), (z, -tier.min_spend / MONEY)],
                    );
                    lp.row(f64::NEG_INFINITY, 0.0, [(s_col, 1.0), (z, -ub)]);
                    zs.push(z);
                }
                cols.push(CommitCols {
                    tier: j,
                    start,
                    spend: s_col,
                });
            }
            if !zs.is_empty() {
                let lb = if fixings.required.contains(&c) {
                    1.0
                } else {
                    0.0
                };
                lp.row(lb, 1.0, zs.iter().map(|&z| (z, 1.0)));
            }
        }
        commit_cols.push(cols);
    }

    // Second stage.
    let penalty = shortfall_penalty(input);
    let sigma = input.service_level;
    let mut periods = Vec::new();
    let first_stage_cols = lp.num_cols();
    let mut scenario_start = Vec::with_capacity(scenarios.len());
    for (si, s) in scenarios.iter().enumerate() {
        scenario_start.push(lp.num_cols());
        let sc = Some(si as u32);
        let p = s.probability;
        let demand: Vec<Vec<f64>> = s
            .demand
            .iter()
            .map(|row| row.iter().map(|d| d / hours).collect())
            .collect();
        let mut per = Vec::new();
        let mut prev_backlog: Vec<Option<Col>> = vec![None; input.classes.len()];
        let mut prev_bank: Vec<Option<Col>> = vec![None; input.commitments.len()];
        for t in 0..n_t {
            let money = hours * period_discount(input, t);
            let mut pc = PeriodCols::default();
            // Rentals.
            for (r, rent) in input.rentals.iter().enumerate() {
                let ok = match rent.kind {
                    RentKind::OnDemand => true,
                    RentKind::Spot => restrictions.spot,
                };
                if !ok {
                    continue;
                }
                let (cat, ub) = match rent.kind {
                    RentKind::OnDemand => (Cat::OnDemand, rent.max_chips),
                    RentKind::Spot => (Cat::Spot, rent.max_chips),
                };
                let unit = rent.price_per_chip_hour * restrictions.rental_price_factor * money;
                let c = col(
                    &mut lp,
                    &mut tags,
                    cat,
                    sc,
                    unit,
                    p,
                    0.0,
                    ub.unwrap_or(f64::INFINITY),
                    false,
                );
                pc.rent.push((r, c));
            }
            // Committed usage, where some chosen or possible commitment is active.
            let mut commit_rows = Vec::new();
            for (c, offer) in input.commitments.iter().enumerate() {
                let active: Vec<(Col, f64)> = commit_cols[c]
                    .iter()
                    .map(|cc| {
                        let d = offer.tiers[cc.tier].discount;
                        (cc.spend, commit_share(input, c, cc.start, t) / (1.0 - d))
                    })
                    .filter(|x| x.1 > 0.0)
                    .collect();
                if active.is_empty() && (offer.use_it_or_lose_it || prev_bank[c].is_none()) {
                    continue;
                }
                let mut entries: Vec<(Col, f64)> = Vec::new();
                for &(a, price) in &offer.covered {
                    let u = col(
                        &mut lp,
                        &mut tags,
                        Cat::Commit,
                        sc,
                        0.0,
                        p,
                        0.0,
                        f64::INFINITY,
                        false,
                    );
                    pc.used.push((c, a, u));
                    entries.push((u, price * hours / MONEY));
                }
                if let Some(m) = offer.max_chips {
                    lp.row(f64::NEG_INFINITY, m, entries.iter().map(|&(u, _)| (u, 1.0)));
                }
                entries.extend(active.iter().map(|&(s_col, share)| (s_col, -share)));
                if !offer.use_it_or_lose_it {
                    // Unused value carries forward in a bank (within the horizon).
                    let bank = col(
                        &mut lp,
                        &mut tags,
                        Cat::Commit,
                        sc,
                        0.0,
                        p,
                        0.0,
                        f64::INFINITY,
                        false,
                    );
                    entries.push((bank, 1.0));
                    if let Some(prev) = prev_bank[c] {
                        entries.push((prev, -1.0));
                    }
                    prev_bank[c] = Some(bank);
                }
                commit_rows.push(entries);
            }
            for entries in commit_rows {
                lp.row(f64::NEG_INFINITY, 0.0, entries);
            }
            // Work given to classes.
            for (k, _) in input.classes.iter().enumerate() {
                for (a, acc) in input.accelerators.iter().enumerate() {
                    if acc.speed[k] > 0.0 {
                        let c = col(
                            &mut lp,
                            &mut tags,
                            Cat::Owned,
                            sc,
                            0.0,
                            p,
                            0.0,
                            f64::INFINITY,
                            false,
                        );
                        pc.w.push((k, a, c));
                    }
                }
            }
            // Capacity of each accelerator.
            for a in 0..n_acc {
                let mut entries: Vec<(Col, f64)> =
                    pc.w.iter()
                        .filter(|x| x.1 == a)
                        .map(|x| (x.2, 1.0))
                        .collect();
                if entries.is_empty() {
                    continue;
                }
                for &(r, c) in &pc.rent {
                    if input.rentals[r].accelerator == a {
                        entries.push((c, -input.rentals[r].efficiency));
                    }
                }
                for &(_, ua, c) in &pc.used {
                    if ua == a {
                        entries.push((c, -1.0));
                    }
                }
                for (b, cols) in build_cols.iter().enumerate() {
                    if input.builds[b].accelerator != a {
                        continue;
                    }
                    let cps = f64::from(input.builds[b].chips_per_server);
                    for (q, c) in cols.iter().enumerate() {
                        if let Some(c) = c {
                            entries.push((*c, -cps * build_share(input, b, q, t)));
                        }
                    }
                }
                lp.row(f64::NEG_INFINITY, owned_chips(input, a, t), entries);
            }
            // Demand, deferral, service level.
            for k in 0..input.classes.len() {
                let d = demand[k][t];
                let mut entries: Vec<(Col, f64)> =
                    pc.w.iter()
                        .filter(|x| x.0 == k)
                        .map(|x| (x.2, input.accelerators[x.1].speed[k]))
                        .collect();
                let backlog = (sigma < 1.0 && input.deferral_cost.is_some()).then(|| {
                    let unit = input.deferral_cost.unwrap_or(0.0) * money;
                    col(
                        &mut lp,
                        &mut tags,
                        Cat::Deferral,
                        sc,
                        unit,
                        p,
                        0.0,
                        f64::INFINITY,
                        false,
                    )
                });
                let lost = (sigma < 1.0 && input.lost_cost.is_some()).then(|| {
                    let unit = input.lost_cost.unwrap_or(0.0) * money;
                    col(
                        &mut lp,
                        &mut tags,
                        Cat::Lost,
                        sc,
                        unit,
                        p,
                        0.0,
                        f64::INFINITY,
                        false,
                    )
                });
                let short = col(
                    &mut lp,
                    &mut tags,
                    Cat::Shortfall,
                    sc,
                    penalty * money,
                    p,
                    0.0,
                    f64::INFINITY,
                    false,
                );
                entries.extend(backlog.map(|c| (c, 1.0)));
                entries.extend(lost.map(|c| (c, 1.0)));
                entries.push((short, 1.0));
                if let Some(prev) = prev_backlog[k] {
                    entries.push((prev, -1.0));
                }
                lp.row(d, d, entries);
                if backlog.is_some() || lost.is_some() {
                    lp.row(
                        f64::NEG_INFINITY,
                        (1.0 - sigma) * d,
                        backlog.iter().chain(lost.iter()).map(|&c| (c, 1.0)),
                    );
                }
                prev_backlog[k] = backlog;
                pc.backlog.push(backlog);
                pc.lost.push(lost);
                pc.shortfall.push(short);
            }
            per.push(pc);
        }
        periods.push(per);
    }
    Model {
        lp,
        build_cols,
        commit_cols,
        periods,
        first_stage_cols,
        scenario_start,
        tags,
        owned_cost,
    }
}

impl Model {
    /// The first-stage decision in a solution.
    pub(crate) fn decision(&self, input: &PlanInput, x: &[f64]) -> Decision {
        let builds = self
            .build_cols
            .iter()
            .enumerate()
            .map(|(b, cols)| {
                let cps = f64::from(input.builds[b].chips_per_server);
                cols.iter()
                    .map(|c| c.map(|c| (x[c] * cps * 1e6).round() / 1e6).unwrap_or(0.0))
                    .collect()
            })
            .collect();
        let commitments = self
            .commit_cols
            .iter()
            .map(|cols| {
                cols.iter()
                    .filter(|cc| x[cc.spend] > 1e-9)
                    .max_by(|a, b| x[a.spend].total_cmp(&x[b.spend]))
                    .map(|cc| Chosen {
                        tier: cc.tier,
                        start_month: cc.start,
                        spend_usd: x[cc.spend] * MONEY,
                    })
            })
            .collect();
        Decision {
            builds,
            commitments,
        }
    }

    /// Cost by category per scenario (first-stage and owned costs in every scenario), USD.
    pub(crate) fn costs(&self, x: &[f64]) -> Vec<CostBreakdown> {
        let mut first = CostBreakdown {
            owned: self.owned_cost,
            ..CostBreakdown::default()
        };
        let mut per = vec![CostBreakdown::default(); self.periods.len()];
        for (c, &(cat, scen, unit)) in self.tags.iter().enumerate() {
            let v = unit * x[c];
            if v == 0.0 {
                continue;
            }
            match scen {
                None => first.add(cat, v),
                Some(s) => per[s as usize].add(cat, v),
            }
        }
        for p in &mut per {
            p.add_scaled(&first, 1.0);
        }
        per
    }
}
