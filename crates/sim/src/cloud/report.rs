//! The summary of a scenario run (what `spillway simulate --scenario` prints) and the plot of
//! spending against each contract's schedule.
//!
//! Total cost is what the organization owes over the scenario's fixed accounting horizon: the
//! owned fleet's amortized cost for the whole horizon (used or not), on-demand and spot bills up
//! to it, and for each contract what it owes by then ([`Owed`]: committed charges, the
//! shortfall of each term ended by then, the prorated schedule of a term still running,
//! overage and list billing). Work not finished by the horizon is counted, not hidden, and the
//! price of waiting (delay and missed deadlines) is added beside the spend, which stays
//! visible on its own.

use super::run::EconOutcome;
use super::scenario::Scenario;
use plotters::prelude::*;
use serde::Serialize;
use spillway_core::SimTime;
use spillway_core::econ::{ContractReport, Owed, PlanKind};
use std::collections::BTreeMap;
use std::path::Path;

/// Spending against the contracts at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpendSample {
    /// When.
    pub at: SimTime,
    /// Charged so far, per contract.
    pub spent: Vec<f64>,
    /// Due by the schedule, per contract.
    pub scheduled: Vec<f64>,
}

/// Cost of one pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostLine {
    /// The pool.
    pub pool: String,
    /// Its price plan.
    pub plan: PlanKind,
    /// Dollars billed for use by the horizon (owned: its amortized cost over the horizon;
    /// committed: billed under its contract, shortfalls aside).
    pub cost_usd: f64,
    /// Chip-hours rented (whole run).
    pub chip_hours: f64,
    /// Share of all work done there by the horizon, in reference accelerator-hours (chips x time
    /// x speed).
    pub work_share: f64,
}

/// Figures of one scenario run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EconSummary {
    /// The policy.
    pub policy: String,
    /// Jobs finished.
    pub jobs_completed: usize,
    /// Spend over the horizon: owned (amortized, whole fleet, for the horizon) + on-demand + spot
    /// billed by the horizon + what each contract owes by it.
    pub total_cost_usd: f64,
    /// The accounting horizon, months from t = 0.
    pub horizon_months: f64,
    /// Where it comes from: `stated`, `contracts` or `workload`.
    pub horizon_source: String,
    /// Jobs not finished by the horizon.
    pub unfinished_jobs: usize,
    /// Reference accelerator-hours of work left at the horizon.
    pub unfinished_accelerator_hours: f64,
    /// Billed after the horizon (the run goes on until every job ends; not in the total).
    pub spend_after_horizon_usd: f64,
    /// Job-hours of delay: per job, its time to finish beyond its run time on the reference
    /// accelerator.
    pub delay_job_hours: f64,
    /// Price of waiting: delay job-hours x `delay_usd_per_job_hour` + deadline misses x
    /// `deadline_miss_usd`.
    pub delay_cost_usd: f64,
    /// Spend and the price of waiting together.
    pub total_with_delay_usd: f64,
    /// Mean JCT, hours.
    pub avg_jct_hours: f64,
    /// Median JCT, hours.
    pub p50_jct_hours: f64,
    /// 90th percentile JCT, hours.
    pub p90_jct_hours: f64,
    /// Last finish, hours from t = 0.
    pub makespan_hours: f64,
    /// Charged / due by the schedule at the end of the run, all contracts together.
    pub commitment_burn_ratio: f64,
    /// Charged to contracts.
    pub committed_spent_usd: f64,
    /// Due to contracts by the end of the run.
    pub committed_scheduled_usd: f64,
    /// Jobs finishing after their deadline.
    pub deadline_misses: usize,
    /// Jobs with a deadline.
    pub jobs_with_deadline: usize,
    /// Failed launches that moved a job on.
    pub failovers: u64,
    /// Spot preemptions.
    pub preemptions: u64,
    /// Jobs moved from on-demand back to spot.
    pub migrations: u64,
    /// Cost per price plan (`owned`, `committed`, `on-demand`, `spot`).
    pub cost_by_plan: BTreeMap<String, f64>,
    /// Cost per pool.
    pub cost_by_pool: Vec<CostLine>,
    /// Each contract at the end of the run.
    pub contracts: Vec<ContractReport>,
    /// What each contract owes by the horizon.
    pub contracts_owed: Vec<Owed>,
}

