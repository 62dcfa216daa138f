//! Solving a built model: exactly as a MILP when it is small enough, else by relax-and-fix
//! (the LP relaxation, its integer choices rounded and fixed, the LP solved again); then
//! reading the solution back into a decision, costs and a timeline.

use crate::demand::Scenario;
use crate::error::PlanError;
use crate::input::{PlanInput, RentKind};
use crate::lp::{Highs, Lp, LpSolution, Solver};
use crate::model::{
    self, CostBreakdown, Decision, Fixings, Model, Restrictions, build_share, owned_chips,
};
use serde::Serialize;
use std::time::{Duration, Instant};

/// Above this many columns a MILP is solved by relax-and-fix instead of branch and cut.
pub const EXACT_MILP_MAX_COLS: usize = 150_000;

/// How a solve went.
#[derive(Debug, Clone, Serialize)]
pub struct SolveStats {
    pub columns: usize,
    pub rows: usize,
    pub integer_columns: usize,
    /// `lp`, `milp` or `relax-and-fix`.
    pub method: &'static str,
    pub seconds: f64,
    /// MIP gap when stopped at the time limit.
    pub gap: Option<f64>,
}

/// One period of the expected timeline.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PeriodRow {
    pub period: usize,
    pub month: usize,
    /// Expected demand, reference-hours.
    pub demand_ref_hours: f64,
    /// Expected work served per source, reference-hours.
    pub owned_ref_hours: f64,
    pub built_ref_hours: f64,
    pub committed_ref_hours: f64,
    pub on_demand_ref_hours: f64,
    pub spot_ref_hours: f64,
    pub deferred_ref_hours: f64,
    pub lost_ref_hours: f64,
    pub shortfall_ref_hours: f64,
    /// Chips in service or rented on average (expected).
    pub owned_chips: f64,
    pub built_chips: f64,
    pub committed_chips: f64,
    pub on_demand_chips: f64,
    pub spot_chips: f64,
    /// Per commitment offer: expected spend on it at committed prices, USD.
    pub committed_spend_usd: Vec<f64>,
    /// Per commitment offer: what the schedule makes payable, USD.
    pub committed_schedule_usd: Vec<f64>,
}

/// A solved model, read back.
#[derive(Debug, Clone)]
pub struct Solved {
    pub decision: Decision,
    /// Per scenario, present value of costs by category, USD.
    pub costs: Vec<CostBreakdown>,
    pub probabilities: Vec<f64>,
    pub timeline: Vec<PeriodRow>,
    pub stats: SolveStats,
    /// First shortfall, when any: (scenario, class, period, reference-hours).
    pub shortfall: Option<(usize, usize, usize, f64)>,
}

impl Solved {
    /// Expected cost (NPV of costs), USD.
    pub fn expected_cost(&self) -> f64 {
        self.costs
            .iter()
            .zip(&self.probabilities)
            .map(|(c, p)| p * c.total())
            .sum()
    }

    /// Expected cost by category.
    pub fn expected_breakdown(&self) -> CostBreakdown {
        let mut out = CostBreakdown::default();
        for (c, p) in self.costs.iter().zip(&self.probabilities) {
            out.add_scaled(c, *p);
        }
        out
    }
}

fn solve_lp(lp: &Lp, input: &PlanInput, deadline: Instant) -> Result<LpSolution, PlanError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(PlanError::Solver {
            message: format!(
                "out of time ([plan] time_limit_s = {} s) before the solve",
                input.time_limit_s
            ),
        });
    }
    Highs::default().solve_bounded(lp, left)
}

