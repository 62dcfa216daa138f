//! `spillway plan FILE`: size a multi-year capacity portfolio (build, commit or rent) with the
//! two-stage stochastic MILP of `spillway-plan`, next to the baselines; optionally evaluate a
//! named contract (`--contract`), out of sample (on by default) and with sensitivity, and
//! write SVG plots (`--plot DIR`) and an HTML report (`--html FILE`).

mod demand;
mod validate;

use crate::output::emit;
use crate::table::{Align, Table};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use spillway_catalog::Catalog;
use spillway_plan::report::{PlanReport, Portfolio};
use spillway_plan::{RunOptions, parse_contract};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Flags of `spillway plan`.
#[derive(Debug, clap::Args)]
pub(crate) struct PlanArgs {
    /// The plan file (TOML, see docs/plan.md and examples/plans/).
    file: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Write SVG plots into this folder: work by source against demand, spend against each
    /// commitment's schedule.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Write a self-contained HTML report (no network needed to view it): the decisions, cost
    /// against the baselines, capacity against demand per month, the contract's evaluation,
    /// sensitivity.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Evaluate a contract against the best plan without it, e.g.
    /// 'gcp, $10B, 72 months, 30% off, tpu-v5p+tpu-v6e' (optionally ', start 6').
    #[arg(long, value_name = "TERMS")]
    contract: Option<String>,
    /// Skip the sensitivity runs (demand growth, discount rate, TPU/GPU speed).
    #[arg(long)]
    no_sensitivity: bool,
    /// Skip the out-of-sample evaluation on fresh demand paths.
    #[arg(long)]
    no_evaluation: bool,
    /// Derive each class's demand level and growth from a cluster trace (Philly, Alibaba, or
    /// Spillway's CSV): monthly accelerator-hours fitted by a growth curve, split among the
    /// classes in the file's proportions (docs/plan.md, "Demand from observed use").
    #[arg(long, value_name = "FILE", conflicts_with = "demand_from_server")]
    demand_from_trace: Option<PathBuf>,
    /// Derive each class's demand level and growth from a running service's history (the
    /// attempts that ran, through GET /v1/history), like --demand-from-trace.
    #[arg(long, value_name = "URL")]
    demand_from_server: Option<String>,
    /// Bearer token for --demand-from-server (a tenant's sees its own jobs; an admin's all).
    #[arg(long, env = "SPILLWAY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Multiply the observed accelerator-hours by this (a trace that stands for a share of the
    /// organization); only with --demand-from-trace or --demand-from-server.
    #[arg(long, value_name = "FACTOR")]
    demand_scale: Option<f64>,
    /// Replay the plan's first year in the simulator (pools and contracts from the plan, a
    /// workload sampled to its mean demand) and compare its service and cost with the plan's own
    /// estimate (docs/plan.md, "Validation in the simulator").
    #[arg(long)]
    validate: bool,
    /// Most jobs the --validate replay samples; demand and capacities are scaled down to fit
    /// and costs scaled back.
    #[arg(long, value_name = "N", default_value_t = 2000, requires = "validate")]
    validate_jobs: usize,
    /// Catalog overrides file (default: $SPILLWAY_CATALOG_OVERRIDES, else
    /// ~/.config/spillway/catalog.toml if it exists).
    #[arg(long, value_name = "FILE")]
    catalog_overrides: Option<PathBuf>,
}

