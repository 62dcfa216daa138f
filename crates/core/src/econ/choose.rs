//! The placement policies over priced pools: for one job, the order in which to try the places
//! it could run. The driver tries them in that order, skipping places without room and recording
//! launch failures (stockouts) in the failover memory.
//!
//! - `baseline` (SkyPilot-like): the job's alternatives by hourly price of what is rented, cheapest
//!   first, as SkyPilot's optimizer ranks them without a runtime estimate; no throughput
//!   awareness, no spot (SkyPilot's default `use_spot: false`), and a failed zone is skipped for
//!   that request only (the driver does not share it).
//! - `commitment-aware`: by marginal dollars per unit of work (`rate / speed`), where owned
//!   capacity is nearly free, committed capacity is nearly free while using it keeps the
//!   contract's spending on its burn schedule (the money is owed anyway) and is not used when it
//!   would pull the spending ahead of the schedule, except, at its discounted rate, for a
//!   deadline nothing else meets; spot by its expected cost with rework, for jobs with a deadline
//!   only while their slack allows (see [`super::spot`]); never a place that would make a
//!   deadline slip when another place meets it; zones blocked in the shared failover memory are
//!   skipped.
//! - `on-demand-only`: the commitment-aware order without spot (the comparison for spot savings).

use super::failover::FailoverMemory;
use super::framework::Framework;
use super::ledger::Pace;
use super::spot::{CheckpointModel, spot_allowed};
use crate::{CoreError, SimTime};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// How a pool's capacity is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanKind {
    /// Owned hardware: an amortized price per chip-hour, paid whether used or not.
    Owned,
    /// Bought under a committed-spend contract, at its discount.
    Committed,
    /// On-demand list price.
    OnDemand,
    /// Spot / preemptible.
    Spot,
}

impl PlanKind {
    /// The name as written in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            PlanKind::Owned => "owned",
            PlanKind::Committed => "committed",
            PlanKind::OnDemand => "on-demand",
            PlanKind::Spot => "spot",
        }
    }
}

impl fmt::Display for PlanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The placement policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EconPolicy {
    /// SkyPilot-like: cheapest hourly price first, no throughput awareness, per-request failover.
    Baseline,
    /// Marginal cost per unit of work, commitment burn, spot under deadlines, shared failover.
    CommitmentAware,
    /// Commitment-aware without spot.
    OnDemandOnly,
}

const ECON_NAMES: &[(&str, EconPolicy)] = &[
    ("baseline", EconPolicy::Baseline),
    ("skypilot", EconPolicy::Baseline),
    ("commitment-aware", EconPolicy::CommitmentAware),
    ("commitment_aware", EconPolicy::CommitmentAware),
    ("on-demand-only", EconPolicy::OnDemandOnly),
    ("on_demand_only", EconPolicy::OnDemandOnly),
];

impl EconPolicy {
    /// The canonical name.
    pub fn name(self) -> &'static str {
        ECON_NAMES
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("unknown", |(n, _)| n)
    }

    /// Whether later jobs go onto the idle chips of what was rented for earlier ones (a VM of 8
    /// GPUs rented for a 1-GPU job), as a Kubernetes node pool packs pods; the baseline, like
    /// SkyPilot, launches a cluster per request.
    pub fn packs_rentals(self) -> bool {
        !matches!(self, EconPolicy::Baseline)
    }

    /// Whether launch failures are remembered for every job (else only within one request).
    pub fn shares_failover_memory(self) -> bool {
        !matches!(self, EconPolicy::Baseline)
    }
}

impl fmt::Display for EconPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EconPolicy {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<EconPolicy, CoreError> {
        let wanted = s.trim();
        ECON_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(wanted))
            .map(|(_, p)| *p)
            .ok_or_else(|| CoreError::UnknownPolicy {
                name: s.to_string(),
                known: "baseline, commitment-aware, on-demand-only (with --scenario)".to_string(),
            })
    }
}

