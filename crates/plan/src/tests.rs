//! Tests of validation and of the model on small plans whose answers can be checked by hand.

use crate::PlanError;
use crate::input::{PlanInput, parse, validate};
use crate::model::{Fixings, Restrictions};
use crate::solve::{infeasibility, solve};
use spillway_catalog::Catalog;

const BASE: &str = r#"
[plan]
name = "t"
horizon_months = 12
discount_rate = 0.0
service_level = 1.0
seed = 1

[[scenario]]
name = "only"
probability = 1.0

[[class]]
name = "c"
framework = "cuda"
kind = "pretrain"
start_ref_hours_per_month = 7300
annual_growth = 0.0
"#;

fn input(extra: &str) -> Result<PlanInput, PlanError> {
    validate(&parse(&format!("{BASE}{extra}"))?, &Catalog::bundled())
}

fn err(extra: &str) -> String {
    input(extra).unwrap_err().to_string()
}

const RENT_H100: &str = r#"
[[rent]]
provider = "aws"
accelerator = "H100"
price_per_chip_hour = 5.0
"#;

#[test]
fn errors_name_the_field() {
    let e = err("[[rent]]\nprovider = \"aws\"\naccelerator = \"h100_mega\"\n");
    assert!(e.contains("rent[0].accelerator"), "{e}");
    assert!(e.contains("did you mean"), "{e}");
    let e = err(&format!(
        "{RENT_H100}[[owned]]\nname = \"o\"\naccelerator = \"H100\"\nchips = -1\n"
    ));
    assert!(e.contains("owned[0].chips"), "{e}");
    let e = err(&format!(
        "{RENT_H100}\n[[build]]\nname = \"b\"\naccelerator = \"H100\"\ncapex_per_chip = 1\ncapex_per_server = 8\nlead_time_months = 1\nlifetime_months = 10\nmax_chips_per_quarter = 8\n"
    ));
    assert!(
        e.contains("build[0].capex_per_server") && e.contains("contradicts"),
        "{e}"
    );
    let e = err(&format!(
        "{RENT_H100}\n[[build]]\nname = \"b\"\naccelerator = \"H100\"\ncapex_per_chip = 1\nlead_time_months = 12\nlifetime_months = 10\nmax_chips_per_quarter = 8\n"
    ));
    assert!(e.contains("build[0].lead_time_months"), "{e}");
    // Unknown keys are parse errors with their line.
    let e = err("[[rent]]\nprovider = \"aws\"\naccelerator = \"H100\"\nprise = 3\n");
    assert!(e.contains("prise") && e.contains("line"), "{e}");
}

