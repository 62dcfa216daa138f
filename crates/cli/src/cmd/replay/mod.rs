//! `spillway replay`: the service's own history, replayed through the simulator's driver of the
//! service's state machine (docs/replay.md). First with the live configuration (calibration:
//! how close the replay comes to what happened), then, with `--policy`, `--what-if-config` or
//! `--scale-demand`, under something else, side by side.
//!
//! Parse and validate every flag first ([`Plan`]), then read, replay and report.

pub(crate) mod bench;
mod demand;
mod export;
mod figures;
mod history;
mod period;
mod report;
mod workload;

use super::client::ClientArgs;
use anyhow::{Context, Result, bail};
use spillway_core::live::LivePolicy;
use spillway_core::machine::MachineConfig;
use spillway_server::config::Config;
use spillway_server::schedule::{machine_config, machine_pools};
use spillway_sim::service::{ServiceOutcome, ServiceSimConfig, run as replay_run};
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
    let what_if =
        if policy.is_some() || args.what_if_config.is_some() || args.scale_demand.is_some() {
            let config = match &args.what_if_config {
                Some(p) => Config::load(p)
                    .with_context(|| format!("failed to read --what-if-config {}", p.display()))?,
                None => live.clone(),
            };
            let policy = policy.unwrap_or(config.policy);
            let mut label = Vec::new();
            if let Some(p) = &args.what_if_config {
                label.push(format!("config {}", p.display()));
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
}

pub(crate) fn run(args: ReplayArgs) -> Result<()> {
    let plan = plan(&args)?;
    let source = match &args.database {
        Some(db) => history::Source::Database(db),
        None => history::Source::Server(&args.client),
    };
    let history = history::read(source, plan.from_ms, plan.to_ms)?;
    if history.is_empty() {
        bail!(
            "no job was submitted from {} to {} (UTC): nothing to replay; widen --since or check --from/--to",
            period::show(plan.from_ms),
            period::show(plan.to_ms)
        );
    }
    let pools = machine_pools(&plan.live);
    let replay = workload::replayable(&history, &pools, plan.now_ms);
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
    let actual = figures::actual(&history, &replay, &plan.live, plan.now_ms);
    let calibrated = simulate(
        "replay".to_string(),
        &plan.live,
        machine_config(&plan.live),
        &replay,
        1.0,
        0,
    );
    let what_if = plan.what_if.as_ref().map(|w| {
        simulate(
            w.label.clone(),
            &w.config,
            MachineConfig {
                policy: w.policy,
                ..machine_config(&w.config)
            },
            &replay,
            w.scale,
            w.seed,
        )
    });
    let report = report::Report {
        from_ms: plan.from_ms,
        to_ms: plan.to_ms,
        history: &history,
        replay: &replay,
        pools: &pools,
        actual,
        calibrated,
        what_if,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report.json())?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

/// Replays `replay` under `config`'s pools with `machine`, demand scaled by `scale`.
fn simulate(
    label: String,
    config: &Config,
    machine: MachineConfig,
    replay: &workload::Replayable,
    scale: f64,
    seed: u64,
) -> Run {
    let (jobs, copies) = if scale == 1.0 {
        (replay.jobs.clone(), BTreeMap::new())
    } else {
        demand::scale(&replay.jobs, scale, seed)
    };
    let outcome = replay_run(
        machine_pools(config),
        machine,
        &jobs,
        &ServiceSimConfig::default(),
    );
    let figures = figures::replayed(&outcome, config, replay.origin_ms, &replay.ended, &copies);
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
    }
}
