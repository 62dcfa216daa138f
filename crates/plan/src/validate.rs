//! `--validate`: the plan's first year against the simulator. This module holds the plan's side:
//! its own estimate of the first year (month by month, by source, undiscounted), the job shapes
//! the replay samples, and the comparison of the two. The replay itself (a scenario of
//! `spillway_sim::cloud` built from the plan, run month by month) is the CLI's:
//! `crates/cli/src/cmd/plan/validate.rs`. The method is documented in docs/plan.md
//! ("Validation in the simulator").

use crate::demand::{self, Scenario};
use crate::error::PlanError;
use crate::input::{HOURS_PER_MONTH, PlanInput};
use crate::model::{Chosen, Fixings, Restrictions, annuity};
use crate::solve::{PeriodCost, Solved, solve};
use serde::Serialize;
use spillway_core::econ::JobKind;

/// Months replayed (or the horizon, if shorter).
pub const MONTHS: usize = 12;
/// The agreement asked of the replay: the simulated cost within 10% of the plan's.
pub const TOLERANCE: f64 = 0.10;

/// Chips and hours (on the reference accelerator) of one job of a class of kind `kind`: a
/// pre-training run 64 chips for 72 hours, a fine-tuning or an inference (serving, batch
/// evaluation) job 8 chips for 24 hours.
pub fn job_shape(kind: JobKind) -> (u32, f64) {
    match kind {
        JobKind::Pretrain => (64, 72.0),
        JobKind::Finetune => (8, 24.0),
        JobKind::Eval => (8, 24.0),
    }
}

/// What a chip of build option `b` costs per hour in service: the level capex payment over its
/// life at the plan's discount rate, plus opex (the model's charge, per hour).
pub fn build_price_per_chip_hour(input: &PlanInput, b: usize) -> f64 {
    let o = &input.builds[b];
    annuity(input, o.capex_per_chip, o.lifetime_months) / HOURS_PER_MONTH + o.opex_per_chip_hour
}

/// One month of the plan's estimate.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MonthEstimate {
    pub month: usize,
    /// Demand, reference-hours.
    pub demand_ref_hours: f64,
    /// Cost by source, undiscounted, USD.
    pub cost_usd: PeriodCost,
}

/// The plan's own estimate of its first year, and what the replay needs of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct YearOne {
    /// Months compared: 12, or the horizon if shorter.
    pub months: usize,
    /// Per month, expected over the planning scenarios (a quarter's figures spread evenly over
    /// its months).
    pub expected: Vec<MonthEstimate>,
    /// Per month, the plan's first stage operated on the mean demand path: the demand the replay
    /// samples, so the like-for-like estimate.
    pub mean_path: Vec<MonthEstimate>,
    /// `class_demand_ref_hours[k][m]`: class `k`'s demand in month `m` on the mean path.
    pub class_demand_ref_hours: Vec<Vec<f64>>,
    /// The plan's builds: `builds[b][q]` chips ordered from option `b` in quarter `q`.
    pub builds: Vec<Vec<f64>>,
    /// The plan's commitments, per offer.
    pub commitments: Vec<Option<Chosen>>,
}

fn months_of(input: &PlanInput, s: &Solved, months: usize) -> Vec<MonthEstimate> {
    let p = input.periods.months;
    (0..months)
        .map(|m| {
            let row = &s.timeline[m / p];
            let mut cost = PeriodCost::default();
            cost.add_scaled(&row.cost_usd, 1.0 / p as f64);
            MonthEstimate {
                month: m,
                demand_ref_hours: row.demand_ref_hours / p as f64,
                cost_usd: cost,
            }
        })
        .collect()
}

/// The plan's estimate of its first year: from its expected timeline, and from its first stage
/// operated on the mean demand path (one more solve, second stage only).
pub fn year_one(
    input: &PlanInput,
    scenarios: &[Scenario],
    plan: &Solved,
) -> Result<YearOne, PlanError> {
    let months = MONTHS.min(input.periods.horizon_months());
    let mean = demand::mean(scenarios);
    let on_mean = solve(
        input,
        std::slice::from_ref(&mean),
        &Fixings::all(&plan.decision),
        Restrictions::ALL,
    )?;
    let p = input.periods.months;
    Ok(YearOne {
        months,
        expected: months_of(input, plan, months),
        mean_path: months_of(input, &on_mean, months),
        class_demand_ref_hours: mean
            .demand
            .iter()
            .map(|row| (0..months).map(|m| row[m / p] / p as f64).collect())
            .collect(),
        builds: plan.decision.builds.clone(),
        commitments: plan.decision.commitments.clone(),
    })
}

