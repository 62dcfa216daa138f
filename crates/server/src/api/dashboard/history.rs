//! `/ui/history`: what the pools did over time, from the attempts in the store: accelerators
//! busy per pool (every caller: `/v1/pools` shows the same counts live), spend per tenant and
//! pool (only the tenants the caller may see), and the blocks the failover memory recorded
//! after launches failed for lack of capacity.
//!
//! Spend is counted as `/v1/usage` counts it, so that over the whole history the buckets add
//! up to the usage report's totals. A tenant's spend is the accelerator time of its attempts
//! that started (running ones up to now) at the pool's configured price. A pool rented by VMs
//! (`block` > 1) is billed for its VMs' rented time instead (each VM while any attempt holds
//! one of its accelerators, at the price per accelerator x block; the service's
//! [`vm_spans`]), and what that costs beyond its tenants' accelerator time, the rented
//! accelerators no job held, is a series of its own per pool (`idle`), charged to no tenant,
//! as `/v1/usage` reports it under `rented[].idle_usd`. Spreading a VM's idle accelerators
//! over the tenants on it instead would make a tenant's spend here differ from its usage
//! report, and would charge a tenant for a VM another tenant's job kept rented. Like
//! `rented` in the usage report, the idle series are shown to every caller. In each bucket a
//! pool's tenants' spend plus its idle series is its VMs' rented time at the VM's price.
//!
//! It reads every attempt that overlaps the window shown ([`Store::attempts_overlapping`]),
//! however many jobs the store holds and however long ago theirs were submitted: one query
//! through an index, of at most 30 days of attempts and the running ones, and for the blocks
//! the attempts and events of at most 20 jobs, those of the launches refused last in the
//! window. Without `window_s` the window starts at the first attempt that ran among those that
//! overlap the last 30 days (so at most 30 days back; the last hour when none ran), so that the
//! one query of the longest window also finds where it starts.

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::job::{Attempt, AttemptOutcome, JobId, now_ms};
use crate::service::{Service, vm_spans};
use crate::store::{Store, StoreError, TenantAttempt};
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

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

