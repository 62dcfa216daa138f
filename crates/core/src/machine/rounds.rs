//! Time-sharing: Gavel's round mechanism as the machine's way to run jobs under an allocation
//! policy (every Gavel name) when a round length is set.
//!
//! The allocation policy computes each job's share of each pool's time; rounds turn shares into
//! leases. At each round boundary the mechanism ranks jobs per pool by allocation over the time
//! they received (Gavel's priority; deficits break ties), hands whole gangs out, lets a job that
//! keeps its place keep its accelerators (a lease extension) and stops the others (`Preempt` with
//! `lease_ended`), to resume them in a later round. A round lasts `round_s`, or until every job
//! placed in it has ended. Jobs that cannot be stopped and resumed (no `checkpoint.resume`) take
//! part in the allocation but, once started, keep their accelerators until they end.
//!
//! The simulator (`simulate --trace`, `simulate --config`) and the service run these very rules;
//! they differ only in who reports progress: the service reports attempts that end, and the
//! machine credits a job that is still running with the work its speed does in the time it ran.

use super::index::{FreeSet, IdMap};
use super::job::{MachineJob, MachinePool, Phase};
use super::state::TrackedJobs;
use crate::econ::PlanKind;
use crate::live::{Action, Choice, StartReason, WaitReason};
use crate::{
    Cluster, JobId, JobSpec, Placement, PolicyKind, Pool, RoundReport, Scheduler, SchedulerConfig,
    SimTime,
};
use std::collections::BTreeMap;

/// Work assumed for a job without an estimate (units of its speed): it never ends by itself.
const UNKNOWN_WORK: u64 = 1 << 40;

/// How the machine time-shares accelerators under an allocation policy.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSharing {
    /// Round length, minimum time between two allocations, seed, solver limits.
    pub scheduler: SchedulerConfig,
    /// Gavel's simulator's habits, for parity with its published numbers only: a round's run
    /// time is credited from the end of the previous busy round (it over-counts the first round
    /// after an idle gap), and an idle machine with jobs waiting for an allocation waits for the
    /// next arrival instead of waking when the allocation may be recomputed.
    pub gavel_compatible: bool,
}

impl TimeSharing {
    /// The service's time-sharing: rounds of `round_s`, the allocation recomputed at the first
    /// round after jobs arrived or finished.
    pub fn rounds_of(round_s: u64) -> TimeSharing {
        TimeSharing {
            scheduler: SchedulerConfig {
                round_s: round_s as f64,
                min_reallocation_interval_s: 0.0,
                ..SchedulerConfig::default()
            },
            gavel_compatible: false,
        }
    }
}

/// Counters of the round mechanism, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundStats {
    /// Rounds planned.
    pub rounds: u64,
    /// Placements that kept their accelerators from the round before.
    pub lease_extensions: u64,
    /// Allocations the policy computed.
    pub allocations: u64,
}

#[derive(Debug)]
struct Round {
    end_ms: i64,
    /// Where the time each job receives this round is counted from.
    credit_from_ms: i64,
    /// Placed jobs running in this round (their attempt has not ended), with when they started
    /// in it and their placement's figures. A hash map, found by id once per attempt: nothing
    /// depends on its order (see [`Rounds::close_round`]).
    open: IdMap<JobId, OpenRun>,
}

/// A placed job running in the round: when it started in it, and what its placement plans (its
/// steps and their expected seconds), kept with it so that crediting it and seeing whether it
/// finishes take one search (the round kept its placements in a map of their own, searched
/// too).
#[derive(Debug, Clone, Copy)]
struct OpenRun {
    started_ms: i64,
    max_steps: u64,
    expected_duration_s: f64,
    /// The steps its job has left: they change only when a run is credited, which closes it.
    left_steps: u64,
}

impl OpenRun {
    fn of(p: &Placement, started_ms: i64) -> OpenRun {
        OpenRun {
            started_ms,
            max_steps: p.max_steps,
            expected_duration_s: p.expected_duration_s,
            left_steps: p.left_steps,
        }
    }
}