/// Builds and solves the model of `scenarios` under `fixings` and `restrictions`.
pub fn solve(
    input: &PlanInput,
    scenarios: &[Scenario],
    fixings: &Fixings,
    restrictions: Restrictions,
) -> Result<Solved, PlanError> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(input.time_limit_s);
    let exact = model::build(input, scenarios, fixings, restrictions, false);
    let integers = exact.lp.integer.iter().filter(|&&i| i).count();
    let (m, sol, method) = if integers == 0 {
        let sol = solve_lp(&exact.lp, input, deadline)?;
        (exact, sol, "lp")
    } else if exact.lp.num_cols() <= EXACT_MILP_MAX_COLS {
        let sol = solve_lp(&exact.lp, input, deadline)?;
        (exact, sol, "milp")
    } else {
        drop(exact);
        let relaxed = model::build(input, scenarios, fixings, restrictions, true);
        let sol = solve_lp(&relaxed.lp, input, deadline)?;
        let mut d = relaxed.decision(input, &sol.x);
        drop(relaxed);
        // Sign an offer only where the relaxation commits at least half its tier's minimum.
        for (c, choice) in d.commitments.iter_mut().enumerate() {
            let too_small = choice.is_some_and(|ch| {
                ch.spend_usd < 0.5 * input.commitments[c].tiers[ch.tier].min_spend
            });
            if too_small {
                *choice = None;
            }
        }
        // Round builds to whole servers.
        for (b, row) in d.builds.iter_mut().enumerate() {
            let cps = f64::from(input.builds[b].chips_per_server);
            for v in row.iter_mut() {
                *v = (*v / cps).round() * cps;
            }
        }
        let mut fixed = Fixings::all(&d);
        // Spend stays free within the chosen tier and start, so the second solve may resize it.
        for (c, choice) in d.commitments.iter().enumerate() {
            if choice.is_some() && !fixings.commitments.get(c).is_some_and(|f| f.is_some()) {
                fixed.commitments[c] = None;
                fixed.required.push(c);
            }
        }
        let mut input2 = input.clone();
        for &c in &fixed.required {
            // Only the chosen tier and start remain.
            if let Some(ch) = d.commitments[c] {
                let offer = &mut input2.commitments[c];
                offer.tiers = vec![offer.tiers[ch.tier]];
                offer.start_months = vec![ch.start_month];
            }
        }
        let mut m = model::build(&input2, scenarios, &fixed, restrictions, false);
        let sol = solve_lp(&m.lp, input, deadline)?;
        // Report tiers in the offer's own numbering.
        for (c, cols) in m.commit_cols.iter_mut().enumerate() {
            if let Some(ch) = d.commitments[c] {
                for cc in cols.iter_mut() {
                    cc.tier = ch.tier;
                }
            }
        }
        (m, sol, "relax-and-fix")
    };
    let stats = SolveStats {
        columns: m.lp.num_cols(),
        rows: m.lp.num_rows(),
        integer_columns: integers,
        method,
        seconds: started.elapsed().as_secs_f64(),
        gap: sol.gap,
    };
    Ok(read_back(input, scenarios, &m, &sol.x, stats))
}

// Periods index several parallel tables (demand, columns, timeline): a range reads best.
#[allow(clippy::needless_range_loop)]
fn read_back(
    input: &PlanInput,
    scenarios: &[Scenario],
    m: &Model,
    x: &[f64],
    stats: SolveStats,
) -> Solved {
    let decision = m.decision(input, x);
    let costs = m.costs(x);
    let hours = input.hours_per_period();
    let n_t = input.periods.count;
    let n_c = input.commitments.len();
    let mut timeline: Vec<PeriodRow> = (0..n_t)
        .map(|t| PeriodRow {
            period: t,
            month: t * input.periods.months,
            committed_spend_usd: vec![0.0; n_c],
            committed_schedule_usd: vec![0.0; n_c],
            ..PeriodRow::default()
        })
        .collect();
    let mut shortfall: Option<(usize, usize, usize, f64)> = None;
    let built_cap = |a: usize, t: usize| -> f64 {
        (0..input.builds.len())
            .filter(|&b| input.builds[b].accelerator == a)
            .map(|b| {
                decision.builds[b]
                    .iter()
                    .enumerate()
                    .map(|(q, chips)| chips * build_share(input, b, q, t))
                    .sum::<f64>()
            })
            .sum()
    };
    for (si, s) in scenarios.iter().enumerate() {
        let p = s.probability;
        for t in 0..n_t {
            let pc = &m.periods[si][t];
            let row = &mut timeline[t];
            for k in 0..input.classes.len() {
                row.demand_ref_hours += p * s.demand[k][t];
                let v = |c: Option<usize>| c.map(|c| x[c]).unwrap_or(0.0) * hours;
                row.deferred_ref_hours += p * v(pc.backlog[k]);
                row.lost_ref_hours += p * v(pc.lost[k]);
                let short = v(Some(pc.shortfall[k]));
                row.shortfall_ref_hours += p * short;
                // Solver tolerances leave dust; a real shortfall is over an hour and 0.01% of demand.
                if short > (1e-4 * s.demand[k][t]).max(1.0) && shortfall.is_none() {
                    shortfall = Some((si, k, t, short));
                }
            }
            for a in 0..input.accelerators.len() {
                let used: f64 = pc.w.iter().filter(|w| w.1 == a).map(|w| x[w.2]).sum();
                if used <= 0.0 {
                    continue;
                }
                let work: f64 =
                    pc.w.iter()
                        .filter(|w| w.1 == a)
                        .map(|w| x[w.2] * input.accelerators[a].speed[w.0])
                        .sum();
                let per_chip = work / used * hours;
                let (mut od, mut spot) = (0.0, 0.0);
                for &(r, c) in &pc.rent {
                    let rent = &input.rentals[r];
                    if rent.accelerator == a {
                        match rent.kind {
                            RentKind::OnDemand => od += x[c] * rent.efficiency,
                            RentKind::Spot => spot += x[c] * rent.efficiency,
                        }
                    }
                }
                let committed: f64 = pc.used.iter().filter(|u| u.1 == a).map(|u| x[u.2]).sum();
                let own_cap = owned_chips(input, a, t);
                let built = built_cap(a, t);
                let internal = (used - od - spot - committed).max(0.0);
                let own_share = if own_cap + built > 0.0 {
                    own_cap / (own_cap + built)
                } else {
                    0.0
                };
                row.owned_ref_hours += p * internal * own_share * per_chip;
                row.built_ref_hours += p * internal * (1.0 - own_share) * per_chip;
                row.committed_ref_hours += p * committed * per_chip;
                row.on_demand_ref_hours += p * od * per_chip;
                row.spot_ref_hours += p * spot * per_chip;
            }
            for &(r, c) in &pc.rent {
                match input.rentals[r].kind {
                    RentKind::OnDemand => row.on_demand_chips += p * x[c],
                    RentKind::Spot => row.spot_chips += p * x[c],
                }
            }
            for &(c, a, col) in &pc.used {
                row.committed_chips += p * x[col];
                let offer = &input.commitments[c];
                let price = offer
                    .covered
                    .iter()
                    .find(|x| x.0 == a)
                    .map(|x| x.1)
                    .unwrap_or(0.0);
                let d = decision.commitments[c]
                    .map(|ch| offer.tiers[ch.tier].discount)
                    .unwrap_or(0.0);
                row.committed_spend_usd[c] += p * x[col] * price * (1.0 - d) * hours;
            }
        }
    }
    for (t, row) in timeline.iter_mut().enumerate() {
        for a in 0..input.accelerators.len() {
            row.owned_chips += owned_chips(input, a, t);
            row.built_chips += built_cap(a, t);
        }
        for (c, choice) in decision.commitments.iter().enumerate() {
            if let Some(ch) = choice {
                row.committed_schedule_usd[c] =
                    ch.spend_usd * model::commit_share(input, c, ch.start_month, t);
            }
        }
    }
    Solved {
        decision,
        costs,
        probabilities: scenarios.iter().map(|s| s.probability).collect(),
        timeline,
        stats,
        shortfall,
    }
}

