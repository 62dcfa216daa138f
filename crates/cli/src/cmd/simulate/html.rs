//! `spillway simulate --html FILE`: the run's report page (crate::report_html): the summary
//! table and the dashboard's charts: the share of jobs finished by each completion time per
//! policy, utilization per pool over simulated time for each policy, and spend per pool over
//! time when every pool has a price. The page's JSON carries `title`, `table`, `step_h`,
//! `pools` and `runs` (each with its summary and series).

use crate::report_html::buckets::Buckets;
use crate::report_html::{Chart, ChartKind, Page, Series, Unit};
use anyhow::Result;
use serde::Serialize;
use spillway_core::Cluster;
use spillway_sim::engine::SimOutcome;
use spillway_sim::metrics::Summary;
use std::path::Path;

/// Buckets of the time series.
const BUCKETS: usize = 120;

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
    let end_h = o.makespan.as_hours();
    let mut out = vec![Buckets::over(0.0, step_h * BUCKETS as f64, BUCKETS); pools];
    for (i, s) in o.timeline.iter().enumerate() {
        let from = s.at.as_hours();
        let to = o.timeline.get(i + 1).map_or(end_h, |n| n.at.as_hours());
        for (p, series) in out.iter_mut().enumerate() {
            series.add(from, to, f64::from(s.busy.get(p).copied().unwrap_or(0)));
        }
    }
    out.iter().map(Buckets::averages).collect()
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

/// The page: the summary table, then the charts.
pub(crate) fn page(
    title: &str,
    table: &str,
    runs: &[(Summary, SimOutcome, f64)],
    cluster: &Cluster,
) -> Page {
    let end_h = runs
        .iter()
        .map(|(_, o, _)| o.makespan.as_hours())
        .fold(0.0, f64::max)
        .max(1e-6);
    let step_h = end_h / BUCKETS as f64;
    let pools: Vec<&str> = cluster.pools().iter().map(|p| p.name.as_str()).collect();
    let series: Vec<Run<'_>> = runs
        .iter()
        .map(|(s, o, _)| run(s, o, cluster, step_h))
        .collect();
    let mut page = Page::new(title);
    page.heading("Summary").pre(table);
    let chart = |kind, title: String, series: Vec<Series>, step, y_max, y| Chart {
        kind,
        title,
        series,
        x0: 0.0,
        step,
        y_max,
        x: Unit::Hours,
        y,
    };
    page.chart(
        "Jobs finished by completion time, per policy",
        chart(
            ChartKind::Lines,
            "Share of jobs finished within a completion time".into(),
            series
                .iter()
                .map(|r| Series::new(r.summary.policy.clone(), r.finished_by.clone()))
                .collect(),
            series.iter().map(|r| r.jct_step_h).fold(0.0, f64::max),
            Some(100.0),
            Unit::Percent,
        ),
    );
    for r in &series {
        let policy = &r.summary.policy;
        page.chart(
            format!("Utilization: {policy}"),
            chart(
                ChartKind::Lines,
                format!("Accelerators busy per pool under {policy}, percent"),
                pools
                    .iter()
                    .zip(&r.utilization)
                    .map(|(p, v)| Series::new(*p, v.clone()))
                    .collect(),
                step_h,
                Some(100.0),
                Unit::Percent,
            ),
        );
        if let Some(spend) = &r.spend {
            page.chart(
                format!("Spend: {policy}"),
                chart(
                    ChartKind::Stacked,
                    format!("Cumulative spend per pool under {policy}"),
                    pools
                        .iter()
                        .zip(spend)
                        .map(|(p, v)| Series::new(*p, v.clone()))
                        .collect(),
                    step_h,
                    None,
                    Unit::Usd,
                ),
            );
        }
    }
    page.figures("title", title)
        .figures("table", table)
        .figures("step_h", step_h)
        .figures("pools", &pools)
        .figures("runs", &series);
    page
}

/// Writes the page to `path`.
pub(crate) fn write(
    path: &Path,
    title: &str,
    table: &str,
    runs: &[(Summary, SimOutcome, f64)],
    cluster: &Cluster,
) -> Result<()> {
    page(title, table, runs, cluster).write(path)
}
