//! Queue length and spend over time, for what happened and for each replay, on one clock (ms
//! since the epoch) and in the same buckets: what `--plot` and `--html` draw.
//!
//! A job is queued from its arrival (or the period's start, for one of before it) to its first
//! start, and again from an attempt's end to its next start; a job that never starts in a
//! replay (other than one refused at submit) is queued to the end. Spend is what each pool
//! bills ([`billed`]: each attempt's accelerators, or on a pool rented by VMs each VM while
//! rented) x its price, summed as it goes.

use super::figures::billed;
use super::history::PastJob;
use crate::report_html::buckets::Buckets;
use serde::Serialize;
use spillway_server::config::Config;
use spillway_sim::service::ServiceOutcome;
use std::collections::{BTreeMap, BTreeSet};

/// Buckets of the series.
pub(crate) const BUCKETS: usize = 120;

/// One side's attempts and queue intervals, ms since the epoch.
#[derive(Debug, Clone, Default)]
pub(crate) struct Side {
    /// (pool, accelerators, their indices, start, end).
    pub(crate) attempts: Vec<(String, u32, Vec<u32>, i64, i64)>,
    /// (from, to).
    pub(crate) queued: Vec<(i64, i64)>,
}

impl Side {
    fn end_ms(&self) -> i64 {
        self.attempts
            .iter()
            .map(|a| a.4)
            .chain(self.queued.iter().map(|q| q.1))
            .max()
            .unwrap_or(i64::MIN)
    }
}

/// Queue intervals of one job from its arrival and its attempts' (start, end), sorted by start;
/// `open_end`: when the series ends, for a job that waits at the end.
fn queue_of(arrival: i64, runs: &[(i64, i64)], finished: bool, open_end: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut waiting_since = Some(arrival);
    for &(start, end) in runs {
        if let Some(w) = waiting_since.take() {
            if start > w {
                out.push((w, start));
            }
        }
        waiting_since = Some(end);
    }
    if let Some(w) = waiting_since {
        if (runs.is_empty() || !finished) && open_end > w {
            out.push((w, open_end));
        }
    }
    out
}

/// What happened: `jobs` (the replayed ones of the period and those carried into it), counted
/// from `from_ms`; running attempts up to `now_ms`.
pub(crate) fn actual<'a>(
    jobs: impl Iterator<Item = &'a PastJob>,
    from_ms: i64,
    now_ms: i64,
) -> Side {
    let mut side = Side::default();
    for j in jobs {
        let runs: Vec<_> = j
            .attempts
            .iter()
            .filter(|a| a.ran() && a.ended_ms.unwrap_or(now_ms) > from_ms)
            .collect();
        let spans: Vec<(i64, i64)> = runs
            .iter()
            .map(|a| (a.started_ms.max(from_ms), a.ended_ms.unwrap_or(now_ms)))
            .collect();
        for (a, (s, e)) in runs.iter().zip(&spans) {
            side.attempts
                .push((a.pool.clone(), a.chips, a.accelerators.clone(), *s, *e));
        }
        let finished =
            j.finished_ms.is_some() || j.attempts.last().is_some_and(|a| a.ended_ms.is_none());
        side.queued.extend(queue_of(
            j.submitted_ms.max(from_ms),
            &spans,
            finished,
            now_ms,
        ));
    }
    side
}

/// What a replay did; jobs refused at submit never queue.
pub(crate) fn replayed(o: &ServiceOutcome, from_ms: i64) -> Side {
    let mut side = Side::default();
    let mut runs: BTreeMap<u64, Vec<(i64, i64)>> = BTreeMap::new();
    let end = o
        .attempts
        .iter()
        .map(|a| a.ended_ms.unwrap_or(o.makespan_ms))
        .max()
        .unwrap_or(o.makespan_ms)
        .max(o.makespan_ms);
    for a in &o.attempts {
        let e = a.ended_ms.unwrap_or(end);
        side.attempts.push((
            a.pool.clone(),
            a.chips,
            a.accelerators.clone(),
            a.started_ms,
            e,
        ));
        runs.entry(a.job).or_default().push((a.started_ms, e));
    }
    let refused: BTreeSet<u64> = o
        .jobs
        .iter()
        .filter(|j| {
            j.waiting
                .as_deref()
                .is_some_and(|w| w.starts_with("refused at submit"))
        })
        .map(|j| j.job)
        .collect();
    for j in o.jobs.iter().filter(|j| !refused.contains(&j.job)) {
        let mut r = runs.get(&j.job).cloned().unwrap_or_default();
        r.sort();
        side.queued.extend(queue_of(
            j.submitted_ms.max(from_ms),
            &r,
            j.finished_ms.is_some(),
            end,
        ));
    }
    side
}

/// The charts' series: each side's queue length and cumulative spend, in the same buckets.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Series {
    /// Start of the first bucket, ms since the epoch.
    pub(crate) x0_ms: f64,
    /// Bucket width, ms.
    pub(crate) step_ms: f64,
    /// Per side (its label): jobs queued, time-weighted average per bucket.
    pub(crate) queue: Vec<(String, Vec<f64>)>,
    /// Per side: dollars spent by the end of each bucket.
    pub(crate) spend: Vec<(String, Vec<f64>)>,
}

/// Buckets `sides` (label, side, the config whose prices it pays) from `x0_ms` to the last end.
pub(crate) fn series(x0_ms: i64, sides: &[(&str, &Side, &Config)]) -> Series {
    let x1 = sides
        .iter()
        .map(|(_, s, _)| s.end_ms())
        .max()
        .unwrap_or(x0_ms)
        .max(x0_ms + 1);
    let (x0, x1) = (x0_ms as f64, x1 as f64);
    let mut out = Series {
        x0_ms: x0,
        step_ms: (x1 - x0) / BUCKETS as f64,
        queue: Vec::new(),
        spend: Vec::new(),
    };
    for (label, side, config) in sides {
        let mut q = Buckets::over(x0, x1, BUCKETS);
        for (a, b) in &side.queued {
            q.add(*a as f64, *b as f64, 1.0);
        }
        let mut usd = Buckets::over(x0, x1, BUCKETS);
        let attempts = side
            .attempts
            .iter()
            .map(|(pool, chips, held, a, b)| (pool.as_str(), *chips, held.as_slice(), *a, *b));
        for (pool, chips, a, b) in billed(config, attempts) {
            let price = config.pool(pool).map_or(0.0, |p| p.price.0);
            usd.add(a as f64, b as f64, f64::from(chips) * price / 3_600_000.0);
        }
        let mut total = 0.0;
        let cumulative = usd
            .values
            .iter()
            .map(|v| {
                total += v;
                total
            })
            .collect();
        out.queue.push((label.to_string(), q.averages()));
        out.spend.push((label.to_string(), cumulative));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_queues_until_it_starts_and_again_between_attempts() {
        assert_eq!(
            queue_of(0, &[(5, 10), (12, 20)], true, 100),
            [(0, 5), (10, 12)]
        );
        // Preempted and never restarted: waits to the end.
        assert_eq!(queue_of(0, &[(5, 10)], false, 100), [(0, 5), (10, 100)]);
        // Never started.
        assert_eq!(queue_of(7, &[], false, 100), [(7, 100)]);
    }
}
