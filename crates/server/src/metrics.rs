//! Prometheus metrics, rendered in the text exposition format at `/metrics`.
//!
//! Few enough that plain atomics and one mutex-guarded map beat a metrics framework.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Histogram bucket bounds, seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// A fixed-bucket latency histogram.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; 12],
    sum_micros: AtomicU64,
    total: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
        }
        let total = self.total.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
    }
}

/// Per-pool gauges, refreshed after every scheduling round.
#[derive(Debug, Default, Clone, Copy)]
pub struct PoolGauges {
    /// Jobs waiting whose preferred pool is this one.
    pub queued: u64,
    /// Jobs running on it.
    pub running: u64,
    /// Accelerators held by running jobs.
    pub accelerators_busy: u64,
}

/// The service's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Time to answer a submit (validation plus durable store).
    pub submit_latency: Histogram,
    /// Duration of one scheduling round (decision only).
    pub round_duration: Histogram,
    /// Jobs accepted.
    pub submitted: AtomicU64,
    /// Jobs launched (attempts).
    pub launched: AtomicU64,
    /// Pool gauges by pool name.
    pub pools: Mutex<BTreeMap<String, PoolGauges>>,
    /// Launches refused for lack of capacity, by (pool, kind: zone, region, provider).
    launch_failures: Mutex<BTreeMap<(String, String), u64>>,
    /// Preemptions, by (pool, cause: spot, priority, engine).
    preemptions: Mutex<BTreeMap<(String, String), u64>>,
}

fn bump(map: &Mutex<BTreeMap<(String, String), u64>>, a: &str, b: &str) {
    *map.lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry((a.to_string(), b.to_string()))
        .or_default() += 1;
}

impl Metrics {
    /// Counts a launch on `pool` refused for lack of capacity of `kind`.
    pub fn launch_failed(&self, pool: &str, kind: &str) {
        bump(&self.launch_failures, pool, kind);
    }

    /// Counts a preemption on `pool` for `cause`.
    pub fn preempted(&self, pool: &str, cause: &str) {
        bump(&self.preemptions, pool, cause);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let pools = self.pools.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let gauge = |out: &mut String, name: &str, help: &str, f: &dyn Fn(&PoolGauges) -> u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (pool, g) in &pools {
                let _ = writeln!(out, "{name}{{pool=\"{pool}\"}} {}", f(g));
            }
        };
        gauge(
            &mut out,
            "spillway_queue_length",
            "Jobs waiting, by preferred pool.",
            &|g| g.queued,
        );
        gauge(
            &mut out,
            "spillway_running_jobs",
            "Jobs running, by pool.",
            &|g| g.running,
        );
        gauge(
            &mut out,
            "spillway_accelerators_busy",
            "Accelerators held by running jobs, by pool.",
            &|g| g.accelerators_busy,
        );
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        };
        counter(
            &mut out,
            "spillway_jobs_submitted_total",
            "Jobs accepted.",
            &self.submitted,
        );
        counter(
            &mut out,
            "spillway_attempts_launched_total",
            "Attempts launched.",
            &self.launched,
        );
        let labelled = |out: &mut String,
                        name: &str,
                        help: &str,
                        label: &str,
                        map: &Mutex<BTreeMap<(String, String), u64>>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for ((pool, l), n) in map.lock().unwrap_or_else(|p| p.into_inner()).iter() {
                let _ = writeln!(out, "{name}{{pool=\"{pool}\",{label}=\"{l}\"}} {n}");
            }
        };
        labelled(
            &mut out,
            "spillway_launch_failures_total",
            "Launches refused for lack of capacity, by pool and kind (zone, region, provider).",
            "kind",
            &self.launch_failures,
        );
        labelled(
            &mut out,
            "spillway_preemptions_total",
            "Running jobs preempted and requeued, by pool and cause (spot, priority, engine).",
            "cause",
            &self.preemptions,
        );
        self.submit_latency.render(
            "spillway_submit_latency_seconds",
            "Time to validate and durably store a submitted job.",
            &mut out,
        );
        self.round_duration.render(
            "spillway_scheduling_round_seconds",
            "Duration of one scheduling decision round.",
            &mut out,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets_and_pool_labels() {
        let m = Metrics::default();
        m.submit_latency.observe(Duration::from_micros(300));
        m.submit_latency.observe(Duration::from_millis(7));
        m.pools.lock().unwrap().insert(
            "local".into(),
            PoolGauges {
                queued: 3,
                running: 1,
                accelerators_busy: 2,
            },
        );
        m.launch_failed("od-a", "zone");
        m.launch_failed("od-a", "zone");
        m.preempted("spot", "spot");
        let text = m.render();
        assert!(
            text.contains("spillway_launch_failures_total{pool=\"od-a\",kind=\"zone\"} 2"),
            "{text}"
        );
        assert!(text.contains("spillway_preemptions_total{pool=\"spot\",cause=\"spot\"} 1"));
        assert!(
            text.contains("spillway_queue_length{pool=\"local\"} 3"),
            "{text}"
        );
        assert!(text.contains("spillway_submit_latency_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("spillway_submit_latency_seconds_bucket{le=\"0.01\"} 2"));
        assert!(text.contains("spillway_submit_latency_seconds_count 2"));
    }
}
