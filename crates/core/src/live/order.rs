//! The policy's part of a live round: in what order queued jobs are considered, and in what
//! order each job's placement options are tried.
//!
//! - `priority_backfill` (the default): priority (high first), then submission; options in the
//!   job's own order (ordered alternatives, or cheapest first for any-of).
//! - Every other policy (the Gavel names): the core's policy computes an allocation over the
//!   running and queued jobs exactly as in the simulator ([`crate::policy::allocate_once`]);
//!   jobs go by priority, then by the share the allocation gives them (largest first), then
//!   submission; a job's options go by its share of each pool (largest first); a job the
//!   allocation gives no share at all waits (`NoShare`), so FIFO does not overtake.
//! - `commitment_aware`: priority, then earliest deadline, then submission; each job's options
//!   are ranked as the mechanism reaches it (committed capacity started earlier in the round
//!   counts against its contract's pace): see module `cost`.
//!
//! Live jobs have no step counts, so the policy sees: a gang of the job's first alternative's
//! count (other counts are still tried by the mechanism, after the allocated ones); a speed of
//! the pool's `throughput` (1.0 where unknown) on pools of that alternative; remaining work of
//! its `work` estimate at that speed, or a very long job where it has none; a weight of
//! `(priority + 1) / 501` (priority 500 weighs about 1). Running jobs take part pinned to their
//! pool, so the allocation accounts for the capacity they hold.

use super::cost;
use super::policy::LivePolicy;
use super::round::Candidate;
use super::types::RoundInput;
use crate::policy::{LpOptions, PolicyInput, PolicyJob, allocate_once};
use crate::solver::ClarabelSolver;
use crate::{JobId, PolicyKind};
use std::cmp::Reverse;
use std::time::Duration;

/// Work assumed for a job without an estimate: about 11 years of reference seconds.
const UNKNOWN_WORK_S: u64 = 1 << 28;
/// Time limit of one live allocation solve; a round must stay short.
const LIVE_SOLVE_LIMIT: Duration = Duration::from_secs(2);

/// The policy's ranking of one round.
pub(crate) struct Ranking<'a> {
    /// Indexes into `input.queued`, in the order the mechanism considers them.
    pub(crate) order: Vec<usize>,
    /// Each queued job's options (same indexes), in the order to try them; empty when the
    /// policy gives it no share. `None`: the feasible options as they are (no copy of a long
    /// queue's options when the policy does not reorder them), or, under `commitment_aware`,
    /// ranked by the mechanism job by job.
    pub(crate) options: Option<Vec<Vec<Candidate<'a>>>>,
    /// Each queued job's share of each pool, for allocation-based policies.
    pub(crate) shares: Option<Vec<Vec<f64>>>,
    /// Why the allocation failed, if it did (the round then ranks by priority).
    pub(crate) error: Option<String>,
}

/// Ranks the queue under `input.policy`; `all[i]` are queued job `i`'s feasible options.
pub(crate) fn rank<'a>(input: &RoundInput<'_>, all: &[Vec<Candidate<'a>>]) -> Ranking<'a> {
    let by_priority = |input: &RoundInput<'_>| {
        let mut order: Vec<usize> = (0..input.queued.len()).collect();
        order.sort_by_key(|&i| (Reverse(input.queued[i].priority), input.queued[i].id));
        order
    };
    let kind = match input.policy {
        LivePolicy::Econ(policy) => {
            return Ranking {
                order: cost::queue_order(input, policy),
                options: None,
                shares: None,
                error: None,
            };
        }
        LivePolicy::Scheduler(kind) => kind,
    };
    if kind == PolicyKind::PriorityBackfill || input.queued.is_empty() {
        return Ranking {
            order: by_priority(input),
            options: None,
            shares: None,
            error: None,
        };
    }
    match allocation_shares(input, kind, all) {
        Ok(shares) => {
            let total: Vec<f64> = shares.iter().map(|row| row.iter().sum()).collect();
            let mut order: Vec<usize> = (0..input.queued.len()).collect();
            order.sort_by(|&a, &b| {
                let (qa, qb) = (&input.queued[a], &input.queued[b]);
                qb.priority
                    .cmp(&qa.priority)
                    .then(total[b].total_cmp(&total[a]))
                    .then(qa.id.cmp(&qb.id))
            });
            let options = all
                .iter()
                .zip(&shares)
                .zip(&total)
                .map(|((opts, row), &t)| {
                    // CPU-only jobs are outside the allocation (they use no accelerators).
                    let cpu = opts.iter().all(|c| c.count == 0);
                    if t <= 0.0 && !cpu {
                        return Vec::new();
                    }
                    let mut opts = opts.clone();
                    opts.sort_by(|a, b| row[b.pool].total_cmp(&row[a.pool]));
                    opts
                })
                .collect();
            Ranking {
                order,
                options: Some(options),
                shares: Some(shares),
                error: None,
            }
        }
        Err(e) => Ranking {
            order: by_priority(input),
            options: None,
            shares: None,
            error: Some(e),
        },
    }
}

