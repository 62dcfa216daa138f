//! The `commitment_aware` policy of the live round: the placement economics of [`crate::econ`],
//! through the same [`rank_candidates_explained`] that the scenario simulator calls, over the
//! live pools.
//!
//! - The queue: priority (high first), then earliest deadline (jobs with one first), then
//!   submission.
//! - A job's options: every pool that could run one of its alternatives becomes an
//!   [`econ::Candidate`]: the pool's plan; its price per accelerator-hour x the accelerators the
//!   job takes (on a pool cut into rented blocks, under the policies that pack rentals: on idle
//!   accelerators of rented blocks, the blocks' price over the time the job extends them,
//!   spread over its run; opening blocks, also their idle accelerators that the queued jobs
//!   could not fill); its `throughput` as the speed; its expected preemptions per hour (spot); and, for
//!   committed capacity, the pace of its contract ([`ContractLedger::pace`]): what the contract
//!   was charged so far, plus what the committed capacity running now (and started earlier in
//!   the same round) will cost until its jobs' `work` estimates end (over the whole look-ahead
//!   when unknown), plus the job's own cost over the look-ahead ([`PACE_HORIZON_S`]).
//! - The job, as the economics see it: its `work` estimate as its work (and its remaining work:
//!   the service does not know what a preempted job saved); a job without one is long-running,
//!   a day of work (the pace look-ahead), so it waits [`BURST_AFTER_WAIT_SHARE`] of a day for
//!   owned or committed capacity before renting; its wait since submission; its deadline when it
//!   has a `work` estimate (without one the deadline only orders the queue); its checkpoint
//!   interval (all its work without one) and the service's restart overhead.
//! - Options the ranking leaves out are not tried. When the job does not start and one of them
//!   had room, the rule that left it out is the job's wait reason.
//!
//! [`econ::Candidate`]: crate::econ::Candidate
//! [`ContractLedger::pace`]: crate::econ::ContractLedger::pace
//! [`rank_candidates_explained`]: crate::econ::rank_candidates_explained

use super::blocks::Blocks;
use super::policy::LivePolicy;
use super::reason::{BlockedPool, Choice, WaitReason, pool_names};
use super::round::Candidate;
use super::types::{PoolView, QueuedView, RoundInput};
use crate::SimTime;
use crate::econ::{
    self, BURST_AFTER_WAIT_SHARE, CheckpointModel, EconJob, EconPolicy, Framework, LeftOut,
    PACE_HORIZON_S, Pace, PlanKind, rank_candidates_unless_blocked,
};
use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Arc;

/// Work assumed for a job without a `work` estimate: a day, the pace look-ahead (long-running:
/// its cost counts over the whole look-ahead).
const UNKNOWN_WORK_S: f64 = PACE_HORIZON_S;

/// The queue under `policy`: indexes into `input.queued`, by priority (high first), then
/// earliest deadline (jobs without one after those with one; not under `baseline`, which knows
/// no deadlines), then submission.
pub(crate) fn queue_order(input: &RoundInput<'_>, policy: EconPolicy) -> Vec<usize> {
    let mut order: Vec<usize> = (0..input.queued.len()).collect();
    let knows_deadlines = policy != EconPolicy::Baseline;
    order.sort_by_key(|&i| {
        let q = &input.queued[i];
        let deadline = q.deadline_ms.filter(|_| knows_deadlines);
        (Reverse(q.priority), deadline.unwrap_or(i64::MAX), q.id)
    });
    order
}

/// The policy's state during one round.
pub(crate) struct Economics {
    policy: EconPolicy,
    now: SimTime,
    /// Per contract (as `input.contracts`): what its committed capacity running now, and started
    /// earlier in this round, will cost over the pace look-ahead.
    committed_ahead: Vec<f64>,
    /// Each pool's failover scopes, shared by its candidates.
    locations: Vec<(Arc<str>, Arc<str>, Arc<str>)>,
    /// Per pool cut into rented blocks, under a policy that packs rentals: each rented block
    /// (one a running job holds indices of, or a job started earlier in this round) and when
    /// its last job is expected to end (`i64::MAX`: unknown). Empty for other pools.
    rented_blocks: Vec<HashMap<u32, i64>>,
    /// Per pool cut into rented blocks: the accelerators the queued jobs of this round would
    /// take there (each job counted on every such pool it could use); 0 elsewhere.
    fill: Vec<u32>,
}

