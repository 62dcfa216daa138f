//! The planner end to end: the plan, the baselines, a named contract, sensitivity and the
//! out-of-sample evaluation, each a solve of the same model under other fixings.

use crate::contract::ContractSpec;
use crate::demand::{self, Scenario};
use crate::error::PlanError;
use crate::input::{HOURS_PER_MONTH, PlanInput, RentKind, Rental};
use crate::model::{Chosen, Decision, Fixings, Restrictions, discount};
use crate::report::{
    BuildRow, CommitmentRow, ContractReport, EvaluatedRow, Evaluation, PlanReport, Portfolio,
    ScenarioCost, SensitivityRow,
};
use crate::solve::{Solved, infeasibility, solve};
use spillway_catalog::Catalog;

/// What to compute besides the plan and the baselines.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub contract: Option<ContractSpec>,
    pub sensitivity: bool,
    pub evaluate: bool,
    /// Compute the plan's first-year estimate for `--validate` ([`crate::validate::year_one`]).
    pub validate: bool,
}

/// Progress: a step's name, and how many of all steps are done.
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize);

/// Baseline names, in report order.
pub const ALL_ON_DEMAND: &str = "all on-demand";
pub const BUILD_TO_PEAK: &str = "build to peak";
pub const COMMIT_TO_AVERAGE: &str = "commit to average";
pub const COMMIT_TO_RECENT_MIN: &str = "commit to recent minimum";
pub const MEAN_DEMAND_PLAN: &str = "mean-demand plan";

/// Second stage of the all-on-demand baseline: on-demand only.
const ON_DEMAND_ONLY: Restrictions = Restrictions {
    builds: false,
    commitments: false,
    spot: false,
    rental_price_factor: 1.0,
};

/// A first-stage decision and the restrictions its second stage runs under.
struct Candidate {
    name: &'static str,
    decision: Decision,
    second_stage: Restrictions,
}

fn evaluate(input: &PlanInput, scenarios: &[Scenario], c: &Candidate) -> Result<Solved, PlanError> {
    solve(input, scenarios, &Fixings::all(&c.decision), c.second_stage)
}

