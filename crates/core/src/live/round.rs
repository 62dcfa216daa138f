//! The live round's mechanism: takes queued jobs in the policy's order and each job's
//! placement options in the policy's order, and places, reserves (EASY backfill) or preempts
//! lower priorities, within tenant quotas, pool job limits and budgets.

use super::blocks::Blocks;
use super::cost::Economics;
use super::load::RunningLoad;
use super::nodes;
use super::order::{Ranking, rank};
use super::policy::LivePolicy;
use super::reason::{BlockedPool, Choice, StartReason, WaitReason};
use super::types::{Action, Decision, PoolView, QueuedView, QuotaView, RoundInput};
use crate::JobId;
use crate::SimTime;
use crate::econ::BlockScope;
use spillway_model::UsdPerHour;
use spillway_model::spec::ChoiceOrder;
use std::collections::{HashMap, HashSet};

mod candidates;
mod skip;
pub(crate) use candidates::candidates;
use candidates::{asks_for_spot, deadline_allows_spot, no_pool_reason, usable_free};
pub use candidates::{can_ever_place, can_ever_place_under};
use skip::changes_nothing;

/// A pool's state during the round.
struct PoolRound {
    free: Vec<u32>,
    /// Free indices beyond `free` that the input did not list ([`PoolView::free_unlisted`]).
    unlisted: u32,
    jobs: u32,
    stopping: u32,
    reservation: Option<Reservation>,
}

impl PoolRound {
    /// Free accelerators, listed or not.
    fn free_count(&self) -> u32 {
        self.free.len() as u32 + self.unlisted
    }
}

#[derive(Clone)]
struct Reservation {
    job: JobId,
    count: u32,
    /// When the reserved job is expected to be able to start.
    shadow_ms: i64,
    /// On a pool of several nodes: the nodes the reserved job is to get (whole nodes, not a
    /// count of accelerators, since a gang needs its share on each of its nodes). Empty on a
    /// pool of one node.
    nodes: Vec<u32>,
}

/// One placement option for a job: an alternative on one pool. Its accelerator type is
/// borrowed from the job's choices: a round builds many candidates per job and copies them
/// freely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate<'a> {
    pub(crate) pool: usize,
    pub(crate) accelerator: Option<&'a str>,
    pub(crate) count: u32,
}