/// A job as the placement policies see it.
#[derive(Debug, Clone, PartialEq)]
pub struct EconJob {
    /// What it is built on.
    pub framework: Framework,
    /// Work left, in seconds on its reference accelerator.
    pub remaining_work_s: f64,
    /// All its work (its expected run time on the reference accelerator), seconds.
    pub work_s: f64,
    /// Seconds it has waited in the queue since it was submitted.
    pub waited_s: f64,
    /// When it must be done, if it has a deadline.
    pub deadline: Option<SimTime>,
}

/// One place a job could run now: a pool, what would be rented there and at what price.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The pool's index (the driver's).
    pub pool: usize,
    /// How it is paid for.
    pub plan: PlanKind,
    /// Provider, region, zone (for the failover memory); shared strings, since candidates are
    /// built for every launch decision.
    pub location: (Arc<str>, Arc<str>, Arc<str>),
    /// Price per hour of what would be rented, as the organization pays it now (owned:
    /// amortized; committed: after the discount, or the overage rate once the term's total is
    /// used up: [`ContractLedger::quote`](super::ContractLedger::quote)).
    pub price_per_hour: f64,
    /// Reference seconds of work per second there (roofline ratio of the chip).
    pub speed: f64,
    /// For committed capacity: whether starting here keeps its contract's spending on schedule,
    /// is billed at the overage rate, or is closed (outside the terms; see
    /// [`ContractLedger::pace`](super::ContractLedger::pace)); `None` for other plans.
    pub pace: Option<Pace>,
    /// For spot: expected preemptions per hour.
    pub preemptions_per_hour: f64,
    /// On idle chips of capacity already rented for other jobs (`price_per_hour` is then 0: it
    /// costs nothing more).
    pub already_rented: bool,
}

/// A job without a deadline rents new cloud capacity (on-demand, spot) only once it has waited
/// this share of its expected run time for owned or committed capacity, or for idle chips of what
/// is already rented: a 10% slowdown at most, for a large share of the bursts that a short wait
/// avoids (see `docs/economics.md`).
pub const BURST_AFTER_WAIT_SHARE: f64 = 0.10;

/// Owned capacity costs nothing more when used; a small weight keeps faster chips first and
/// leaves owned room to jobs that have nowhere else to go (see `docs/economics.md`).
const OWNED_WEIGHT: f64 = 0.02;
/// Committed capacity within its schedule: the dollars are owed anyway.
const COMMITTED_WITHIN_WEIGHT: f64 = 0.01;

/// On-demand capacity, or committed capacity whose contract's total is used up (billed at the
/// overage rate, it is new cloud spending like on-demand).
fn billed_like_on_demand(c: &Candidate) -> bool {
    c.plan == PlanKind::OnDemand || (c.plan == PlanKind::Committed && c.pace == Some(Pace::Overage))
}

/// The marginal dollars per reference second of work on `c` (commitment-aware).
fn marginal_cost(c: &Candidate, ckpt: &CheckpointModel) -> f64 {
    let rate = match c.plan {
        PlanKind::Owned => c.price_per_hour * OWNED_WEIGHT,
        PlanKind::Committed if c.pace == Some(Pace::Within) => {
            c.price_per_hour * COMMITTED_WITHIN_WEIGHT
        }
        PlanKind::Committed | PlanKind::OnDemand => c.price_per_hour,
        PlanKind::Spot => {
            // Expected rework: half an interval of lost work plus a restart per preemption.
            let lost_h = (ckpt.interval_s / 2.0 + ckpt.restart_overhead_s) / 3600.0;
            c.price_per_hour * (1.0 + c.preemptions_per_hour * lost_h)
        }
    };
    rate / c.speed.max(1e-12)
}

/// Why a policy left one of a job's candidates out of its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOut {
    /// The job makes no progress there (speed 0).
    CannotRun,
    /// Spot: the policy takes none (`baseline`, `on-demand-only`), or the job's deadline leaves
    /// too little slack to absorb a preemption.
    NoSpot,
    /// Its zone, region or provider is blocked in the shared failover memory.
    Blocked,
    /// New cloud capacity (on-demand, spot) for a job without a deadline that has not yet waited
    /// [`BURST_AFTER_WAIT_SHARE`] of its run time for owned or committed capacity.
    BurstWait,
    /// The job would finish there after its deadline, and another place meets it.
    MissesDeadline,
    /// Committed capacity whose use would pull its contract's spending ahead of the schedule.
    AheadOfSchedule,
    /// Committed capacity outside its contract's terms: the pool is closed.
    ContractClosed,
    /// On-demand capacity, for a deadline job that waits for spot while its slack allows.
    WaitsForSpot,
}

