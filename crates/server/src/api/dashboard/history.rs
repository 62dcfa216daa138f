//! `/ui/history`: what the pools did over time, from the attempts in the store: accelerators
//! busy per pool (every caller: `/v1/pools` shows the same counts live), spend per tenant and
//! pool (only the tenants the caller may see), and the blocks the failover memory recorded
//! after launches failed for lack of capacity.
//!
//! Spend is counted as `/v1/usage` counts it: accelerator time of every attempt that started
//! (running ones up to now) at its pool's configured price, so that over the whole history
//! the buckets add up to the usage report's totals.

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::job::{AttemptOutcome, now_ms};
use crate::service::Service;
use crate::store::JobFilter;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Jobs read at most (newest first).
const MAX_JOBS: u32 = 5_000;
/// Blocks listed at most (newest first).
const MAX_BLOCKS: usize = 20;
/// The longest window shown.
const MAX_WINDOW_MS: i64 = 30 * 24 * 3600 * 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryQuery {
    /// Seconds back from now (default: from the first attempt).
    window_s: Option<u64>,
    /// Number of buckets (default 60, 2 to 500).
    buckets: Option<usize>,
}

/// One pool's use over time.
#[derive(Debug, Serialize)]
pub(super) struct PoolSeries {
    pool: String,
    /// Its accelerators (or job slots, for a CPU-only pool: each attempt counts one).
    count: u32,
    /// Accelerators busy, averaged over each bucket.
    busy: Vec<f64>,
}

/// One tenant's spend on one pool over time.
#[derive(Debug, Serialize)]
pub(super) struct SpendSeries {
    tenant: String,
    pool: String,
    /// USD spent within each bucket.
    usd: Vec<f64>,
}

/// A block the failover memory recorded.
#[derive(Debug, Serialize)]
pub(super) struct Block {
    at_ms: i64,
    /// The pool whose launch was refused.
    pool: Option<String>,
    /// The job whose launch it was, when the caller may see it.
    job: Option<i64>,
    /// What was blocked, until when, in words.
    message: String,
}

#[derive(Debug, Serialize)]
pub(super) struct History {
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    pools: Vec<PoolSeries>,
    spend: Vec<SpendSeries>,
    blocks: Vec<Block>,
}

/// Adds `rate` per ms over `[s, e)` to the buckets it overlaps.
fn spread(series: &mut [f64], start: i64, step: i64, s: i64, e: i64, rate: f64) {
    if e <= s || series.is_empty() {
        return;
    }
    let first = ((s - start).max(0) / step) as usize;
    for (b, slot) in series.iter_mut().enumerate().skip(first) {
        let (b0, b1) = (start + b as i64 * step, start + (b as i64 + 1) * step);
        if b0 >= e {
            break;
        }
        let overlap = e.min(b1) - s.max(b0);
        if overlap > 0 {
            *slot += overlap as f64 * rate;
        }
    }
}

pub(super) async fn history(
    State(service): State<Arc<Service>>,
    caller: Caller,
    query: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<History>, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::bad_request(format!("invalid query: {}", e.body_text())))?;
    let now = now_ms();
    let n = q.buckets.unwrap_or(60).clamp(2, 500);
    let config = &service.config;
    let jobs = service
        .store
        .jobs(JobFilter {
            limit: Some(MAX_JOBS),
            ..JobFilter::default()
        })
        .await?;
    let mut attempts = Vec::new();
    let mut blocks = Vec::new();
    for job in jobs.iter().filter(|j| j.attempts > 0) {
        let list = service.store.attempts(job.id).await?;
        if list.iter().any(|a| a.outcome == AttemptOutcome::NoCapacity) {
            for e in service.store.events(job.id).await? {
                if e.kind != "blocked" {
                    continue;
                }
                let pool = list
                    .iter()
                    .filter(|a| {
                        a.outcome == AttemptOutcome::NoCapacity
                            && a.ended_ms.is_none_or(|t| t <= e.at_ms)
                    })
                    .max_by_key(|a| a.ended_ms)
                    .map(|a| a.pool.clone());
                blocks.push(Block {
                    at_ms: e.at_ms,
                    pool,
                    job: caller.may_see(&job.tenant).then_some(job.id.0),
                    message: e.message,
                });
            }
        }
        for a in list {
            if !matches!(
                a.outcome,
                AttemptOutcome::NotStarted | AttemptOutcome::NoCapacity
            ) {
                attempts.push((job.tenant.clone(), a));
            }
        }
    }
    blocks.sort_by_key(|b| std::cmp::Reverse(b.at_ms));
    blocks.truncate(MAX_BLOCKS);

    let first = attempts.iter().map(|(_, a)| a.started_ms).min();
    let start = match q.window_s {
        Some(w) => now - (w as i64).saturating_mul(1000).min(MAX_WINDOW_MS),
        None => first.unwrap_or(now - 3_600_000).max(now - MAX_WINDOW_MS),
    };
    let step = ((now - start).max(1) as u64).div_ceil(n as u64).max(1) as i64;
    // The buckets end at now, so that the last one is whole rather than partly in the future.
    let start = now - step * n as i64;
    let mut busy: BTreeMap<&str, Vec<f64>> = config
        .pools
        .iter()
        .map(|p| (p.name.as_str(), vec![0.0; n]))
        .collect();
    let mut spend: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for (tenant, a) in &attempts {
        let end = a.ended_ms.unwrap_or(now).min(now);
        // A CPU-only attempt holds no accelerators: it counts as one busy slot.
        let chips = a.accelerators.len() as f64;
        if let Some(series) = busy.get_mut(a.pool.as_str()) {
            spread(
                series,
                start,
                step,
                a.started_ms,
                end,
                chips.max(1.0) / step as f64,
            );
        }
        if caller.may_see(tenant) {
            let price = config.pool(&a.pool).map_or(0.0, |p| p.price.0);
            let series = spend
                .entry((tenant.clone(), a.pool.clone()))
                .or_insert_with(|| vec![0.0; n]);
            spread(
                series,
                start,
                step,
                a.started_ms,
                end,
                chips * price / 3_600_000.0,
            );
        }
    }
    Ok(Json(History {
        start_ms: start,
        end_ms: now,
        step_ms: step,
        pools: config
            .pools
            .iter()
            .map(|p| PoolSeries {
                pool: p.name.clone(),
                count: if p.accelerator.is_some() {
                    p.count
                } else {
                    p.max_jobs
                },
                busy: busy.remove(p.name.as_str()).unwrap_or_default(),
            })
            .collect(),
        spend: spend
            .into_iter()
            .map(|((tenant, pool), usd)| SpendSeries { tenant, pool, usd })
            .collect(),
        blocks,
    }))
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spread_puts_each_part_of_an_interval_in_its_bucket() {
        let mut s = vec![0.0; 4];
        // Buckets of 10 ms from 100: [100,110) [110,120) [120,130) [130,140).
        spread(&mut s, 100, 10, 105, 125, 1.0);
        assert_eq!(s, [5.0, 10.0, 5.0, 0.0]);
        spread(&mut s, 100, 10, 50, 101, 2.0);
        assert_eq!(s, [7.0, 10.0, 5.0, 0.0]);
        spread(&mut s, 100, 10, 139, 200, 1.0);
        assert_eq!(s, [7.0, 10.0, 5.0, 1.0]);
    }
}