/// Decides one round.
pub fn decide(input: &RoundInput<'_>) -> Decision {
    let mut decision = Decision::default();
    // Pools the failover memory blocks are set aside before the policy ranks: a job goes on
    // to its next pool at once, and waits with the blocks as its reason when none is left.
    // Only an allocation policy ranks on every job's options at once; the others order the
    // queue by the jobs' own fields, and each job's options are worked out when it comes.
    let allocates = input.policy.allocates();
    let blocks = Blocks::new(input);
    let (all, blocked): (Vec<Vec<Candidate>>, Vec<Vec<BlockedPool>>) = if allocates {
        input
            .queued
            .iter()
            .map(|q| unblocked(input, &blocks, q, &candidates(input, q)))
            .unzip()
    } else {
        (Vec::new(), Vec::new())
    };
    let Ranking {
        order,
        options,
        shares,
        error,
    } = rank(input, &all);
    decision.policy_error = error;
    let computed;
    let load = match input.load {
        Some(load) => load,
        None => {
            computed = RunningLoad::of(input.pools.len(), &input.running);
            &computed
        }
    };
    let mut pools: Vec<PoolRound> = input
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| PoolRound {
            free: usable_free(p),
            unlisted: if p.slice.is_some() {
                0
            } else {
                p.free_unlisted
            },
            jobs: load.jobs.get(i).copied().unwrap_or(0),
            stopping: load.stopping.get(i).copied().unwrap_or(0),
            reservation: None,
        })
        .collect();
    // What each tenant holds, only where quotas are set (the rest never need it).
    let mut held: HashMap<(&str, &str), u32> = HashMap::new();
    let mut spend: HashMap<&str, f64> = HashMap::new();
    if !input.quotas.is_empty() {
        for r in input.running.iter() {
            let pool = &input.pools[r.pool];
            if let Some(acc) = pool.accelerator {
                *held.entry((&r.tenant, acc)).or_default() += r.accelerators.len() as u32;
            }
            *spend.entry(&r.tenant).or_default() += pool.price.0 * r.accelerators.len() as f64;
        }
    }
    // Running jobs asked to stop in this round.
    let mut stopped: HashSet<JobId> = HashSet::new();
    let mut economics = matches!(input.policy, LivePolicy::Econ(_)).then(|| Economics::new(input));
    // Whether some job of this round waits for a reason that time alone lifts.
    let mut on_clock = false;

    for qi in order {
        if input
            .stop_when_stuck
            .is_some_and(|bounds| stuck(input, &pools, load, bounds))
        {
            decision.stuck = true;
            break;
        }
        on_clock |= decision
            .waiting
            .last()
            .is_some_and(|(_, r)| r.lapses_with_time());
        let job = &input.queued[qi];
        if input.stop_when_stuck.is_some()
            && !allocates
            && changes_nothing(
                input,
                &blocks,
                &pools,
                load,
                economics.as_ref(),
                job,
                on_clock,
            )
        {
            continue;
        }
        // The job's candidates in its own order, blocked pools included, worked out once for
        // the round (an allocation policy has them already, blocked pools set aside).
        let own = if allocates {
            Vec::new()
        } else {
            candidates(input, job)
        };
        let split;
        let (job_all, job_blocked, open): (&[Candidate], &[BlockedPool], bool) = if allocates {
            (&all[qi], &blocked[qi], !all[qi].is_empty())
        } else if economics.is_some() {
            // The policy skips blocked pools itself: only the blocks are needed here.
            let (blocked, open) = blocked_pools(input, &blocks, job, &own);
            split = (Vec::new(), blocked);
            (&own, &split.1, open)
        } else {
            split = unblocked(input, &blocks, job, &own);
            (&split.0, &split.1, !split.0.is_empty())
        };
        if !open {
            let reason = if job_blocked.is_empty() {
                no_pool_reason(input, job)
            } else {
                WaitReason::Blocked {
                    pools: job_blocked.to_vec(),
                }
            };
            decision.waiting.push((job.id, reason));
            continue;
        }
        // Under `commitment_aware` the job's options are priced now, after the jobs placed
        // before it in this round (blocked pools included: the policy skips them itself).
        let priced = economics.as_ref().map(|e| {
            if allocates {
                e.options(input, &blocks, job, &candidates(input, job), |p| {
                    &pools[p].free
                })
            } else {
                e.options(input, &blocks, job, &own, |p| &pools[p].free)
            }
        });
        let candidates: &[Candidate] = match &priced {
            Some(p) => &p.ranked,
            None => options.as_ref().map_or(job_all, |o| &o[qi]),
        };
        if candidates.is_empty() {
            let reason = match &priced {
                Some(p) => p.hold(input, |c| has_room(input, &pools, c), job_blocked),
                None => WaitReason::NoShare {
                    policy: input.policy.name(),
                },
            };
            decision.waiting.push((job.id, reason));
            continue;
        }
        // Quotas first: a job over quota neither starts, reserves nor preempts.
        let quota = input.quotas.get(job.tenant);
        let mut quota_block = None;
        let within: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| match quota_check(input, job, c, quota, &held, &spend) {
                Ok(()) => true,
                Err(r) => {
                    quota_block.get_or_insert(r);
                    false
                }
            })
            .collect();
        if within.is_empty() {
            decision
                .waiting
                .push((job.id, quota_block.expect("a candidate was refused")));
            continue;
        }

        let fits = within.iter().find(|c| {
            let p = &pools[c.pool];
            let free = p.free_count();
            // The listed indices always cover what the queue takes (the machine lists that
            // many, and all of them on a pool of several nodes or of rented blocks); a start
            // takes the lowest of them, whole nodes, or the best fit among rented blocks.
            if free < c.count
                || (p.free.len() as u32) < c.count
                || p.jobs >= input.pools[c.pool].max_jobs
                || !nodes::can_take(&input.pools[c.pool], &p.free, c.count, job.num_nodes)
            {
                return false;
            }
            let view = &input.pools[c.pool];
            match &p.reservation {
                None => true,
                Some(r) if r.job == job.id => true,
                Some(r) => {
                    let beyond = if view.nodes > 1 && !r.nodes.is_empty() {
                        // Beyond the reservation on a pool of nodes: on the other nodes.
                        let others = nodes::outside(view, &p.free, &r.nodes);
                        nodes::can_take(view, &others, c.count, job.num_nodes)
                    } else {
                        free - r.count.min(free) >= c.count
                    };
                    beyond
                        || job
                            .run_ms_on(c.pool, &input.pools[c.pool])
                            .is_some_and(|run_ms| {
                                input.now_ms.saturating_add(run_ms) <= r.shadow_ms
                            })
                }
            }
        });
        if let Some(c) = fits {
            let backfilled = pools[c.pool]
                .reservation
                .as_ref()
                .is_some_and(|r| r.job != job.id);
            let p = &mut pools[c.pool];
            let view = &input.pools[c.pool];
            // A job placed next to a gang's reservation takes the other nodes where it can (it
            // may use the reserved ones only when it ends before the gang could start).
            let beside = match &p.reservation {
                Some(r) if r.job != job.id && view.nodes > 1 && !r.nodes.is_empty() => {
                    let mut others = nodes::outside(view, &p.free, &r.nodes);
                    nodes::take(view, &mut others, c.count, job.num_nodes)
                }
                _ => None,
            };
            let accelerators: Vec<u32> = match beside {
                Some(taken) => {
                    p.free.retain(|i| taken.binary_search(i).is_err());
                    taken
                }
                None => match priced.as_ref().and_then(|o| o.place(c)) {
                    // Idle accelerators of a rented block, as the policy priced them.
                    Some(place) => {
                        p.free.retain(|i| place.binary_search(i).is_err());
                        place.to_vec()
                    }
                    None => nodes::take(view, &mut p.free, c.count, job.num_nodes)
                        .expect("fits checked that the pool's nodes have room"),
                },
            };
            p.jobs += 1;
            let view = &input.pools[c.pool];
            if let Some(acc) = view.accelerator {
                *held.entry((job.tenant, acc)).or_default() += c.count;
            }
            *spend.entry(job.tenant).or_default() += view.price.0 * f64::from(c.count);
            let first = &candidates[0];
            let choice = match (shares.as_ref(), &priced) {
                (_, Some(p)) => p.choice(input, c),
                (Some(sh), None) => Choice::Share {
                    share: sh[qi][c.pool],
                },
                (None, None) if first.pool == c.pool && first.accelerator == c.accelerator => {
                    if job.order == ChoiceOrder::AnyOf && candidates.len() > 1 {
                        Choice::Cheapest
                    } else {
                        Choice::FirstChoice
                    }
                }
                (None, None) => Choice::Fallback {
                    preferred: format!(
                        "{} on pool {}",
                        gang_words(
                            first.accelerator.unwrap_or("cpu"),
                            first.count,
                            job.num_nodes
                        ),
                        input.pools[first.pool].name
                    ),
                },
            };
            let reason = StartReason {
                policy: input.policy.name(),
                pool: view.name.to_string(),
                accelerator: c.accelerator.map(str::to_string),
                count: c.count,
                choice,
                priority: job.priority,
                backfilled,
                accelerators: accelerators.clone(),
                blocked: if allocates && !job_blocked.is_empty() {
                    skipped(input, &self::candidates(input, job), job_blocked, c)
                } else {
                    skipped(input, &own, job_blocked, c)
                },
                spot_ruled_out: (asks_for_spot(job)
                    && input.pools.iter().any(PoolView::is_spot)
                    && !deadline_allows_spot(input, job))
                    || priced.as_ref().is_some_and(|p| p.spot_ruled_out()),
            };
            if let Some(e) = economics.as_mut() {
                e.started(input, job, c, &accelerators);
            }
            decision.actions.push(Action::Start {
                job: job.id,
                pool: c.pool,
                accelerators,
                reason,
            });
            continue;
        }

        // Room being made already (from preemptions of an earlier round)?
        if let Some(c) = within.iter().find(|c| {
            let p = &pools[c.pool];
            let view = &input.pools[c.pool];
            p.stopping > 0
                && p.reservation.as_ref().is_none_or(|r| r.job == job.id)
                && if view.nodes > 1 {
                    // On a pool of nodes, the freed indices must make whole shares on nodes.
                    let soon = soon_free(input, p, c.pool, &stopped);
                    nodes::can_take(view, &soon, c.count, job.num_nodes)
                } else {
                    p.free_count() + p.stopping >= c.count
                }
        }) {
            let mut jobs: Vec<JobId> = input
                .running
                .iter()
                .filter(|r| r.pool == c.pool && r.stopping)
                .map(|r| r.id)
                .collect();
            jobs.sort_unstable();
            let view = &input.pools[c.pool];
            let reserved = if view.nodes > 1 {
                let soon = soon_free(input, &pools[c.pool], c.pool, &stopped);
                nodes::chosen_nodes(view, &soon, c.count, job.num_nodes).unwrap_or_default()
            } else {
                Vec::new()
            };
            reserve(&mut pools[c.pool], job.id, c.count, input.now_ms, reserved);
            decision.waiting.push((
                job.id,
                WaitReason::Preempting {
                    pool: input.pools[c.pool].name.to_string(),
                    jobs,
                },
            ));
            continue;
        }

        // Preempt lower-priority work where that makes room.
        if let Some((c, (victims, reserved))) = within.iter().find_map(|c| {
            preemption_victims(input, load, &pools[c.pool], c, job, &stopped).map(|v| (c, v))
        }) {
            for &v in &victims {
                let r = &input.running[v];
                stopped.insert(r.id);
                pools[c.pool].stopping += r.accelerators.len() as u32;
                decision.actions.push(Action::Preempt {
                    job: r.id,
                    for_job: job.id,
                    lease_ended: false,
                });
            }
            reserve(&mut pools[c.pool], job.id, c.count, input.now_ms, reserved);
            decision.waiting.push((
                job.id,
                WaitReason::Preempting {
                    pool: input.pools[c.pool].name.to_string(),
                    jobs: victims.iter().map(|&v| input.running[v].id).collect(),
                },
            ));
            continue;
        }

        // Wait: reserve the preferred pool if nobody has, so that it is not starved.
        let c = within[0];
        let view = &input.pools[c.pool];
        let p = &mut pools[c.pool];
        let behind = match &p.reservation {
            Some(r) if r.job != job.id => Some(r.job),
            _ => None,
        };
        if p.reservation.is_none() {
            // On a pool of nodes, the gang (or single-node job) waits for whole shares on
            // nodes: it reserves the nodes that get them first, and its shadow time is when
            // the last of them does.
            let (shadow, reserved) = match (view.nodes > 1)
                .then(|| {
                    let held = input.running.iter().filter(|r| r.pool == c.pool).map(|r| {
                        let end = if r.stopping || stopped.contains(&r.id) {
                            input.now_ms
                        } else {
                            r.expected_end_ms.unwrap_or(i64::MAX)
                        };
                        (end, r.accelerators.as_slice())
                    });
                    nodes::earliest(view, &p.free, held, c.count, job.num_nodes, input.now_ms)
                })
                .flatten()
            {
                Some(plan) => plan,
                None => (
                    load.shadow_ms(c.pool, p.free_count(), c.count, input.now_ms),
                    Vec::new(),
                ),
            };
            p.reservation = Some(Reservation {
                job: job.id,
                count: c.count,
                shadow_ms: shadow,
                nodes: reserved,
            });
        }
        let (free, full) = (p.free_count(), p.jobs >= view.max_jobs);
        // A pool with room that the policy held back says more than the one it waits for; the
        // words for the pool it waits for are written only when they are the reason.
        let reason = priced
            .as_ref()
            .and_then(|p| p.held_with_room(input, |c| has_room(input, &pools, c)))
            .unwrap_or_else(|| {
                if free >= c.count && full {
                    WaitReason::PoolFull {
                        pool: view.name.to_string(),
                        max_jobs: view.max_jobs,
                    }
                } else {
                    let wanted = match (c.accelerator, view.slice) {
                        (Some(_), Some(shape)) => format!("a whole {} slice", shape.name),
                        (Some(a), None) => gang_words(a, c.count, job.num_nodes),
                        (None, _) if job.num_nodes > 1 => format!("{} nodes", job.num_nodes),
                        (None, _) => "a job slot".to_string(),
                    };
                    WaitReason::NoCapacity {
                        wanted,
                        pool: view.name.to_string(),
                        free,
                        behind,
                    }
                }
            });
        decision.waiting.push((job.id, reason));
    }
    decision
}