/// Each queued job's share of each pool under the policy (rows in `input.queued` order).
fn allocation_shares(
    input: &RoundInput<'_>,
    policy: PolicyKind,
    all: &[Vec<Candidate>],
) -> Result<Vec<Vec<f64>>, String> {
    let m = input.pools.len();
    // Pools without accelerators are outside the allocation; the LPs need capacity > 0.
    let lp_pools: Vec<usize> = (0..m)
        .filter(|&p| input.pools[p].capacity > 0 && input.pools[p].accelerator.is_some())
        .collect();
    let mut shares = vec![vec![0.0; m]; input.queued.len()];
    if lp_pools.is_empty() {
        return Ok(shares);
    }
    let column = |p: usize| lp_pools.iter().position(|&q| q == p);
    let weight = |priority: u32| f64::from(priority + 1) / 501.0;
    let speed = |p: usize| {
        let t = input.pools[p].throughput;
        if t.is_finite() && t > 0.0 { t } else { 1.0 }
    };
    // The policy sees jobs under ids of their rank: running jobs first (in start order, they
    // came before anything still queued), then queued ones in submission order, so that
    // arrival-order policies (FIFO) let running jobs keep their capacity.
    let mut jobs = Vec::new();
    let mut running: Vec<usize> = (0..input.running.len()).collect();
    running.sort_by_key(|&i| (input.running[i].started_ms, input.running[i].id));
    for i in running {
        let r = &input.running[i];
        let Some(col) = column(r.pool) else { continue };
        if r.stopping || r.accelerators.is_empty() {
            continue;
        }
        let mut throughputs = vec![0.0; lp_pools.len()];
        throughputs[col] = speed(r.pool);
        jobs.push(PolicyJob {
            id: JobId(jobs.len() as u64),
            scale_factor: r.accelerators.len() as u32,
            throughputs,
            priority_weight: weight(r.priority),
            remaining_steps: UNKNOWN_WORK_S,
            time_since_arrival_s: 0.0,
            time_to_deadline_s: None,
        });
    }
    let mut queued: Vec<usize> = (0..input.queued.len()).collect();
    queued.sort_by_key(|&i| input.queued[i].id);
    let mut rows = Vec::new();
    for qi in queued {
        let (q, opts) = (&input.queued[qi], &all[qi]);
        let Some(first) = opts.iter().find(|c| c.count > 0) else {
            continue;
        };
        let mut throughputs = vec![0.0; lp_pools.len()];
        for c in opts.iter().filter(|c| c.count == first.count) {
            if let Some(col) = column(c.pool) {
                throughputs[col] = speed(c.pool);
            }
        }
        if throughputs.iter().all(|&t| t == 0.0) {
            continue;
        }
        let work = q.work_secs.unwrap_or(UNKNOWN_WORK_S);
        rows.push((JobId(jobs.len() as u64), qi));
        jobs.push(PolicyJob {
            id: JobId(jobs.len() as u64),
            scale_factor: first.count,
            throughputs,
            priority_weight: weight(q.priority),
            remaining_steps: work,
            time_since_arrival_s: 0.0,
            time_to_deadline_s: None,
        });
    }
    let capacities: Vec<u32> = lp_pools.iter().map(|&p| input.pools[p].capacity).collect();
    let names: Vec<String> = lp_pools
        .iter()
        .map(|&p| input.pools[p].name.to_string())
        .collect();
    let prices: Vec<Option<f64>> = lp_pools
        .iter()
        .map(|&p| Some(input.pools[p].price.0))
        .collect();
    let policy_input = PolicyInput {
        jobs: &jobs,
        capacities: &capacities,
        pool_names: &names,
        prices: &prices,
    };
    let options = LpOptions {
        time_limit: LIVE_SOLVE_LIMIT,
        ..LpOptions::default()
    };
    let allocation = allocate_once(policy, &policy_input, &ClarabelSolver, &options)
        .map_err(|e| e.to_string())?;
    for (id, qi) in rows {
        if let Some(row) = allocation.get(&id) {
            for (col, &p) in lp_pools.iter().enumerate() {
                shares[qi][p] = row[col];
            }
        }
    }
    Ok(shares)
}