/// The round mechanism's state inside the machine.
#[derive(Debug)]
pub(super) struct Rounds {
    scheduler: Scheduler,
    policy: PolicyKind,
    gavel_compatible: bool,
    round_ms: i64,
    current: Option<Round>,
    last_busy_end_ms: Option<i64>,
    /// Placements of the current round waiting for accelerators still held by jobs being
    /// stopped.
    pending: Vec<Placement>,
    /// No job will arrive any more (a simulation's end): an idle machine recomputes the
    /// allocation at once rather than waiting for the interval.
    drained: bool,
    /// A round placed nothing with no job to come: the next recomputes the allocation at once.
    forced: bool,
    /// A forced recomputation placed nothing either: the waiting jobs cannot run.
    stalled: bool,
    /// Jobs that started running in the current round (or kept their lease) since
    /// [`Rounds::take_finishing`] last looked, and whose placement completes their work.
    completing: Vec<JobId>,
    /// Give every job that waits its reason at every round
    /// ([`MachineConfig::explain_every_wait`](super::MachineConfig::explain_every_wait)). Off,
    /// a round that places something names no one's reason (none of the rounds' reasons
    /// lapses with time, so none changes what happens next); one that places nothing still
    /// does.
    explain: bool,
    /// Per pool, which placement of the round takes each accelerator (by the round's number,
    /// so that it need not be cleared between rounds): see [`Rounds::plan_round`].
    takers: Vec<Vec<(u64, JobId)>>,
    /// The last round's map of open runs, emptied: kept for its room (a round holds every
    /// running job, and a map of thousands allocated and dropped each round cost its pages).
    spare_open: IdMap<JobId, OpenRun>,
    stats: RoundStats,
}

/// What one call of the mechanism decided.
#[derive(Debug, Default)]
pub(super) struct RoundActions {
    pub(super) actions: Vec<Action>,
    pub(super) waiting: Vec<(JobId, WaitReason)>,
    pub(super) error: Option<String>,
}

impl Rounds {
    /// The rounds over `pools`; `None` without pools.
    pub(super) fn new(
        pools: &[MachinePool],
        policy: PolicyKind,
        sharing: &TimeSharing,
        explain: bool,
    ) -> Option<Rounds> {
        let cluster = Cluster::new(
            pools
                .iter()
                .map(|p| Pool {
                    name: p.name.clone(),
                    capacity: if p.accelerator.is_some() {
                        p.capacity
                    } else {
                        0
                    },
                    price_per_hour: (p.price.0 > 0.0).then_some(p.price.0),
                })
                .collect(),
        )
        .ok()?;
        Some(Rounds {
            scheduler: Scheduler::new(cluster, policy, sharing.scheduler.clone()),
            policy,
            gavel_compatible: sharing.gavel_compatible,
            round_ms: ((sharing.scheduler.round_s * 1000.0).ceil() as i64).max(1),
            current: None,
            last_busy_end_ms: None,
            pending: Vec::new(),
            drained: false,
            forced: false,
            stalled: false,
            completing: Vec::new(),
            explain,
            takers: pools
                .iter()
                .map(|p| vec![(0, JobId(0)); p.capacity as usize])
                .collect(),
            spare_open: IdMap::default(),
            stats: RoundStats::default(),
        })
    }

    pub(super) fn stats(&self) -> RoundStats {
        RoundStats {
            allocations: self.scheduler.allocations_computed(),
            ..self.stats
        }
    }

    /// Whether the rounds run `job` (it has accelerators and the allocation can cover it).
    pub(super) fn is_member(&self, job: JobId) -> bool {
        self.scheduler.contains(job)
    }

    /// Takes a job into the rounds if the allocation can cover it: a gang of its first
    /// alternative's count, at its speed on each pool that alternative (or another of the same
    /// count) names.
    pub(super) fn submit(&mut self, job: &MachineJob, pools: &[MachinePool]) -> bool {
        let Some(count) = job.choices.iter().map(|c| c.count).find(|&c| c > 0) else {
            return false;
        };
        // TPU slices go whole to one job: the live mechanism places them, not the rounds.
        if !job.slice_choices.is_empty() {
            return false;
        }
        let throughputs: Vec<f64> = pools
            .iter()
            .enumerate()
            .map(|(p, pool)| {
                let fits = job.choices.iter().any(|c| {
                    c.count == count && pool.accelerator.as_deref() == Some(c.accelerator.as_str())
                }) && pool.slice.is_none()
                    && pool.capacity >= count
                    && job
                        .infra
                        .as_deref()
                        .is_none_or(|i| i == pool.name || i == pool.executor)
                    && (job.use_spot || pool.plan != PlanKind::Spot);
                if fits { job.speed_on(p, pool) } else { 0.0 }
            })
            .collect();
        let spec = JobSpec {
            id: job.id,
            scale_factor: count,
            total_steps: job.work_secs.unwrap_or(UNKNOWN_WORK).max(1),
            throughputs,
            priority_weight: job.weight.unwrap_or(f64::from(job.priority + 1) / 501.0),
            arrival: SimTime(job.submitted_ms.saturating_mul(1000)),
            deadline: job.deadline_ms.map(|d| SimTime(d.saturating_mul(1000))),
        };
        self.stalled = false;
        self.scheduler.submit(spec).is_ok()
    }