/// Whether no queued job could start or preempt anything any more in this round, given
/// `(smallest, highest)`: the smallest accelerator count and the highest priority over the
/// whole queue. On every pool: too few free accelerators for the smallest job (or no job
/// slot), and no preemption possible (another job reserved it, or nothing of a lower
/// priority than the highest queued runs there).
fn stuck(
    input: &RoundInput<'_>,
    pools: &[PoolRound],
    load: &RunningLoad,
    (smallest, highest): (u32, u32),
) -> bool {
    pools.iter().enumerate().all(|(i, p)| {
        let no_room = p.free_count() < smallest || p.jobs >= input.pools[i].max_jobs;
        let no_preemption = p.reservation.is_some()
            || load
                .lowest_priority(i)
                .is_none_or(|lowest| lowest >= highest);
        no_room && no_preemption
    })
}

/// Whether candidate `c` would fit on its pool now, reservations aside.
fn has_room(input: &RoundInput<'_>, pools: &[PoolRound], c: &Candidate) -> bool {
    let p = &pools[c.pool];
    p.free_count() >= c.count && p.jobs < input.pools[c.pool].max_jobs
}

/// What a job asks for, in words: `H100:8` on one node, `2 nodes x 8 H100` for a gang of
/// `total` accelerators over `num_nodes` nodes.
fn gang_words(accelerator: &str, total: u32, num_nodes: u32) -> String {
    if num_nodes > 1 {
        format!("{num_nodes} nodes x {} {accelerator}", total / num_nodes)
    } else {
        format!("{accelerator}:{total}")
    }
}

