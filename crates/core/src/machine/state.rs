//! The machine: its state, the events that change it and the round that decides.

use super::accelerator_ids::AcceleratorIds;
use super::index::{FreeSet, OutsideQueue, RunningSet};
use super::job::{MachineJob, MachinePool, Phase};
use super::rounds::{RoundStats, Rounds, TimeSharing};
use crate::econ::{Contract, ContractLedger, EconPolicy, FailoverMemory, FailureKind};
use crate::id_list::IdList;
use crate::live::{
    Action, ContractView, Decision, LivePolicy, PoolIndex, PoolView, QueuedView, QuotaView,
    RoundInput, WaitReason,
};
use crate::{JobId, SimTime, Workers};
use std::borrow::Cow;
use std::collections::HashMap;

/// What the machine is configured with (the service's `[scheduler]`, tenants and contracts, or
/// a simulation's equivalents).
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// The policy that orders the queue and chooses among alternatives.
    pub policy: LivePolicy,
    /// Seconds from a (re)start until a job's work progresses again.
    pub restart_overhead_s: f64,
    /// Half-life of the failover memory's blocks, seconds.
    pub failover_half_life_s: f64,
    /// Seconds a preempted spot job may lose to failed launches before it reaches reliable
    /// capacity: part of the margin the spot rule keeps before a deadline.
    pub failover_allowance_s: f64,
    /// Tenants' quotas; a tenant not listed has none.
    pub quotas: HashMap<String, QuotaView>,
    /// Committed-spend contracts, which committed pools name.
    pub contracts: Vec<Contract>,
    /// Under an allocation policy (a Gavel name): Gavel's rounds ([`TimeSharing`]), in which
    /// jobs that can be stopped and resumed take turns on the accelerators by their share of
    /// the allocation. `None`, or any other policy: jobs run to completion once started.
    pub time_sharing: Option<TimeSharing>,
    /// Give every waiting job its reason at every round (the service: `explain` shows them).
    /// Off (the simulator of a long trace), a round in which no queued job could start or
    /// preempt anything (no pool has room for the smallest of them, none outranks a running
    /// job) is skipped: its actions are none either way, and the reasons are left out.
    pub explain_every_wait: bool,
}

impl Default for MachineConfig {
    fn default() -> MachineConfig {
        MachineConfig {
            policy: LivePolicy::default(),
            restart_overhead_s: 0.0,
            failover_half_life_s: 300.0,
            failover_allowance_s: 0.0,
            quotas: HashMap::new(),
            contracts: Vec::new(),
            time_sharing: None,
            explain_every_wait: true,
        }
    }
}

/// Something that happened, as the driver reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A job was accepted: it waits for its first attempt.
    Submitted(MachineJob),
    /// Recovery: a job whose attempt already holds accelerators (adopted after a restart).
    Restored {
        /// The job.
        job: MachineJob,
        /// Index of its pool.
        pool: usize,
        /// The accelerators its attempt holds.
        accelerators: Vec<u32>,
        /// When the attempt started, ms.
        started_ms: i64,
        /// Whether it was already being stopped.
        stopping: bool,
    },
    /// The job's current attempt ended and its accelerators are free. `requeue`: the job waits
    /// for its next attempt (preempted, reclaimed, failed with restarts left); otherwise it is
    /// done (succeeded, failed for good, cancelled) and leaves.
    AttemptEnded {
        /// The job.
        job: JobId,
        /// Whether it goes back to the queue.
        requeue: bool,
    },
    /// A launch was refused for lack of capacity: the failover memory blocks the pool's zone,
    /// region or provider (by `kind`) for every job, and the job waits again, for its next pool.
    LaunchRefused {
        /// The job.
        job: JobId,
        /// What ran out.
        kind: FailureKind,
    },
    /// A running job is being stopped from outside (cancelled, or its spot pool reclaimed it):
    /// its accelerators stay held until its attempt ends.
    Stopping {
        /// The job.
        job: JobId,
    },
    /// A queued job was withdrawn (cancelled before it started).
    Withdrawn {
        /// The job.
        job: JobId,
    },
    /// What a contract has been charged so far, by term and rate (running capacity included, up
    /// to now): the drivers bill their use through [`ContractLedger::bill`].
    ContractCharged {
        /// Index into [`MachineConfig::contracts`].
        contract: usize,
        /// Its ledger.
        ledger: ContractLedger,
    },
    /// No job will be submitted any more (a simulation's workload is exhausted): an idle
    /// time-sharing machine recomputes its allocation at once instead of after the interval.
    NoMoreArrivals,
    /// The capacity a pool can give now changed (spot availability, a stockout): the machine
    /// moves no job onto it beyond that many accelerators held in all.
    CapacityChanged {
        /// Index of the pool.
        pool: usize,
        /// Accelerators it can hold now, in all.
        available: u32,
    },
    /// A queued job's work left, in reference seconds, as its driver knows it (what a stopped
    /// attempt saved): the policies rank and place it by that instead of its whole estimate.
    WorkLeft {
        /// The job.
        job: JobId,
        /// Reference seconds of work it has left.
        work_secs: u64,
    },
}