/// A policy's order of a job's candidates, and why the others were left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ranked {
    /// Indexes into the candidates, best first.
    pub order: Vec<usize>,
    /// The candidates left out (indexes), each with the first rule that removed it, in the
    /// candidates' order.
    pub left_out: Vec<(usize, LeftOut)>,
}

/// The order in which `job` should try `candidates` at `now` under `policy`: indexes into
/// `candidates`, best first. Candidates the policy rules out (spot when not allowed, zones
/// blocked in `memory`) are left out. Ties keep the candidates' order.
pub fn rank_candidates(
    policy: EconPolicy,
    job: &EconJob,
    candidates: &[Candidate],
    now: SimTime,
    memory: &FailoverMemory,
    ckpt: &CheckpointModel,
) -> Vec<usize> {
    rank_candidates_explained(policy, job, candidates, now, memory, ckpt).order
}

/// [`rank_candidates`], saying why each candidate left out was: the live service tells a job
/// that waits which rule holds it back.
pub fn rank_candidates_explained(
    policy: EconPolicy,
    job: &EconJob,
    candidates: &[Candidate],
    now: SimTime,
    memory: &FailoverMemory,
    ckpt: &CheckpointModel,
) -> Ranked {
    let blocked =
        |c: &Candidate| memory.is_blocked((&c.location.0, &c.location.1, &c.location.2), now);
    rank_candidates_unless_blocked(policy, job, candidates, now, &blocked, ckpt)
}

