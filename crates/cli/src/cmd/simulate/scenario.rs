//! `spillway simulate --scenario FILE`: runs the placement policies of the economics model
//! (`baseline`, `commitment-aware`, `on-demand-only`) over a scenario of priced pools,
//! contracts and a workload, and prints costs, JCT, commitment burn, failovers and preemptions.

use crate::table::{Align, Table};
use anyhow::{Context, Result};
use spillway_catalog::Catalog;
use spillway_core::econ::EconPolicy;
use spillway_sim::cloud::{EconOutcome, EconSummary, Scenario, run_scenario, write_spend_plot};
use std::path::Path;

/// The policies run when `--policy` is left at its default.
const DEFAULT_POLICIES: &[&str] = &["baseline", "commitment-aware"];

/// Loads the scenario at `path` (prices from the catalog with the user's overrides).
pub(crate) fn load(path: &Path, overrides: Option<&Path>) -> Result<Scenario> {
    let catalog = Catalog::load(overrides).context("load the catalog")?;
    Ok(Scenario::load(path, &catalog)?)
}

/// Parses `--policy` for a scenario run; Gavel's default policy name means "the defaults".
pub(crate) fn policies(names: &[String]) -> Result<Vec<EconPolicy>> {
    let names: Vec<&str> = if names.len() == 1 && names[0] == "max_min_fairness_perf" {
        DEFAULT_POLICIES.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    Ok(names.iter().map(|n| n.parse()).collect::<Result<_, _>>()?)
}

/// Runs every policy, on as many threads as there are cores; returns each summary with its
/// outcome, in the order of `policies`. Each run shows a progress bar of the jobs done on
/// standard error when that is a terminal (`simulate --scenario` and `contracts --scenario`
/// both come here).
pub(crate) fn run_all(
    scenario: &Scenario,
    policies: &[EconPolicy],
) -> Vec<(EconSummary, EconOutcome)> {
    let bars = indicatif::MultiProgress::new();
    let one = |p: EconPolicy| {
        let bar = bars.add(super::progress_bar(
            scenario.jobs.len(),
            &format!("scenario {p}"),
        ));
        let outcome = run_scenario(scenario, p, &mut |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        });
        bar.finish_and_clear();
        (EconSummary::new(scenario, &outcome), outcome)
    };
    spillway_sim::parallel::map(policies, |&p| one(p))
}

pub(crate) fn run(path: &Path, names: &[String], json: bool, plot: Option<&Path>) -> Result<()> {
    let scenario = load(path, None)?;
    let policies = policies(names)?;
    let runs = run_all(&scenario, &policies);
    if let Some(dir) = plot {
        for (_, o) in &runs {
            write_spend_plot(dir, &scenario, o).map_err(anyhow::Error::msg)?;
        }
    }
    if json {
        let summaries: Vec<&EconSummary> = runs.iter().map(|(s, _)| s).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "scenario": scenario.name, "runs": summaries })
            )?
        );
        return Ok(());
    }
    let mut table = Table::new(&[
        ("policy", Align::Left),
        ("jobs", Align::Right),
        ("total $", Align::Right),
        ("delay $", Align::Right),
        ("total+delay $", Align::Right),
        ("unfinished", Align::Right),
        ("avg JCT h", Align::Right),
        ("p90 h", Align::Right),
        ("burn", Align::Right),
        ("deadline miss", Align::Right),
        ("failovers", Align::Right),
        ("preempt", Align::Right),
        ("owned $", Align::Right),
        ("committed $", Align::Right),
        ("on-demand $", Align::Right),
        ("spot $", Align::Right),
    ]);
    for (s, _) in &runs {
        let plan = |k: &str| {
            s.cost_by_plan
                .get(k)
                .map_or("-".to_string(), |v| format!("{v:.0}"))
        };
        table.push(vec![
            s.policy.clone(),
            s.jobs_completed.to_string(),
            format!("{:.0}", s.total_cost_usd),
            format!("{:.0}", s.delay_cost_usd),
            format!("{:.0}", s.total_with_delay_usd),
            s.unfinished_jobs.to_string(),
            format!("{:.3}", s.avg_jct_hours),
            format!("{:.3}", s.p90_jct_hours),
            format!("{:.3}", s.commitment_burn_ratio),
            format!("{}/{}", s.deadline_misses, s.jobs_with_deadline),
            s.failovers.to_string(),
            s.preemptions.to_string(),
            plan("owned"),
            plan("committed"),
            plan("on-demand"),
            plan("spot"),
        ]);
    }
    print!("{}", table.render());
    let a = &scenario.accounting;
    println!(
        "costs over a horizon of {:.1} months ({}); delay at ${}/job-hour, ${} per missed deadline",
        a.horizon_months(),
        a.horizon_source,
        a.delay_usd_per_job_hour,
        a.deadline_miss_usd
    );
    Ok(())
}
