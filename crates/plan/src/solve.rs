//! Solving a built model: exactly as a MILP when it is small enough, else by relax-and-fix
//! (the LP relaxation, its integer choices rounded and fixed, the LP solved again); then
//! reading the solution back into a decision, costs and a timeline.

use crate::demand::{Periods, Scenario};
use crate::error::PlanError;
use crate::input::{HOURS_PER_MONTH, PlanInput, RentKind};
use crate::lp::{Highs, Lp, LpSolution, Solver};
use crate::model::{
    self, CostBreakdown, Decision, Fixings, Model, Restrictions, build_share, owned_chips,
};
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// One scenario's second-stage solution (its column values), or why it failed.
type ScenarioSolve = Result<Vec<f64>, PlanError>;

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
    /// Expected cost of the period by source, undiscounted, USD: the owned fleet's opex, the
    /// built chips in service (capex payment and opex), the commitments' payments, rentals at
    /// their prices, deferred and lost work at their costs. `--validate` compares the first
    /// year of these with the simulator.
    pub cost_usd: PeriodCost,
}

/// One period's cost by source, undiscounted, USD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PeriodCost {
    pub owned: f64,
    pub build: f64,
    pub commitment: f64,
    pub on_demand: f64,
    pub spot: f64,
    pub deferral: f64,
    pub lost: f64,
}

impl PeriodCost {
    /// The sum.
    pub fn total(&self) -> f64 {
        self.owned
            + self.build
            + self.commitment
            + self.on_demand
            + self.spot
            + self.deferral
            + self.lost
    }

    /// `self + w x other`.
    pub fn add_scaled(&mut self, other: &PeriodCost, w: f64) {
        self.owned += w * other.owned;
        self.build += w * other.build;
        self.commitment += w * other.commitment;
        self.on_demand += w * other.on_demand;
        self.spot += w * other.spot;
        self.deferral += w * other.deferral;
        self.lost += w * other.lost;
    }
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

fn solve_lp(
    lp: &Lp,
    input: &PlanInput,
    deadline: Instant,
    highs: Highs,
) -> Result<LpSolution, PlanError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(PlanError::Solver {
            message: format!(
                "out of time ([plan] time_limit_s = {} s) before the solve",
                input.time_limit_s
            ),
        });
    }
    highs.solve_bounded(lp, left)
}

/// Whether every first-stage column of `m` is fixed: then the scenarios share nothing and each
/// can be solved alone.
fn first_stage_fixed(m: &Model) -> bool {
    (0..m.first_stage_cols).all(|c| m.lp.lb[c] == m.lp.ub[c])
}

/// Solves the model `full` of `scenarios` under `fixings` (which fix the whole first stage) one
/// scenario at a time, on as many threads as there are cores: the scenarios are independent once
/// the first stage is fixed, and many small LPs solve much faster than one block-diagonal LP.
/// Returns the solution in `full`'s columns.
fn solve_by_scenario(
    input: &PlanInput,
    scenarios: &[Scenario],
    fixings: &Fixings,
    restrictions: Restrictions,
    full: &Model,
    deadline: Instant,
) -> Result<LpSolution, PlanError> {
    let n = scenarios.len();
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, n.max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<ScenarioSolve>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let s = next.fetch_add(1, Ordering::Relaxed);
                    if s >= n || failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let sub = model::build(input, &scenarios[s..=s], fixings, restrictions, false);
                    let r = solve_lp(&sub.lp, input, deadline, Highs::default()).map(|sol| sol.x);
                    if r.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    // A worker that panicked cannot leave the table half-written: each slot is
                    // written once, whole.
                    results.lock().unwrap_or_else(|e| e.into_inner())[s] = Some(r);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let f = full.first_stage_cols;
    let mut x = vec![0.0; full.lp.num_cols()];
    for (s, r) in results.into_iter().enumerate() {
        let Some(r) = r else {
            // Skipped after another scenario failed; that failure is reported below.
            continue;
        };
        let xs = r?;
        let start = full.scenario_start[s];
        let len = xs.len() - f;
        let end = full.scenario_start.get(s + 1).copied().unwrap_or(x.len());
        if end - start != len {
            return Err(PlanError::Solver {
                message: format!(
                    "internal: scenario {s} has {len} columns alone but {} in the whole model",
                    end - start
                ),
            });
        }
        if s == 0 {
            x[..f].copy_from_slice(&xs[..f]);
        }
        x[start..end].copy_from_slice(&xs[f..]);
    }
    if failed.load(Ordering::Relaxed) {
        return Err(PlanError::Solver {
            message: "a scenario's solve failed".into(),
        });
    }
    let objective = full.lp.cost.iter().zip(&x).map(|(c, v)| c * v).sum();
    Ok(LpSolution {
        x,
        objective,
        gap: None,
    })
}