/// The machine's unfinished jobs in id order, found by id through a hash index (several
/// searches per attempt, millions of them in a long simulation, where a tree's search was a
/// chain of cache misses), compacted as they finish ([`Machine::forget`]).
pub(super) type TrackedJobs = IdList<Tracked>;

#[derive(Debug, Clone)]
pub(super) struct Tracked {
    pub(super) job: MachineJob,
    pub(super) phase: Phase,
    /// The job's own failover memory, under a policy whose jobs fail over each on their own.
    pub(super) refused: Option<FailoverMemory>,
    /// The accelerator type id of each of its choices ([`AcceleratorIds`]).
    pub(super) accelerator_ids: Vec<u32>,
    /// The decision that started its current attempt (its number, [`Machine::decide`] counts
    /// them from 1); 0 for none (queued, or restored after a restart).
    pub(super) started_in: u64,
}

/// The decision state machine. See the module docs.
#[derive(Debug)]
pub struct Machine {
    pub(super) pools: Vec<MachinePool>,
    /// The pools' accelerator types by id, and the pools of each: how a round finds a job's
    /// pools. The pools never change, so neither does this.
    accelerator_ids: AcceleratorIds,
    pub(super) free: Vec<FreeSet>,
    pub(super) config: MachineConfig,
    pub(super) jobs: TrackedJobs,
    failover: FailoverMemory,
    contract_ledgers: Vec<ContractLedger>,
    /// Gavel's rounds, under an allocation policy with time-sharing.
    rounds: Option<Rounds>,
    /// Queued jobs the rounds do not place (all queued jobs without time-sharing): those the
    /// live mechanism decides on.
    queued_outside: OutsideQueue,
    /// Running jobs as the live mechanism sees them, and their load per pool.
    pub(super) running: RunningSet,
    /// When the machine next looks for jobs to move back to spot (`commitment_aware`).
    pub(super) next_migration_ms: Option<i64>,
    /// Per pool, the accelerators it can hold now in all ([`Event::CapacityChanged`]; its
    /// capacity until told otherwise).
    pub(super) available: Vec<u32>,
    /// Decisions made so far.
    decisions: u64,
    /// Per pool, the decision whose start there was last refused for lack of capacity (0:
    /// none): the other starts of that decision on the pool are not launched
    /// ([`Machine::should_launch`]).
    refused_in: Vec<u64>,
}