    pub(super) fn drained(&mut self) {
        self.drained = true;
        self.scheduler.arrivals_ended();
    }

    /// A member's attempt ended at `now`: the time it ran this round is credited (all its work
    /// when it is done), and a job that is done leaves the rounds.
    pub(super) fn attempt_ended(&mut self, job: JobId, now_ms: i64, done: bool) {
        if !self.scheduler.contains(job) {
            return;
        }
        let open = self
            .current
            .as_ref()
            .and_then(|r| r.open.get(&job).copied());
        if let Some(run) = open {
            if let Some(report) = self.report(job, run, now_ms, done) {
                self.scheduler.record_round(&[report]);
            }
            if let Some(r) = self.current.as_mut() {
                r.open.remove(&job);
            }
        }
        if done {
            self.scheduler.cancel(job);
            self.pending.retain(|p| p.job != job);
        }
    }

    /// A member left without running to its end (withdrawn, cancelled).
    pub(super) fn remove(&mut self, job: JobId) {
        if let Some(r) = self.current.as_mut() {
            r.open.remove(&job);
        }
        self.pending.retain(|p| p.job != job);
        self.scheduler.cancel(job);
    }

    /// What `job`, running in the current round since `started_ms`, achieved up to `now_ms`:
    /// all that is left when `done`, else its placement's steps once it ran its full length,
    /// else its speed times the time it ran (never all that is left: it is still running).
    fn report(&self, job: JobId, run: OpenRun, now_ms: i64, done: bool) -> Option<RoundReport> {
        let round = self.current.as_ref()?;
        let left = run.left_steps;
        let ran_ms = (now_ms - run.started_ms).max(0);
        let full_ms = (run.expected_duration_s * 1000.0).ceil() as i64;
        let steps = if done {
            left
        } else if ran_ms >= full_ms {
            run.max_steps.min(left.saturating_sub(1))
        } else {
            let speed = if run.expected_duration_s > 0.0 {
                run.max_steps as f64 / run.expected_duration_s
            } else {
                0.0
            };
            ((ran_ms as f64 / 1000.0 * speed) as u64).min(left.saturating_sub(1))
        };
        Some(RoundReport {
            job,
            steps,
            elapsed_s: (now_ms - round.credit_from_ms).max(0) as f64 / 1000.0,
        })
    }

    /// The jobs that started running in the current round since the last call (or kept their
    /// lease into it) whose placement completes their work, with when they finish at their
    /// speed there. (A job's remaining work does not change while it runs in a round, so
    /// looking once at each start is enough.)
    pub(super) fn take_finishing(&mut self) -> Vec<(JobId, i64)> {
        let completing = std::mem::take(&mut self.completing);
        let Some(round) = &self.current else {
            return Vec::new();
        };
        completing
            .into_iter()
            .filter_map(|job| {
                let p = round.open.get(&job)?;
                Some((
                    job,
                    p.started_ms + (p.expected_duration_s * 1000.0).ceil() as i64,
                ))
            })
            .collect()
    }

    /// When the mechanism wants to decide again with nothing else happening: the end of the
    /// current round, or, with jobs waiting and nothing placed, when the allocation may next be
    /// recomputed.
    pub(super) fn next_wake_ms(&self) -> Option<i64> {
        if let Some(r) = &self.current {
            return Some(r.end_ms);
        }
        if self.scheduler.active_jobs() == 0 || self.stalled {
            return None;
        }
        if self.gavel_compatible && !self.forced {
            return None;
        }
        self.scheduler
            .reallocation_due_at()
            .map(|t| t.0.div_euclid(1000) + i64::from(t.0.rem_euclid(1000) > 0))
    }