/// A job's options under the policy.
pub(crate) struct Options<'a> {
    /// The options to try, best first.
    pub(crate) ranked: Vec<Candidate<'a>>,
    /// The pace of each ranked option on committed capacity (same order).
    paces: Vec<Option<Pace>>,
    /// For each ranked option on idle accelerators of a rented block (same order): the
    /// indices it was priced for, which a start there takes.
    places: Vec<Option<Vec<u32>>>,
    /// The options left out, each with the rule that left it out, in the job's own order.
    held: Vec<(Candidate<'a>, LeftOut)>,
    /// Seconds it has waited, and waits before renting (jobs without a deadline).
    waited_s: f64,
    wait_s: f64,
    /// Seconds of slack beyond the margin of a preemption (jobs with a deadline).
    slack_s: f64,
}

impl Economics {
    pub(crate) fn new(input: &RoundInput<'_>) -> Economics {
        let horizon_ms = input
            .now_ms
            .saturating_add((PACE_HORIZON_S * 1000.0) as i64);
        let mut committed_ahead = vec![0.0; input.contracts.len()];
        for r in input.running.iter().filter(|r| !r.stopping) {
            let pool = &input.pools[r.pool];
            if pool.plan != PlanKind::Committed {
                continue;
            }
            let Some(ahead) = pool.contract.and_then(|c| committed_ahead.get_mut(c)) else {
                continue;
            };
            let until = r.expected_end_ms.unwrap_or(i64::MAX).min(horizon_ms);
            let hours = (until - input.now_ms).max(0) as f64 / 3_600_000.0;
            *ahead += pool.price.0 * r.accelerators.len() as f64 * hours;
        }
        let policy = match input.policy {
            LivePolicy::Econ(p) => p,
            LivePolicy::Scheduler(_) => EconPolicy::CommitmentAware,
        };
        let mut rented_blocks = vec![HashMap::new(); input.pools.len()];
        let mut fill = vec![0u32; input.pools.len()];
        if policy.packs_rentals() && input.pools.iter().any(packs) {
            for q in &input.queued {
                for (index, choice) in q.choices.iter().enumerate() {
                    let mut add = |p: usize| {
                        if packs(&input.pools[p]) {
                            fill[p] = fill[p].saturating_add(choice.count);
                        }
                    };
                    match input.pools_of_type(q, index) {
                        Some(pools) => pools.iter().copied().for_each(&mut add),
                        None => (0..input.pools.len())
                            .filter(|&p| {
                                input.pools[p].accelerator == Some(choice.accelerator.as_str())
                            })
                            .for_each(&mut add),
                    }
                }
            }
            for r in input.running.iter().filter(|r| !r.stopping) {
                if packs(&input.pools[r.pool]) {
                    let end = r.expected_end_ms.unwrap_or(i64::MAX);
                    extend_blocks(
                        &mut rented_blocks[r.pool],
                        input.pools[r.pool].block,
                        &r.accelerators,
                        end,
                    );
                }
            }
        }
        Economics {
            policy,
            now: SimTime(input.now_ms.saturating_mul(1000)),
            committed_ahead,
            locations: input
                .pools
                .iter()
                .map(|p| {
                    (
                        p.location.0.into(),
                        p.location.1.into(),
                        p.location.2.into(),
                    )
                })
                .collect(),
            rented_blocks,
            fill,
        }
    }

