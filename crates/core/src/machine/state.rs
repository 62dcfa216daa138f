//! The machine: its state, the events that change it and the round that decides.

use super::job::{MachineJob, MachinePool, Phase};
use crate::econ::{Contract, ContractLedger, FailoverMemory, FailureKind};
use crate::live::{
    Action, ContractView, Decision, LivePolicy, QuotaView, RoundInput, RunningView, WaitReason,
};
use crate::{JobId, SimTime};
use spillway_model::Usd;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    /// Tenants' quotas; a tenant not listed has none.
    pub quotas: HashMap<String, QuotaView>,
    /// Committed-spend contracts, which committed pools name.
    pub contracts: Vec<Contract>,
    /// Under an allocation policy (a Gavel name): the round length, seconds, after which a job
    /// that can be stopped and resumed gives its accelerators up to a job the allocation owes
    /// more (Gavel's time-sharing). `None`: jobs run to completion once started.
    pub lease_s: Option<u64>,
}

impl Default for MachineConfig {
    fn default() -> MachineConfig {
        MachineConfig {
            policy: LivePolicy::default(),
            restart_overhead_s: 0.0,
            failover_half_life_s: 300.0,
            quotas: HashMap::new(),
            contracts: Vec::new(),
            lease_s: None,
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
    /// What a contract has been charged so far (dollars, running capacity included).
    ContractSpent {
        /// Index into [`MachineConfig::contracts`].
        contract: usize,
        /// Dollars.
        usd: f64,
    },
}

#[derive(Debug, Clone)]
struct Tracked {
    job: MachineJob,
    phase: Phase,
    /// Seconds its ended attempts ran, for the lease priority (allocation / time received).
    received_s: f64,
}

/// The decision state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Machine {
    pools: Vec<MachinePool>,
    free: Vec<BTreeSet<u32>>,
    config: MachineConfig,
    jobs: BTreeMap<JobId, Tracked>,
    failover: FailoverMemory,
    contract_spent: Vec<f64>,
    /// When the current lease round started, ms (time-sharing only).
    lease_round_started_ms: Option<i64>,
}

impl Machine {
    /// A machine over `pools` (their order is the pool index every action uses).
    pub fn new(pools: Vec<MachinePool>, config: MachineConfig) -> Machine {
        Machine {
            free: pools.iter().map(|p| (0..p.capacity).collect()).collect(),
            failover: FailoverMemory::new(config.failover_half_life_s),
            contract_spent: vec![0.0; config.contracts.len()],
            lease_round_started_ms: None,
            pools,
            config,
            jobs: BTreeMap::new(),
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
        self.free[pool].iter().copied()
    }

    /// Where a job is, if the machine tracks it (unfinished).
    pub fn phase(&self, job: JobId) -> Option<&Phase> {
        self.jobs.get(&job).map(|t| &t.phase)
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
        can_ever_place(&self.pools, job)
    }

    /// Applies one event at `now_ms`.
    pub fn handle(&mut self, now_ms: i64, event: Event) {
        match event {
            Event::Submitted(job) => {
                self.jobs.entry(job.id).or_insert(Tracked {
                    job,
                    phase: Phase::Queued,
                    received_s: 0.0,
                });
            }
            Event::Restored {
                job,
                pool,
                accelerators,
                started_ms,
                stopping,
            } => {
                if let Some(free) = self.free.get_mut(pool) {
                    for a in &accelerators {
                        free.remove(a);
                    }
                    self.jobs.insert(
                        job.id,
                        Tracked {
                            job,
                            phase: Phase::Running {
                                pool,
                                accelerators,
                                started_ms,
                                stopping,
                            },
                            received_s: 0.0,
                        },
                    );
                }
            }
            Event::AttemptEnded { job, requeue } => {
                self.release(job, now_ms);
                if !requeue {
                    self.jobs.remove(&job);
                }
            }
            Event::LaunchRefused { job, kind } => {
                let pool = match self.jobs.get(&job).map(|t| &t.phase) {
                    Some(Phase::Running { pool, .. }) => Some(*pool),
                    _ => None,
                };
                self.release(job, now_ms);
                if let Some(p) = pool {
                    let at = SimTime(now_ms.saturating_mul(1000));
                    let l = &self.pools[p].location;
                    self.failover.record(kind, (&l.0, &l.1, &l.2), at);
                    self.failover.prune(at);
                }
            }
            Event::Stopping { job } => {
                if let Some(Tracked {
                    phase: Phase::Running { stopping, .. },
                    ..
                }) = self.jobs.get_mut(&job)
                {
                    *stopping = true;
                }
            }
            Event::Withdrawn { job } => {
                if self
                    .jobs
                    .get(&job)
                    .is_some_and(|t| t.phase == Phase::Queued)
                {
                    self.jobs.remove(&job);
                }
            }
            Event::ContractSpent { contract, usd } => {
                if let Some(s) = self.contract_spent.get_mut(contract) {
                    *s = usd;
                }
            }
        }
    }

    /// Frees the accelerators of `job`'s attempt (if it has one) and queues it again, crediting
    /// the time it ran to its pool.
    fn release(&mut self, job: JobId, now_ms: i64) {
        let Some(t) = self.jobs.get_mut(&job) else {
            return;
        };
        if let Phase::Running {
            pool,
            accelerators,
            started_ms,
            ..
        } = std::mem::replace(&mut t.phase, Phase::Queued)
        {
            let capacity = self.pools[pool].capacity;
            self.free[pool].extend(accelerators.into_iter().filter(|a| *a < capacity));
            t.received_s += (now_ms - started_ms).max(0) as f64 / 1000.0;
        }
    }

    /// Decides one round at `now_ms`: which queued jobs start where, which running jobs stop
    /// and why; the actions are applied to the machine's state (a started job holds its
    /// accelerators, a preempted one is stopping) before they are returned.
    ///
    /// Under an allocation policy with a lease (`lease_s`), a round at the end of a lease also
    /// reconsiders the running jobs that can resume: they compete with the queue for their own
    /// accelerators, ordered by the share of the allocation they received; one that loses its
    /// place is preempted (`lease_ended`), the others keep their accelerators (Gavel's lease
    /// extension).
    pub fn decide(&mut self, now_ms: i64) -> Decision {
        let lease_ms = self.lease_ms();
        let lease_round = lease_ms.is_some_and(|l| {
            self.lease_round_started_ms
                .is_none_or(|s| now_ms >= s.saturating_add(l))
        });
        let leased: BTreeMap<JobId, (usize, Vec<u32>)> = if lease_round {
            self.lease_round_started_ms = Some(now_ms);
            self.jobs
                .values()
                .filter(|t| t.job.resumable)
                .filter_map(|t| match &t.phase {
                    Phase::Running {
                        pool,
                        accelerators,
                        stopping: false,
                        ..
                    } => Some((t.job.id, (*pool, accelerators.clone()))),
                    _ => None,
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        let decision = {
            let input = self.round_input(now_ms, lease_ms.is_some(), &leased);
            crate::live::decide(&input)
        };
        let decision = if leased.is_empty() {
            decision
        } else {
            self.settle_leases(decision, &leased)
        };
        for action in &decision.actions {
            match action {
                Action::Start {
                    job,
                    pool,
                    accelerators,
                    ..
                } => {
                    for a in accelerators {
                        self.free[*pool].remove(a);
                    }
                    if let Some(t) = self.jobs.get_mut(job) {
                        t.phase = Phase::Running {
                            pool: *pool,
                            accelerators: accelerators.clone(),
                            started_ms: now_ms,
                            stopping: false,
                        };
                    }
                }
                Action::Preempt { job, .. } => self.handle(now_ms, Event::Stopping { job: *job }),
            }
        }
        decision
    }

    /// When the machine wants to decide again with nothing else happening: the end of the
    /// current lease, while jobs that can resume run and others wait. A driver whose clock
    /// jumps from event to event (the simulator) wakes the machine then; the service decides
    /// every second anyway.
    pub fn next_wake_ms(&self) -> Option<i64> {
        let lease = self.lease_ms()?;
        let leasing = self.jobs.values().any(|t| {
            t.job.resumable
                && matches!(
                    t.phase,
                    Phase::Running {
                        stopping: false,
                        ..
                    }
                )
        });
        let waiting = self.jobs.values().any(|t| t.phase == Phase::Queued);
        (leasing && waiting).then(|| {
            self.lease_round_started_ms
                .map_or(i64::MIN, |s| s.saturating_add(lease))
        })
    }

    /// The lease length when the policy time-shares: an allocation policy (a Gavel name) with
    /// `lease_s` set.
    fn lease_ms(&self) -> Option<i64> {
        match self.config.lease_s {
            Some(s) if s > 0 && self.config.policy.time_shares() => Some(
                i64::try_from(s)
                    .unwrap_or(i64::MAX / 1000)
                    .saturating_mul(1000),
            ),
            _ => None,
        }
    }

    /// Seconds `t` has run (ended attempts, and the current one up to `now_ms`).
    fn received_s(t: &Tracked, now_ms: i64) -> f64 {
        let current = match &t.phase {
            Phase::Running { started_ms, .. } => (now_ms - started_ms).max(0) as f64 / 1000.0,
            Phase::Queued => 0.0,
        };
        t.received_s + current
    }

    /// Turns a lease round's decision (in which the leased jobs competed as if queued, their
    /// accelerators shown free) into actions on the real state: a leased job the round placed
    /// keeps its accelerators (no action); one it did not place is preempted only where a new
    /// start needs its accelerators, and that start waits until they are free (the next round,
    /// when its attempt has ended); new starts get accelerators that are really free.
    fn settle_leases(
        &self,
        decision: Decision,
        leased: &BTreeMap<JobId, (usize, Vec<u32>)>,
    ) -> Decision {
        let placed: BTreeSet<JobId> = decision
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Start { job, .. } if leased.contains_key(job) => Some(*job),
                _ => None,
            })
            .collect();
        // Leased jobs that lost their place, per pool, those that received most first.
        let mut losers: Vec<Vec<JobId>> = vec![Vec::new(); self.pools.len()];
        for (job, (pool, _)) in leased.iter().filter(|(j, _)| !placed.contains(j)) {
            losers[*pool].push(*job);
        }
        for l in &mut losers {
            l.sort_by(|a, b| {
                let r = |j: &JobId| self.jobs.get(j).map_or(0.0, |t| t.received_s);
                r(b).total_cmp(&r(a)).then(b.cmp(a))
            });
        }
        let mut free: Vec<Vec<u32>> = self
            .free
            .iter()
            .map(|f| f.iter().copied().collect())
            .collect();
        let mut out = Decision {
            actions: Vec::new(),
            waiting: decision
                .waiting
                .into_iter()
                .filter(|(j, _)| !leased.contains_key(j))
                .collect(),
            policy_error: decision.policy_error,
        };
        for action in decision.actions {
            match action {
                Action::Start { job, .. } if leased.contains_key(&job) => {}
                Action::Start {
                    job,
                    pool,
                    accelerators,
                    mut reason,
                } => {
                    let count = accelerators.len();
                    if free[pool].len() >= count {
                        let given: Vec<u32> = free[pool].drain(..count).collect();
                        reason.accelerators.clone_from(&given);
                        out.actions.push(Action::Start {
                            job,
                            pool,
                            accelerators: given,
                            reason,
                        });
                        continue;
                    }
                    // Room is made by ending the leases of jobs that lost their place there.
                    let mut room = free[pool].len();
                    let mut stopped = Vec::new();
                    while room < count {
                        let Some(loser) = losers[pool].pop() else {
                            break;
                        };
                        room += leased[&loser].1.len();
                        stopped.push(loser);
                    }
                    for &loser in &stopped {
                        out.actions.push(Action::Preempt {
                            job: loser,
                            for_job: job,
                            lease_ended: true,
                        });
                    }
                    let name = self.pools[pool].name.clone();
                    out.waiting.push((
                        job,
                        if stopped.is_empty() {
                            WaitReason::NoCapacity {
                                wanted: format!("{count} accelerators"),
                                pool: name,
                                free: free[pool].len() as u32,
                                behind: None,
                            }
                        } else {
                            WaitReason::Preempting {
                                pool: name,
                                jobs: stopped,
                            }
                        },
                    ));
                }
                other @ Action::Preempt { .. } => out.actions.push(other),
            }
        }
        out
    }

    /// The mechanism's input: the state as it is, except that `leased` jobs (a lease round)
    /// compete as if queued, with their accelerators shown free; with `timeshare`, queued jobs
    /// say how long they have run.
    fn round_input(
        &self,
        now_ms: i64,
        timeshare: bool,
        leased: &BTreeMap<JobId, (usize, Vec<u32>)>,
    ) -> RoundInput<'_> {
        let mut free: Vec<BTreeSet<u32>> = self.free.clone();
        for (pool, accelerators) in leased.values() {
            free[*pool].extend(accelerators.iter().copied());
        }
        let pools = self
            .pools
            .iter()
            .zip(&free)
            .map(|(p, free)| p.view(free.iter().copied().collect()))
            .collect();
        let mut queued = Vec::new();
        let mut running = Vec::new();
        for t in self.jobs.values() {
            let received = timeshare.then(|| Self::received_s(t, now_ms));
            if leased.contains_key(&t.job.id) {
                queued.push(t.job.queued_view(received));
                continue;
            }
            match &t.phase {
                Phase::Queued => queued.push(t.job.queued_view(received)),
                Phase::Running {
                    pool,
                    accelerators,
                    started_ms,
                    stopping,
                } => running.push(RunningView {
                    id: t.job.id,
                    tenant: &t.job.tenant,
                    priority: t.job.priority,
                    pool: *pool,
                    accelerators,
                    started_ms: *started_ms,
                    expected_end_ms: t
                        .job
                        .work_secs
                        .map(|w| started_ms.saturating_add((w as i64).saturating_mul(1000))),
                    stopping: *stopping,
                }),
            }
        }
        RoundInput {
            now_ms,
            pools,
            queued,
            running,
            quotas: self
                .config
                .quotas
                .iter()
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect(),
            policy: self.config.policy,
            failover: Some(&self.failover),
            restart_overhead_s: self.config.restart_overhead_s,
            contracts: self
                .config
                .contracts
                .iter()
                .zip(&self.contract_spent)
                .map(|(contract, &spent)| ContractView {
                    contract,
                    ledger: ContractLedger {
                        spent: Usd(spent),
                        ..ContractLedger::default()
                    },
                })
                .collect(),
        }
    }
}

/// Whether `job` could ever run on `pools` (at their full capacity); the reason if not.
pub fn can_ever_place(pools: &[MachinePool], job: &MachineJob) -> Result<(), WaitReason> {
    let views: Vec<_> = pools
        .iter()
        .map(|p| p.view((0..p.capacity).collect()))
        .collect();
    crate::live::can_ever_place(&views, &job.queued_view(None))
}