/// Above this many columns a monthly model's relaxation (relax-and-fix's first solve) is solved
/// on quarters: a third of the columns and rows.
pub const QUARTERLY_RELAXATION_MIN_COLS: usize = 600_000;

/// `input` and `scenarios` with months summed into quarters, for choosing the first stage of a
/// large monthly model: orders are placed at quarter starts and commitments start at months,
/// so the quarterly model's first stage is the monthly one's. Deferring work by one quarter
/// costs three months' deferral. `None` unless the plan is monthly over whole quarters.
fn quarterly(input: &PlanInput, scenarios: &[Scenario]) -> Option<(PlanInput, Vec<Scenario>)> {
    if input.periods.months != 1 || !input.periods.count.is_multiple_of(3) {
        return None;
    }
    let mut q = input.clone();
    q.periods = Periods {
        count: input.periods.count / 3,
        months: 3,
    };
    q.deferral_cost = input.deferral_cost.map(|c| 3.0 * c);
    let s = scenarios
        .iter()
        .map(|s| Scenario {
            name: s.name.clone(),
            probability: s.probability,
            demand: s
                .demand
                .iter()
                .map(|row| row.chunks(3).map(|c| c.iter().sum()).collect())
                .collect(),
        })
        .collect();
    Some((q, s))
}

/// The most scenarios relax-and-fix's relaxation sees; more are subsampled
/// (`subsample`). The relaxation's time grows faster than its size (bench-8y: 200 scenarios,
/// 547,277 columns on quarters, 173,354 dual simplex iterations).
pub const RELAXATION_MAX_SCENARIOS: usize = 50;

/// `max` of `scenarios`, evenly spaced (every `n / max`-th), with their probabilities scaled to
/// sum to 1; `None` when there are no more than `max`.
fn subsample(scenarios: &[Scenario], max: usize) -> Option<Vec<Scenario>> {
    let n = scenarios.len();
    if n <= max || max == 0 {
        return None;
    }
    let picked: Vec<&Scenario> = (0..max).map(|i| &scenarios[i * n / max]).collect();
    let total: f64 = picked.iter().map(|s| s.probability).sum();
    Some(
        picked
            .into_iter()
            .map(|s| Scenario {
                name: s.name.clone(),
                probability: s.probability / total,
                demand: s.demand.clone(),
            })
            .collect(),
    )
}

/// Rounds `d`'s builds to whole servers; whether any moved.
fn round_builds(input: &PlanInput, d: &mut Decision) -> bool {
    let mut moved = false;
    for (b, row) in d.builds.iter_mut().enumerate() {
        let cps = f64::from(input.builds[b].chips_per_server);
        for v in row.iter_mut() {
            let r = (*v / cps).round() * cps;
            moved |= (r - *v).abs() > 1e-6 * cps;
            *v = r;
        }
    }
    moved
}

/// The model with the first stage fixed to `d`, solved (one scenario at a time when there are
/// several: with the first stage fixed they are independent).
fn resolve_fixed(
    input: &PlanInput,
    scenarios: &[Scenario],
    d: &Decision,
    restrictions: Restrictions,
    deadline: Instant,
) -> Result<(Model, LpSolution), PlanError> {
    let fixed = Fixings::all(d);
    let m = model::build(input, scenarios, &fixed, restrictions, false);
    let sol = if scenarios.len() > 1 {
        solve_by_scenario(input, scenarios, &fixed, restrictions, &m, deadline)?
    } else {
        solve_lp(&m.lp, input, deadline, Highs::default())?
    };
    Ok((m, sol))
}