/// [`rank_candidates_explained`] with the failover memory's answer given as `blocked`: the
/// live round asks the memory once per pool, not once per candidate of every job.
pub(crate) fn rank_candidates_unless_blocked(
    policy: EconPolicy,
    job: &EconJob,
    candidates: &[Candidate],
    now: SimTime,
    blocked: &dyn Fn(&Candidate) -> bool,
    ckpt: &CheckpointModel,
) -> Ranked {
    let mut left_out = Vec::new();
    // Keeps the candidates `keep` accepts, recording the others with `why`.
    let mut filter = |order: &mut Vec<usize>, why: LeftOut, keep: &dyn Fn(usize) -> bool| {
        order.retain(|&i| {
            let kept = keep(i);
            if !kept {
                left_out.push((i, why));
            }
            kept
        });
    };
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    filter(&mut order, LeftOut::CannotRun, &|i| {
        candidates[i].speed > 0.0
    });
    filter(&mut order, LeftOut::ContractClosed, &|i| {
        candidates[i].pace != Some(Pace::Closed)
    });
    if policy == EconPolicy::Baseline {
        filter(&mut order, LeftOut::NoSpot, &|i| {
            candidates[i].plan != PlanKind::Spot
        });
        // The memory of this request's own refused launches (the baseline shares none).
        filter(&mut order, LeftOut::Blocked, &|i| !blocked(&candidates[i]));
        order.sort_by(|&a, &b| {
            candidates[a]
                .price_per_hour
                .total_cmp(&candidates[b].price_per_hour)
        });
        left_out.sort_by_key(|&(i, _)| i);
        return Ranked { order, left_out };
    }
    let best_reliable_speed = candidates
        .iter()
        .filter(|c| c.plan != PlanKind::Spot)
        .map(|c| c.speed)
        .fold(0.0, f64::max);
    let spot_ok = policy == EconPolicy::CommitmentAware
        && job
            .deadline
            .is_none_or(|d| spot_allowed(now, d, job.remaining_work_s, best_reliable_speed, ckpt));
    filter(&mut order, LeftOut::NoSpot, &|i| {
        candidates[i].plan != PlanKind::Spot || spot_ok
    });
    filter(&mut order, LeftOut::Blocked, &|i| !blocked(&candidates[i]));
    if policy == EconPolicy::CommitmentAware
        && job.deadline.is_none()
        && job.waited_s < BURST_AFTER_WAIT_SHARE * job.work_s
    {
        filter(&mut order, LeftOut::BurstWait, &|i| {
            let c = &candidates[i];
            !(c.plan == PlanKind::Spot || billed_like_on_demand(c)) || c.already_rented
        });
    }
    // Committed capacity that would pull the contract ahead of its schedule is kept only for a
    // deadline that nothing else meets.
    let paced = |i: usize| candidates[i].pace != Some(Pace::Ahead);
    match job.deadline {
        Some(deadline) => {
            let meets = |i: usize| {
                let c = &candidates[i];
                let s = ckpt.restart_overhead_s + job.remaining_work_s / c.speed;
                now.plus_secs_ceil(s) <= deadline
            };
            let meets_paced = order.iter().any(|&i| paced(i) && meets(i));
            if meets_paced {
                filter(&mut order, LeftOut::AheadOfSchedule, &paced);
                filter(&mut order, LeftOut::MissesDeadline, &meets);
            } else if order.iter().any(|&i| meets(i)) {
                filter(&mut order, LeftOut::MissesDeadline, &meets);
            } else {
                filter(&mut order, LeftOut::AheadOfSchedule, &paced);
            }
        }
        None => filter(&mut order, LeftOut::AheadOfSchedule, &paced),
    }
    // A job with a deadline that can run on spot does not rent on-demand capacity while its
    // slack still absorbs a preemption: it waits for spot (or owned, committed, already rented)
    // capacity, even while the spot zones are blocked, and goes on demand once the slack runs
    // out (Can't Be Late's rule: waiting costs nothing).
    if spot_ok
        && job.deadline.is_some()
        && candidates
            .iter()
            .any(|c| c.plan == PlanKind::Spot && c.speed > 0.0)
    {
        filter(&mut order, LeftOut::WaitsForSpot, &|i| {
            !billed_like_on_demand(&candidates[i]) || candidates[i].already_rented
        });
    }
    order.sort_by(|&a, &b| {
        marginal_cost(&candidates[a], ckpt).total_cmp(&marginal_cost(&candidates[b], ckpt))
    });
    left_out.sort_by_key(|&(i, _)| i);
    Ranked { order, left_out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::econ::FailureKind;

    const CKPT: CheckpointModel = CheckpointModel {
        interval_s: 1800.0,
        restart_overhead_s: 300.0,
        failover_allowance_s: 0.0,
    };

    fn cand(pool: usize, plan: PlanKind, price: f64, speed: f64, zone: &str) -> Candidate {
        Candidate {
            pool,
            plan,
            location: ("p".into(), "r".into(), zone.into()),
            price_per_hour: price,
            speed,
            pace: (plan == PlanKind::Committed).then_some(Pace::Within),
            preemptions_per_hour: 0.1,
            already_rented: false,
        }
    }

    fn job(deadline_h: Option<f64>) -> EconJob {
        EconJob {
            framework: Framework::Xla,
            remaining_work_s: 3600.0,
            work_s: 3600.0,
            waited_s: 3600.0,
            deadline: deadline_h.map(|h| SimTime::from_secs(h * 3600.0)),
        }
    }

    fn mem() -> FailoverMemory {
        FailoverMemory::new(1800.0)
    }

    #[test]
    fn baseline_takes_the_cheapest_hourly_price_whatever_the_speed_and_never_spot() {
        let cs = [
            cand(0, PlanKind::OnDemand, 10.0, 2.0, "a"),
            cand(1, PlanKind::OnDemand, 8.0, 0.5, "b"),
            cand(2, PlanKind::Spot, 1.0, 1.0, "c"),
        ];
        let order = rank_candidates(
            EconPolicy::Baseline,
            &job(Some(100.0)),
            &cs,
            SimTime::ZERO,
            &mem(),
            &CKPT,
        );
        assert_eq!(order, [1, 0]);
    }

    #[test]
    fn commitment_aware_prices_work_and_treats_behind_schedule_commitments_as_nearly_free() {
        let mut committed = cand(1, PlanKind::Committed, 20.0, 0.5, "b");
        let cs = vec![
            cand(0, PlanKind::OnDemand, 10.0, 2.0, "a"),
            committed.clone(),
        ];
        let order = rank_candidates(
            EconPolicy::CommitmentAware,
            &job(None),
            &cs,
            SimTime::ZERO,
            &mem(),
            &CKPT,
        );
        assert_eq!(order, [1, 0], "behind schedule: committed first");
        committed.pace = Some(Pace::Ahead);
        let cs = vec![cand(0, PlanKind::OnDemand, 10.0, 2.0, "a"), committed];
        let rank = |deadline_h| {
            rank_candidates(
                EconPolicy::CommitmentAware,
                &job(deadline_h),
                &cs,
                SimTime::ZERO,
                &mem(),
                &CKPT,
            )
        };
        // Ahead of schedule: not used, the burn stays on schedule.
        assert_eq!(rank(None), [0]);
        assert_eq!(rank(Some(10.0)), [0]);
        // ... unless it is the only place that meets a deadline: then at its discounted rate.
        let slow_od = vec![cand(0, PlanKind::OnDemand, 10.0, 0.2, "a"), cs[1].clone()];
        let order = rank_candidates(
            EconPolicy::CommitmentAware,
            &job(Some(2.5)),
            &slow_od,
            SimTime::ZERO,
            &mem(),
            &CKPT,
        );
        assert_eq!(order, [1]);
    }

    #[test]
    fn spot_only_with_slack_and_never_a_place_that_misses_the_deadline() {
        let cs = vec![
            cand(0, PlanKind::OnDemand, 10.0, 1.0, "a"),
            cand(1, PlanKind::Spot, 3.0, 1.0, "b"),
            cand(2, PlanKind::Committed, 5.0, 0.25, "c"),
        ];
        let p = EconPolicy::CommitmentAware;
        // 1 h of work due in 10 h: spot allowed, the slow committed place meets it too (4 h);
        // no on-demand while the slack lasts: the job waits for spot or the commitment.
        assert_eq!(
            rank_candidates(p, &job(Some(10.0)), &cs, SimTime::ZERO, &mem(), &CKPT),
            [2, 1]
        );
        // Due in 2 h: the committed place would take 4 h; spot still has slack.
        assert_eq!(
            rank_candidates(p, &job(Some(2.0)), &cs, SimTime::ZERO, &mem(), &CKPT),
            [1]
        );
        // Due in 1.3 h: no slack for a preemption: on-demand.
        assert_eq!(
            rank_candidates(p, &job(Some(1.3)), &cs, SimTime::ZERO, &mem(), &CKPT),
            [0]
        );
        // No deadline: spot by its expected cost with rework (3 x (1 + 0.1 x 1,200 / 3,600)).
        assert_eq!(
            rank_candidates(p, &job(None), &cs, SimTime::ZERO, &mem(), &CKPT),
            [2, 1, 0]
        );
        assert_eq!(
            rank_candidates(
                EconPolicy::OnDemandOnly,
                &job(Some(10.0)),
                &cs,
                SimTime::ZERO,
                &mem(),
                &CKPT
            ),
            [2, 0]
        );
    }

    #[test]
    fn a_job_without_deadline_waits_a_tenth_of_its_run_time_before_renting() {
        let mut packed = cand(2, PlanKind::OnDemand, 0.0, 1.0, "c");
        packed.already_rented = true;
        let cs = vec![
            cand(0, PlanKind::OnDemand, 10.0, 1.0, "a"),
            cand(1, PlanKind::Owned, 5.0, 1.0, "b"),
            packed,
        ];
        let rank = |waited_s, deadline_h| {
            let mut j = job(deadline_h);
            j.waited_s = waited_s;
            rank_candidates(
                EconPolicy::CommitmentAware,
                &j,
                &cs,
                SimTime::ZERO,
                &mem(),
                &CKPT,
            )
        };
        // 1 h of work: after 6 minutes of waiting it may rent.
        assert_eq!(rank(300.0, None), [2, 1]);
        assert_eq!(rank(360.0, None), [2, 1, 0]);
        // A deadline does not wait.
        assert_eq!(rank(0.0, Some(10.0)), [2, 1, 0]);
    }

    #[test]
    fn a_closed_contract_takes_no_work_and_one_in_overage_is_priced_like_on_demand() {
        let mut closed = cand(1, PlanKind::Committed, 1.0, 1.0, "b");
        closed.pace = Some(Pace::Closed);
        let mut overage = cand(2, PlanKind::Committed, 9.0, 1.0, "c");
        overage.pace = Some(Pace::Overage);
        let cs = vec![cand(0, PlanKind::OnDemand, 10.0, 1.0, "a"), closed, overage];
        for policy in [EconPolicy::Baseline, EconPolicy::CommitmentAware] {
            let r =
                rank_candidates_explained(policy, &job(None), &cs, SimTime::ZERO, &mem(), &CKPT);
            assert_eq!(r.order, [2, 0], "{policy:?}");
            assert_eq!(r.left_out, [(1, LeftOut::ContractClosed)]);
        }
        // Beyond its total the commitment is new spending: a job waits before it rents it.
        let mut fresh = job(None);
        fresh.waited_s = 0.0;
        let r = rank_candidates_explained(
            EconPolicy::CommitmentAware,
            &fresh,
            &cs,
            SimTime::ZERO,
            &mem(),
            &CKPT,
        );
        assert!(r.order.is_empty());
        assert!(r.left_out.contains(&(2, LeftOut::BurstWait)));
    }

    #[test]
    fn the_explained_ranking_says_which_rule_left_each_candidate_out() {
        let mut ahead = cand(2, PlanKind::Committed, 5.0, 1.0, "c");
        ahead.pace = Some(Pace::Ahead);
        let cs = vec![
            cand(0, PlanKind::OnDemand, 10.0, 1.0, "a"),
            cand(1, PlanKind::Spot, 3.0, 1.0, "b"),
            ahead,
            cand(3, PlanKind::Owned, 5.0, 1.0, "d"),
        ];
        let rank = |j: &EconJob| {
            rank_candidates_explained(
                EconPolicy::CommitmentAware,
                j,
                &cs,
                SimTime::ZERO,
                &mem(),
                &CKPT,
            )
        };
        // No deadline, not waited yet: no renting, and the commitment is ahead of schedule.
        let mut fresh = job(None);
        fresh.waited_s = 0.0;
        let r = rank(&fresh);
        assert_eq!(r.order, [3]);
        assert_eq!(
            r.left_out,
            [
                (0, LeftOut::BurstWait),
                (1, LeftOut::BurstWait),
                (2, LeftOut::AheadOfSchedule)
            ]
        );
        // A deadline with slack: on-demand waits for spot.
        let r = rank(&job(Some(10.0)));
        assert_eq!(r.order, [3, 1]);
        assert_eq!(
            r.left_out,
            [(0, LeftOut::WaitsForSpot), (2, LeftOut::AheadOfSchedule)]
        );
        assert_eq!(
            r.order,
            rank_candidates(
                EconPolicy::CommitmentAware,
                &job(Some(10.0)),
                &cs,
                SimTime::ZERO,
                &mem(),
                &CKPT
            )
        );
    }

    #[test]
    fn blocked_zones_are_skipped_and_the_baseline_is_given_only_its_own_refusals() {
        let cs = vec![
            cand(0, PlanKind::OnDemand, 5.0, 1.0, "a"),
            cand(1, PlanKind::OnDemand, 6.0, 1.0, "b"),
        ];
        let mut m = mem();
        m.record(FailureKind::ZoneCapacity, ("p", "r", "a"), SimTime::ZERO);
        assert_eq!(
            rank_candidates(
                EconPolicy::CommitmentAware,
                &job(None),
                &cs,
                SimTime::ZERO,
                &m,
                &CKPT
            ),
            [1]
        );
        assert_eq!(
            rank_candidates(
                EconPolicy::Baseline,
                &job(None),
                &cs,
                SimTime::ZERO,
                &m,
                &CKPT
            ),
            [1],
            "the memory it is given is its own request's (the drivers share none with it)"
        );
        assert!(!EconPolicy::Baseline.shares_failover_memory());
        assert_eq!(
            "skypilot".parse::<EconPolicy>().unwrap(),
            EconPolicy::Baseline
        );
        assert!("cheapest".parse::<EconPolicy>().is_err());
    }
}