    /// Decides at `now_ms`: at a round boundary (the round's length is up, or every job placed
    /// in it has ended, or nothing is placed) the next round; in between, only the starts that
    /// waited for accelerators of jobs being stopped.
    pub(super) fn decide(
        &mut self,
        now_ms: i64,
        jobs: &TrackedJobs,
        free: &[FreeSet],
        pools: &[MachinePool],
    ) -> RoundActions {
        let due = self
            .current
            .as_ref()
            .is_none_or(|r| now_ms >= r.end_ms || (r.open.is_empty() && self.pending.is_empty()));
        let mut out = RoundActions::default();
        if due {
            self.close_round(now_ms);
            self.plan_round(now_ms, jobs, pools, &mut out);
        }
        self.start_pending(now_ms, jobs, free, pools, &mut out);
        out
    }

    /// Credits the jobs still running with the time they ran this round. In no particular
    /// order, which changes nothing: each report credits its own job, never all of its work
    /// (so none finishes here), and they all add the same seconds to their pools' totals.
    fn close_round(&mut self, now_ms: i64) {
        let Some(round) = self.current.as_ref() else {
            return;
        };
        let reports: Vec<RoundReport> = round
            .open
            .iter()
            .filter_map(|(&job, &run)| self.report(job, run, now_ms, false))
            .collect();
        self.scheduler.record_round(&reports);
        self.last_busy_end_ms = Some(now_ms);
        if let Some(mut round) = self.current.take() {
            round.open.clear();
            self.spare_open = round.open;
        }
        self.pending.clear();
    }