/// What a pool rented by VMs paid over time for the accelerators of its rented VMs that no
/// job held: charged to no tenant.
#[derive(Debug, Serialize)]
pub(super) struct IdleSeries {
    pool: String,
    /// USD within each bucket.
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
    /// One per pool rented by VMs that ran an attempt, in config order.
    idle: Vec<IdleSeries>,
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

/// What the accelerators of a pool's rented VMs (of `block` each) that none of its attempts
/// `on_pool` held cost at `usd_per_chip_hour`, in each of `n` buckets of `step` ms from
/// `start` (running attempts up to `now`): the VMs' rented time at the VM's price, less the
/// attempts' accelerator time at the accelerator's.
fn idle_usd(
    on_pool: &[&Attempt],
    block: u32,
    usd_per_chip_hour: f64,
    (start, step, n): (i64, i64, usize),
    now: i64,
) -> Vec<f64> {
    let per_chip_ms = usd_per_chip_hour / 3_600_000.0;
    let mut usd = vec![0.0; n];
    for (from, to, _) in vm_spans(on_pool.iter().copied(), block, now) {
        spread(
            &mut usd,
            start,
            step,
            from,
            to,
            f64::from(block) * per_chip_ms,
        );
    }
    for a in on_pool {
        let end = a.end_by(now);
        let chips = a.accelerators.len() as f64;
        spread(
            &mut usd,
            start,
            step,
            a.started_ms,
            end,
            -chips * per_chip_ms,
        );
    }
    // No VM holds more of the attempts' accelerators than it has: a bucket below zero is
    // rounding.
    usd.iter_mut().for_each(|v| *v = v.max(0.0));
    usd
}

/// The buckets of a window of `span_ms` that ends at `now`, `n` of them: the first one's start
/// and their length. They end at now, so that the last one is whole rather than partly in the
/// future; the first starts less than `n` ms before the window.
fn buckets(now: i64, span_ms: i64, n: usize) -> (i64, i64) {
    let step = (span_ms.max(1) as u64).div_ceil(n as u64).max(1) as i64;
    (now - step * n as i64, step)
}

/// The blocks the failover memory recorded for the launches `refused` (with their jobs'
/// tenants), newest first, at most [`MAX_BLOCKS`]: the `blocked` events of their jobs, each
/// with the pool of the refused launch it followed. Each refused launch writes its block in
/// the same batch (`Reactor::refused`), so the newest blocks are those of the jobs whose
/// launches were refused last, and the events of no more than [`MAX_BLOCKS`] jobs are read.
async fn blocks(
    store: &dyn Store,
    caller: &Caller,
    refused: &[(String, Attempt)],
) -> Result<Vec<Block>, StoreError> {
    let mut latest: BTreeMap<JobId, (i64, &str)> = BTreeMap::new();
    for (tenant, a) in refused {
        let at = a.ended_ms.unwrap_or(a.started_ms);
        let slot = latest.entry(a.job).or_insert((at, tenant));
        slot.0 = slot.0.max(at);
    }
    let mut jobs: Vec<(i64, JobId, &str)> = latest
        .into_iter()
        .map(|(job, (at, tenant))| (at, job, tenant))
        .collect();
    jobs.sort_by_key(|&(at, job, _)| std::cmp::Reverse((at, job)));
    jobs.truncate(MAX_BLOCKS);
    let mut blocks = Vec::new();
    for (_, job, tenant) in jobs {
        let list = store.attempts(job).await?;
        for e in store.events(job).await? {
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
                job: caller.may_see(tenant).then_some(job.0),
                message: e.message,
            });
        }
    }
    blocks.sort_by_key(|b| std::cmp::Reverse(b.at_ms));
    blocks.truncate(MAX_BLOCKS);
    Ok(blocks)
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
    // The attempts of the window asked for, or of the longest one, within which the window
    // without `window_s` starts: whatever their jobs, every attempt that can show. `from` is
    // where that window's first bucket starts; a shorter window's first bucket starts no
    // earlier.
    let asked = q
        .window_s
        .map(|w| (w as i64).saturating_mul(1000).min(MAX_WINDOW_MS));
    let (from, _) = buckets(now, asked.unwrap_or(MAX_WINDOW_MS), n);
    let mut attempts = Vec::new();
    let mut refused = Vec::new();
    for TenantAttempt { tenant, attempt } in service.store.attempts_overlapping(from, now).await? {
        match attempt.outcome {
            AttemptOutcome::NoCapacity => refused.push((tenant, attempt)),
            AttemptOutcome::NotStarted => {}
            _ => attempts.push((tenant, attempt)),
        }
    }
    let blocks = blocks(&*service.store, &caller, &refused).await?;

    let span = asked.unwrap_or_else(|| {
        let first = attempts.iter().map(|(_, a)| a.started_ms).min();
        now - first.unwrap_or(now - 3_600_000).max(now - MAX_WINDOW_MS)
    });
    let (start, step) = buckets(now, span, n);
    let mut busy: BTreeMap<&str, Vec<f64>> = config
        .pools
        .iter()
        .map(|p| (p.name.as_str(), vec![0.0; n]))
        .collect();
    let mut spend: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for (tenant, a) in &attempts {
        let end = a.end_by(now);
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
    let idle = config
        .pools
        .iter()
        .filter(|p| p.block > 1)
        .filter_map(|p| {
            let on_pool: Vec<&Attempt> = attempts
                .iter()
                .map(|(_, a)| a)
                .filter(|a| a.pool == p.name)
                .collect();
            if on_pool.is_empty() {
                return None;
            }
            let usd = idle_usd(&on_pool, p.block, p.price.0, (start, step, n), now);
            Some(IdleSeries {
                pool: p.name.clone(),
                usd,
            })
        })
        .collect();
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
        idle,
        blocks,
    }))
}

#[cfg(test)]
mod tests {
    use super::{HistoryQuery, history, idle_usd, spread};
    use crate::api::auth::Caller;
    use crate::config::Config;
    use crate::job::{Attempt, AttemptOutcome, JobState, now_ms};
    use crate::service::Service;
    use crate::store::{NewJob, Write};
    use axum::extract::{Query, State};

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