impl Machine {
    /// A machine over `pools` (their order is the pool index every action uses).
    pub fn new(pools: Vec<MachinePool>, config: MachineConfig) -> Machine {
        let rounds = match (&config.time_sharing, config.policy) {
            (Some(sharing), LivePolicy::Scheduler(kind)) if config.policy.time_shares() => {
                Rounds::new(&pools, kind, sharing, config.explain_every_wait)
            }
            _ => None,
        };
        Machine {
            free: pools.iter().map(|p| FreeSet::full(p.capacity)).collect(),
            failover: FailoverMemory::new(config.failover_half_life_s),
            contract_ledgers: vec![ContractLedger::default(); config.contracts.len()],
            rounds,
            queued_outside: OutsideQueue::new(matches!(
                config.policy,
                LivePolicy::Econ(p) if p != EconPolicy::Baseline
            )),
            running: RunningSet::new(pools.len()),
            next_migration_ms: None,
            available: pools.iter().map(|p| p.capacity).collect(),
            decisions: 0,
            refused_in: vec![0; pools.len()],
            accelerator_ids: AcceleratorIds::new(&pools),
            pools,
            config,
            jobs: TrackedJobs::default(),
        }
    }

    /// The pools, in index order.
    pub fn pools(&self) -> &[MachinePool] {
        &self.pools
    }

    /// The failover memory (for reports: what is blocked, until when).
    pub fn failover(&self) -> &FailoverMemory {
        &self.failover
    }

