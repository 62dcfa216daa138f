//! Where `--demand-from-trace` and `--demand-from-server` read observed use: a cluster trace
//! through the simulator's readers (Philly, Alibaba, Spillway's CSV), or the service's history
//! through its API (`GET /v1/history`, the attempts that ran). Both become
//! [`spillway_plan::derive::Usage`] records; `spillway-plan` does the rest.

use crate::cmd::client::{Api, ClientArgs};
use anyhow::{Context, Result, bail};
use spillway_model::WorkAmount;
use spillway_plan::derive::Usage;
use spillway_server::api::HistoryPage;
use spillway_server::job::AttemptOutcome;
use spillway_sim::trace::{ReadOptions, read_trace};
use std::path::Path;

/// Jobs read per page of the history.
const PAGE: u32 = 5_000;

/// Every job of the trace at `path` as a usage record: from its arrival for its duration on its
/// accelerators (the trace's run time; queueing before it is not in the trace).
pub(crate) fn from_trace(path: &Path) -> Result<Vec<Usage>> {
    let trace = read_trace(path, None, &ReadOptions::default())
        .with_context(|| format!("--demand-from-trace {}", path.display()))?;
    let mut out = Vec::with_capacity(trace.jobs.len());
    for (i, job) in trace.jobs.iter().enumerate() {
        let duration_s = match job.work {
            WorkAmount::Seconds(s) => s,
            WorkAmount::Steps(_) => bail!(
                "--demand-from-trace {}: job {} (record {i}) gives its work in steps (a Gavel \
                 trace), which has no duration without a throughput model; use a trace with \
                 durations (Philly, Alibaba, or Spillway's CSV with duration_s)",
                path.display(),
                job.id
            ),
        };
        out.push(Usage {
            start_s: job.arrival_time_s,
            end_s: job.arrival_time_s + duration_s,
            chips: f64::from(job.scale_factor),
        });
    }
    Ok(out)
}

/// Every attempt that ran on the server at `url`, as a usage record (an attempt still running
/// counts up to now).
pub(crate) fn from_server(url: &str, token: Option<String>) -> Result<Vec<Usage>> {
    let api = Api::new(&ClientArgs {
        server: url.to_string(),
        token,
    })?;
    let now_ms = spillway_server::job::now_ms();
    let mut out = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let mut query = vec![("limit", PAGE.to_string())];
        if let Some(a) = after {
            query.push(("after", a.to_string()));
        }
        let page: HistoryPage = api
            .send(api.get("/v1/history").query(&query))
            .with_context(|| format!("--demand-from-server {url}: read GET /v1/history"))?;
        for h in page.jobs {
            for a in h.attempts {
                if matches!(
                    a.outcome,
                    AttemptOutcome::NotStarted | AttemptOutcome::NoCapacity
                ) {
                    continue;
                }
                let end = a.ended_ms.unwrap_or(now_ms).max(a.started_ms);
                out.push(Usage {
                    start_s: a.started_ms as f64 / 1000.0,
                    end_s: end as f64 / 1000.0,
                    chips: a.accelerators.len() as f64,
                });
            }
        }
        match page.next_after {
            Some(a) => after = Some(a),
            None => return Ok(out),
        }
    }
}