/// Runs everything `options` asks for.
pub fn run(
    input: &PlanInput,
    catalog: &Catalog,
    options: &RunOptions,
    progress: Progress<'_>,
) -> Result<PlanReport, PlanError> {
    let scenarios = input.scenarios();
    let steps = 3
        + usize::from(options.contract.is_some())
        + if options.sensitivity { 6 } else { 0 }
        + if options.evaluate { 2 } else { 0 }
        + usize::from(options.validate);
    let mut done = 0;
    let mut step = |name: &str, progress: &mut dyn FnMut(&str, usize, usize)| {
        progress(name, done, steps);
        done += 1;
    };

    step("plan", progress);
    let plan = solve(input, &scenarios, &Fixings::default(), Restrictions::ALL)?;
    if let Some(e) = infeasibility(input, &scenarios, &plan) {
        return Err(e);
    }

    step("baselines", progress);
    let candidates = baselines(input, &scenarios)?;
    let mut baseline_reports = Vec::new();
    let mut baseline_solved = Vec::new();
    for c in &candidates {
        let s = evaluate(input, &scenarios, c)?;
        baseline_reports.push(portfolio(input, &scenarios, c.name, &s));
        baseline_solved.push(s);
    }

    step("mean-demand plan", progress);
    let mean = demand::mean(&scenarios);
    let mean_plan = solve(input, &[mean], &Fixings::default(), Restrictions::ALL)?;
    let mean_candidate = Candidate {
        name: MEAN_DEMAND_PLAN,
        decision: mean_plan.decision.clone(),
        second_stage: Restrictions::ALL,
    };
    let mean_eval = evaluate(input, &scenarios, &mean_candidate)?;
    baseline_reports.push(portfolio(input, &scenarios, MEAN_DEMAND_PLAN, &mean_eval));

    let contract = match &options.contract {
        Some(spec) => {
            step("contract", progress);
            Some(contract_report(input, catalog, &scenarios, spec, &plan)?)
        }
        None => None,
    };

    let mut sensitivity = Vec::new();
    if options.sensitivity {
        let runs: Vec<(String, String, PlanInput)> = vec![
            (
                "demand growth".into(),
                "x0.5".into(),
                scaled_growth(input, 0.5),
            ),
            (
                "demand growth".into(),
                "x1.5".into(),
                scaled_growth(input, 1.5),
            ),
            (
                "discount rate".into(),
                format!("{:.0}%", (input.discount_rate - 0.04).max(0.0) * 100.0),
                with_rate(input, (input.discount_rate - 0.04).max(0.0)),
            ),
            (
                "discount rate".into(),
                format!("{:.0}%", (input.discount_rate + 0.04) * 100.0),
                with_rate(input, input.discount_rate + 0.04),
            ),
            (
                "TPU/GPU speed".into(),
                "x0.75".into(),
                input.with_tpu_factor(0.75),
            ),
            (
                "TPU/GPU speed".into(),
                "x1.25".into(),
                input.with_tpu_factor(1.25),
            ),
        ];
        sensitivity.push(sensitivity_row("base", "", &plan));
        for (param, value, inp) in runs {
            step(&format!("sensitivity: {param} {value}"), progress);
            let sc = inp.scenarios();
            let s = solve(&inp, &sc, &Fixings::default(), Restrictions::ALL)?;
            sensitivity.push(sensitivity_row(&param, &value, &s));
        }
    }

    let evaluation = if options.evaluate {
        step("out-of-sample evaluation", progress);
        let paths = input.evaluation_paths();
        let plan_candidate = Candidate {
            name: "plan",
            decision: plan.decision.clone(),
            second_stage: Restrictions::ALL,
        };
        let mut rows = Vec::new();
        let plan_avg = evaluate(input, &paths, &plan_candidate)?.expected_cost();
        rows.push(("plan".to_string(), plan_avg));
        for c in candidates.iter().chain(std::iter::once(&mean_candidate)) {
            rows.push((
                c.name.to_string(),
                evaluate(input, &paths, c)?.expected_cost(),
            ));
        }
        step("perfect information", progress);
        let mut perfect = 0.0;
        for p in &paths {
            let one = Scenario {
                probability: 1.0,
                ..p.clone()
            };
            let s = solve(input, &[one], &Fixings::default(), Restrictions::ALL)?;
            perfect += s.expected_cost() / paths.len() as f64;
        }
        let rows: Vec<EvaluatedRow> = rows
            .into_iter()
            .map(|(name, avg)| EvaluatedRow {
                name,
                average_cost_usd: avg,
                gap_usd: avg - plan_avg,
                gap_percent: if plan_avg != 0.0 {
                    (avg - plan_avg) / plan_avg * 100.0
                } else {
                    0.0
                },
            })
            .collect();
        Some(Evaluation {
            paths: paths.len(),
            seed: input.eval_seed,
            plan_is_cheapest: rows.iter().skip(1).all(|r| r.gap_usd > 0.0),
            rows,
            perfect_information_cost_usd: perfect,
            value_of_perfect_information_usd: plan_avg - perfect,
        })
    } else {
        None
    };
    let year_one = if options.validate {
        step("first-year estimate", progress);
        Some(crate::validate::year_one(input, &scenarios, &plan)?)
    } else {
        None
    };
    progress("done", steps, steps);

    Ok(PlanReport {
        name: input.name.clone(),
        periods: input.periods.count,
        months_per_period: input.periods.months,
        reference: input.reference.clone(),
        scenarios: scenarios.len(),
        plan: portfolio(input, &scenarios, "plan", &plan),
        baselines: baseline_reports,
        contract,
        sensitivity,
        evaluation,
        derived_demand: None,
        year_one,
        validation: None,
    })
}

fn scaled_growth(input: &PlanInput, f: f64) -> PlanInput {
    let mut out = input.clone();
    for c in &mut out.classes {
        c.growth.annual_growth *= f;
    }
    out
}

fn with_rate(input: &PlanInput, r: f64) -> PlanInput {
    PlanInput {
        discount_rate: r,
        ..input.clone()
    }
}