    /// What `c` costs per hour when the job opens new blocks of a pool cut into rented blocks
    /// (no rented block holds it): the accelerators it holds, and the idle ones of the blocks
    /// it opens that the jobs queued with it could not fill (the loop's pricing of a VM larger
    /// than its job). `None` when the pool is not cut into blocks.
    fn on_new_blocks(&self, input: &RoundInput<'_>, c: &Candidate) -> Option<f64> {
        let pool = &input.pools[c.pool];
        if !self.policy.packs_rentals() || !packs(pool) || c.count == 0 {
            return None;
        }
        // Called when no rented block holds the job: it opens as many blocks as it needs.
        let opened = c.count.div_ceil(pool.block) * pool.block;
        let others = self.fill[c.pool].saturating_sub(c.count);
        let idle = opened.saturating_sub(c.count).saturating_sub(others);
        Some(pool.price.0 * f64::from(c.count + idle))
    }

    /// Where `q` would go on `c` onto idle accelerators of a block rented for other jobs
    /// (`free`: the pool's free indices now), and what it costs per hour there: the block that
    /// it extends least beyond its own jobs' expected ends (then the fullest, then the lowest),
    /// as the scenario loop chose its rental, priced at the block's price over that extension
    /// spread over the job's run (a job that ends before the block's other jobs costs nothing
    /// more). `None` when no rented block holds it (a job larger than a block opens blocks:
    /// [`Self::on_new_blocks`] prices that).
    fn on_rented_block(
        &self,
        input: &RoundInput<'_>,
        q: &QueuedView<'_>,
        job: &EconJob,
        ckpt: &CheckpointModel,
        c: &Candidate,
        free: &[u32],
    ) -> Option<(f64, Vec<u32>)> {
        let pool = &input.pools[c.pool];
        let rented = &self.rented_blocks[c.pool];
        if rented.is_empty() || !packs(pool) || c.count == 0 || c.count > pool.block {
            return None;
        }
        let speed = super::job_speed(q.speeds, c.pool, pool.throughput).max(1e-12);
        let run_s = ckpt.restart_overhead_s + job.remaining_work_s / speed;
        let end_ms = input.now_ms.saturating_add((run_s * 1000.0).ceil() as i64);
        let want = c.count as usize;
        let block = pool.block;
        // Each rented block's free indices are a run of `free` (ascending), found by bisection.
        let mut best: Option<((i64, usize, u32), usize)> = None;
        for (&b, &ends_ms) in rented {
            let lo = free.partition_point(|&i| i < b.saturating_mul(block));
            let hi = free.partition_point(|&i| i < b.saturating_add(1).saturating_mul(block));
            if hi - lo < want {
                continue;
            }
            let key = (end_ms.saturating_sub(ends_ms).max(0), hi - lo, b);
            if best.as_ref().is_none_or(|(k, _)| key < *k) {
                best = Some((key, lo));
            }
        }
        let ((extension_ms, _, _), lo) = best?;
        let taken = &free[lo..lo + want];
        let block_per_hour = pool.price.0 * f64::from(pool.block);
        let extension_s = extension_ms as f64 / 1000.0;
        Some((
            block_per_hour * extension_s / run_s.max(1.0),
            taken.to_vec(),
        ))
    }

    /// The job as the economics see it, and what a preemption costs it.
    fn job(&self, input: &RoundInput<'_>, q: &QueuedView<'_>) -> (EconJob, CheckpointModel) {
        let work_s = q.work_secs.map_or(UNKNOWN_WORK_S, |w| w as f64);
        let job = EconJob {
            framework: Framework::Any,
            remaining_work_s: work_s,
            work_s,
            waited_s: (input.now_ms - q.submitted_ms).max(0) as f64 / 1000.0,
            deadline: q
                .deadline_ms
                .filter(|_| q.work_secs.is_some())
                .map(|d| SimTime(d.saturating_mul(1000))),
        };
        let ckpt = CheckpointModel {
            interval_s: q.checkpoint_interval_s.map_or(work_s, |i| i as f64),
            restart_overhead_s: input.restart_overhead_s,
            failover_allowance_s: input.failover_allowance_s,
        };
        (job, ckpt)
    }

