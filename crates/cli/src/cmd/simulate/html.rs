//! `spillway simulate --html FILE`: one self-contained page (no network, no other files) with
//! the run's summary table and the dashboard's charts: utilization per pool over simulated
//! time for each policy, the share of jobs finished by each completion time, and spend per pool
//! over time when every pool has a price.
//!
//! The figures travel as one JSON document inside the page and are drawn by the dashboard's
//! own chart code (`crates/server/src/api/dashboard/assets/charts.js`), inlined.

use anyhow::{Context, Result};
use serde::Serialize;
use spillway_core::Cluster;
use spillway_sim::engine::SimOutcome;
use spillway_sim::metrics::Summary;
use std::path::Path;

const CHARTS_JS: &str = include_str!("../../../../server/src/api/dashboard/assets/charts.js");
/// Buckets of the time series.
const BUCKETS: usize = 120;

#[derive(Serialize)]
struct Report<'a> {
    title: String,
    table: &'a str,
    /// Hours per bucket of the time series.
    step_h: f64,
    pools: Vec<&'a str>,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
struct Run<'a> {
    summary: &'a Summary,
    /// Busy fraction of each pool per bucket, percent.
    utilization: Vec<Vec<f64>>,
    /// Dollars spent per pool per bucket (absent when a pool has no price).
    spend: Option<Vec<Vec<f64>>>,
    /// Hours per bucket of the completion-time curve.
    jct_step_h: f64,
    /// Share of jobs finished within (bucket + 1) x `jct_step_h` of arriving, percent.
    finished_by: Vec<f64>,
}

/// Busy accelerators of each pool, time-weighted per bucket of `step_h` hours.
fn busy_per_bucket(o: &SimOutcome, pools: usize, step_h: f64) -> Vec<Vec<f64>> {
    let mut out = vec![vec![0.0; BUCKETS]; pools];
    let end_h = o.makespan.as_hours();
    for (i, s) in o.timeline.iter().enumerate() {
        let from = s.at.as_hours();
        let to = o.timeline.get(i + 1).map_or(end_h, |n| n.at.as_hours());
        for (p, series) in out.iter_mut().enumerate() {
            let busy = f64::from(s.busy.get(p).copied().unwrap_or(0));
            for (b, slot) in series.iter_mut().enumerate() {
                let (b0, b1) = (b as f64 * step_h, (b + 1) as f64 * step_h);
                let overlap = to.min(b1) - from.max(b0);
                if overlap > 0.0 {
                    *slot += busy * overlap / step_h;
                }
            }
        }
    }
    out
}

fn run<'a>(summary: &'a Summary, o: &SimOutcome, cluster: &Cluster, step_h: f64) -> Run<'a> {
    let pools = cluster.pools();
    let busy = busy_per_bucket(o, pools.len(), step_h);
    let utilization = busy
        .iter()
        .zip(pools)
        .map(|(s, p)| {
            let cap = f64::from(p.capacity.max(1));
            s.iter().map(|b| 100.0 * b / cap).collect()
        })
        .collect();
    let spend = pools
        .iter()
        .map(|p| p.price_per_hour)
        .collect::<Option<Vec<f64>>>()
        .map(|prices| {
            busy.iter()
                .zip(prices)
                .map(|(s, price)| s.iter().map(|b| b * price * step_h).collect())
                .collect()
        });
    let mut jct: Vec<f64> = o
        .jobs
        .iter()
        .map(|j| (j.finish.0 - j.arrival.0) as f64 / 3.6e9)
        .collect();
    jct.sort_by(f64::total_cmp);
    let jct_step_h = jct.last().copied().unwrap_or(1.0).max(1e-6) / BUCKETS as f64;
    let n = jct.len().max(1) as f64;
    let finished_by = (0..BUCKETS)
        .map(|b| {
            let limit = (b + 1) as f64 * jct_step_h;
            100.0 * jct.partition_point(|x| *x <= limit * (1.0 + 1e-9)) as f64 / n
        })
        .collect();
    Run {
        summary,
        utilization,
        spend,
        jct_step_h,
        finished_by,
    }
}