/// Builds and solves the model of `scenarios` under `fixings` and `restrictions`.
///
/// A first stage fixed by `fixings` (the baselines, the out-of-sample evaluation) is solved one
/// scenario at a time; a model with no integer column as one LP; a MILP of up to
/// [`EXACT_MILP_MAX_COLS`] columns by branch and cut; a larger one by relax-and-fix.
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
    let fixed_first = first_stage_fixed(&exact);
    let (m, sol, method) = if scenarios.len() > 1 && fixed_first {
        let sol = solve_by_scenario(input, scenarios, fixings, restrictions, &exact, deadline)?;
        (exact, sol, "lp by scenario")
    } else if integers == 0 || exact.lp.num_cols() <= EXACT_MILP_MAX_COLS {
        let (highs, method) = if integers == 0 {
            (Highs::default(), "lp")
        } else {
            (Highs::default(), "milp")
        };
        let sol = solve_lp(&exact.lp, input, deadline, highs)?;
        let mut d = exact.decision(input, &sol.x);
        // A first stage given whole (a baseline's) is never rounded.
        if !fixed_first && round_builds(input, &mut d) {
            // Orders of a large build option were continuous (see
            // CONTINUOUS_BUILD_MIN_SERVERS): fix them rounded and solve the scenarios again.
            let gap = sol.gap;
            drop(exact);
            let (m, mut sol) = resolve_fixed(input, scenarios, &d, restrictions, deadline)?;
            sol.gap = gap;
            (
                m,
                sol,
                if integers == 0 {
                    "lp, rounded"
                } else {
                    "milp, rounded"
                },
            )
        } else {
            (exact, sol, method)
        }
    } else {
        let cols = exact.lp.num_cols();
        drop(exact);
        // The first stage of a very large monthly model is chosen on its quarterly aggregation.
        let coarse = if cols >= QUARTERLY_RELAXATION_MIN_COLS {
            quarterly(input, scenarios)
        } else {
            None
        };
        let (ri, rs) = match &coarse {
            Some((i, s)) => (i, s.as_slice()),
            None => (input, scenarios),
        };
        // Many scenarios: the relaxation sees an evenly spaced subset of them (probabilities
        // renormalized); the first stage it chooses is then operated on every scenario.
        let subset = subsample(rs, RELAXATION_MAX_SCENARIOS);
        let rs = subset.as_deref().unwrap_or(rs);
        let relaxed = model::build(ri, rs, fixings, restrictions, true);
        let sol = solve_lp(&relaxed.lp, input, deadline, Highs::default())?;
        let mut d = relaxed.decision(ri, &sol.x);
        drop(relaxed);
        for (c, choice) in d.commitments.iter_mut().enumerate() {
            let Some(ch) = choice else { continue };
            let tier = &input.commitments[c].tiers[ch.tier];
            if ch.spend_usd < 0.5 * tier.min_spend {
                // Sign an offer only where the relaxation commits at least half its tier's
                // minimum.
                *choice = None;
            } else {
                // The relaxation's spend, within the tier: the spend that was optimal with
                // fractional builds, which rounding moves little.
                ch.spend_usd = ch.spend_usd.clamp(tier.min_spend, tier.max_spend);
            }
        }
        round_builds(input, &mut d);
        let (m, sol) = resolve_fixed(input, scenarios, &d, restrictions, deadline)?;
        let method = match (coarse.is_some(), subset.is_some()) {
            (true, true) => "relax-and-fix, quarterly relaxation on a scenario subset",
            (true, false) => "relax-and-fix, quarterly relaxation",
            (false, true) => "relax-and-fix, relaxation on a scenario subset",
            (false, false) => "relax-and-fix",
        };
        (m, sol, method)
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
                row.cost_usd.deferral += p * v(pc.backlog[k]) * input.deferral_cost.unwrap_or(0.0);
                row.cost_usd.lost += p * v(pc.lost[k]) * input.lost_cost.unwrap_or(0.0);
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
                let usd = p * x[c] * input.rentals[r].price_per_chip_hour * hours;
                match input.rentals[r].kind {
                    RentKind::OnDemand => {
                        row.on_demand_chips += p * x[c];
                        row.cost_usd.on_demand += usd;
                    }
                    RentKind::Spot => {
                        row.spot_chips += p * x[c];
                        row.cost_usd.spot += usd;
                    }
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
                row.cost_usd.commitment += row.committed_schedule_usd[c];
            }
        }
        let months = input.periods.months as f64;
        for o in &input.owned {
            let end = o.retire_month.unwrap_or(usize::MAX);
            let in_service: usize = (t * input.periods.months..(t + 1) * input.periods.months)
                .filter(|&m| m < end)
                .count();
            row.cost_usd.owned +=
                o.chips * o.opex_per_chip_hour * HOURS_PER_MONTH * in_service as f64;
        }
        for (b, o) in input.builds.iter().enumerate() {
            let per_chip_month = model::annuity(input, o.capex_per_chip, o.lifetime_months)
                + o.opex_per_chip_hour * HOURS_PER_MONTH;
            for (q, chips) in decision.builds[b].iter().enumerate() {
                row.cost_usd.build += chips * build_share(input, b, q, t) * months * per_chip_month;
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

#[cfg(test)]
mod subsample_tests {
    use super::*;

    #[test]
    fn many_scenarios_are_subsampled_evenly_with_probabilities_summing_to_one() {
        let scenarios: Vec<Scenario> = (0..200)
            .map(|i| Scenario {
                name: format!("s{i}"),
                probability: 1.0 / 200.0,
                demand: vec![vec![f64::from(i)]],
            })
            .collect();
        let sub = subsample(&scenarios, 50).unwrap();
        assert_eq!(sub.len(), 50);
        assert_eq!(sub[0].name, "s0");
        assert_eq!(sub[1].name, "s4");
        assert_eq!(sub[49].name, "s196");
        let total: f64 = sub.iter().map(|s| s.probability).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!(subsample(&scenarios[..50], 50).is_none());
    }
}