    /// What running `job` on `c` costs over the pace look-ahead, dollars.
    fn cost_ahead(
        input: &RoundInput<'_>,
        q: &QueuedView<'_>,
        job: &EconJob,
        ckpt: &CheckpointModel,
        c: &Candidate,
    ) -> f64 {
        let pool = &input.pools[c.pool];
        let speed = super::job_speed(q.speeds, c.pool, pool.throughput).max(1e-12);
        let run_s = ckpt.restart_overhead_s + job.remaining_work_s / speed;
        pool.price.0 * f64::from(c.count) * run_s.min(PACE_HORIZON_S) / 3600.0
    }

    /// The contract that committed capacity on `c` is charged to, if the round knows it.
    fn contract_of(input: &RoundInput<'_>, c: &Candidate) -> Option<usize> {
        Self::contract_of_pool(input, c.pool)
    }

    /// The contract that committed capacity on pool `pool` is charged to, if the round knows it.
    fn contract_of_pool(input: &RoundInput<'_>, pool: usize) -> Option<usize> {
        let p = &input.pools[pool];
        p.contract
            .filter(|&k| p.plan == PlanKind::Committed && k < input.contracts.len())
    }

    /// Whether the policy leaves pool `pool` out of the options of every job now (of every
    /// job without a deadline, when `no_deadline`): committed capacity outside its contract's
    /// terms, or, under the policies that pace contracts, committed capacity whose contract
    /// the capacity running now (and started earlier in this round) already pulls ahead of its
    /// schedule: what a job adds to it (never less than nothing) only pulls it further.
    pub(crate) fn leaves_out(
        &self,
        input: &RoundInput<'_>,
        pool: usize,
        no_deadline: bool,
    ) -> bool {
        let Some(k) = Self::contract_of_pool(input, pool) else {
            return false;
        };
        let view = &input.contracts[k];
        let pace = view.ledger.pace(
            view.contract,
            self.now,
            self.committed_ahead[k],
            0.0,
            PACE_HORIZON_S,
        );
        pace == Pace::Closed
            || (pace == Pace::Ahead
                && no_deadline
                && self.policy != EconPolicy::Baseline
                && input.pools[pool].price.0 >= 0.0)
    }

    /// Job `q`'s options (`all`: every pool that could run it, blocked ones included: the
    /// policy skips those itself), ranked by the policy.
    /// `free(p)`: pool `p`'s free indices now, after the jobs placed before it in this round.
    pub(crate) fn options<'a, 'f>(
        &self,
        input: &RoundInput<'_>,
        blocks: &Blocks<'_>,
        q: &QueuedView<'_>,
        all: &[Candidate<'a>],
        free: impl Fn(usize) -> &'f [u32],
    ) -> Options<'a> {
        let (job, ckpt) = self.job(input, q);
        let mut places: Vec<Option<Vec<u32>>> = Vec::with_capacity(all.len());
        let candidates: Vec<econ::Candidate> = all
            .iter()
            .map(|c| {
                let pool = &input.pools[c.pool];
                let free = free(c.pool);
                let (packed, place) = match self.on_rented_block(input, q, &job, &ckpt, c, free) {
                    Some((price, taken)) => (Some(price), Some(taken)),
                    None => (None, None),
                };
                places.push(place);
                let price_per_hour = packed
                    .or_else(|| self.on_new_blocks(input, c))
                    .unwrap_or(pool.price.0 * f64::from(c.count));
                let quote = Self::contract_of(input, c).map(|k| {
                    let view = &input.contracts[k];
                    view.ledger.quote(
                        view.contract,
                        self.now,
                        price_per_hour,
                        self.committed_ahead[k],
                        Self::cost_ahead(input, q, &job, &ckpt, c),
                        PACE_HORIZON_S,
                    )
                });
                econ::Candidate {
                    pool: c.pool,
                    plan: pool.plan,
                    location: self.locations[c.pool].clone(),
                    price_per_hour: quote.map_or(price_per_hour, |q| q.price_per_hour),
                    speed: super::job_speed(q.speeds, c.pool, pool.throughput),
                    pace: quote.map(|q| q.pace),
                    preemptions_per_hour: pool.preemptions_per_hour,
                    already_rented: packed.is_some(),
                }
            })
            .collect();
        let blocked = |c: &econ::Candidate| blocks.is_blocked(input, q, c.pool);
        let ranked = rank_candidates_unless_blocked(
            self.policy,
            &job,
            &candidates,
            self.now,
            &blocked,
            &ckpt,
        );
        let best_reliable_speed = candidates
            .iter()
            .filter(|c| c.plan != PlanKind::Spot)
            .map(|c| c.speed)
            .fold(0.0, f64::max);
        let slack_s = job.deadline.map_or(0.0, |d| {
            let left_s = (d.0 - self.now.0) as f64 / 1e6;
            let needed_s =
                ckpt.restart_overhead_s + job.remaining_work_s / best_reliable_speed.max(1e-12);
            left_s - needed_s - ckpt.margin_s()
        });
        Options {
            paces: ranked.order.iter().map(|&i| candidates[i].pace).collect(),
            ranked: ranked.order.iter().map(|&i| all[i]).collect(),
            places: ranked.order.iter().map(|&i| places[i].take()).collect(),
            held: ranked
                .left_out
                .iter()
                .map(|&(i, why)| (all[i], why))
                .collect(),
            waited_s: job.waited_s,
            wait_s: BURST_AFTER_WAIT_SHARE * job.work_s,
            slack_s,
        }
    }