    fn plan_round(
        &mut self,
        now_ms: i64,
        jobs: &TrackedJobs,
        pools: &[MachinePool],
        out: &mut RoundActions,
    ) {
        if self.scheduler.active_jobs() == 0 {
            return;
        }
        // Accelerators the round may not give: those of jobs being stopped or outside the
        // rounds; members that cannot resume keep theirs (pinned).
        let mut held: Vec<Vec<u32>> = vec![Vec::new(); pools.len()];
        let mut pinned: BTreeMap<JobId, (usize, Vec<u32>)> = BTreeMap::new();
        // Members on a lease, in job order, borrowed rather than copied: every running job is
        // one, every round.
        let mut leased: Vec<(JobId, usize, &[u32])> = Vec::new();

        // Membership by walking the members' ids beside the jobs' (both in job order) rather
        // than a search per running job.
        let mut members = self.scheduler.active_ids().peekable();
        for t in jobs.values() {
            let Phase::Running {
                pool,
                accelerators,
                stopping,
                ..
            } = &t.phase
            else {
                continue;
            };
            while members.next_if(|&m| m < t.job.id).is_some() {}
            let member = members.peek() == Some(&t.job.id);
            if *stopping || !member {
                held[*pool].extend(accelerators.iter().copied());
            } else if t.job.resumable {
                leased.push((t.job.id, *pool, accelerators));
            } else {
                pinned.insert(t.job.id, (*pool, accelerators.to_vec()));
            }
        }
        drop(members);
        let plan = match self.scheduler.plan_round_with(
            SimTime(now_ms.saturating_mul(1000)),
            &held,
            &pinned,
        ) {
            Ok(plan) => plan,
            Err(e) => {
                // A solver failure never ends a run: everyone keeps what they hold, the
                // error is reported, and the next round tries again.
                out.error = Some(e.to_string());
                self.current = Some(Round {
                    end_ms: now_ms + self.round_ms,
                    credit_from_ms: now_ms,
                    open: IdMap::default(),
                });
                return;
            }
        };
        self.stats.rounds += 1;
        if plan.placements.is_empty() {
            // Nothing runs: with no job to come, the next round recomputes the allocation
            // whatever the interval (as Gavel does); if that one places nothing either, the
            // waiting jobs cannot run.
            if self.drained {
                if self.forced {
                    self.stalled = true;
                } else {
                    self.scheduler.force_reallocation();
                    self.forced = true;
                }
            }
            let mut members = self.scheduler.active_ids().peekable();
            for t in jobs.values().filter(|t| t.phase == Phase::Queued) {
                while members.next_if(|&m| m < t.job.id).is_some() {}
                if members.peek() == Some(&t.job.id) {
                    out.waiting.push((
                        t.job.id,
                        WaitReason::NoShare {
                            policy: self.policy.name(),
                        },
                    ));
                }
            }
            return;
        }
        self.forced = false;
        let credit_from_ms = if self.gavel_compatible {
            self.last_busy_end_ms.unwrap_or(0)
        } else {
            now_ms
        };
        let mut end_ms = now_ms + 1;
        // The placements in job order (a job is placed once at most), and whether each keeps
        // its lease: it runs there already, not being stopped, as a member on a lease or
        // pinned (any other job is queued, stopping or not a member). `leased` is in job order
        // too: the two are walked side by side.
        // As (job, index) pairs, in the scheduler's job order (no sort).
        let by_job: Vec<(JobId, usize)> = plan
            .in_job_order()
            .into_iter()
            .map(|i| (plan.placements[i].job, i))
            .collect();
        let mut keeps = vec![false; plan.placements.len()];
        let mut lease = leased.iter().peekable();
        for &(job, i) in &by_job {
            let p = &plan.placements[i];
            while lease.next_if(|l| l.0 < job).is_some() {}
            let running = match lease.peek().filter(|l| l.0 == job) {
                Some(l) => Some((l.1, l.2)),
                None => pinned.get(&job).map(|(pool, a)| (*pool, a.as_slice())),
            };
            keeps[i] = running.is_some_and(|(pool, accelerators)| {
                pool == p.pool.0 && accelerators[..] == p.workers[..]
            });
        }
        let mut open = std::mem::take(&mut self.spare_open);
        open.reserve(plan.placements.len());
        for (p, &keeps) in plan.placements.iter().zip(&keeps) {
            end_ms = end_ms.max(now_ms + (p.expected_duration_s * 1000.0).ceil() as i64);
            if keeps {
                self.stats.lease_extensions += 1;
                open.insert(p.job, OpenRun::of(p, now_ms));
                if p.completes() {
                    self.completing.push(p.job);
                }
            }
        }
        // Leases that end: the job is not in this round, or runs elsewhere in it. Who takes
        // each accelerator is indexed once per round, and only when some lease ends (a search
        // of every placement per ended lease cost a round what its placements times its
        // preemptions number). Only the placements that do not keep their lease take
        // accelerators of another job (a kept lease is its own job's; leases are disjoint),
        // so only they are indexed, in a list per pool kept from round to round whose entries
        // count for the round that wrote them.
        let stamp = self.stats.rounds;
        let mut indexed = false;
        // `leased` and the placements are both in job order: walked side by side.
        let mut placed_in_order = by_job.iter().map(|&(_, i)| &plan.placements[i]).peekable();
        for &(ref job, ref pool, accelerators) in &leased {
            while placed_in_order.next_if(|p| p.job < *job).is_some() {}
            let here = placed_in_order.peek().filter(|p| p.job == *job);
            let moved =
                here.is_some_and(|p| p.pool.0 != *pool || p.workers[..] != accelerators[..]);
            if here.is_some() && !moved {
                continue;
            }
            if !indexed {
                indexed = true;
                for (p, _) in plan.placements.iter().zip(&keeps).filter(|(_, k)| !**k) {
                    let Some(of_pool) = self.takers.get_mut(p.pool.0) else {
                        continue;
                    };
                    for &w in &p.workers {
                        let w = w as usize;
                        if w >= of_pool.len() {
                            of_pool.resize(w + 1, (0, JobId(0)));
                        }
                        of_pool[w] = (stamp, p.job);
                    }
                }
            }
            let takers = &self.takers;
            // The first placement in job order that takes one of these accelerators (placements
            // of a pool hold disjoint accelerators, so each has one taker).
            let for_job = accelerators
                .iter()
                .filter_map(|&w| {
                    let &(round, taker) = takers.get(*pool)?.get(w as usize)?;
                    (round == stamp).then_some(taker)
                })
                .filter(|j| j != job)
                .min()
                .unwrap_or(*job);
            out.actions.push(Action::Preempt {
                job: *job,
                for_job,
                lease_ended: true,
            });
        }
        if self.explain {
            let mut members = self.scheduler.active_ids().peekable();
            let mut placed_ids = by_job.iter().map(|&(job, _)| job).peekable();
            for t in jobs.values().filter(|t| t.phase == Phase::Queued) {
                while members.next_if(|&m| m < t.job.id).is_some() {}
                while placed_ids.next_if(|&m| m < t.job.id).is_some() {}
                let member = members.peek() == Some(&t.job.id);
                if member && placed_ids.peek() != Some(&t.job.id) {
                    out.waiting.push((
                        t.job.id,
                        WaitReason::NoShare {
                            policy: self.policy.name(),
                        },
                    ));
                }
            }
        }
        // The placements that start (all but the kept leases), in the plan's order, moved
        // rather than copied.
        self.pending.extend(
            plan.placements
                .into_iter()
                .zip(keeps)
                .filter_map(|(p, keeps)| (!keeps).then_some(p)),
        );
        self.current = Some(Round {
            end_ms,
            credit_from_ms,
            open,
        });
    }