/// An error naming the binding constraint of the first shortfall in `solved`.
pub fn infeasibility(
    input: &PlanInput,
    scenarios: &[Scenario],
    solved: &Solved,
) -> Option<PlanError> {
    let (s, k, t, short) = solved.shortfall?;
    let class = &input.classes[k];
    let mut limits = Vec::new();
    for (a, acc) in input.accelerators.iter().enumerate() {
        if acc.speed[k] <= 0.0 {
            continue;
        }
        let owned = owned_chips(input, a, t);
        if owned > 0.0 {
            limits.push(format!("owned {} {owned:.0} chips", acc.name));
        }
        for (b, o) in input.builds.iter().enumerate() {
            if o.accelerator == a {
                limits.push(format!(
                    "build[{b}] ({}) max_chips_per_quarter {} with lead time {} months",
                    o.name, o.max_chips_per_quarter, o.lead_time_months
                ));
            }
        }
        for (c, o) in input.commitments.iter().enumerate() {
            if o.covered.iter().any(|x| x.0 == a) {
                limits.push(format!(
                    "commitment[{c}] ({}) max_chips {}",
                    o.name,
                    o.max_chips
                        .map(|m| format!("{m:.0}"))
                        .unwrap_or("unlimited".into())
                ));
            }
        }
        for r in input.rentals.iter().filter(|r| r.accelerator == a) {
            limits.push(format!(
                "rent {} {} {} max {} chips after availability",
                r.provider,
                acc.name,
                match r.kind {
                    RentKind::OnDemand => "on-demand",
                    RentKind::Spot => "spot",
                },
                r.max_chips
                    .map(|m| format!("{m:.0}"))
                    .unwrap_or("unlimited".into())
            ));
        }
    }
    let month = t * input.periods.months;
    Some(PlanError::Infeasible {
        service_level: input.service_level,
        binding: format!(
            "class `{}` in month {month} of scenario `{}` needs {short:.0} reference-hours more \
             than the sources that can run it ({} jobs) can give at their limits: {}",
            class.name,
            scenarios[s].name,
            class.framework,
            if limits.is_empty() {
                "none".to_string()
            } else {
                limits.join("; ")
            }
        ),
    })
}
