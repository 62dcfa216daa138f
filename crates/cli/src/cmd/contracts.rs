//! `spillway contracts`: each committed-spend contract, spent against its burn schedule, the
//! projection to the end of the term (on track, shortfall in dollars, or when it is used up)
//! and the share of the work it carried: of a scenario after a simulated run (`--scenario`), or
//! of a running server from real usage (`GET /v1/contracts`). Both print the core's
//! `ContractReport` through the same table and JSON. `--as-overrides` prints a scenario's
//! contracts as catalog overrides (`[[discount]]`), so that `spillway offers` and
//! `spillway estimate --catalog-overrides` show the committed prices. `--sweep` sizes a
//! scenario's first contract: one simulated run per commitment size and term, priced at several
//! costs of waiting.

use super::client::{Api, ClientArgs, time};
use crate::cmd::simulate::scenario;
use crate::table::{Align, Table};
use anyhow::{Context, Result};
use spillway_catalog::Catalog;
use spillway_core::SimTime;
use spillway_core::econ::{Contract, ContractReport, EconPolicy, Projection};
use spillway_server::api::ContractList;
use std::path::{Path, PathBuf};

/// Flags of `spillway contracts`.
#[derive(Debug, clap::Args)]
pub(crate) struct ContractsArgs {
    /// The scenario whose contracts to report after a simulated run (TOML, see
    /// docs/economics.md); without it, the contracts of the server (`--server`) from real usage.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// The placement policy of the simulated run (with --scenario).
    #[arg(long, default_value = "commitment-aware", requires = "scenario")]
    policy: String,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Print the contracts as catalog overrides (`[[discount]]` tables) instead of running
    /// (with --scenario).
    #[arg(long, conflicts_with = "json", requires = "scenario")]
    as_overrides: bool,
    /// Size the scenario's first contract: one run per size (`--sizes`) and term (`--terms`),
    /// with the scenario's accounting horizon (state `horizon_months` so that totals compare).
    #[arg(long, requires = "scenario", conflicts_with = "as_overrides")]
    sweep: bool,
    /// Commitment sizes of the sweep, dollars a year of term.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "200000,400000,600000,800000,1000000,1200000,1400000,1600000,1800000,2000000",
        requires = "sweep"
    )]
    sizes: Vec<f64>,
    /// Terms of the sweep, months.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "12,36,72",
        requires = "sweep"
    )]
    terms: Vec<f64>,
    /// Costs of a job-hour of delay the sweep prices its runs at, dollars.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,10,50",
        requires = "sweep"
    )]
    delay_costs: Vec<f64>,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) fn run(args: ContractsArgs) -> Result<()> {
    let Some(path) = &args.scenario else {
        return from_server(&args);
    };
    let s = scenario::load(path, None)?;
    if args.as_overrides {
        print!("{}", overrides(&s.contracts));
        return Ok(());
    }
    let policy: EconPolicy = args.policy.parse()?;
    if args.sweep {
        return sweep(&args, &s, policy);
    }
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
    print_table(&summary.contracts, 0, |at| {
        format!("exhausted at day {:.1}", at.as_hours() / 24.0)
    });
    println!(
        "after a simulated run of {} under {} ({:.1} days); days count from the start of the workload",
        s.name,
        summary.policy,
        summary.makespan_hours / 24.0
    );
    Ok(())
}

/// The contracts of a running server, from real usage.
fn from_server(args: &ContractsArgs) -> Result<()> {
    let api = Api::new(&args.client)?;
    let list: ContractList = api.send(api.get("/v1/contracts"))?;
    let reports: Vec<ContractReport> = list.contracts.iter().map(|c| c.report.clone()).collect();
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "server": args.client.server,
                "at_ms": list.at_ms,
                "contracts": reports,
            }))?
        );
        return Ok(());
    }
    if reports.is_empty() {
        println!(
            "no contracts: the server's config declares no [[contract]] (see docs/service.md)"
        );
        return Ok(());
    }
    // The service's clock is microseconds since the epoch: a date says when it runs out. Real
    // usage may be small next to a commitment: spending shows its cents.
    print_table(&reports, 2, |at| {
        let day = time(at.0.div_euclid(1000));
        format!("exhausted on {}", &day[..10])
    });
    println!(
        "from real usage on {} at {}; projections at each contract's run rate since the start of its term",
        args.client.server,
        time(list.at_ms)
    );
    Ok(())
}

/// The report table with `cents` decimals of dollars spent; `exhausted` says when a contract
/// runs out, in the report's clock.
fn print_table(reports: &[ContractReport], cents: usize, exhausted: impl Fn(SimTime) -> String) {
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
        ("term", Align::Right),
        ("overage $", Align::Right),
        ("shortfall owed $", Align::Right),
    ]);
    for c in reports {
        let projection = match &c.projection {
            Projection::OnTrack => "on track".to_string(),
            Projection::Shortfall { lost } => format!("shortfall: ${:.0} lost", lost.0),
            Projection::Exhausted { at } => exhausted(*at),
        };
        table.push(vec![
            c.contract.clone(),
            c.provider.clone(),
            format!("{:.0}", c.total),
            format!("{:.cents$}", c.spent),
            format!("{:.cents$}", c.scheduled),
            format!("{:.3}", c.burn_ratio),
            format!("{:.cents$}", c.projected_at_end),
            projection,
            format!("{:.1}%", c.share_of_work * 100.0),
            format!(
                "{}/{}{}",
                c.term,
                c.terms,
                if c.open { "" } else { " (ended)" }
            ),
            format!("{:.cents$}", c.overage),
            format!("{:.cents$}", c.shortfall_owed),
        ]);
    }
    print!("{}", table.render());
}