    /// Starts the placements of this round whose accelerators are free; the others wait for
    /// the jobs being stopped there.
    fn start_pending(
        &mut self,
        now_ms: i64,
        jobs: &TrackedJobs,
        free: &[FreeSet],
        pools: &[MachinePool],
        out: &mut RoundActions,
    ) {
        let mut taken: Vec<FreeSet> = pools
            .iter()
            .map(|p| FreeSet::with_room(p.capacity))
            .collect();
        let mut still = Vec::new();
        let mut holders: Option<Vec<Vec<Option<JobId>>>> = None;
        for p in std::mem::take(&mut self.pending) {
            let pool = p.pool.0;
            let Some(t) = jobs.get(p.job) else { continue };
            let queued = t.phase == Phase::Queued;
            let room = p
                .workers
                .iter()
                .all(|&w| free[pool].contains(w) && !taken[pool].contains(w));
            if queued && room {
                taken[pool].extend(p.workers.iter().copied());
                if let Some(r) = self.current.as_mut() {
                    r.open.insert(p.job, OpenRun::of(&p, now_ms));
                    if p.completes() {
                        self.completing.push(p.job);
                    }
                }
                // A pending placement's job is active: the placements of jobs that leave are
                // dropped.
                let share = self.scheduler.share(p.job, pool).unwrap_or(0.0);
                let accelerator = pools[pool].accelerator.clone();
                let count = p.workers.len() as u32;
                out.actions.push(Action::Start {
                    job: p.job,
                    pool,
                    accelerators: p.workers.to_vec(),
                    reason: StartReason {
                        policy: self.policy.name(),
                        pool: pools[pool].name.clone(),
                        accelerator,
                        count,
                        choice: if share > 0.0 {
                            Choice::Share { share }
                        } else {
                            Choice::FirstChoice
                        },
                        priority: t.job.priority,
                        backfilled: false,
                        accelerators: p.workers.into_vec(),
                        blocked: Vec::new(),
                        spot_ruled_out: false,
                    },
                });
                continue;
            }
            if queued && self.explain {
                // Who holds what, built once per call and only when a start has to wait.
                let holder = holders.get_or_insert_with(|| holder_index(jobs, pools));
                let mut by: Vec<JobId> = p
                    .workers
                    .iter()
                    .filter_map(|&w| holder[pool].get(w as usize).copied().flatten())
                    .collect();
                by.sort();
                by.dedup();
                out.waiting.push((
                    p.job,
                    WaitReason::Preempting {
                        pool: pools[pool].name.clone(),
                        jobs: by,
                    },
                ));
            }
            still.push(p);
        }
        self.pending = still;
    }
}

/// Per pool, which running job holds each accelerator index (a list by index rather than a
/// map: it is built whenever a start waits, about once per round that preempts).
fn holder_index(jobs: &TrackedJobs, pools: &[MachinePool]) -> Vec<Vec<Option<JobId>>> {
    let mut out: Vec<Vec<Option<JobId>>> = pools
        .iter()
        .map(|p| vec![None; p.capacity as usize])
        .collect();
    for t in jobs.values() {
        if let Phase::Running {
            pool, accelerators, ..
        } = &t.phase
        {
            if let Some(held) = out.get_mut(*pool) {
                for &a in accelerators {
                    let a = a as usize;
                    if a >= held.len() {
                        held.resize(a + 1, None);
                    }
                    held[a] = Some(t.job.id);
                }
            }
        }
    }
    out
}
