//! The summary of one simulation: what `spillway simulate` prints and serializes.

use crate::engine::SimOutcome;
use serde::Serialize;
use spillway_core::Cluster;
use std::ops::Range;

/// Utilization of one pool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolUtilization {
    /// The pool (accelerator type).
    pub pool: String,
    /// Busy accelerator-time over capacity x makespan.
    pub utilization: f64,
}

/// Figures of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The policy's canonical name.
    pub policy: String,
    /// Jobs finished (in the window, when one is given).
    pub jobs_completed: usize,
    /// Mean job completion time (finish - arrival), hours.
    pub avg_jct_hours: f64,
    /// Median JCT, hours.
    pub p50_jct_hours: f64,
    /// 90th percentile JCT, hours.
    pub p90_jct_hours: f64,
    /// 99th percentile JCT, hours.
    pub p99_jct_hours: f64,
    /// Time the last job finished, from t = 0, hours.
    pub makespan_hours: f64,
    /// Busy accelerator-time over total capacity x makespan.
    pub utilization: f64,
    /// The same per pool.
    pub utilization_per_pool: Vec<PoolUtilization>,
    /// Mean of JCT / (run time alone on the job's fastest pool).
    pub ftf_mean: f64,
    /// Largest such ratio.
    pub ftf_max: f64,
    /// Dollars spent on busy accelerators, when every pool has a price.
    pub cost_usd: Option<f64>,
    /// Times a running job was stopped for another.
    pub preemptions: u64,
    /// Rounds in which a job kept its accelerators.
    pub lease_extensions: u64,
    /// Jobs that finished after their deadline.
    pub slo_misses: usize,
    /// Jobs with a deadline.
    pub jobs_with_slo: usize,
    /// Rounds planned.
    pub rounds: u64,
    /// Allocations computed.
    pub allocations: u64,
}

/// Arithmetic mean; 0 for no values.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// The `q` quantile (0..=1) of sorted values, by linear interpolation (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

impl Summary {
    /// Summarizes `outcome`; JCT figures over jobs whose id is in `window` when given.
    pub fn new(outcome: &SimOutcome, cluster: &Cluster, window: Option<Range<u64>>) -> Summary {
        let in_window = |id: u64| window.as_ref().is_none_or(|w| w.contains(&id));
        let jobs: Vec<_> = outcome.jobs.iter().filter(|j| in_window(j.id.0)).collect();
        let mut jct: Vec<f64> = jobs
            .iter()
            .map(|j| (j.finish.0 - j.arrival.0) as f64 / 1e6)
            .collect();
        jct.sort_by(f64::total_cmp);
        let hours = |s: f64| s / 3600.0;
        let ftf: Vec<f64> = jobs
            .iter()
            .map(|j| (j.finish.0 - j.arrival.0) as f64 / 1e6 / j.ideal_s.max(1e-9))
            .collect();
        let span = outcome.makespan.as_secs();
        let caps = cluster.capacities();
        let per_pool: Vec<PoolUtilization> = cluster
            .pools()
            .iter()
            .enumerate()
            .map(|(p, pool)| PoolUtilization {
                pool: pool.name.clone(),
                utilization: if span > 0.0 && caps[p] > 0 {
                    outcome.busy_s[p] / (f64::from(caps[p]) * span)
                } else {
                    0.0
                },
            })
            .collect();
        let total_cap = f64::from(cluster.total_capacity());
        let cost_usd = cluster
            .pools()
            .iter()
            .map(|p| p.price_per_hour)
            .collect::<Option<Vec<f64>>>()
            .map(|prices| {
                prices
                    .iter()
                    .zip(&outcome.busy_s)
                    .map(|(price, busy)| price * busy / 3600.0)
                    .sum()
            });
        let with_slo: Vec<_> = jobs.iter().filter(|j| j.deadline.is_some()).collect();
        Summary {
            policy: outcome.policy.name().to_string(),
            jobs_completed: jobs.len(),
            avg_jct_hours: hours(mean(&jct)),
            p50_jct_hours: hours(quantile(&jct, 0.5)),
            p90_jct_hours: hours(quantile(&jct, 0.9)),
            p99_jct_hours: hours(quantile(&jct, 0.99)),
            makespan_hours: outcome.makespan.as_hours(),
            utilization: if span > 0.0 {
                outcome.busy_s.iter().sum::<f64>() / (total_cap * span)
            } else {
                0.0
            },
            utilization_per_pool: per_pool,
            ftf_mean: mean(&ftf),
            ftf_max: ftf.iter().copied().fold(0.0, f64::max),
            cost_usd,
            preemptions: outcome.preemptions,
            lease_extensions: outcome.lease_extensions,
            slo_misses: with_slo
                .iter()
                .filter(|j| j.deadline.is_some_and(|d| j.finish > d))
                .count(),
            jobs_with_slo: with_slo.len(),
            rounds: outcome.rounds,
            allocations: outcome.allocations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), 2.5);
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 1.0), 4.0);
        assert!((quantile(&v, 0.9) - 3.7).abs() < 1e-12);
    }
}