/// `--sweep`: the runs, then for each delay cost the cheapest size of each term.
fn sweep(
    args: &ContractsArgs,
    s: &spillway_sim::cloud::Scenario,
    policy: EconPolicy,
) -> Result<()> {
    use spillway_sim::cloud::{cheapest_sizes, sweep_commitment};
    anyhow::ensure!(
        !s.contracts.is_empty(),
        "--sweep: scenario {} has no [[contract]] to size",
        s.name
    );
    for (flag, values) in [
        ("--sizes", &args.sizes),
        ("--terms", &args.terms),
        ("--delay-costs", &args.delay_costs),
    ] {
        anyhow::ensure!(
            values.iter().all(|v| v.is_finite() && *v >= 0.0) && !values.is_empty(),
            "{flag}: give numbers >= 0, separated by commas"
        );
    }
    anyhow::ensure!(
        args.terms.iter().all(|t| *t > 0.0),
        "--terms: a term is more than 0 months"
    );
    let rows = sweep_commitment(s, 0, &args.sizes, &args.terms, policy);
    if args.json {
        let best: Vec<_> = args
            .delay_costs
            .iter()
            .map(|&d| serde_json::json!({ "delay_usd_per_job_hour": d, "cheapest": cheapest_sizes(&rows, d) }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "scenario": s.name,
                "policy": policy.name(),
                "horizon_months": s.accounting.horizon_months(),
                "runs": rows,
                "cheapest": best,
            }))?
        );
        return Ok(());
    }
    let mut cols = vec![
        ("term m".to_string(), Align::Right),
        ("$/year".to_string(), Align::Right),
        ("spend $".to_string(), Align::Right),
        ("committed $".to_string(), Align::Right),
        ("shortfall $".to_string(), Align::Right),
        ("overage $".to_string(), Align::Right),
        ("list after term $".to_string(), Align::Right),
        ("delay job-h".to_string(), Align::Right),
    ];
    for d in &args.delay_costs {
        cols.push((format!("total @ ${d}/job-h"), Align::Right));
    }
    let headers: Vec<(&str, Align)> = cols.iter().map(|(h, a)| (h.as_str(), *a)).collect();
    let mut table = Table::new(&headers);
    for r in &rows {
        let mut row = vec![
            format!("{:.0}", r.term_months),
            format!("{:.0}", r.annual_usd),
            format!("{:.0}", r.spend_usd),
            format!("{:.0}", r.committed_usd),
            format!("{:.0}", r.shortfall_usd),
            format!("{:.0}", r.overage_usd),
            format!("{:.0}", r.list_usd),
            format!("{:.0}", r.delay_job_hours),
        ];
        row.extend(
            args.delay_costs
                .iter()
                .map(|&d| format!("{:.0}", r.with_delay(d))),
        );
        table.push(row);
    }
    print!("{}", table.render());
    for &d in &args.delay_costs {
        let best: Vec<String> = cheapest_sizes(&rows, d)
            .iter()
            .map(|(t, size)| format!("{t:.0} months: ${size:.0}/year"))
            .collect();
        println!("cheapest at ${d}/job-hour of delay: {}", best.join(", "));
    }
    println!(
        "{} under {}, horizon {:.0} months ({}); committed charges never exceed a term's total (largest: {:.0}% of it) nor follow the term",
        s.name,
        policy.name(),
        s.accounting.horizon_months(),
        s.accounting.horizon_source,
        rows.iter()
            .map(|r| r.max_term_committed_usd / r.total_usd.max(1e-9))
            .fold(0.0, f64::max)
            * 100.0
    );
    Ok(())
}

/// The contracts of a scenario (a file with a `[scenario]` table) or of a service config, for
/// `offers --contracts` and `estimate --contracts`.
pub(crate) fn load_contracts(path: &Path) -> Result<Vec<Contract>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("read contracts from {}", path.display()))?;
    if text.lines().any(|l| l.trim() == "[scenario]") {
        return Ok(scenario::load(path, None)?.contracts);
    }
    Ok(spillway_server::config::Config::load(path)?.contracts)
}

/// Applies `path`'s contracts to `catalog` as discounts: its offers then show committed prices.
pub(crate) fn apply_contracts(catalog: &mut Catalog, path: &Path) -> Result<()> {
    let contracts = load_contracts(path)?;
    anyhow::ensure!(
        !contracts.is_empty(),
        "{} has no [[contract]] table",
        path.display()
    );
    catalog.apply_overrides(&overrides(&contracts), path)?;
    Ok(())
}

/// The contracts as `[[discount]]` tables of the catalog overrides file.
fn overrides(contracts: &[Contract]) -> String {
    let mut out = String::from("# Committed prices of these contracts, as catalog discounts.\n");
    for c in contracts {
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
