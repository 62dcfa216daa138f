//! `spillway replay`: the service's own history, replayed through the simulator's driver of the
//! service's state machine (docs/replay.md). First with the live configuration (calibration:
//! how close the replay comes to what happened), then, with `--policy`, `--what-if-config`,
//! `--contract` or `--scale-demand`, under something else, side by side. The replay starts
//! where the period starts: with the jobs of before it still under way then, and the contracts'
//! charges by then ([`prior`]).
//!
//! Parse and validate every flag first ([`Plan`]), then read, replay and report.

pub(crate) mod bench;
mod contract;
mod demand;
mod export;
mod figures;
mod history;
mod html;
mod period;
mod plot;
mod prior;
mod report;
mod series;
mod workload;

use super::client::ClientArgs;
use anyhow::{Context, Result, bail};
use spillway_core::econ::ContractLedger;
use spillway_core::live::LivePolicy;
use spillway_core::machine::MachineConfig;
use spillway_server::config::Config;
use spillway_server::schedule::{machine_config, machine_pools};
use spillway_sim::service::driver::{RunningJob, Start, run_from};
use spillway_sim::service::{ServiceOutcome, ServiceSimConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Flags of `spillway replay`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReplayArgs {
    /// The period: jobs submitted in the last DURATION (`30d`, `12h`, `90m`, `45s`, `2w`)
    /// [default: 30d].
    #[arg(long, value_name = "DURATION", conflicts_with = "from")]
    since: Option<String>,
    /// The period's start instead, RFC 3339 (`2026-11-01T00:00:00Z`).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// The period's end (excluded), RFC 3339 [default: now].
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// Read the store directly, read-only (nothing is migrated or written): the server's
    /// SQLite file (`<data dir>/spillway.sqlite`) or its `postgres://` URL. Without it the
    /// history comes from the running server (`--server`, `SPILLWAY_SERVER`).
    #[arg(long, value_name = "PATH|URL")]
    database: Option<String>,
    /// The live server's configuration (`spillway serve --config`): its pools' speeds turn
    /// observed run times into work, and the calibration replays with its policy, quotas,
    /// contracts and prices. Needed against a server too: the API does not serve them.
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// What-if: replay under this policy (any name `[scheduler] policy` accepts).
    #[arg(long, value_name = "NAME")]
    policy: Option<String>,
    /// What-if: replay under another configuration (other pools, quotas, prices, contracts;
    /// its policy unless --policy).
    #[arg(long, value_name = "FILE")]
    what_if_config: Option<PathBuf>,
    /// What-if: replace the contracts with those of FILE: `[[contract]]` tables as in the
    /// service configuration, each with an optional `pools = ["name", ...]` (pools charged to
    /// it, committed at its discount); the burn of each contract is reported side by side.
    #[arg(long, value_name = "FILE")]
    contract: Option<PathBuf>,
    /// What-if: scale the arrivals by FACTOR (1.5: every job plus a copy of about half of
    /// them; 0.5: about half of them), drawn with --seed.
    #[arg(long, value_name = "FACTOR")]
    scale_demand: Option<f64>,
    /// Seed of --scale-demand's draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write the history as a trace and stop: a `.csv` name writes the simulator's generic CSV
    /// (docs/traces.md), any other a service workload (JSON lines, for `simulate --config
    /// --workload`).
    #[arg(long, value_name = "FILE")]
    export: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Write SVG plots into DIR: queue length and spend over time, what happened against the
    /// replay and the what-if (queue_length.svg, spend.svg).
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Write a self-contained HTML report (no network needed to view it): the figures side by
    /// side, queue length and spend over time.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    #[command(flatten)]
    client: ClientArgs,
}

/// The validated request.
struct Plan {
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
    live: Config,
    what_if: Option<WhatIf>,
}

/// What the what-if changes.
struct WhatIf {
    config: Config,
    policy: LivePolicy,
    scale: f64,
    seed: u64,
    /// In words, for the report.
    label: String,
}

fn plan(args: &ReplayArgs) -> Result<Plan> {
    let now_ms = spillway_server::job::now_ms();
    let to_ms = match &args.to {
        Some(t) => period::parse_time("--to", t)?,
        None => now_ms + 1,
    };
    let from_ms = match (&args.from, &args.since) {
        (Some(f), _) => period::parse_time("--from", f)?,
        (None, Some(s)) => to_ms.saturating_sub(period::parse_duration(s).context("--since")?),
        (None, None) => to_ms.saturating_sub(period::parse_duration("30d")?),
    };
    if from_ms >= to_ms {
        bail!(
            "the period is empty: --from {} is not before --to {}",
            period::show(from_ms),
            period::show(to_ms)
        );
    }
    let policy = args
        .policy
        .as_deref()
        .map(str::parse::<LivePolicy>)
        .transpose()
        .context("--policy")?;
    if let Some(f) = args.scale_demand {
        if !f.is_finite() || !(0.0..=1000.0).contains(&f) {
            bail!(
                "--scale-demand: expected a factor from 0 to 1000 (1.5 = half as many again), found {f}"
            );
        }
    }
    let live = Config::load(&args.config)
        .with_context(|| format!("failed to read --config {}", args.config.display()))?;
    let what_if = if policy.is_some()
        || args.what_if_config.is_some()
        || args.scale_demand.is_some()
        || args.contract.is_some()
    {
        let config = match (&args.what_if_config, &args.contract) {
            (base, Some(file)) => {
                contract::with_contracts(base.as_ref().unwrap_or(&args.config), file)?
            }
            (Some(p), None) => Config::load(p)
                .with_context(|| format!("failed to read --what-if-config {}", p.display()))?,
            (None, None) => live.clone(),
        };
        let policy = policy.unwrap_or(config.policy);
        let mut label = Vec::new();
        if let Some(p) = &args.what_if_config {
            label.push(format!("config {}", p.display()));
        }
        if let Some(p) = &args.contract {
            label.push(format!("contracts of {}", p.display()));
        }
        label.push(format!("policy {}", policy.name()));
        if let Some(f) = args.scale_demand {
            label.push(format!("demand x{f} (seed {})", args.seed));
        }
        Some(WhatIf {
            config,
            policy,
            scale: args.scale_demand.unwrap_or(1.0),
            seed: args.seed,
            label: label.join(", "),
        })
    } else {
        None
    };
    Ok(Plan {
        from_ms,
        to_ms,
        now_ms,
        live,
        what_if,
    })
}

/// One replay and what it was run with.
pub(crate) struct Run {
    pub(crate) label: String,
    pub(crate) outcome: ServiceOutcome,
    pub(crate) figures: figures::Figures,
    /// Jobs the configuration refuses (no pool could ever run them), per reason.
    pub(crate) refused: BTreeMap<String, usize>,
    /// Jobs that never finished in the replay (other than refused ones).
    pub(crate) unfinished: usize,
    /// Jobs running when the period starts that this configuration has no room for there
    /// (their pool is missing or smaller): they wait from the start instead.
    pub(crate) carried_moved: usize,
}

pub(crate) fn run(args: ReplayArgs) -> Result<()> {
    let plan = plan(&args)?;
    let source = match &args.database {
        Some(db) => history::Source::Database(db),
        None => history::Source::Server(&args.client),
    };
    let history = history::read(&source, plan.from_ms, plan.to_ms)?;
    if history.is_empty() {
        bail!(
            "no job was submitted from {} to {} (UTC): nothing to replay; widen --since or check --from/--to",
            period::show(plan.from_ms),
            period::show(plan.to_ms)
        );
    }
    let pools = machine_pools(&plan.live);
    let mut replay = workload::replayable(&history, &pools, plan.now_ms);
    if replay.jobs.is_empty() {
        bail!(
            "none of the {} jobs of the period ever ran ({}): nothing to replay",
            history.len(),
            report::counts(&replay.left_out)
        );
    }
    if let Some(path) = &args.export {
        let what = export::export(path, &history, &replay, &pools)?;
        eprintln!(
            "wrote {} jobs to {} as {what}",
            replay.jobs.len(),
            path.display()
        );
        return Ok(());
    }
    let prior = prior::read(&source, plan.from_ms, plan.now_ms)?;
    let carried = workload::carried(
        &prior.jobs,
        &pools,
        plan.from_ms,
        plan.now_ms,
        &mut replay.unknown_pools,
    );
    if !carried.jobs.is_empty() {
        // The machine's state starts with the period, not with its first arrival.
        replay.origin_ms = replay.origin_ms.min(plan.from_ms);
    }
    let before = |config: &Config| prior::contract_ledgers(&prior, config, plan.from_ms);
    let actual = figures::actual(
        &history,
        &replay,
        &prior.jobs,
        plan.from_ms,
        &plan.live,
        plan.now_ms,
    )
    .with_burn(&plan.live, &spent(&before(&plan.live)), plan.to_ms);
    let calibrated = simulate(
        "replay".to_string(),
        (plan.from_ms, plan.to_ms),
        &plan.live,
        machine_config(&plan.live),
        &replay,
        &carried,
        before(&plan.live),
        (1.0, 0),
    );
    let what_if = plan.what_if.as_ref().map(|w| {
        simulate(
            w.label.clone(),
            (plan.from_ms, plan.to_ms),
            &w.config,
            MachineConfig {
                policy: w.policy,
                ..machine_config(&w.config)
            },
            &replay,
            &carried,
            before(&w.config),
            (w.scale, w.seed),
        )
    });
    let replayed: std::collections::BTreeSet<i64> =
        replay.jobs.iter().map(|j| j.job.id.0 as i64).collect();
    let actual_side = series::actual(
        history
            .iter()
            .filter(|j| replayed.contains(&j.id))
            .chain(&prior.jobs),
        plan.from_ms,
        plan.now_ms,
    );
    let mut sides = vec![
        ("actual", actual_side, &plan.live),
        (
            "replay",
            series::replayed(&calibrated.outcome, plan.from_ms),
            &plan.live,
        ),
    ];
    if let (Some(w), Some(c)) = (&what_if, &plan.what_if) {
        sides.push((
            "what-if",
            series::replayed(&w.outcome, plan.from_ms),
            &c.config,
        ));
    }
    let series = series::series(
        replay.origin_ms,
        &sides
            .iter()
            .map(|(l, s, c)| (*l, s, *c))
            .collect::<Vec<_>>(),
    );
    let report = report::Report {
        from_ms: plan.from_ms,
        to_ms: plan.to_ms,
        history: &history,
        replay: &replay,
        carried: &carried,
        pools: &pools,
        actual,
        calibrated,
        what_if,
        series,
    };
    if let Some(dir) = &args.plot {
        let files = plot::write(dir, &report.series)?;
        eprintln!("wrote {} plots to {}", files.len(), dir.display());
    }
    if let Some(path) = &args.html {
        html::page(&report).write(path)?;
        eprintln!("wrote the report to {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

/// Replays `replay` under `config`'s pools with `machine` from the period's start (with the
/// jobs `carried` into it and the contracts' charges `before` it), demand scaled by
/// `scale.0` with seed `scale.1`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn simulate(
    label: String,
    (from_ms, to_ms): (i64, i64),
    config: &Config,
    machine: MachineConfig,
    replay: &workload::Replayable,
    carried: &workload::Carried,
    before: Vec<ContractLedger>,
    (scale, seed): (f64, u64),
) -> Run {
    let (mut jobs, copies) = if scale == 1.0 {
        (replay.jobs.clone(), BTreeMap::new())
    } else {
        demand::scale(&replay.jobs, scale, seed)
    };
    let pools = machine_pools(config);
    // Jobs running at the start hold their accelerators on their pool when this configuration
    // has it, with room; the others wait from the start.
    let first = jobs.len();
    jobs.extend(carried.jobs.iter().cloned());
    let mut held = vec![0u32; pools.len()];
    let mut running = Vec::new();
    let mut carried_moved = 0;
    for (k, r) in carried.running.iter().enumerate() {
        let Some((pool, chips)) = r else { continue };
        match pools.iter().position(|p| &p.name == pool) {
            Some(p) if held[p] + chips <= pools[p].capacity => {
                held[p] += chips;
                running.push(RunningJob {
                    job: first + k,
                    pool: p,
                    chips: *chips,
                });
            }
            _ => carried_moved += 1,
        }
    }
    let start = Start {
        at_ms: from_ms,
        running,
        contract_ledgers: before.clone(),
    };
    // A pool rented by VMs bills by the accelerators each attempt held.
    let sim = ServiceSimConfig {
        keep_accelerators: config.pools.iter().any(|p| p.block > 1),
        ..ServiceSimConfig::default()
    };
    let outcome = run_from(pools, machine, &jobs, &start, &sim);
    let figures = figures::replayed(
        &outcome,
        config,
        replay.origin_ms,
        &replay.ended,
        &copies,
        &carried.ids,
    )
    .with_burn(config, &spent(&before), to_ms);
    let mut refused: BTreeMap<String, usize> = BTreeMap::new();
    let mut unfinished = 0;
    for j in &outcome.jobs {
        match j.waiting.as_deref() {
            Some(w) if w.starts_with("refused at submit") => {
                *refused
                    .entry(w.trim_start_matches("refused at submit: ").to_string())
                    .or_default() += 1;
            }
            _ if j.finished_ms.is_none() => unfinished += 1,
            _ => {}
        }
    }
    Run {
        label,
        outcome,
        figures,
        refused,
        unfinished,
        carried_moved,
    }
}

/// What each ledger charged at the committed price.
fn spent(ledgers: &[ContractLedger]) -> Vec<f64> {
    ledgers.iter().map(|l| l.spent.0).collect()
}
