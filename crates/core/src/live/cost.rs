//! The `commitment_aware` policy of the live round: the placement economics of [`crate::econ`],
//! through the same [`rank_candidates_explained`] that the scenario simulator calls, over the
//! live pools.
//!
//! - The queue: priority (high first), then earliest deadline (jobs with one first), then
//!   submission.
//! - A job's options: every pool that could run one of its alternatives becomes an
//!   [`econ::Candidate`]: the pool's plan; its price per accelerator-hour x the accelerators the
//!   job takes; its `throughput` as the speed; its expected preemptions per hour (spot); and, for
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
use super::types::{QueuedView, RoundInput};
use crate::SimTime;
use crate::econ::{
    self, BURST_AFTER_WAIT_SHARE, CheckpointModel, EconJob, EconPolicy, Framework, LeftOut,
    PACE_HORIZON_S, Pace, PlanKind, rank_candidates_unless_blocked,
};
use std::cmp::Reverse;
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
}

/// A job's options under the policy.
pub(crate) struct Options<'a> {
    /// The options to try, best first.
    pub(crate) ranked: Vec<Candidate<'a>>,
    /// The pace of each ranked option on committed capacity (same order).
    paces: Vec<Option<Pace>>,
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
        }
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
    pub(crate) fn options<'a>(
        &self,
        input: &RoundInput<'_>,
        blocks: &Blocks<'_>,
        q: &QueuedView<'_>,
        all: &[Candidate<'a>],
    ) -> Options<'a> {
        let (job, ckpt) = self.job(input, q);
        let candidates: Vec<econ::Candidate> = all
            .iter()
            .map(|c| {
                let pool = &input.pools[c.pool];
                let price_per_hour = pool.price.0 * f64::from(c.count);
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
                    already_rented: false,
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

    /// Records that `q` starts on `c`: committed capacity counts against its contract's pace
    /// for the jobs after it in the round.
    pub(crate) fn started(&mut self, input: &RoundInput<'_>, q: &QueuedView<'_>, c: &Candidate) {
        if let Some(k) = Self::contract_of(input, c) {
            let (job, ckpt) = self.job(input, q);
            self.committed_ahead[k] += Self::cost_ahead(input, q, &job, &ckpt, c);
        }
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