    #[test]
    fn idle_is_the_rented_vms_time_less_the_accelerator_time_held_in_each_bucket() {
        // At 1 USD per accelerator-ms: VM 0 (of 8) is rented from 0 to 10 (80), the attempts
        // hold 2 x 6 + 1 x 6 = 18 of it. Buckets [0,5) and [5,10).
        let (a, b) = (
            Attempt::on_od(vec![0, 1], 0, Some(6)),
            Attempt::on_od(vec![2], 4, None),
        );
        let idle = idle_usd(&[&a, &b], 8, 3_600_000.0, (0, 5, 2), 10);
        assert_eq!(idle, [40.0 - 10.0 - 1.0, 40.0 - 2.0 - 5.0]);
        assert_eq!(idle.iter().sum::<f64>(), 80.0 - 18.0);
        // Whole VMs held throughout leave nothing idle.
        let full = Attempt::on_od((0..8).collect(), 0, Some(10));
        assert_eq!(
            idle_usd(&[&full], 8, 3_600_000.0, (0, 5, 2), 10),
            [0.0, 0.0]
        );
    }

    /// The history reads the attempts of its window, whatever their jobs: those of jobs
    /// submitted before 5,000 newer ones (all that it once read, newest first) still count, one
    /// that ended and one that still runs.
    #[tokio::test]
    async fn the_attempts_of_jobs_older_than_the_newest_5000_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::parse(
            "[[pool]]\nname = \"od\"\naccelerator = \"H100\"\ncount = 4\n\
             price = { plan = \"on_demand\", usd_per_chip_hour = 2.5 }\n",
            "test",
        )
        .unwrap();
        config.data_dir = dir.path().to_path_buf();
        let service = Service::start(config).await.unwrap();
        let store = service.store.clone();
        let spec = spillway_model::spec::parse_spec("run: echo old\n", &service.names)
            .unwrap()
            .spec;
        let new_job = |submitted_ms| NewJob {
            tenant: "research".into(),
            spec: spec.clone(),
            submitted_ms,
            deadline_ms: None,
            idempotency_key: None,
        };
        let (now, hour) = (now_ms(), 3_600_000);
        let mut ended = store.submit(new_job(now - 4 * hour)).await.unwrap().job;
        let mut running = store.submit(new_job(now - 4 * hour)).await.unwrap().job;
        // The newer jobs never ran: they were cancelled in the queue.
        let newer = futures_util::future::join_all((0..5_000).map(|_| store.submit(new_job(now))));
        let mut writes: Vec<Write> = newer
            .await
            .into_iter()
            .map(|s| {
                let mut job = s.unwrap().job;
                job.state = JobState::Cancelled;
                job.finished_ms = Some(now);
                Write::Job(job)
            })
            .collect();
        // Two accelerators for an hour that ended two hours ago: 5 USD at 2.5 per hour; one
        // for the last hour, still running: 2.5 USD, and more as it runs.
        writes.extend([
            Write::Attempt(Attempt {
                job: ended.id,
                ..Attempt::on_od(vec![0, 1], now - 3 * hour, Some(now - 2 * hour))
            }),
            Write::Attempt(Attempt {
                job: running.id,
                outcome: AttemptOutcome::Running,
                ..Attempt::on_od(vec![2], now - hour, None)
            }),
        ]);
        (ended.state, ended.attempts) = (JobState::Succeeded, 1);
        (running.state, running.attempts) = (JobState::Running, 1);
        writes.extend([Write::Job(ended), Write::Job(running)]);
        store.write(writes).await.unwrap();

        // Without a window it starts at the first attempt; a day's window holds both as well.
        for window_s in [None, Some(86_400)] {
            let query = HistoryQuery {
                window_s,
                buckets: None,
            };
            let h = history(State(service.clone()), Caller::Admin, Ok(Query(query)))
                .await
                .unwrap()
                .0;
            let tenants: Vec<&str> = h.spend.iter().map(|s| s.tenant.as_str()).collect();
            assert_eq!(tenants, ["research"], "{window_s:?}");
            // The running attempt adds 2.5 USD an hour from `now` to the history's now: a
            // minute of this test is under 0.05 USD.
            let usd: f64 = h.spend[0].usd.iter().sum();
            assert!((7.5 - 1e-9..7.55).contains(&usd), "{window_s:?}: {usd} USD");
            let busy = &h.pools[0].busy;
            let last = busy.last().unwrap();
            assert!(
                (last - 1.0).abs() < 1e-9,
                "{window_s:?}: running in {busy:?}"
            );
            assert!(
                busy.iter().any(|b| (b - 2.0).abs() < 1e-9),
                "{window_s:?}: the attempt that ended in {busy:?}"
            );
        }
    }
}