fn reserve(p: &mut PoolRound, job: JobId, count: u32, now_ms: i64, nodes: Vec<u32>) {
    if p.reservation.is_none() {
        p.reservation = Some(Reservation {
            job,
            count,
            shadow_ms: now_ms,
            nodes,
        });
    }
}

/// The indices of pool `pool` that are free now or soon: its free ones and those of its
/// running jobs asked to stop (in an earlier round or this one), ascending.
fn soon_free(
    input: &RoundInput<'_>,
    p: &PoolRound,
    pool: usize,
    stopped: &HashSet<JobId>,
) -> Vec<u32> {
    let mut soon = p.free.clone();
    for r in input.running.iter() {
        if r.pool == pool && (r.stopping || stopped.contains(&r.id)) {
            soon.extend_from_slice(&r.accelerators);
        }
    }
    soon.sort_unstable();
    soon.dedup();
    soon
}

/// Splits a job's candidates into those the failover memory lets through and the pools it
/// blocks now (each blocked pool once).
fn unblocked<'a>(
    input: &RoundInput<'_>,
    blocks: &Blocks<'_>,
    job: &QueuedView<'_>,
    candidates: &[Candidate<'a>],
) -> (Vec<Candidate<'a>>, Vec<BlockedPool>) {
    if !blocks.any(job) {
        return (candidates.to_vec(), Vec::new());
    }
    let mut open = Vec::with_capacity(candidates.len());
    let mut blocked: Vec<BlockedPool> = Vec::new();
    for c in candidates {
        match blocks.until(input, job, c.pool) {
            None => open.push(*c),
            Some(block) => add_blocked(input, blocks, &mut blocked, c.pool, block),
        }
    }
    (open, blocked)
}