/// The page: the data as JSON, the chart code and a few lines that draw it.
pub(crate) fn page(
    title: &str,
    table: &str,
    runs: &[(Summary, SimOutcome, f64)],
    cluster: &Cluster,
) -> String {
    let end_h = runs
        .iter()
        .map(|(_, o, _)| o.makespan.as_hours())
        .fold(0.0, f64::max)
        .max(1e-6);
    let step_h = end_h / BUCKETS as f64;
    let report = Report {
        title: title.to_string(),
        table,
        step_h,
        pools: cluster.pools().iter().map(|p| p.name.as_str()).collect(),
        runs: runs
            .iter()
            .map(|(s, o, _)| run(s, o, cluster, step_h))
            .collect(),
    };
    // Inside <script>, "</" could end the element: JSON allows "<\/" for it.
    let data = serde_json::to_string(&report)
        .expect("the report serializes")
        .replace("</", "<\\/");
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <h1>{title}</h1>\n<h2>Summary</h2>\n<pre class=\"table\">{table}</pre>\n\
         <div id=\"report\"><noscript>The charts need JavaScript.</noscript></div>\n</main>\n\
         <script type=\"application/json\" id=\"data\">{data}</script>\n\
         <script>{CHARTS_JS}</script>\n<script>{DRAW_JS}</script>\n</body>\n</html>\n",
        title = escape(title),
        table = escape(table),
    )
}

/// Writes the page to `path`.
pub(crate) fn write(
    path: &Path,
    title: &str,
    table: &str,
    runs: &[(Summary, SimOutcome, f64)],
    cluster: &Cluster,
) -> Result<()> {
    std::fs::write(path, page(title, table, runs, cluster))
        .with_context(|| format!("write the HTML report {}", path.display()))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1b1f24;background:#f7f8fa}\
main{max-width:1100px;margin:0 auto;padding:16px 20px 40px}h1{font-size:24px}h2{font-size:18px;margin-top:28px}\
.card{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:10px;margin:10px 0}\
.chart{width:100%;height:auto;max-height:320px;display:block}.chart text{font-size:12px;fill:#5b6470}\
.chart .grid{stroke:#e6e9ed}.chart .axis{stroke:#9aa3ad}.chart-figure{margin:0}\
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:6px 18px;padding:0;margin:6px 0 0;font-size:13px}\
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}\
pre.table{background:#fff;border:1px solid #d8dde3;border-radius:8px;padding:12px;overflow-x:auto;font-size:13px}";

const DRAW_JS: &str = r#""use strict";
(() => {
  const d = JSON.parse(document.getElementById("data").textContent);
  const root = document.getElementById("report");
  const hours = (x) => x.toFixed(x >= 10 ? 0 : 1) + " h";
  const usd = (v) => "$" + (v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(2));
  const card = (title, chart) => {
    const s = document.createElement("section");
    s.className = "card";
    const h = document.createElement("h2");
    h.textContent = title;
    s.append(h, chart);
    root.appendChild(s);
  };
  card("Jobs finished by completion time, per policy", SpillwayCharts.lines({
    series: d.runs.map((r) => ({ name: r.summary.policy, values: r.finished_by })),
    x0: 0, step: Math.max(...d.runs.map((r) => r.jct_step_h)), yMax: 100,
    yFormat: (v) => Math.round(v) + "%", xFormat: hours, title: "Share of jobs finished within a completion time",
  }));
  for (const r of d.runs) {
    card(`Utilization: ${r.summary.policy}`, SpillwayCharts.lines({
      series: d.pools.map((p, i) => ({ name: p, values: r.utilization[i] })),
      x0: 0, step: d.step_h, yMax: 100, yFormat: (v) => Math.round(v) + "%", xFormat: hours,
      title: `Accelerators busy per pool under ${r.summary.policy}, percent`,
    }));
    if (r.spend) {
      card(`Spend: ${r.summary.policy}`, SpillwayCharts.stacked({
        series: d.pools.map((p, i) => ({ name: p, values: r.spend[i] })),
        x0: 0, step: d.step_h, yFormat: usd, xFormat: hours, title: `Cumulative spend per pool under ${r.summary.policy}`,
      }));
    }
  }
})();
"#;