/// One job shape the replay used.
#[derive(Debug, Clone, Serialize)]
pub struct JobShape {
    pub class: String,
    pub chips: u32,
    pub hours: f64,
    /// Jobs sampled for the class over the replayed months.
    pub jobs: usize,
}

/// Service in the replay.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Service {
    pub jobs: usize,
    /// Mean and 90th percentile job completion time, hours.
    pub avg_jct_hours: f64,
    pub p90_jct_hours: f64,
    /// Jobs finishing after their deadline (the end of their arrival month, or twice their run
    /// time after arrival if later).
    pub deadline_misses: usize,
    /// Share of the work (reference-hours) done by its deadline: the replay's service level.
    pub on_time_share: f64,
    /// The plan's service level, for comparison.
    pub planned_service_level: f64,
    /// Jobs not finished by the end of the replayed months.
    pub unfinished_at_end: usize,
    /// Their work left then, reference-hours (scaled back).
    pub unfinished_ref_hours_at_end: f64,
    /// The replayed demand, reference-hours (scaled back).
    pub demand_ref_hours: f64,
    pub preemptions: u64,
    pub failovers: u64,
}

/// One pool of the replay.
#[derive(Debug, Clone, Serialize)]
pub struct PoolUse {
    pub pool: String,
    pub plan: String,
    /// Its quota, chips (scaled back).
    pub chips: f64,
    /// Chip-hours used (scaled back; the whole run, to the last job's end).
    pub chip_hours: f64,
    /// Owned and built pools: chip-hours in service over the replayed months (scaled back).
    pub available_chip_hours: f64,
    /// Share of the work done there.
    pub work_share: f64,
}

/// One commitment in the replay, by the end of the replayed months.
#[derive(Debug, Clone, Serialize)]
pub struct ContractUse {
    pub name: String,
    /// Due by its schedule, USD.
    pub due_usd: f64,
    /// Charged at the committed price for capacity used, USD.
    pub used_usd: f64,
    /// Due but not used (paid for nothing), USD.
    pub unused_usd: f64,
}

/// What the CLI's replay measured (costs scaled back to the plan's size).
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    /// Demand and capacities were multiplied by this to keep the replay fast; costs are divided
    /// by it.
    pub scale: f64,
    pub seed: u64,
    pub policy: String,
    pub shapes: Vec<JobShape>,
    /// Per month, cost by source, undiscounted, USD.
    pub months: Vec<PeriodCost>,
    pub service: Service,
    /// Each pool of the replay over the whole run (scaled back).
    pub pools: Vec<PoolUse>,
    /// Each commitment in the replay by the end of the replayed months (scaled back).
    pub contracts: Vec<ContractUse>,
    /// What the replay does not model, or models otherwise than the plan.
    pub notes: Vec<String>,
    /// Wall-clock seconds of the replay.
    pub seconds: f64,
}

/// One month compared.
#[derive(Debug, Clone, Serialize)]
pub struct MonthCompared {
    pub month: usize,
    pub demand_ref_hours: f64,
    pub planned_usd: f64,
    pub simulated_usd: f64,
    pub difference_percent: f64,
}

/// One source compared over the replayed months.
#[derive(Debug, Clone, Serialize)]
pub struct SourceCompared {
    pub source: String,
    /// The plan's estimate over its scenarios.
    pub planned_expected_usd: f64,
    /// The plan's estimate on the mean demand path (what the replay samples).
    pub planned_usd: f64,
    pub simulated_usd: f64,
    pub difference_usd: f64,
}

/// The plan's first year in the simulator against its own estimate.
#[derive(Debug, Clone, Serialize)]
pub struct Validation {
    pub months: usize,
    pub tolerance: f64,
    /// Totals over the replayed months, USD.
    pub planned_expected_usd: f64,
    pub planned_usd: f64,
    pub simulated_usd: f64,
    /// `simulated / planned - 1`, percent (planned: on the mean path).
    pub difference_percent: f64,
    /// Within the tolerance.
    pub agrees: bool,
    pub sources: Vec<SourceCompared>,
    pub monthly: Vec<MonthCompared>,
    /// Why they differ, in numbers: which source, which month.
    pub explanation: Vec<String>,
    pub replay: Replay,
}

const SOURCES: [&str; 7] = [
    "owned",
    "build",
    "committed",
    "on-demand",
    "spot",
    "deferred",
    "lost",
];

fn by_source(c: &PeriodCost) -> [f64; 7] {
    [
        c.owned,
        c.build,
        c.commitment,
        c.on_demand,
        c.spot,
        c.deferral,
        c.lost,
    ]
}