    /// Records that `q` starts on `c` with `accelerators`: committed capacity counts against
    /// its contract's pace for the jobs after it in the round, and the blocks it rents are
    /// rented until it is expected to end.
    pub(crate) fn started(
        &mut self,
        input: &RoundInput<'_>,
        q: &QueuedView<'_>,
        c: &Candidate,
        accelerators: &[u32],
    ) {
        let (job, ckpt) = self.job(input, q);
        if let Some(k) = Self::contract_of(input, c) {
            self.committed_ahead[k] += Self::cost_ahead(input, q, &job, &ckpt, c);
        }
        let pool = &input.pools[c.pool];
        if self.policy.packs_rentals() && packs(pool) {
            let speed = super::job_speed(q.speeds, c.pool, pool.throughput).max(1e-12);
            let run_s = ckpt.restart_overhead_s + job.remaining_work_s / speed;
            let end_ms = input.now_ms.saturating_add((run_s * 1000.0).ceil() as i64);
            extend_blocks(
                &mut self.rented_blocks[c.pool],
                pool.block,
                accelerators,
                end_ms,
            );
        }
    }
}

/// Whether `pool` is cut into rented blocks that later jobs may share (a pool of one node).
fn packs(pool: &PoolView<'_>) -> bool {
    super::nodes::rents_blocks(pool.block, pool.nodes, pool.slice.is_some())
}

/// Marks the blocks that `accelerators` lie on as rented until at least `end_ms`.
fn extend_blocks(rented: &mut HashMap<u32, i64>, block: u32, accelerators: &[u32], end_ms: i64) {
    for &i in accelerators {
        let e = rented.entry(i / block).or_insert(end_ms);
        *e = (*e).max(end_ms);
    }
}

/// Whether the rule `why` can stop holding a job back by the passing of time alone.
fn lapses(why: LeftOut) -> bool {
    matches!(
        why,
        LeftOut::BurstWait | LeftOut::WaitsForSpot | LeftOut::AheadOfSchedule
    )
}