pub(crate) fn run(args: PlanArgs) -> Result<()> {
    if args.validate && args.validate_jobs == 0 {
        anyhow::bail!("--validate-jobs must be at least 1");
    }
    let catalog = Catalog::load(args.catalog_overrides.as_deref()).context("load the catalog")?;
    let input = spillway_plan::load(&args.file, &catalog)
        .with_context(|| format!("plan {}", args.file.display()))?;
    let derived = derived_demand(&args, &input)?;
    let input = match &derived {
        Some(d) => spillway_plan::derive::apply(&input, d),
        None => input,
    };
    let contract = args.contract.as_deref().map(parse_contract).transpose()?;
    let options = RunOptions {
        contract,
        sensitivity: !args.no_sensitivity,
        evaluate: !args.no_evaluation,
        validate: args.validate,
    };
    let bar = progress_bar();
    let mut progress = |step: &str, done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(step.to_string());
    };
    let mut report = spillway_plan::run(&input, &catalog, &options, &mut progress)
        .with_context(|| format!("plan {}", args.file.display()))?;
    report.derived_demand = derived;
    if let Some(year) = report.year_one.take() {
        bar.set_message("replay the first year in the simulator");
        let replay = validate::replay(&input, &year, &catalog, args.validate_jobs)
            .with_context(|| format!("plan {}", args.file.display()))?;
        report.validation = Some(spillway_plan::validate::compare(&year, replay));
    }
    bar.finish_and_clear();
    if let Some(dir) = &args.plot {
        let files = spillway_plan::plot::write_plots(&report, dir)
            .with_context(|| format!("write plots to {}", dir.display()))?;
        eprintln!("wrote {} plots to {}", files.len(), dir.display());
    }
    if let Some(path) = &args.html {
        crate::report_html::plan::page(&report).write(path)?;
        eprintln!("wrote the report to {}", path.display());
    }
    if args.json {
        emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        emit(&render(&report))?;
    }
    Ok(())
}