fn usd(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("${:.3}B", v / 1e9)
    } else if a >= 1e6 {
        format!("${:.2}M", v / 1e6)
    } else {
        format!("${v:.0}")
    }
}

fn percent(sim: f64, plan: f64) -> f64 {
    if plan.abs() > 0.0 {
        (sim / plan - 1.0) * 100.0
    } else if sim.abs() > 0.0 {
        100.0
    } else {
        0.0
    }
}

/// Compares the replay with the plan's estimate; explains a difference beyond the tolerance by
/// source and month.
pub fn compare(year: &YearOne, replay: Replay) -> Validation {
    let n = year.months.min(replay.months.len());
    let sum = |rows: &mut dyn Iterator<Item = [f64; 7]>| {
        rows.fold([0.0; 7], |mut acc, r| {
            for i in 0..7 {
                acc[i] += r[i];
            }
            acc
        })
    };
    let expected = sum(&mut year.expected[..n].iter().map(|m| by_source(&m.cost_usd)));
    let planned = sum(&mut year.mean_path[..n].iter().map(|m| by_source(&m.cost_usd)));
    let simulated = sum(&mut replay.months[..n].iter().map(by_source));
    let total = |x: &[f64; 7]| x.iter().sum::<f64>();
    let (planned_total, simulated_total) = (total(&planned), total(&simulated));
    let difference_percent = percent(simulated_total, planned_total);
    let agrees = difference_percent.abs() <= TOLERANCE * 100.0;
    let sources: Vec<SourceCompared> = (0..7)
        .filter(|&i| expected[i] != 0.0 || planned[i] != 0.0 || simulated[i] != 0.0)
        .map(|i| SourceCompared {
            source: SOURCES[i].into(),
            planned_expected_usd: expected[i],
            planned_usd: planned[i],
            simulated_usd: simulated[i],
            difference_usd: simulated[i] - planned[i],
        })
        .collect();
    let monthly: Vec<MonthCompared> = (0..n)
        .map(|m| {
            let (p, s) = (year.mean_path[m].cost_usd.total(), replay.months[m].total());
            MonthCompared {
                month: m,
                demand_ref_hours: year.mean_path[m].demand_ref_hours,
                planned_usd: p,
                simulated_usd: s,
                difference_percent: percent(s, p),
            }
        })
        .collect();
    let mut explanation = Vec::new();
    let verdict = if agrees { "within" } else { "NOT within" };
    explanation.push(format!(
        "the simulated cost of months 0-{} is {} against the plan's {} on the same (mean) demand: \
         {:+.1}%, {verdict} {:.0}%",
        n.saturating_sub(1),
        usd(simulated_total),
        usd(planned_total),
        difference_percent,
        TOLERANCE * 100.0
    ));
    if !agrees {
        let mut order: Vec<usize> = (0..7)
            .filter(|&i| (simulated[i] - planned[i]).abs() > 1e-6 * planned_total.abs().max(1.0))
            .collect();
        order.sort_by(|&a, &b| {
            (simulated[b] - planned[b])
                .abs()
                .total_cmp(&(simulated[a] - planned[a]).abs())
        });
        for &i in order.iter().take(3) {
            let d = simulated[i] - planned[i];
            let share = d / (simulated_total - planned_total).abs().max(1e-9) * 100.0;
            // The month where this source differs most.
            let (m, _) = (0..n)
                .map(|m| {
                    (
                        m,
                        by_source(&replay.months[m])[i] - by_source(&year.mean_path[m].cost_usd)[i],
                    )
                })
                .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                .unwrap_or((0, 0.0));
            explanation.push(format!(
                "{}: simulated {} against planned {} ({}{}, {:+.0}% of the gap); most in month {m}: \
                 simulated {} against planned {}",
                SOURCES[i],
                usd(simulated[i]),
                usd(planned[i]),
                if d >= 0.0 { "+" } else { "-" },
                usd(d.abs()),
                share,
                usd(by_source(&replay.months[m])[i]),
                usd(by_source(&year.mean_path[m].cost_usd)[i]),
            ));
        }
        for c in &replay.contracts {
            if c.due_usd > 0.0 && c.unused_usd > 0.01 * c.due_usd {
                explanation.push(format!(
                    "commitment `{}`: the replay used {} of the {} due by the end ({:.0}%), {} \
                     paid for nothing; the plan uses what it has paid for first, the {} policy \
                     ranks committed capacity by its price per unit of work and keeps to its \
                     schedule",
                    c.name,
                    usd(c.used_usd),
                    usd(c.due_usd),
                    c.used_usd / c.due_usd * 100.0,
                    usd(c.unused_usd),
                    replay.policy
                ));
            }
        }
        for p in &replay.pools {
            if p.plan == "owned" && p.available_chip_hours > 0.0 {
                let busy = p.chip_hours / p.available_chip_hours;
                if busy < 0.95 {
                    explanation.push(format!(
                        "`{}`: busy {:.0}% of its chip-hours in the replay ({:.0} of {:.0}); \
                         capacity the plan counts as serving demand",
                        p.pool,
                        busy * 100.0,
                        p.chip_hours,
                        p.available_chip_hours
                    ));
                }
            }
        }
        let s = &replay.service;
        if s.demand_ref_hours > 0.0 && s.unfinished_ref_hours_at_end > 0.02 * s.demand_ref_hours {
            explanation.push(format!(
                "the replay left {:.0} reference-hours ({:.1}% of the replayed demand) \
                 unfinished at the end of month {}: jobs queued for capacity rather than rent \
                 it, and work done after the replayed months is not in its cost",
                s.unfinished_ref_hours_at_end,
                s.unfinished_ref_hours_at_end / s.demand_ref_hours * 100.0,
                n.saturating_sub(1)
            ));
        }
        if s.on_time_share + 1e-9 < s.planned_service_level {
            explanation.push(format!(
                "the replay served {:.1}% of the work by its deadline against the plan's service \
                 level {:.1}%: jobs wait for whole free chips where the plan's capacity is fluid",
                s.on_time_share * 100.0,
                s.planned_service_level * 100.0
            ));
        }
    }
    let expected_total = total(&expected);
    if planned_total > 0.0 && (expected_total / planned_total - 1.0).abs() > 0.01 {
        explanation.push(format!(
            "the plan's expected cost over its scenarios is {} ({:+.1}% against the mean path): \
             rentals cost more on average over uncertain demand than at the average demand",
            usd(expected_total),
            percent(expected_total, planned_total)
        ));
    }
    Validation {
        months: n,
        tolerance: TOLERANCE,
        planned_expected_usd: expected_total,
        planned_usd: planned_total,
        simulated_usd: simulated_total,
        difference_percent,
        agrees,
        sources,
        monthly,
        explanation,
        replay,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(m: usize, on_demand: f64) -> MonthEstimate {
        MonthEstimate {
            month: m,
            demand_ref_hours: 100.0,
            cost_usd: PeriodCost {
                owned: 100.0,
                on_demand,
                ..PeriodCost::default()
            },
        }
    }

    fn replay(on_demand: &[f64]) -> Replay {
        Replay {
            scale: 1.0,
            seed: 0,
            policy: "commitment-aware".into(),
            shapes: Vec::new(),
            months: on_demand
                .iter()
                .map(|&x| PeriodCost {
                    owned: 100.0,
                    on_demand: x,
                    ..PeriodCost::default()
                })
                .collect(),
            service: Service {
                on_time_share: 1.0,
                planned_service_level: 1.0,
                ..Service::default()
            },
            pools: Vec::new(),
            contracts: Vec::new(),
            notes: Vec::new(),
            seconds: 0.0,
        }
    }

    #[test]
    fn a_replay_within_the_tolerance_agrees() {
        let year = YearOne {
            months: 2,
            expected: vec![month(0, 50.0), month(1, 50.0)],
            mean_path: vec![month(0, 50.0), month(1, 50.0)],
            class_demand_ref_hours: vec![],
            builds: vec![],
            commitments: vec![],
        };
        let v = compare(&year, replay(&[55.0, 60.0]));
        assert!(v.agrees, "{v:?}");
        assert!((v.difference_percent - 5.0).abs() < 1e-9);
        assert_eq!(v.explanation.len(), 1);
    }

    #[test]
    fn a_difference_beyond_the_tolerance_names_the_source_and_the_month() {
        let year = YearOne {
            months: 2,
            expected: vec![month(0, 50.0), month(1, 50.0)],
            mean_path: vec![month(0, 50.0), month(1, 50.0)],
            class_demand_ref_hours: vec![],
            builds: vec![],
            commitments: vec![],
        };
        let v = compare(&year, replay(&[50.0, 150.0]));
        assert!(!v.agrees);
        assert!((v.difference_percent - 100.0 / 3.0).abs() < 1e-9);
        let why = v.explanation.join("\n");
        assert!(
            why.contains("on-demand: simulated $200 against planned $100")
                && why.contains("most in month 1: simulated $150 against planned $50"),
            "{why}"
        );
    }
}