/// The pools among a job's candidates that the failover memory blocks now (each once, in the
/// candidates' order), and whether it lets some candidate through.
fn blocked_pools(
    input: &RoundInput<'_>,
    blocks: &Blocks<'_>,
    job: &QueuedView<'_>,
    candidates: &[Candidate<'_>],
) -> (Vec<BlockedPool>, bool) {
    if !blocks.any(job) {
        return (Vec::new(), !candidates.is_empty());
    }
    let mut open = false;
    let mut blocked: Vec<BlockedPool> = Vec::new();
    for c in candidates {
        match blocks.until(input, job, c.pool) {
            None => open = true,
            Some(block) => add_blocked(input, blocks, &mut blocked, c.pool, block),
        }
    }
    (blocked, open)
}

/// Adds pool `pool`, blocked by `scope` until `until`, to `blocked` unless it is there.
fn add_blocked(
    input: &RoundInput<'_>,
    blocks: &Blocks<'_>,
    blocked: &mut Vec<BlockedPool>,
    pool: usize,
    (scope, until): (BlockScope, SimTime),
) {
    let name = input.pools[pool].name;
    if !blocked.iter().any(|b| b.pool == name) {
        let now = blocks.now();
        blocked.push(BlockedPool {
            pool: name.to_string(),
            scope,
            for_s: ((until.0 - now.0).max(0) as u64).div_ceil(1_000_000),
        });
    }
}

/// The blocked pools a started job would have tried before the one it got (in its own order
/// of candidates, `order`): what failover skipped for it.
fn skipped(
    input: &RoundInput<'_>,
    order: &[Candidate<'_>],
    blocked: &[BlockedPool],
    chosen: &Candidate<'_>,
) -> Vec<BlockedPool> {
    if blocked.is_empty() {
        return Vec::new();
    }
    let at = |pool: usize| order.iter().position(|c| c.pool == pool);
    let chosen_at = order.iter().position(|c| c == chosen).unwrap_or(usize::MAX);
    blocked
        .iter()
        .filter(|b| {
            input
                .pools
                .iter()
                .position(|p| p.name == b.pool)
                .and_then(at)
                .is_some_and(|i| i < chosen_at)
        })
        .cloned()
        .collect()
}

fn quota_check(
    input: &RoundInput<'_>,
    job: &QueuedView<'_>,
    c: &Candidate,
    quota: Option<&QuotaView>,
    held: &HashMap<(&str, &str), u32>,
    spend: &HashMap<&str, f64>,
) -> Result<(), WaitReason> {
    let Some(q) = quota else { return Ok(()) };
    if let Some(acc) = c.accelerator {
        if let Some(&limit) = q.max_accelerators.get(acc) {
            let in_use = held.get(&(job.tenant, acc)).copied().unwrap_or(0);
            if in_use + c.count > limit {
                return Err(WaitReason::AcceleratorQuota {
                    tenant: job.tenant.to_string(),
                    accelerator: acc.to_string(),
                    limit,
                    in_use,
                    wanted: c.count,
                });
            }
        }
    }
    if let Some(limit) = q.max_usd_per_hour {
        let in_use = spend.get(job.tenant).copied().unwrap_or(0.0);
        let more = input.pools[c.pool].price.0 * f64::from(c.count);
        if in_use + more > limit.0 + 1e-9 {
            return Err(WaitReason::SpendQuota {
                tenant: job.tenant.to_string(),
                limit,
                in_use: UsdPerHour(in_use),
            });
        }
    }
    Ok(())
}

/// Running jobs on a candidate's pool whose preemption makes room for `job`: strictly lower
/// priority, lowest first, most recently started first; `None` if even all of them are not
/// enough. With them, on a pool of several nodes, the nodes the job will take once they
/// stop (empty elsewhere).
///
/// On a pool of nodes the room counts whole shares on nodes, not free accelerators: a gang
/// of 2 nodes x 8 needs two nodes with 8 free each, so victims are added in that order until
/// the freed indices make such nodes, then those that turn out not to be needed (on other
/// nodes) are spared again, last added first.
fn preemption_victims(
    input: &RoundInput<'_>,
    load: &RunningLoad,
    pool: &PoolRound,
    c: &Candidate,
    job: &QueuedView<'_>,
    stopped: &HashSet<JobId>,
) -> Option<(Vec<usize>, Vec<u32>)> {
    if pool.reservation.as_ref().is_some_and(|r| r.job != job.id) {
        return None;
    }
    // Nothing of a lower priority runs there (or all of it is being stopped already).
    if load
        .lowest_priority(c.pool)
        .is_none_or(|lowest| lowest >= job.priority)
    {
        return None;
    }
    let mut victims: Vec<usize> = (0..input.running.len())
        .filter(|&i| {
            let r = &input.running[i];
            r.pool == c.pool && !r.stopping && !stopped.contains(&r.id) && r.priority < job.priority
        })
        .collect();
    victims.sort_by_key(|&i| {
        let r = &input.running[i];
        (
            r.priority,
            std::cmp::Reverse(r.started_ms),
            std::cmp::Reverse(r.id),
        )
    });
    let max_jobs = input.pools[c.pool].max_jobs;
    let view = &input.pools[c.pool];
    if view.nodes > 1 {
        return node_victims(input, pool, c, job, stopped, &victims);
    }
    let mut free = pool.free_count() + pool.stopping;
    let mut jobs = pool.jobs;
    let mut chosen = Vec::new();
    for v in victims {
        if free >= c.count && jobs < max_jobs {
            break;
        }
        free += input.running[v].accelerators.len() as u32;
        jobs -= 1;
        chosen.push(v);
    }
    (free >= c.count && jobs < max_jobs && !chosen.is_empty()).then_some((chosen, Vec::new()))
}

/// [`preemption_victims`] on a pool of several nodes: `victims` in order of preference.
fn node_victims(
    input: &RoundInput<'_>,
    pool: &PoolRound,
    c: &Candidate,
    job: &QueuedView<'_>,
    stopped: &HashSet<JobId>,
    victims: &[usize],
) -> Option<(Vec<usize>, Vec<u32>)> {
    let view = &input.pools[c.pool];
    let base = soon_free(input, pool, c.pool, stopped);
    let with = |chosen: &[usize]| {
        let mut set = base.clone();
        for &v in chosen {
            set.extend_from_slice(&input.running[v].accelerators);
        }
        set.sort_unstable();
        set.dedup();
        set
    };
    let room = |chosen: &[usize]| {
        pool.jobs - (chosen.len() as u32).min(pool.jobs) < view.max_jobs
            && nodes::can_take(view, &with(chosen), c.count, job.num_nodes)
    };
    let mut chosen: Vec<usize> = Vec::new();
    for &v in victims {
        if room(&chosen) {
            break;
        }
        chosen.push(v);
    }
    if chosen.is_empty() || !room(&chosen) {
        return None;
    }
    // Spare those not needed after all, the most valuable (last added) first.
    for k in (0..chosen.len()).rev() {
        let mut fewer = chosen.clone();
        fewer.remove(k);
        if room(&fewer) {
            chosen = fewer;
        }
    }
    if chosen.is_empty() {
        return None;
    }
    let reserved =
        nodes::chosen_nodes(view, &with(&chosen), c.count, job.num_nodes).unwrap_or_default();
    Some((chosen, reserved))
}