/// The demand `--demand-from-trace` or `--demand-from-server` derive, if either is given.
fn derived_demand(
    args: &PlanArgs,
    input: &spillway_plan::PlanInput,
) -> Result<Option<spillway_plan::derive::Derived>> {
    let scale = args.demand_scale.unwrap_or(1.0);
    let (usage, source) = match (&args.demand_from_trace, &args.demand_from_server) {
        (Some(path), _) => (demand::from_trace(path)?, path.display().to_string()),
        (None, Some(url)) => (demand::from_server(url, args.token.clone())?, url.clone()),
        (None, None) => {
            if args.demand_scale.is_some() {
                anyhow::bail!(
                    "--demand-scale scales observed demand: give --demand-from-trace FILE or \
                     --demand-from-server URL with it"
                );
            }
            return Ok(None);
        }
    };
    Ok(Some(spillway_plan::derive::derive(
        input, &usage, scale, &source,
    )?))
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(1);
    if let Ok(style) = ProgressStyle::with_template("plan [{bar:30}] {pos}/{len} {msg} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// Dollars as the plan's tables and report page show them (`$1.234B`, `$5.67M`, `$890`).
pub(crate) fn usd(v: f64) -> String {
    // No "-0" from solver dust.
    let v = if v.abs() < 0.5 { 0.0 } else { v };
    let a = v.abs();
    if a >= 1e9 {
        format!("${:.3}B", v / 1e9)
    } else if a >= 1e6 {
        format!("${:.2}M", v / 1e6)
    } else {
        format!("${v:.0}")
    }
}

fn portfolio_lines(out: &mut String, p: &Portfolio) {
    let mut t = Table::new(&[
        ("BUILD", Align::Left),
        ("ACCELERATOR", Align::Left),
        ("ORDER MONTH", Align::Right),
        ("ARRIVES", Align::Right),
        ("CHIPS", Align::Right),
    ]);
    for b in &p.builds {
        t.push(vec![
            b.option.clone(),
            b.accelerator.clone(),
            b.order_month.to_string(),
            b.arrival_month.to_string(),
            format!("{:.0}", b.chips),
        ]);
    }
    if p.builds.is_empty() {
        out.push_str("builds: none\n");
    } else {
        out.push_str(&t.render());
    }
    let mut t = Table::new(&[
        ("COMMITMENT", Align::Left),
        ("PROVIDER", Align::Left),
        ("START", Align::Right),
        ("TERM", Align::Right),
        ("SPEND", Align::Right),
        ("DISCOUNT", Align::Right),
        ("COVERS", Align::Left),
    ]);
    for c in &p.commitments {
        t.push(vec![
            c.offer.clone(),
            c.provider.clone(),
            c.start_month.to_string(),
            c.term_months.to_string(),
            usd(c.spend_usd),
            format!("{:.0}%", c.discount_percent),
            c.accelerators.join("+"),
        ]);
    }
    if p.commitments.is_empty() {
        out.push_str("commitments: none\n");
    } else {
        out.push('\n');
        out.push_str(&t.render());
    }
}

fn derived_lines(out: &mut String, d: &spillway_plan::derive::Derived) {
    let _ = writeln!(
        out,
        "demand derived from {}: {} records, {} full months, scale x{}",
        d.source, d.records, d.months, d.scale
    );
    let mut t = Table::new(&[
        ("CLASS", Align::Left),
        ("LAST MONTH OBSERVED", Align::Right),
        ("START (REF-H/MONTH)", Align::Right),
        ("ANNUAL GROWTH", Align::Right),
    ]);
    for c in &d.classes {
        t.push(vec![
            c.class.clone(),
            format!("{:.0}", c.monthly_ref_hours.last().copied().unwrap_or(0.0)),
            format!("{:.0}", c.start_ref_hours_per_month),
            format!("{:+.1}%", c.annual_growth * 100.0),
        ]);
    }
    out.push_str(&t.render());
    for n in &d.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    out.push('\n');
}

fn render(r: &PlanReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan {}: {} periods of {} month(s), {} scenarios, demand in {}-hours\n",
        r.name, r.periods, r.months_per_period, r.scenarios, r.reference
    );
    if let Some(d) = &r.derived_demand {
        derived_lines(&mut out, d);
    }
    portfolio_lines(&mut out, &r.plan);
    let _ = writeln!(
        out,
        "\nsolve: {} columns, {} rows, {} integer, {} in {:.2} s",
        r.plan.solve.columns,
        r.plan.solve.rows,
        r.plan.solve.integer_columns,
        r.plan.solve.method,
        r.plan.solve.seconds
    );
    let mut t = Table::new(&[
        ("PORTFOLIO", Align::Left),
        ("EXPECTED NPV COST", Align::Right),
        ("VS PLAN", Align::Right),
        ("OWNED", Align::Right),
        ("BUILD", Align::Right),
        ("COMMITTED", Align::Right),
        ("ON-DEMAND", Align::Right),
        ("SPOT", Align::Right),
        ("DEFERRED/LOST", Align::Right),
        ("SHORTFALL", Align::Right),
        ("WORST SCENARIO", Align::Right),
    ]);
    let plan_cost = r.plan.expected_cost_usd;
    for p in std::iter::once(&r.plan).chain(&r.baselines) {
        let b = &p.breakdown;
        let worst = p
            .scenarios
            .iter()
            .map(|s| s.cost_usd)
            .fold(f64::MIN, f64::max);
        t.push(vec![
            p.name.clone(),
            usd(p.expected_cost_usd),
            format!("{:+.1}%", (p.expected_cost_usd / plan_cost - 1.0) * 100.0),
            usd(b.owned),
            usd(b.build),
            usd(b.commitment),
            usd(b.on_demand),
            usd(b.spot),
            usd(b.deferral + b.lost),
            usd(b.shortfall),
            usd(worst),
        ]);
    }
    out.push('\n');
    out.push_str(&t.render());
    if let Some(c) = &r.contract {
        let _ = writeln!(out, "\ncontract '{}':", c.contract);
        let _ = writeln!(
            out,
            "  expected cost with it {} vs {} without: NPV {} ({})",
            usd(c.cost_with_usd),
            usd(c.cost_without_usd),
            usd(c.npv_usd),
            if c.npv_usd >= 0.0 { "saves" } else { "loses" }
        );
        let _ = writeln!(
            out,
            "  utilization {:.1}%, break-even utilization {}",
            c.utilization * 100.0,
            c.break_even_utilization
                .map(|u| format!("{:.1}%", u * 100.0))
                .unwrap_or("n/a".into())
        );
        let _ = writeln!(
            out,
            "  break-even demand: {} ({})",
            c.break_even_demand_share
                .map(|l| format!(
                    "{:.0}% of the planned demand ({:.0} reference-hours in month 0)",
                    l * 100.0,
                    c.break_even_first_month_ref_hours.unwrap_or(0.0)
                ))
                .unwrap_or("none found".into()),
            c.note
        );
        out.push('\n');
        portfolio_lines(&mut out, &c.portfolio);
    }
    if !r.sensitivity.is_empty() {
        let mut t = Table::new(&[
            ("SENSITIVITY", Align::Left),
            ("VALUE", Align::Left),
            ("EXPECTED COST", Align::Right),
            ("BUILT CHIPS", Align::Right),
            ("COMMITTED", Align::Right),
            ("ON-DEMAND SHARE", Align::Right),
        ]);
        for s in &r.sensitivity {
            t.push(vec![
                s.parameter.clone(),
                s.value.clone(),
                usd(s.expected_cost_usd),
                format!("{:.0}", s.built_chips),
                usd(s.committed_usd),
                format!("{:.1}%", s.on_demand_share * 100.0),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    if let Some(e) = &r.evaluation {
        let _ = writeln!(
            out,
            "\nout of sample: {} fresh demand paths (seed {})",
            e.paths, e.seed
        );
        let mut t = Table::new(&[
            ("PORTFOLIO", Align::Left),
            ("AVERAGE REALIZED COST", Align::Right),
            ("GAP TO PLAN", Align::Right),
            ("GAP %", Align::Right),
        ]);
        for row in &e.rows {
            t.push(vec![
                row.name.clone(),
                usd(row.average_cost_usd),
                usd(row.gap_usd),
                format!("{:+.2}%", row.gap_percent),
            ]);
        }
        t.push(vec![
            "perfect information".into(),
            usd(e.perfect_information_cost_usd),
            usd(e.perfect_information_cost_usd - e.rows[0].average_cost_usd),
            String::new(),
        ]);
        out.push_str(&t.render());
        let _ = writeln!(
            out,
            "value of perfect information: {}; the plan is {} on these paths",
            usd(e.value_of_perfect_information_usd),
            if e.plan_is_cheapest {
                "cheaper than every baseline and the mean-demand plan"
            } else {
                "NOT cheaper than every alternative"
            }
        );
    }
    if let Some(v) = &r.validation {
        validation_lines(&mut out, v);
    }
    out
}

fn validation_lines(out: &mut String, v: &spillway_plan::validate::Validation) {
    let r = &v.replay;
    let _ = writeln!(
        out,
        "\nvalidation: months 0-{} replayed in the simulator ({} policy, scale {:.4}, {:.1} s)",
        v.months.saturating_sub(1),
        r.policy,
        r.scale,
        r.seconds
    );
    let s = &r.service;
    let _ = writeln!(
        out,
        "  service: {} jobs, JCT average {:.1} h, p90 {:.1} h, {} deadline misses, {:.1}% of the \
         work on time (plan's service level {:.1}%), {} preemptions, {} unfinished at the end \
         ({:.0} reference-hours)",
        s.jobs,
        s.avg_jct_hours,
        s.p90_jct_hours,
        s.deadline_misses,
        s.on_time_share * 100.0,
        s.planned_service_level * 100.0,
        s.preemptions,
        s.unfinished_at_end,
        s.unfinished_ref_hours_at_end
    );
    let mut t = Table::new(&[
        ("SOURCE", Align::Left),
        ("PLAN (EXPECTED)", Align::Right),
        ("PLAN (MEAN DEMAND)", Align::Right),
        ("SIMULATED", Align::Right),
        ("DIFFERENCE", Align::Right),
    ]);
    for row in &v.sources {
        t.push(vec![
            row.source.clone(),
            usd(row.planned_expected_usd),
            usd(row.planned_usd),
            usd(row.simulated_usd),
            usd(row.difference_usd),
        ]);
    }
    t.push(vec![
        "total".into(),
        usd(v.planned_expected_usd),
        usd(v.planned_usd),
        usd(v.simulated_usd),
        format!("{:+.1}%", v.difference_percent),
    ]);
    out.push_str(&t.render());
    for line in &v.explanation {
        let _ = writeln!(out, "  {line}");
    }
    let mut t = Table::new(&[
        ("REPLAY POOL", Align::Left),
        ("PLAN", Align::Left),
        ("CHIPS", Align::Right),
        ("CHIP-HOURS", Align::Right),
        ("WORK SHARE", Align::Right),
    ]);
    for p in &r.pools {
        t.push(vec![
            p.pool.clone(),
            p.plan.clone(),
            if p.chips >= 1e6 {
                "no cap".into()
            } else {
                format!("{:.0}", p.chips)
            },
            format!("{:.0}", p.chip_hours),
            format!("{:.1}%", p.work_share * 100.0),
        ]);
    }
    out.push_str(&t.render());
    for shape in &r.shapes {
        let _ = writeln!(
            out,
            "  jobs of {}: {} chips x {:.1} h, {} sampled",
            shape.class, shape.chips, shape.hours, shape.jobs
        );
    }
    for n in &r.notes {
        let _ = writeln!(out, "  note: {n}");
    }
}