fn sensitivity_row(param: &str, value: &str, s: &Solved) -> SensitivityRow {
    let b = s.expected_breakdown();
    let rent = b.on_demand;
    let total = b.total();
    SensitivityRow {
        parameter: param.to_string(),
        value: value.to_string(),
        expected_cost_usd: total,
        built_chips: s.decision.builds.iter().flatten().sum(),
        committed_usd: s
            .decision
            .commitments
            .iter()
            .flatten()
            .map(|c| c.spend_usd)
            .sum(),
        on_demand_share: if total > 0.0 { rent / total } else { 0.0 },
    }
}

/// The four baselines' first-stage decisions.
fn baselines(input: &PlanInput, scenarios: &[Scenario]) -> Result<Vec<Candidate>, PlanError> {
    let mut out = vec![Candidate {
        name: ALL_ON_DEMAND,
        decision: Decision::none(input),
        second_stage: ON_DEMAND_ONLY,
    }];
    // Build to peak: size builds on the per-period envelope of the scenarios, renting only as a
    // last resort (at 100 x the price), with no commitments.
    let peak = demand::envelope(scenarios);
    let sized = solve(
        input,
        &[peak],
        &Fixings::default(),
        Restrictions {
            builds: true,
            commitments: false,
            spot: false,
            rental_price_factor: 100.0,
        },
    )?;
    out.push(Candidate {
        name: BUILD_TO_PEAK,
        decision: Decision {
            builds: sized.decision.builds,
            commitments: vec![None; input.commitments.len()],
        },
        second_stage: Restrictions::ALL,
    });
    let (avg, min) = commit_to_usage(input, scenarios)?;
    out.push(Candidate {
        name: COMMIT_TO_AVERAGE,
        decision: avg,
        second_stage: Restrictions::ALL,
    });
    out.push(Candidate {
        name: COMMIT_TO_RECENT_MIN,
        decision: min,
        second_stage: Restrictions::ALL,
    });
    Ok(out)
}

/// What cloud commitment recommenders do: measure usage of the covered accelerators when they
/// are paid per use (here at the first tier's discounted price, on the mean demand, renting the
/// rest), then commit to its average over the term, or to its minimum over the first three
/// months ("recent usage"). A size below the first tier's minimum signs nothing.
fn commit_to_usage(
    input: &PlanInput,
    scenarios: &[Scenario],
) -> Result<(Decision, Decision), PlanError> {
    let mut payg = input.clone();
    payg.commitments.clear();
    payg.builds.clear();
    let base = payg.rentals.len();
    let mut index = Vec::new();
    for (c, offer) in input.commitments.iter().enumerate() {
        for &(a, list) in &offer.covered {
            index.push((c, list));
            payg.rentals.push(Rental {
                provider: offer.name.clone(),
                accelerator: a,
                kind: RentKind::OnDemand,
                price_per_chip_hour: list * (1.0 - offer.tiers[0].discount),
                max_chips: offer.max_chips,
                efficiency: 1.0,
                availability: 1.0,
            });
        }
    }
    // List dollars per month of each offer's covered usage, from the rentals' chips.
    let months = input.periods.months;
    let mut usage = vec![vec![0.0; input.periods.count]; input.commitments.len()];
    let solved_x = solve_rental_chips(&payg, scenarios, base, index.len())?;
    for (t, row) in solved_x.iter().enumerate() {
        for (i, chips) in row.iter().enumerate() {
            let (c, list) = index[i];
            usage[c][t] += chips * list * HOURS_PER_MONTH; // per month of the period
        }
    }
    let mut avg = Decision::none(input);
    let mut min = Decision::none(input);
    for (c, offer) in input.commitments.iter().enumerate() {
        let start = offer.start_months[0];
        let from = start / months;
        let to = ((start + offer.term_months) / months).min(input.periods.count);
        let window = &usage[c][from..to.max(from + 1).min(input.periods.count)];
        let monthly_avg = window.iter().sum::<f64>() / window.len() as f64;
        let recent = &usage[c][from..(from + 3usize.div_ceil(months)).min(input.periods.count)];
        let monthly_min = recent.iter().copied().fold(f64::INFINITY, f64::min);
        avg.commitments[c] = size_commitment(input, c, monthly_avg, start);
        min.commitments[c] = size_commitment(input, c, monthly_min, start);
    }
    Ok((avg, min))
}