impl EconSummary {
    /// Summarizes `o`.
    pub fn new(s: &Scenario, o: &EconOutcome) -> EconSummary {
        let mut jct: Vec<f64> = s
            .jobs
            .iter()
            .zip(&o.finishes)
            .filter_map(|(j, f)| f.map(|f| (f.0 - j.arrival.0) as f64 / 3.6e9))
            .collect();
        jct.sort_by(f64::total_cmp);
        let hours = o.makespan.as_hours();
        let a = &s.accounting;
        let h = &o.at_horizon;
        let total_work: f64 = h.pool_work_s.iter().sum();
        let mut by_plan: BTreeMap<String, f64> = BTreeMap::new();
        for plan in [
            PlanKind::Owned,
            PlanKind::Committed,
            PlanKind::OnDemand,
            PlanKind::Spot,
        ] {
            if s.pools.iter().any(|p| p.plan == plan) {
                by_plan.insert(plan.name().to_string(), 0.0);
            }
        }
        let mut lines = Vec::new();
        for (p, pool) in s.pools.iter().enumerate() {
            let cost = if pool.plan == PlanKind::Owned {
                f64::from(pool.quota_chips) * pool.price_per_chip_hour * a.horizon.as_hours()
            } else {
                h.pool_cost[p]
            };
            if pool.plan != PlanKind::Committed {
                *by_plan.entry(pool.plan.name().to_string()).or_default() += cost;
            }
            lines.push(CostLine {
                pool: pool.name.clone(),
                plan: pool.plan,
                cost_usd: cost,
                chip_hours: o.pool_chip_hours[p],
                work_share: if total_work > 0.0 {
                    h.pool_work_s[p] / total_work
                } else {
                    0.0
                },
            });
        }
        let mut spent = 0.0;
        let mut due = 0.0;
        let mut contracts = Vec::new();
        let mut owed = Vec::new();
        let run_work: f64 = o.pool_work_s.iter().sum();
        for (c, contract) in s.contracts.iter().enumerate() {
            let l = &o.ledgers[c];
            spent += l.spent.0;
            due += contract.scheduled(o.makespan).0;
            let at_horizon = h.ledgers[c].owed(contract, a.horizon);
            *by_plan.entry("committed".into()).or_default() += at_horizon.total();
            owed.push(at_horizon);
            contracts.push(l.report(contract, o.makespan, run_work));
        }
        // Committed pools' bills are in their contracts' totals (with the shortfall); the other
        // plans' bills after the horizon are reported apart.
        let billed_by_horizon: f64 = s
            .pools
            .iter()
            .enumerate()
            .filter(|(_, p)| p.plan != PlanKind::Owned)
            .map(|(i, _)| h.pool_cost[i])
            .sum();
        let billed: f64 = o.pool_cost.iter().sum();
        let with_deadline: Vec<_> = s
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| j.deadline.is_some())
            .collect();
        let misses = with_deadline
            .iter()
            .filter(|(i, j)| o.finishes[*i].is_none_or(|f| Some(f) > j.deadline))
            .count();
        let delay_job_hours: f64 = s
            .jobs
            .iter()
            .zip(&o.finishes)
            .filter_map(|(j, f)| f.map(|f| ((f.0 - j.arrival.0) as f64 / 1e6 - j.work_s).max(0.0)))
            .sum::<f64>()
            / 3600.0;
        let delay_cost_usd =
            delay_job_hours * a.delay_usd_per_job_hour + misses as f64 * a.deadline_miss_usd;
        let total_cost_usd: f64 = by_plan.values().sum();
        let mean = crate::metrics::mean(&jct);
        EconSummary {
            policy: o.policy.name().to_string(),
            jobs_completed: jct.len(),
            total_cost_usd,
            horizon_months: a.horizon_months(),
            horizon_source: a.horizon_source.to_string(),
            unfinished_jobs: h.unfinished_jobs,
            unfinished_accelerator_hours: h.unfinished_work_s / 3600.0,
            spend_after_horizon_usd: (billed - billed_by_horizon).max(0.0),
            delay_job_hours,
            delay_cost_usd,
            total_with_delay_usd: total_cost_usd + delay_cost_usd,
            avg_jct_hours: mean,
            p50_jct_hours: crate::metrics::quantile(&jct, 0.5),
            p90_jct_hours: crate::metrics::quantile(&jct, 0.9),
            makespan_hours: hours,
            commitment_burn_ratio: if due > 0.0 { spent / due } else { 0.0 },
            committed_spent_usd: spent,
            committed_scheduled_usd: due,
            deadline_misses: misses,
            jobs_with_deadline: with_deadline.len(),
            failovers: o.failovers,
            preemptions: o.preemptions,
            migrations: o.migrations,
            cost_by_plan: by_plan,
            cost_by_pool: lines,
            contracts,
            contracts_owed: owed,
        }
    }
}

/// Writes `commitment_<policy>.svg` into `dir`: for each contract, dollars charged and dollars
/// due by the schedule over time.
pub fn write_spend_plot(dir: &Path, s: &Scenario, o: &EconOutcome) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let path = dir.join(format!("commitment_{}.svg", o.policy.name()));
    let draw = || -> Result<(), Box<dyn std::error::Error>> {
        let end = o.makespan.as_hours().max(1e-3) / 24.0;
        let top = o
            .spend
            .iter()
            .flat_map(|x| x.spent.iter().chain(&x.scheduled))
            .fold(1.0f64, |a, b| a.max(*b))
            * 1.05;
        let root = SVGBackend::new(&path, (800, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{}: committed spend vs schedule ({})", s.name, o.policy),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..end, 0f64..top / 1e6)?;
        chart
            .configure_mesh()
            .x_desc("days")
            .y_desc("million USD")
            .draw()?;
        let colors = [BLUE, RED, GREEN, MAGENTA];
        for (c, contract) in s.contracts.iter().enumerate() {
            let color = colors[c % colors.len()];
            let spent: Vec<(f64, f64)> = o
                .spend
                .iter()
                .map(|x| (x.at.as_hours() / 24.0, x.spent[c] / 1e6))
                .collect();
            let due: Vec<(f64, f64)> = o
                .spend
                .iter()
                .map(|x| (x.at.as_hours() / 24.0, x.scheduled[c] / 1e6))
                .collect();
            chart
                .draw_series(LineSeries::new(spent, color.stroke_width(2)))?
                .label(format!("{} spent", contract.name))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart
                .draw_series(LineSeries::new(due, color.mix(0.4)))?
                .label(format!("{} schedule", contract.name))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.mix(0.4)));
        }
        chart.configure_series_labels().border_style(BLACK).draw()?;
        root.present()?;
        Ok(())
    };
    draw().map_err(|e| format!("draw {}: {e}", path.display()))
}