#[test]
fn contradictions_are_errors() {
    let e = validate(
        &parse(&BASE.replace("probability = 1.0", "probability = 0.6")).unwrap(),
        &Catalog::bundled(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("scenario.probability") && e.contains("sum to 0.6"),
        "{e}"
    );
    let lost = BASE.replace(
        "service_level = 1.0",
        "service_level = 0.9\nunserved = \"lost\"\nlost_cost_per_ref_hour = 9\ndeferral_cost_per_ref_hour = 1",
    );
    let e = validate(
        &parse(&format!("{lost}{RENT_H100}")).unwrap(),
        &Catalog::bundled(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("plan.deferral_cost_per_ref_hour") && e.contains("contradicts"),
        "{e}"
    );
    let e = err(&format!(
        "{RENT_H100}[[commitment]]\nname = \"x\"\nprovider = \"gcp\"\nterm_months = 12\naccelerators = [\"tpu-v5p\"]\n[[commitment.tier]]\nmin_spend = 10\ndiscount_percent = 10\n[[commitment.tier]]\nmin_spend = 5\ndiscount_percent = 20\n"
    ));
    assert!(e.contains("commitment[0].tier[1].min_spend"), "{e}");
}

#[test]
fn a_class_no_supply_can_serve_is_an_error() {
    // A CUDA class with only TPUs to rent: a TPU hour is worth nothing to it.
    let e = err("[[rent]]\nprovider = \"gcp\"\naccelerator = \"tpu-v6e\"\n");
    assert!(
        e.contains("class[0]") && e.contains("framework cuda") && e.contains("tpu-v6e"),
        "{e}"
    );
}

#[test]
fn a_contract_covering_no_known_accelerator_is_an_error() {
    let e = err(&format!(
        "{RENT_H100}[[commitment]]\nname = \"x\"\nprovider = \"gcp\"\nterm_months = 12\naccelerators = [\"tpu-v9\"]\n[[commitment.tier]]\nmin_spend = 10\ndiscount_percent = 10\n"
    ));
    assert!(
        e.contains("commitment[0].accelerators[0]") && e.contains("tpu-v9"),
        "{e}"
    );
    // Known accelerator, but the provider does not sell it: no committed price.
    let e = err(&format!(
        "{RENT_H100}[[commitment]]\nname = \"x\"\nprovider = \"aws\"\nterm_months = 12\naccelerators = [\"tpu-v5p\"]\n[[commitment.tier]]\nmin_spend = 10\ndiscount_percent = 10\n"
    ));
    assert!(e.contains("covers no known accelerator"), "{e}");
}

#[test]
fn tpus_are_worth_nothing_to_cuda_and_their_roofline_speed_to_xla() {
    let i = input(&format!(
        "{RENT_H100}[[class]]\nname = \"x\"\nframework = \"xla\"\nkind = \"pretrain\"\nstart_ref_hours_per_month = 1\nannual_growth = 0\n[[rent]]\nprovider = \"gcp\"\naccelerator = \"tpu-v6e\"\n"
    ))
    .unwrap();
    let v6e = i.accelerators.iter().find(|a| a.name == "tpu-v6e").unwrap();
    assert_eq!(v6e.speed[0], 0.0);
    assert!((v6e.speed[1] - 918.0 / 989.0).abs() < 1e-9);
}

#[test]
fn renting_only_costs_demand_times_price() {
    let i = input(RENT_H100).unwrap();
    let s = i.scenarios();
    let p = solve(&i, &s, &Fixings::default(), Restrictions::ALL).unwrap();
    // 7,300 H100-hours a month for 12 months at $5, no discounting.
    assert!(
        (p.expected_cost() - 7300.0 * 12.0 * 5.0).abs() < 1e-3,
        "{}",
        p.expected_cost()
    );
}

#[test]
fn building_wins_when_cheaper_and_arrives_after_its_lead_time() {
    // 10 chips busy all year. A chip costs $3,000 over 24 months (+ $0.1/h) against $5/h rented.
    let i = input(&format!(
        "{RENT_H100}[[build]]\nname = \"b\"\naccelerator = \"H100\"\ncapex_per_chip = 3000\nchips_per_server = 1\nlead_time_months = 3\nlifetime_months = 24\nopex_per_chip_hour = 0.1\nmax_chips_per_quarter = 96\n"
    ))
    .unwrap();
    let s = i.scenarios();
    let p = solve(&i, &s, &Fixings::default(), Restrictions::ALL).unwrap();
    assert_eq!(p.stats.method, "milp");
    assert_eq!(p.decision.builds[0][0], 10.0, "{:?}", p.decision.builds);
    // Months 0-2 are rented, the rest built.
    for row in &p.timeline[..3] {
        assert!((row.on_demand_chips - 10.0).abs() < 1e-6);
    }
    for row in &p.timeline[3..] {
        assert!(row.on_demand_chips.abs() < 1e-6 && (row.built_chips - 10.0).abs() < 1e-9);
    }
}

#[test]
fn a_commitment_is_signed_only_above_its_minimum_and_is_paid_in_full() {
    let commit = |min: f64| {
        format!(
            "{RENT_H100}[[class]]\nname = \"x\"\nframework = \"xla\"\nkind = \"pretrain\"\nstart_ref_hours_per_month = 7300\nannual_growth = 0\n[[commitment]]\nname = \"tpu\"\nprovider = \"gcp\"\nterm_months = 12\naccelerators = [\"tpu-v6e\"]\n[[commitment.tier]]\nmin_spend = {min}\ndiscount_percent = 30\n"
        )
    };
    // The xla class needs 10 / 0.928 v6e chips = $2.70 x 0.7 x 730 x 12 x 10.77 ~ $178k a year.
    let i = input(&commit(100_000.0)).unwrap();
    let p = solve(&i, &i.scenarios(), &Fixings::default(), Restrictions::ALL).unwrap();
    let c = p.decision.commitments[0].expect("signed");
    let chips = 10.0 / (918.0 / 989.0);
    let list = 2.7;
    let expect = chips * list * 0.7 * 730.0 * 12.0;
    assert!(
        (c.spend_usd - expect).abs() / expect < 1e-3,
        "{} vs {expect}",
        c.spend_usd
    );
    // A minimum far above the use: renting H100s is cheaper than paying for idle TPUs.
    let i = input(&commit(5_000_000.0)).unwrap();
    let p = solve(&i, &i.scenarios(), &Fixings::default(), Restrictions::ALL).unwrap();
    assert!(p.decision.commitments[0].is_none());
}

#[test]
fn an_infeasible_service_level_names_the_binding_constraint() {
    let i = input(
        "[[rent]]\nprovider = \"aws\"\naccelerator = \"H100\"\nprice_per_chip_hour = 5.0\nmax_chips = 4\n",
    )
    .unwrap();
    let s = i.scenarios();
    let p = solve(&i, &s, &Fixings::default(), Restrictions::ALL).unwrap();
    let e = infeasibility(&i, &s, &p).expect("infeasible").to_string();
    assert!(
        e.contains("class `c`") && e.contains("month 0") && e.contains("max 4 chips"),
        "{e}"
    );
}

#[test]
fn deferral_moves_work_to_the_next_month_within_the_service_level() {
    let text = BASE
        .replace(
            "service_level = 1.0",
            "service_level = 0.8\nunserved = \"deferred\"\ndeferral_cost_per_ref_hour = 0.1",
        )
        .replace(
            "annual_growth = 0.0",
            "annual_growth = 0.0\nseasonality = [2,1,1,1,1,1,1,1,1,1,1,1]",
        );
    let i = validate(
        &parse(&format!(
            "{text}[[owned]]\nname = \"o\"\naccelerator = \"H100\"\nchips = 10\n{RENT_H100}"
        ))
        .unwrap(),
        &Catalog::bundled(),
    )
    .unwrap();
    let p = solve(&i, &i.scenarios(), &Fixings::default(), Restrictions::ALL).unwrap();
    let jan = &p.timeline[0];
    // January has twice the work: 20% of it waits for February, the owned chips do the rest
    // with some renting.
    assert!(jan.deferred_ref_hours > 0.0);
    assert!(jan.deferred_ref_hours <= 0.2 * jan.demand_ref_hours + 1e-6);
}

/// Clarabel (interior point, through good_lp) on the same LP: a second backend to cross-check
/// HiGHS on relaxations.
fn clarabel_objective(lp: &crate::lp::Lp) -> f64 {
    use good_lp::{Expression, ProblemVariables, Solution, SolverModel, variable};
    let mut vars = ProblemVariables::new();
    let x: Vec<_> = (0..lp.num_cols())
        .map(|c| {
            let mut v = variable();
            if lp.lb[c].is_finite() {
                v = v.min(lp.lb[c]);
            }
            if lp.ub[c].is_finite() {
                v = v.max(lp.ub[c]);
            }
            vars.add(v)
        })
        .collect();
    let mut objective = Expression::default();
    for (c, &v) in x.iter().enumerate() {
        objective.add_mul(lp.cost[c], v);
    }
    let mut problem = vars.minimise(objective.clone()).using(good_lp::clarabel);
    for i in 0..lp.num_rows() {
        let mut e = Expression::default();
        for &(c, v) in lp.row_entries(i) {
            e.add_mul(v, x[c]);
        }
        let (lo, hi) = (lp.row_lb[i], lp.row_ub[i]);
        if lo == hi {
            problem = problem.with(e.eq(lo));
            continue;
        }
        if lo.is_finite() {
            problem = problem.with(e.clone().geq(lo));
        }
        if hi.is_finite() {
            problem = problem.with(e.leq(hi));
        }
    }
    let s = problem.solve().expect("clarabel solves");
    x.iter()
        .enumerate()
        .map(|(c, &v)| lp.cost[c] * s.value(v))
        .sum()
}

#[test]
fn highs_and_clarabel_agree_on_the_relaxation() {
    use crate::lp::{Highs, Solver};
    let i = input(&format!(
        "{RENT_H100}[[class]]\nname = \"x\"\nframework = \"xla\"\nkind = \"eval\"\nstart_ref_hours_per_month = 5000\nannual_growth = 0.5\n[[owned]]\nname = \"o\"\naccelerator = \"H100\"\nchips = 4\n[[build]]\nname = \"b\"\naccelerator = \"H200\"\ncapex_per_chip = 20000\nchips_per_server = 1\nlead_time_months = 2\nlifetime_months = 36\nopex_per_chip_hour = 0.3\nmax_chips_per_quarter = 3\n[[commitment]]\nname = \"tpu\"\nprovider = \"gcp\"\nterm_months = 6\naccelerators = [\"tpu-v6e\", \"tpu-v5p\"]\nstart_months = [0, 6]\n[[commitment.tier]]\nmin_spend = 10000\ndiscount_percent = 30\n[[commitment.tier]]\nmin_spend = 40000\ndiscount_percent = 40\n"
    ))
    .unwrap();
    let m = crate::model::build(
        &i,
        &i.scenarios(),
        &Fixings::default(),
        Restrictions::ALL,
        true,
    );
    assert!(!m.lp.has_integers());
    let h = Highs::default()
        .solve_bounded(&m.lp, std::time::Duration::from_secs(30))
        .unwrap()
        .objective;
    let c = clarabel_objective(&m.lp);
    assert!(
        (h - c).abs() <= 1e-5 * h.abs().max(1.0),
        "highs {h} clarabel {c}"
    );
}

mod invariants {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// Whatever the demand and the limits, the plan never uses more than a source gives,
        /// never builds more than a quarter allows, and serves the service level.
        #[test]
        fn limits_hold_and_the_service_level_is_met(
            owned in 0.0f64..20.0,
            cap in 0.0f64..10.0,
            growth in 0.0f64..2.0,
            level in 1000.0f64..20000.0,
            max_q in 0.0f64..8.0,
        ) {
            let text = BASE
                .replace("service_level = 1.0", "service_level = 0.9\nunserved = \"deferred\"\ndeferral_cost_per_ref_hour = 0.5")
                .replace("start_ref_hours_per_month = 7300", &format!("start_ref_hours_per_month = {level}"))
                .replace("annual_growth = 0.0", &format!("annual_growth = {growth}"));
            let extra = format!(
                "[[owned]]\nname = \"o\"\naccelerator = \"H100\"\nchips = {owned}\nretire_month = 6\n\
                 [[rent]]\nprovider = \"aws\"\naccelerator = \"H100\"\nmax_chips = {cap}\nspot = true\nspot_max_chips = {cap}\nspot_preemption_overhead = 0.2\n\
                 [[rent]]\nprovider = \"gcp\"\naccelerator = \"H100\"\n\
                 [[build]]\nname = \"b\"\naccelerator = \"H100\"\ncapex_per_chip = 2000\nchips_per_server = 1\nlead_time_months = 1\nlifetime_months = 24\nmax_chips_per_quarter = {}\n",
                max_q.floor()
            );
            let i = validate(&parse(&format!("{text}{extra}")).unwrap(), &Catalog::bundled()).unwrap();
            let s = i.scenarios();
            let p = solve(&i, &s, &Fixings::default(), Restrictions::ALL).unwrap();
            prop_assert!(p.shortfall.is_none());
            for q in &p.decision.builds[0] {
                prop_assert!(*q <= max_q.floor() + 1e-9);
            }
            let aws_cap = cap;
            for row in &p.timeline {
                // Two capped aws rentals (on demand and spot) plus the uncapped gcp one.
                prop_assert!(row.spot_chips <= aws_cap + 1e-6);
                let served = row.owned_ref_hours + row.built_ref_hours + row.on_demand_ref_hours + row.spot_ref_hours;
                prop_assert!(served + 1e-6 * row.demand_ref_hours >= 0.9 * row.demand_ref_hours - 1e-6,
                    "served {served} of {}", row.demand_ref_hours);
                prop_assert!(row.deferred_ref_hours <= 0.1 * row.demand_ref_hours + 1e-6 * row.demand_ref_hours + 1e-6);
            }
        }
    }
}

/// Five sampled paths, rentals and a build: a model whose scenarios share only the first stage.
const SAMPLED: &str = r#"
[plan]
name = "sampled"
horizon_months = 12
discount_rate = 0.05
service_level = 0.9
unserved = "deferred"
deferral_cost_per_ref_hour = 2.0
seed = 3

[uncertainty]
mode = "sampled"
paths = 5
growth_sd = 0.3
monthly_noise_sd = 0.1
class_correlation = 0.2

[[class]]
name = "c"
framework = "cuda"
kind = "pretrain"
start_ref_hours_per_month = 73000
annual_growth = 0.5

[[rent]]
provider = "aws"
accelerator = "H100"
price_per_chip_hour = 5.0
spot = true
spot_price_per_chip_hour = 2.0
spot_max_chips = 30
spot_preemption_overhead = 0.2

[[build]]
name = "b"
accelerator = "H100"
capex_per_chip = 3000
chips_per_server = 8
lead_time_months = 3
lifetime_months = 24
opex_per_chip_hour = 0.1
max_chips_per_quarter = 4000
"#;

#[test]
fn scenarios_solved_one_by_one_cost_what_the_joint_lp_costs() {
    use crate::lp::{Highs, Solver};
    use crate::model::Decision;
    let i = validate(&parse(SAMPLED).unwrap(), &Catalog::bundled()).unwrap();
    let s = i.scenarios();
    let mut d = Decision::none(&i);
    d.builds[0][0] = 64.0;
    d.builds[0][1] = 24.0;
    let fixed = Fixings::all(&d);
    let by_scenario = solve(&i, &s, &fixed, Restrictions::ALL).unwrap();
    assert_eq!(by_scenario.stats.method, "lp by scenario");
    let m = crate::model::build(&i, &s, &fixed, Restrictions::ALL, false);
    let joint = Highs::default()
        .solve_bounded(&m.lp, std::time::Duration::from_secs(30))
        .unwrap();
    let costs = m.costs(&joint.x);
    for (a, b) in by_scenario.costs.iter().zip(&costs) {
        assert!(
            (a.total() - b.total()).abs() <= 1e-6 * b.total(),
            "{a:?} vs {b:?}"
        );
    }
}

#[test]
fn large_build_orders_are_solved_continuous_then_rounded_to_servers() {
    // 500 servers a quarter may be ordered: continuous in the solve, whole servers in the plan.
    let i = validate(&parse(SAMPLED).unwrap(), &Catalog::bundled()).unwrap();
    let s = i.scenarios();
    let p = solve(&i, &s, &Fixings::default(), Restrictions::ALL).unwrap();
    assert!(p.stats.method.starts_with("lp"), "{}", p.stats.method);
    assert!(p.decision.builds[0].iter().any(|&c| c > 0.0));
    for &chips in &p.decision.builds[0] {
        assert_eq!((chips / 8.0).fract(), 0.0, "{chips}");
    }
    // The reported cost is that of the rounded orders, not of the continuous ones.
    let fixed = solve(&i, &s, &Fixings::all(&p.decision), Restrictions::ALL).unwrap();
    assert!((fixed.expected_cost() - p.expected_cost()).abs() <= 1e-6 * p.expected_cost());
}