impl Options<'_> {
    /// The accelerator indices option `c` was priced for, when it goes onto idle accelerators
    /// of a rented block: a start there takes exactly those.
    pub(crate) fn place(&self, c: &Candidate) -> Option<&[u32]> {
        let at = self.ranked.iter().position(|r| r == c)?;
        self.places[at].as_deref()
    }

    /// Whether the policy left a spot pool out because the job's deadline leaves too little
    /// slack for a preemption.
    pub(crate) fn spot_ruled_out(&self) -> bool {
        self.held.iter().any(|(_, why)| *why == LeftOut::NoSpot)
    }

    /// How the policy chose `chosen` among the ranked options, for its start reason.
    pub(crate) fn choice(&self, input: &RoundInput<'_>, chosen: &Candidate) -> Choice {
        let at = self.ranked.iter().position(|c| c == chosen).unwrap_or(0);
        Choice::Cost {
            plan: input.pools[chosen.pool].plan,
            contract: Economics::contract_of(input, chosen)
                .map(|k| input.contracts[k].contract.name.clone()),
            pace: self.paces.get(at).copied().flatten(),
            first: at == 0,
        }
    }

    /// Why the job waits when an option the policy left out has room now (`has_room`): the
    /// rule that left out the first such option (failover blocks aside: the mechanism reports
    /// those).
    pub(crate) fn held_with_room(
        &self,
        input: &RoundInput<'_>,
        has_room: impl Fn(&Candidate) -> bool,
    ) -> Option<WaitReason> {
        // A rule that time lifts (a wait before renting, spot slack, a contract's pace) says
        // more than one that holds for good (a closed contract): the job starts when it lapses.
        let with_room = || {
            self.held
                .iter()
                .filter(|(c, why)| *why != LeftOut::Blocked && has_room(c))
        };
        let (c, why) = with_room()
            .find(|(_, why)| lapses(*why))
            .or_else(|| with_room().next())?;
        Some(self.reason(input, c, *why))
    }

    /// Why the job waits when the policy left every option out: the rule that left out the
    /// first option with room, else the first option; `blocked` when only failover blocks did.
    pub(crate) fn hold(
        &self,
        input: &RoundInput<'_>,
        has_room: impl Fn(&Candidate) -> bool,
        blocked: &[BlockedPool],
    ) -> WaitReason {
        if let Some(r) = self.held_with_room(input, has_room) {
            return r;
        }
        let not_blocked = || self.held.iter().filter(|(_, why)| *why != LeftOut::Blocked);
        match not_blocked()
            .find(|(_, why)| lapses(*why))
            .or_else(|| not_blocked().next())
        {
            Some((c, why)) => self.reason(input, c, *why),
            None => WaitReason::Blocked {
                pools: blocked.to_vec(),
            },
        }
    }

    /// The wait reason of `why`, naming every pool left out by the same rule (and, for a
    /// contract ahead of its schedule, the same contract).
    fn reason(&self, input: &RoundInput<'_>, c: &Candidate, why: LeftOut) -> WaitReason {
        let contract = Economics::contract_of(input, c);
        let mut names: Vec<&str> = Vec::new();
        for (other, w) in &self.held {
            let name = input.pools[other.pool].name;
            if *w == why
                && (why != LeftOut::AheadOfSchedule
                    || Economics::contract_of(input, other) == contract)
                && !names.contains(&name)
            {
                names.push(name);
            }
        }
        let pools: Vec<String> = names.into_iter().map(str::to_string).collect();
        let secs = |s: f64| s.max(0.0).round() as u64;
        match why {
            LeftOut::AheadOfSchedule => WaitReason::AheadOfSchedule {
                contract: contract.map_or_else(
                    || "(unknown)".to_string(),
                    |k| input.contracts[k].contract.name.clone(),
                ),
                pools,
            },
            LeftOut::WaitsForSpot => WaitReason::WaitingForSpot {
                slack_s: secs(self.slack_s),
                pools,
            },
            LeftOut::BurstWait => WaitReason::BurstWait {
                waited_s: secs(self.waited_s),
                wait_s: secs(self.wait_s),
                pools,
            },
            LeftOut::MissesDeadline => WaitReason::MissesDeadline { pools },
            LeftOut::NoSpot => WaitReason::NoPool {
                detail: format!(
                    "its deadline leaves too little slack to absorb a preemption on spot {}",
                    pool_names(&pools)
                ),
            },
            LeftOut::ContractClosed => WaitReason::NoPool {
                detail: format!("{} is outside its contract's terms", pool_names(&pools)),
            },
            LeftOut::CannotRun | LeftOut::Blocked => WaitReason::NoPool {
                detail: format!("{} makes no progress on it", pool_names(&pools)),
            },
        }
    }
}