/// Per period, the average chips rented from the pay-per-use stand-ins of the commitments
/// (rentals `base..base + n` of `payg`), on the mean demand.
fn solve_rental_chips(
    payg: &PlanInput,
    scenarios: &[Scenario],
    base: usize,
    n: usize,
) -> Result<Vec<Vec<f64>>, PlanError> {
    let mean = demand::mean(scenarios);
    let restrictions = Restrictions {
        builds: false,
        commitments: false,
        spot: true,
        rental_price_factor: 1.0,
    };
    let model = crate::model::build(
        payg,
        std::slice::from_ref(&mean),
        &Fixings::default(),
        restrictions,
        true,
    );
    let deadline = std::time::Duration::from_secs_f64(payg.time_limit_s);
    use crate::lp::Solver;
    let sol = crate::lp::Highs::default().solve_bounded(&model.lp, deadline)?;
    Ok(model.periods[0]
        .iter()
        .map(|pc| {
            let mut row = vec![0.0; n];
            for &(r, c) in &pc.rent {
                if r >= base && r < base + n {
                    row[r - base] += sol.x[c];
                }
            }
            row
        })
        .collect())
}

/// A commitment of offer `c` for `monthly_list_usd` of list-priced usage per month over its
/// term, in the best tier its size reaches; `None` below the first tier.
fn size_commitment(
    input: &PlanInput,
    c: usize,
    monthly_list_usd: f64,
    start: usize,
) -> Option<Chosen> {
    let offer = &input.commitments[c];
    offer.tiers.iter().enumerate().rev().find_map(|(j, t)| {
        let spend = monthly_list_usd * offer.term_months as f64 * (1.0 - t.discount);
        (spend >= t.min_spend && spend > 0.0).then_some(Chosen {
            tier: j,
            start_month: start,
            spend_usd: spend.min(t.max_spend),
        })
    })
}

/// The report of one solved portfolio.
pub(crate) fn portfolio(
    input: &PlanInput,
    scenarios: &[Scenario],
    name: &str,
    s: &Solved,
) -> Portfolio {
    let mut builds = Vec::new();
    for (b, row) in s.decision.builds.iter().enumerate() {
        let o = &input.builds[b];
        for (q, &chips) in row.iter().enumerate() {
            if chips > 0.0 {
                builds.push(BuildRow {
                    option: o.name.clone(),
                    accelerator: input.accelerators[o.accelerator].name.clone(),
                    quarter: q,
                    order_month: 3 * q,
                    arrival_month: 3 * q + o.lead_time_months,
                    chips,
                });
            }
        }
    }
    let commitments = s
        .decision
        .commitments
        .iter()
        .enumerate()
        .filter_map(|(c, ch)| {
            let ch = ch.as_ref()?;
            let o = &input.commitments[c];
            Some(CommitmentRow {
                offer: o.name.clone(),
                provider: o.provider.clone(),
                start_month: ch.start_month,
                term_months: o.term_months,
                spend_usd: ch.spend_usd,
                discount_percent: o.tiers[ch.tier].discount * 100.0,
                accelerators: o
                    .covered
                    .iter()
                    .map(|x| input.accelerators[x.0].name.clone())
                    .collect(),
            })
        })
        .collect();
    Portfolio {
        name: name.to_string(),
        expected_cost_usd: s.expected_cost(),
        breakdown: s.expected_breakdown(),
        builds,
        commitments,
        scenarios: scenarios
            .iter()
            .zip(&s.costs)
            .map(|(sc, c)| ScenarioCost {
                name: sc.name.clone(),
                probability: sc.probability,
                cost_usd: c.total(),
            })
            .collect(),
        timeline: s.timeline.clone(),
        solve: s.stats.clone(),
    }
}

