//! `--export FILE`: the history as a trace. `.csv` writes the simulator's generic CSV
//! (docs/traces.md: `job_id,submit_time_s,duration_s,num_gpus,gpu_type,priority,deadline_s`,
//! duration in seconds on the reference accelerator, the H100, as the replay's work); any other
//! name writes the service workload, one JSON job a line (docs/simulator.md), which
//! `spillway simulate --config --workload` replays through the same state machine.

use super::history::PastJob;
use super::workload::Replayable;
use anyhow::{Context, Result};
use spillway_core::machine::MachinePool;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Writes the replayable jobs of `history` to `path`; returns the format written.
pub(crate) fn export(
    path: &Path,
    history: &[PastJob],
    replay: &Replayable,
    pools: &[MachinePool],
) -> Result<&'static str> {
    let by_id: BTreeMap<u64, &PastJob> = history.iter().map(|j| (j.id as u64, j)).collect();
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut out = String::new();
    if csv {
        out.push_str("job_id,submit_time_s,duration_s,num_gpus,gpu_type,priority,deadline_s\n");
    }
    for j in &replay.jobs {
        let id = j.job.id.0;
        let Some(past) = by_id.get(&id) else { continue };
        if csv {
            let first = j.job.choices.first();
            let gpus = first.map_or(1, |c| c.count.max(1)) * j.job.num_nodes.max(1);
            let types: Vec<String> = j
                .job
                .choices
                .iter()
                .filter(|c| c.count.saturating_mul(j.job.num_nodes.max(1)) == gpus)
                .map(|c| c.accelerator.to_lowercase())
                .collect();
            let deadline = j
                .job
                .deadline_ms
                .map(|d| format!("{:.3}", (d - j.job.submitted_ms) as f64 / 1000.0))
                .unwrap_or_default();
            writeln!(
                out,
                "{id},{:.3},{:.3},{gpus},{},{},{deadline}",
                (j.job.submitted_ms - replay.origin_ms) as f64 / 1000.0,
                j.work_s.max(0.001),
                types.join("|"),
                j.job.priority,
            )?;
        } else {
            // One (run_s, pool) that converts back to the same work.
            let pool = replay.last_pool.get(&id);
            let speed = pool
                .and_then(|n| pools.iter().find(|p| &p.name == n))
                .map_or(1.0, |p| p.throughput.max(1e-9));
            let mut line = serde_json::json!({
                "id": id,
                "tenant": past.tenant,
                "submitted_ms": past.submitted_ms,
                "spec": past.spec,
                "run_s": j.work_s / speed,
            });
            if let Some(d) = past.deadline_ms {
                line["deadline_ms"] = d.into();
            }
            if let Some(p) = pool {
                line["pool"] = p.clone().into();
            }
            out.push_str(&line.to_string());
            out.push('\n');
        }
    }
    std::fs::write(path, out).with_context(|| format!("failed to write {}", path.display()))?;
    Ok(if csv {
        "the simulator's generic CSV trace (docs/traces.md)"
    } else {
        "a service workload, one JSON job a line (docs/simulator.md)"
    })
}
