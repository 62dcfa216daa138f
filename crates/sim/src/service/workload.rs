//! A service workload: the jobs a service ran (or would run), one JSON object a line:
//!
//! ```json
//! {"id": 7, "tenant": "alice", "submitted_ms": 1733300000000, "spec": { ... }, "run_s": 62.5, "pool": "h100"}
//! ```
//!
//! - `id`: the job's id (positive, unique); `tenant`: its tenant (default `default`);
//! - `submitted_ms`: when it arrived, ms (epoch ms as the service records them, or ms from the
//!   start; the earliest arrival becomes time 0 either way);
//! - `deadline_ms` (optional): its absolute deadline, on the same clock;
//! - `spec`: the validated job spec as the API shows it (`spillway show ID --json`);
//! - `run_s` and `pool` (optional): how long its last attempt ran and on which pool. The work
//!   it represents is `run_s` x that pool's speed, so on a faster pool it runs for less. Without
//!   them the spec's `work` estimate is its work; a job with neither is refused, naming its line.
//!
//! Blank lines and lines starting with `#` are skipped.

use spillway_core::JobId;
use spillway_core::machine::{MachineJob, MachinePool};
use spillway_model::spec::{JobSpec, WorkEstimate};

/// One job of a service workload.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceJob {
    /// What the machine knows of it (arrival in `submitted_ms`, ms from the start).
    pub job: MachineJob,
    /// Its work in reference seconds: its run time on a pool of speed 1.0.
    pub work_s: f64,
}

/// A line of a workload that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: field `{field}`: {message}")]
pub struct WorkloadLineError {
    /// 1-based line number.
    pub line: usize,
    /// The field at fault (`line` for the whole line).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    id: i64,
    #[serde(default)]
    tenant: Option<String>,
    submitted_ms: i64,
    #[serde(default)]
    deadline_ms: Option<i64>,
    spec: JobSpec,
    #[serde(default)]
    run_s: Option<f64>,
    #[serde(default)]
    pool: Option<String>,
}

/// Reads a workload against the pools it will run on (a job's observed run time is converted
/// to work with the speed of the pool it ran on).
pub fn parse_workload(
    text: &str,
    pools: &[MachinePool],
) -> Result<Vec<ServiceJob>, WorkloadLineError> {
    let mut raw = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (n, text) in text.lines().enumerate() {
        let line = n + 1;
        let t = text.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let err = |field: &str, message: String| WorkloadLineError {
            line,
            field: field.to_string(),
            message,
        };
        let l: Line = serde_json::from_str(t).map_err(|e| {
            let msg = e.to_string();
            let field = msg
                .split('`')
                .nth(1)
                .filter(|_| msg.contains("field"))
                .unwrap_or("line")
                .to_string();
            err(&field, msg)
        })?;
        if l.id <= 0 {
            return Err(err(
                "id",
                format!("must be a positive job id, found {}", l.id),
            ));
        }
        if !seen.insert(l.id) {
            return Err(err("id", format!("job {} appears twice", l.id)));
        }
        let speed = match &l.pool {
            None => 1.0,
            Some(name) => match pools.iter().find(|p| &p.name == name) {
                Some(p) => p.throughput,
                None => {
                    let known: Vec<&str> = pools.iter().map(|p| p.name.as_str()).collect();
                    return Err(err(
                        "pool",
                        format!(
                            "no pool named '{name}' in the configuration (pools: {})",
                            known.join(", ")
                        ),
                    ));
                }
            },
        };
        let work_s = match (l.run_s, l.spec.work) {
            (Some(r), _) if r.is_finite() && r >= 0.0 => r * speed,
            (Some(r), _) => {
                return Err(err(
                    "run_s",
                    format!("must be a number of seconds >= 0, found {r}"),
                ));
            }
            (None, Some(WorkEstimate::Seconds(s))) => s as f64,
            (None, _) => {
                return Err(err(
                    "run_s",
                    "the job has neither an observed run time nor a `work` estimate in seconds"
                        .to_string(),
                ));
            }
        };
        raw.push((l, work_s));
    }
    let origin = raw.iter().map(|(l, _)| l.submitted_ms).min().unwrap_or(0);
    Ok(raw
        .into_iter()
        .map(|(l, work_s)| ServiceJob {
            job: MachineJob::from_spec(
                JobId(l.id as u64),
                l.tenant.as_deref().unwrap_or("default"),
                l.submitted_ms - origin,
                l.deadline_ms.map(|d| d - origin),
                &l.spec,
            ),
            work_s,
        })
        .collect())
}