/// The named contract against the plan without it.
fn contract_report(
    input: &PlanInput,
    catalog: &Catalog,
    scenarios: &[Scenario],
    spec: &ContractSpec,
    plan: &Solved,
) -> Result<ContractReport, PlanError> {
    let with_input = input
        .with_commitment(catalog, &spec.section())
        .map_err(|e| match e {
            PlanError::Field { message, .. } => PlanError::Contract {
                text: spec.text.clone(),
                message,
            },
            other => other,
        })?;
    let c = with_input.commitments.len() - 1;
    let forced = |inp: &PlanInput, sc: &[Scenario]| -> Result<Solved, PlanError> {
        let mut f = Fixings {
            commitments: vec![None; inp.commitments.len()],
            ..Fixings::default()
        };
        f.commitments[c] = Some(Some(Chosen {
            tier: 0,
            start_month: spec.start_month as usize,
            spend_usd: spec.spend_usd,
        }));
        solve(inp, sc, &f, Restrictions::ALL)
    };
    let with = forced(&with_input, scenarios)?;
    let cost_with = with.expected_cost();
    let cost_without = plan.expected_cost();
    let npv = cost_without - cost_with;
    // Utilization and break-even, in present values.
    let offer = &with_input.commitments[c];
    let d = offer.tiers[0].discount;
    let mut used_pv = 0.0;
    let mut pay_pv = 0.0;
    let mut cap_pv = 0.0;
    for row in &with.timeline {
        let df = discount(input, row.month);
        used_pv += df * row.committed_spend_usd[c] / (1.0 - d);
        pay_pv += df * row.committed_schedule_usd[c];
        cap_pv += df * row.committed_schedule_usd[c] / (1.0 - d);
    }
    let utilization = if cap_pv > 0.0 { used_pv / cap_pv } else { 0.0 };
    // The work done on the contract would cost `npv + pay_pv` elsewhere: `a` per list dollar.
    let a = if used_pv > 0.0 {
        (npv + pay_pv) / used_pv
    } else {
        0.0
    };
    let break_even_utilization = (a > 0.0 && cap_pv > 0.0).then(|| pay_pv / (a * cap_pv));

    // Demand level: the mean path scaled by `l`; bisect on the sign of the saving.
    let mean = demand::mean(scenarios);
    let saving = |l: f64| -> Result<f64, PlanError> {
        let sc = demand::scaled(std::slice::from_ref(&mean), l);
        let without = solve(input, &sc, &Fixings::default(), Restrictions::ALL)?;
        let with = forced(&with_input, &sc)?;
        Ok(without.expected_cost() - with.expected_cost())
    };
    let at_one = saving(1.0)?;
    let note;
    let mut level = None;
    if at_one >= 0.0 {
        let (mut lo, mut hi) = (0.05, 1.0);
        if saving(lo)? >= 0.0 {
            note = "saves money even at 5% of the planned demand".to_string();
        } else {
            for _ in 0..7 {
                let mid = 0.5 * (lo + hi);
                if saving(mid)? >= 0.0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            level = Some(0.5 * (lo + hi));
            note = "loses money below this share of the planned (mean) demand".to_string();
        }
    } else {
        let (mut lo, mut hi) = (1.0, 4.0);
        if saving(hi)? < 0.0 {
            note = "loses money even at 4x the planned demand".to_string();
        } else {
            for _ in 0..7 {
                let mid = 0.5 * (lo + hi);
                if saving(mid)? >= 0.0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            level = Some(0.5 * (lo + hi));
            note = "loses money at the planned demand; it pays only above this share of it"
                .to_string();
        }
    }
    let first_month: f64 = input
        .classes
        .iter()
        .map(|c| c.growth.start_ref_hours_per_month)
        .sum();
    Ok(ContractReport {
        contract: spec.text.clone(),
        cost_with_usd: cost_with,
        cost_without_usd: cost_without,
        npv_usd: npv,
        utilization,
        break_even_utilization,
        break_even_demand_share: level,
        break_even_first_month_ref_hours: level.map(|l| l * first_month),
        note,
        portfolio: portfolio(&with_input, scenarios, "with contract", &with),
    })
}
