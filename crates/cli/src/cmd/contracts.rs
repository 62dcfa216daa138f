//! `spillway contracts`: each committed-spend contract of a scenario, after a simulated run:
//! spent against its burn schedule, the projection to the end of the term (on track, shortfall in
//! dollars, or the date it is used up) and the share of the work it carried. `--as-overrides`
//! prints the contracts as catalog overrides (`[[discount]]`), so that `spillway offers` and
//! `spillway estimate --catalog-overrides` show the committed prices.

use crate::cmd::simulate::scenario;
use crate::table::{Align, Table};
use anyhow::Result;
use spillway_core::econ::{EconPolicy, Projection};
use std::path::PathBuf;

/// Flags of `spillway contracts`.
#[derive(Debug, clap::Args)]
pub(crate) struct ContractsArgs {
    /// The scenario whose contracts to report (TOML, see docs/economics.md).
    #[arg(long, value_name = "FILE")]
    scenario: PathBuf,
    /// The placement policy of the simulated run.
    #[arg(long, default_value = "commitment-aware")]
    policy: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Print the contracts as catalog overrides (`[[discount]]` tables) instead of running.
    #[arg(long, conflicts_with = "json")]
    as_overrides: bool,
}

pub(crate) fn run(args: ContractsArgs) -> Result<()> {
    let s = scenario::load(&args.scenario, None)?;
    if args.as_overrides {
        print!("{}", overrides(&s));
        return Ok(());
    }
    let policy: EconPolicy = args.policy.parse()?;
    let runs = scenario::run_all(&s, &[policy]);
    let (summary, _) = &runs[0];
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "scenario": s.name,
                "policy": summary.policy,
                "at_hours": summary.makespan_hours,
                "contracts": summary.contracts,
            }))?
        );
        return Ok(());
    }
    let mut table = Table::new(&[
        ("contract", Align::Left),
        ("provider", Align::Left),
        ("total $", Align::Right),
        ("spent $", Align::Right),
        ("scheduled $", Align::Right),
        ("burn", Align::Right),
        ("projected at end $", Align::Right),
        ("projection", Align::Left),
        ("share of work", Align::Right),
    ]);
    for c in &summary.contracts {
        let projection = match &c.projection {
            Projection::OnTrack => "on track".to_string(),
            Projection::Shortfall { lost } => format!("shortfall: ${:.0} lost", lost.0),
            Projection::Exhausted { at } => {
                format!("exhausted at day {:.1}", at.as_hours() / 24.0)
            }
        };
        table.push(vec![
            c.contract.clone(),
            c.provider.clone(),
            format!("{:.0}", c.total),
            format!("{:.0}", c.spent),
            format!("{:.0}", c.scheduled),
            format!("{:.3}", c.burn_ratio),
            format!("{:.0}", c.projected_at_end),
            projection,
            format!("{:.1}%", c.share_of_work * 100.0),
        ]);
    }
    print!("{}", table.render());
    println!(
        "after a simulated run of {} under {} ({:.1} days); days count from the start of the workload",
        s.name,
        summary.policy,
        summary.makespan_hours / 24.0
    );
    Ok(())
}

/// The contracts as `[[discount]]` tables of the catalog overrides file.
fn overrides(s: &spillway_sim::cloud::Scenario) -> String {
    let mut out = String::from(
        "# Committed prices of the contracts in this scenario, as catalog discounts.\n",
    );
    for c in &s.contracts {
        let accelerators: Vec<Option<&str>> = if c.accelerators.is_empty() {
            vec![None]
        } else {
            c.accelerators.iter().map(|a| Some(a.as_str())).collect()
        };
        let regions: Vec<Option<&str>> = if c.regions.is_empty() {
            vec![None]
        } else {
            c.regions.iter().map(|r| Some(r.as_str())).collect()
        };
        for a in &accelerators {
            for r in &regions {
                out.push_str(&format!(
                    "\n# contract {}\n[[discount]]\nprovider = \"{}\"\n",
                    c.name, c.provider
                ));
                if let Some(a) = a {
                    out.push_str(&format!("accelerator = \"{a}\"\n"));
                }
                if let Some(r) = r {
                    out.push_str(&format!("region = \"{r}\"\n"));
                }
                out.push_str(&format!("percent = {}\n", c.discount * 100.0));
            }
        }
    }
    out
}
