//! `spillway simulate --config spillway.toml --workload FILE`: the service's own state machine,
//! built from the service's configuration by the same functions `spillway serve` uses, replayed
//! on a virtual clock over a workload of job specs (docs/simulator.md, "Simulating the
//! service"). `--policy` compares other policies on the same pools, quotas and contracts.

use crate::table::{Align, Table};
use anyhow::{Context, Result};
use spillway_core::live::LivePolicy;
use spillway_core::machine::MachineConfig;
use spillway_server::config::Config;
use spillway_server::schedule::{machine_config, machine_pools};
use spillway_sim::service::{ServiceSimConfig, ServiceSummary, parse_workload, run};
use std::path::Path;

/// Runs the workload under each policy (the config's own when `names` is the default).
pub(crate) fn run_config(
    config_path: &Path,
    workload_path: &Path,
    names: &[String],
    json: bool,
) -> Result<()> {
    let config = Config::load(config_path)?;
    let pools = machine_pools(&config);
    let text = std::fs::read_to_string(workload_path)
        .with_context(|| format!("read workload {}", workload_path.display()))?;
    let jobs = parse_workload(&text, &pools)
        .with_context(|| format!("read workload {}", workload_path.display()))?;
    let policies: Vec<LivePolicy> = if names.len() == 1 && names[0] == "max_min_fairness_perf" {
        vec![config.policy]
    } else {
        names.iter().map(|n| n.parse()).collect::<Result<_, _>>()?
    };
    let capacities: Vec<u32> = pools.iter().map(|p| p.capacity).collect();
    let mut runs = Vec::new();
    for policy in policies {
        let machine = MachineConfig {
            policy,
            ..machine_config(&config)
        };
        let outcome = run(pools.clone(), machine, &jobs, &ServiceSimConfig::default());
        runs.push((ServiceSummary::new(&outcome, &capacities), outcome));
    }
    if json {
        let out: Vec<serde_json::Value> = runs
            .iter()
            .map(|(s, o)| serde_json::json!({ "summary": s, "outcome": o }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "config": config_path.display().to_string(),
                "pools": pools.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
                "runs": out,
            }))?
        );
        return Ok(());
    }
    let mut table = Table::new(&[
        ("policy", Align::Left),
        ("jobs", Align::Right),
        ("finished", Align::Right),
        ("avg JCT s", Align::Right),
        ("p90 JCT s", Align::Right),
        ("avg wait s", Align::Right),
        ("makespan s", Align::Right),
        ("preempt", Align::Right),
        ("utilization", Align::Left),
    ]);
    for (s, _) in &runs {
        let util: Vec<String> = pools
            .iter()
            .zip(&s.utilization)
            .map(|(p, u)| format!("{} {:.0}%", p.name, u * 100.0))
            .collect();
        table.push(vec![
            s.policy.clone(),
            s.jobs.to_string(),
            s.finished.to_string(),
            format!("{:.1}", s.avg_jct_s),
            format!("{:.1}", s.p90_jct_s),
            format!("{:.1}", s.avg_queueing_s),
            format!("{:.1}", s.makespan_s),
            s.preemptions.to_string(),
            util.join(", "),
        ]);
    }
    print!("{}", table.render());
    for (_, o) in &runs {
        for j in o.jobs.iter().filter(|j| j.finished_ms.is_none()) {
            eprintln!(
                "{}: job {} never finished: {}",
                o.policy,
                j.job,
                j.waiting.as_deref().unwrap_or("still running at the end")
            );
        }
    }
    Ok(())
}