    /// Free accelerator indices of pool `i`, ascending.
    pub fn free(&self, pool: usize) -> impl Iterator<Item = u32> + '_ {
        self.free[pool].iter()
    }

    /// Whether a driver should launch the start of `job` that the last decision made: not when
    /// its pool has refused another start of the same decision for lack of capacity (a pool
    /// out of capacity is not asked again in the round; the refusal's block in the failover
    /// memory steers the job in the next one). A start not launched is reported as ended with
    /// `requeue` ([`Event::AttemptEnded`]): the job waits again, no restart used. True for
    /// any job not starting.
    pub fn should_launch(&self, job: JobId) -> bool {
        match self.jobs.get(job) {
            Some(Tracked {
                phase: Phase::Running { pool, .. },
                started_in,
                ..
            }) => *started_in == 0 || self.refused_in[*pool] != *started_in,
            _ => true,
        }
    }

    /// Where a job is, if the machine tracks it (unfinished).
    pub fn phase(&self, job: JobId) -> Option<&Phase> {
        self.jobs.get(job).map(|t| &t.phase)
    }

    /// The round mechanism's counters, when the machine time-shares.
    pub fn round_stats(&self) -> Option<RoundStats> {
        self.rounds.as_ref().map(Rounds::stats)
    }

    /// Whether `job` time-shares in Gavel's rounds (its progress is the rounds' to count).
    pub fn time_shares(&self, job: JobId) -> bool {
        self.rounds.as_ref().is_some_and(|r| r.is_member(job))
    }

    /// Under time-sharing, the jobs that started running in the current round since the last
    /// call (or kept their lease into it) whose placement completes their work, with when they
    /// finish at their speed there: a simulator ends them then (a job that keeps running into
    /// the next round is credited round by round, as Gavel does).
    pub fn round_finishes(&mut self) -> Vec<(JobId, i64)> {
        self.rounds
            .as_mut()
            .map_or_else(Vec::new, Rounds::take_finishing)
    }

    /// Jobs not finished.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether no job is tracked.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Whether `job` could ever run on these pools (at their full capacity); the reason if not.
    /// The service refuses such jobs at submit rather than let them wait forever.
    pub fn can_ever_place(&self, job: &MachineJob) -> Result<(), WaitReason> {
        crate::live::can_ever_place_under(
            &empty_views(&self.pools),
            &job.queued_view(),
            self.config.policy,
        )
    }

    /// Applies one event at `now_ms`.
    pub fn handle(&mut self, now_ms: i64, event: Event) {
        match event {
            Event::Submitted(job) => {
                if self.jobs.contains(job.id) {
                    return;
                }
                let member = self
                    .rounds
                    .as_mut()
                    .is_some_and(|r| r.submit(&job, &self.pools));
                if !member {
                    self.queued_outside.insert(&job);
                }
                let accelerator_ids = self.accelerator_ids.of_choices(&job.choices);
                self.jobs.insert(
                    job.id,
                    Tracked {
                        job,
                        phase: Phase::Queued,
                        refused: None,
                        accelerator_ids,
                        started_in: 0,
                    },
                );
            }
            Event::Restored {
                job,
                pool,
                accelerators,
                started_ms,
                stopping,
            } => {
                if let Some(free) = self.free.get_mut(pool) {
                    for &a in &accelerators {
                        free.remove(a);
                    }
                    if let Some(r) = self.rounds.as_mut() {
                        r.submit(&job, &self.pools);
                    }
                    let run_ms = job.expected_run_ms(pool, &self.pools[pool]);
                    self.running
                        .add(&job, pool, &accelerators, started_ms, run_ms, stopping);
                    let accelerator_ids = self.accelerator_ids.of_choices(&job.choices);
                    self.jobs.insert(
                        job.id,
                        Tracked {
                            job,
                            phase: Phase::Running {
                                pool,
                                accelerators: Workers::from_vec(accelerators),
                                started_ms,
                                stopping,
                            },
                            refused: None,
                            accelerator_ids,
                            started_in: 0,
                        },
                    );
                }
            }
            Event::AttemptEnded { job, requeue } => {
                if let Some(r) = self.rounds.as_mut() {
                    r.attempt_ended(job, now_ms, !requeue);
                }
                self.release(job);
                if !requeue {
                    self.forget(job);
                    self.queued_outside.remove(job);
                }
            }
            Event::CapacityChanged { pool, available } => {
                if let Some(a) = self.available.get_mut(pool) {
                    *a = available;
                }
            }
            Event::WorkLeft { job, work_secs } => {
                if let Some(t) = self.jobs.get_mut(job) {
                    t.job.work_secs = Some(work_secs);
                }
            }
            Event::LaunchRefused { job, kind } => {
                let pool = match self.jobs.get(job) {
                    Some(Tracked {
                        phase: Phase::Running { pool, .. },
                        started_in,
                        ..
                    }) => {
                        if *started_in > 0 {
                            self.refused_in[*pool] = *started_in;
                        }
                        Some(*pool)
                    }
                    _ => None,
                };
                if let Some(r) = self.rounds.as_mut() {
                    r.attempt_ended(job, now_ms, false);
                }
                self.release(job);
                if let Some(p) = pool {
                    let at = SimTime(now_ms.saturating_mul(1000));
                    let l = &self.pools[p].location;
                    let shared = match self.config.policy {
                        LivePolicy::Econ(e) => e.shares_failover_memory(),
                        LivePolicy::Scheduler(_) => true,
                    };
                    let own = self.jobs.get_mut(job).filter(|_| !shared);
                    let half_life = self.config.failover_half_life_s;
                    let memory = match own {
                        Some(t) => t
                            .refused
                            .get_or_insert_with(|| FailoverMemory::new(half_life)),
                        None => &mut self.failover,
                    };
                    memory.record(kind, (&l.0, &l.1, &l.2), at);
                    memory.prune(at);
                }
            }
            Event::Stopping { job } => {
                if let Some(Tracked {
                    phase: Phase::Running { stopping, .. },
                    ..
                }) = self.jobs.get_mut(job)
                {
                    *stopping = true;
                    self.running.stopping(job);
                }
            }
            Event::Withdrawn { job } => {
                if self.jobs.get(job).is_some_and(|t| t.phase == Phase::Queued) {
                    self.forget(job);
                    self.queued_outside.remove(job);
                    if let Some(r) = self.rounds.as_mut() {
                        r.remove(job);
                    }
                }
            }
            Event::ContractCharged { contract, ledger } => {
                if let Some(l) = self.contract_ledgers.get_mut(contract) {
                    *l = ledger;
                }
            }
            Event::NoMoreArrivals => {
                if let Some(r) = self.rounds.as_mut() {
                    r.drained();
                }
            }
        }
    }

    /// Drops a job that is done or withdrawn.
    fn forget(&mut self, job: JobId) {
        self.jobs.remove(job);
        self.jobs.compact();
    }

    /// Frees the accelerators of `job`'s attempt (if it has one) and queues it again.
    fn release(&mut self, job: JobId) {
        let Some(t) = self.jobs.get_mut(job) else {
            return;
        };
        if let Phase::Running {
            pool, accelerators, ..
        } = std::mem::replace(&mut t.phase, Phase::Queued)
        {
            let capacity = self.pools[pool].capacity;
            self.free[pool].extend(accelerators.into_iter().filter(|a| *a < capacity));
            self.running.remove(job);
            if self.rounds.as_ref().is_none_or(|r| !r.is_member(job)) {
                self.queued_outside.insert(&t.job);
            }
        }
    }

    /// Decides one round at `now_ms`: which queued jobs start where, which running jobs stop
    /// and why; the actions are applied to the machine's state (a started job holds its
    /// accelerators, a preempted one is stopping) before they are returned.
    ///
    /// Under time-sharing, Gavel's rounds ([`TimeSharing`]) place the jobs the allocation
    /// covers, and the live mechanism the others (CPU-only jobs) on what is left.
    pub fn decide(&mut self, now_ms: i64) -> Decision {
        self.decisions += 1;
        let mut decision = Decision::default();
        if let Some(rounds) = self.rounds.as_mut() {
            let r = rounds.decide(now_ms, &self.jobs, &self.free, &self.pools);
            self.apply(now_ms, &r.actions);
            decision.actions = r.actions;
            decision.waiting = r.waiting;
            decision.policy_error = r.error;
        }
        if !self.queued_outside.is_empty()
            && (self.config.explain_every_wait || self.queue_could_act())
        {
            let live = self.decide_live(now_ms);
            self.apply(now_ms, &live.actions);
            decision.actions.extend(live.actions);
            decision.waiting.extend(live.waiting);
            decision.policy_error = decision.policy_error.or(live.policy_error);
        }
        let moves = self.migrations(now_ms);
        self.apply(now_ms, &moves);
        decision.actions.extend(moves);
        decision
    }

    /// The live mechanism's round over the queue outside the rounds. When not every wait needs
    /// its reason and the policy orders the queue by the jobs' own fields, the round looks at
    /// the head of the queue only, as far as some job could still act: the first 256 jobs,
    /// then four times as many while the round did not get stuck before their end (the jobs
    /// of a head decide the same whatever follows them, so this changes no action).
    fn decide_live(&self, now_ms: i64) -> Decision {
        let prefix = !self.config.explain_every_wait && !self.config.policy.allocates();
        let total = self.queued_outside.len();
        let mut limit = if prefix { 256 } else { total };
        loop {
            let mut input = self.round_input(now_ms, limit);
            if prefix {
                input.stop_when_stuck = self
                    .queued_outside
                    .smallest_count()
                    .zip(self.queued_outside.highest_priority());
            }
            let live = crate::live::decide(&input);
            if live.stuck || limit >= total {
                return live;
            }
            limit = limit.saturating_mul(4);
        }
    }

    /// Applies a round's actions to the state: a started job holds its accelerators, a
    /// preempted one is stopping.
    fn apply(&mut self, now_ms: i64, actions: &[Action]) {
        for action in actions {
            match action {
                Action::Start {
                    job,
                    pool,
                    accelerators,
                    ..
                } => {
                    for &a in accelerators {
                        self.free[*pool].remove(a);
                    }
                    self.queued_outside.remove(*job);
                    if let Some(t) = self.jobs.get_mut(*job) {
                        t.started_in = self.decisions;
                        let run_ms = t.job.expected_run_ms(*pool, &self.pools[*pool]);
                        self.running
                            .add(&t.job, *pool, accelerators, now_ms, run_ms, false);
                        t.phase = Phase::Running {
                            pool: *pool,
                            accelerators: Workers::from_slice(accelerators),
                            started_ms: now_ms,
                            stopping: false,
                        };
                    }
                }
                Action::Preempt { job, .. } => self.handle(now_ms, Event::Stopping { job: *job }),
            }
        }
    }

    /// When the machine wants to decide again with nothing else happening: under
    /// time-sharing, the end of the current round (or when an idle machine may recompute its
    /// allocation). A driver whose clock jumps from event to event (the simulator) wakes the
    /// machine then; the service decides every second anyway.
    pub fn next_wake_ms(&self) -> Option<i64> {
        self.rounds.as_ref().and_then(Rounds::next_wake_ms)
    }

    /// Whether some job of the queue outside the rounds could start or preempt anything now:
    /// a pool has room (job slots, and free accelerators for the smallest of them), or runs a
    /// job (not being stopped) of a lower priority than the highest queued one. When none
    /// could, a round would only say why each one waits.
    fn queue_could_act(&self) -> bool {
        let (Some(smallest), Some(highest)) = (
            self.queued_outside.smallest_count(),
            self.queued_outside.highest_priority(),
        ) else {
            return false;
        };
        let load = self.running.load();
        self.pools.iter().enumerate().any(|(i, p)| {
            let room = (self.free[i].len() as u32) >= smallest && load.jobs[i] < p.max_jobs;
            room || load
                .lowest_priority(i)
                .is_some_and(|lowest| lowest < highest)
        })
    }

    /// The live mechanism's input: the state as it is, with the queued jobs outside the rounds.
    /// Each pool lists as many of its lowest free indices as the whole queue could take at
    /// once (a pool of slices or of several nodes all of them), the others counted only.
    pub(super) fn round_input(&self, now_ms: i64, limit: usize) -> RoundInput<'_> {
        let demand = usize::try_from(self.queued_outside.demand()).unwrap_or(usize::MAX);
        let pools: Vec<PoolView<'_>> = self
            .pools
            .iter()
            .zip(&self.free)
            .map(|(p, free)| {
                // Slices, nodes and rented blocks are chosen from every free index.
                let listed = if p.slice.is_some() || p.nodes > 1 || p.block > 1 {
                    free.len()
                } else {
                    demand.min(free.len())
                };
                let mut view = p.view(free.iter().take(listed).collect());
                view.free_unlisted = (free.len() - listed) as u32;
                view
            })
            .collect();
        let queued = self
            .queued_outside
            .ids()
            .take(limit)
            .filter_map(|id| self.jobs.get(id))
            .filter(|t| t.phase == Phase::Queued)
            .map(|t| QueuedView {
                failover: t.refused.as_ref(),
                accelerator_ids: &t.accelerator_ids,
                ..t.job.queued_view()
            })
            .collect();
        RoundInput {
            now_ms,
            pool_index: PoolIndex::ById(self.accelerator_ids.pools()),
            pools,
            queued,
            running: Cow::Borrowed(&self.running.views),
            load: Some(self.running.load()),
            stop_when_stuck: None,
            quotas: self
                .config
                .quotas
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect(),
            policy: self.config.policy,
            failover: Some(&self.failover),
            restart_overhead_s: self.config.restart_overhead_s,
            failover_allowance_s: self.config.failover_allowance_s,
            contracts: self
                .config
                .contracts
                .iter()
                .zip(&self.contract_ledgers)
                .map(|(contract, ledger)| ContractView {
                    contract,
                    ledger: ledger.clone(),
                })
                .collect(),
        }
    }
}

/// Whether `job` could ever run on `pools` (at their full capacity); the reason if not.
pub fn can_ever_place(pools: &[MachinePool], job: &MachineJob) -> Result<(), WaitReason> {
    crate::live::can_ever_place(&empty_views(pools), &job.queued_view())
}

/// The pools as views with every accelerator free, counted rather than listed: whether a job
/// could ever run reads only how many are free (a list of every index cost each arrival a
/// copy of the whole cluster's indices, twice).
fn empty_views(pools: &[MachinePool]) -> Vec<PoolView<'_>> {
    pools
        .iter()
        .map(|p| {
            let mut view = p.view(Vec::new());
            view.free_unlisted = p.capacity;
            view
        })
        .collect()
}
