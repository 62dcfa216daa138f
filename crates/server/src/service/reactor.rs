//! The reactor: owns the live jobs and the pools' free accelerators, runs a scheduling round
//! after every batch of commands and exits, and carries the round's actions out.
//!
//! Every decision is the core's state machine's ([`Machine`]): the reactor reports to it what
//! happened (a job was submitted, an attempt ended, a launch was refused for lack of capacity, a
//! job is being stopped) and carries out the actions it returns. The machine keeps the pools'
//! free accelerators, the failover memory (a launch refused for lack of capacity blocks its
//! zone, region or provider for every job, and the job goes on to its next pool in the next
//! round, at once) and the quotas; the reactor keeps what only the service has: the store's
//! records, the executors' handles and the clocks of injected preemptions, at which a spot pool
//! reclaims its running jobs (`[pool.faults]`; see `failover.rs` and `spot.rs`).
//!
//! Under the `commitment_aware` policy it also tells the machine what each contract has been
//! charged so far (from the store's charges, read at most once per tick), so that the core
//! paces committed capacity to each contract's burn schedule.

use super::estimates::{LATEST_RUNS, RunHistory, Snapshot, WorkSource, attempt_work, work_after};
use super::leader::Role;
use super::{Command, ServiceError};
use crate::config::{Config, PreemptionClock};
use crate::executor::{ExecError, ExecReport, Executor, Handle, LaunchRequest, checkpoint_dir};
use crate::job::{Attempt, AttemptOutcome, Job, JobEvent, JobId, JobState, now_ms};
use crate::metrics::Metrics;
use crate::schedule::{self, Action, Event, Machine, WaitReason, core_id, job_id};
use crate::store::{ContractCharge, Store, Write};
use spillway_model::spec::JobSpec;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;

/// Why a running job was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    Cancel,
    /// For a higher-priority job.
    Preempt(JobId),
    /// Its spot pool reclaimed the capacity.
    Reclaim,
}

/// A job not yet finished, as the reactor tracks it.
pub(super) struct LiveJob {
    pub(super) job: Job,
    pub(super) spec: Arc<JobSpec>,
    /// The current attempt, while one is starting or running.
    pub(super) attempt: Option<Attempt>,
    pub(super) handle: Option<Handle>,
    pub(super) stopping: Option<Stop>,
    /// Why it waited in the last round.
    pub(super) wait: Option<WaitReason>,
    /// Work done by its attempts that ended after running (back to the last that started
    /// from scratch), reference seconds: what a success adds to the history of its name.
    pub(super) work_done_s: f64,
    /// What the history of its name gave it when it was tracked (`None`: not read, or it
    /// takes no work from history): the estimate the scheduler has of its work.
    pub(super) history: Option<Snapshot>,
}

impl LiveJob {
    /// A job waiting for its first (or next) attempt.
    pub(super) fn queued(job: Job) -> LiveJob {
        LiveJob {
            spec: Arc::new(job.spec.clone()),
            job,
            attempt: None,
            handle: None,
            stopping: None,
            wait: None,
            work_done_s: 0.0,
            history: None,
        }
    }
}

/// The message of a job whose cancel is in progress; recovery finishes the cancel when a
/// crash interrupted it.
pub const CANCELLING: &str = "cancelling: stopping its processes";

/// How often a round runs with nothing else happening (backfill depends on the clock).
const TICK: Duration = Duration::from_secs(1);
/// Least time between two rounds.
const MIN_ROUND_GAP: Duration = Duration::from_millis(20);

pub(super) struct Reactor {
    pub(super) config: Arc<Config>,
    pub(super) store: Arc<dyn Store>,
    /// The executor of each pool (same order as `config.pools`).
    pub(super) executors: Vec<Arc<dyn Executor>>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) jobs: BTreeMap<JobId, LiveJob>,
    /// The decision core's state machine: the pools' free accelerators, the jobs' places, the
    /// failover memory, the quotas. Told of every change to `jobs` that matters to a decision.
    pub(super) machine: Machine,
    /// Jobs loaded from a shared store rather than announced by a local submit (see
    /// `leader.rs`), so that a late `Submitted` command does not queue them twice.
    pub(super) from_store: HashSet<JobId>,
    /// When the service started: injected faults count from here.
    pub(super) started: Instant,
    /// Per pool (same order as `config.pools`), its injected preemptions still to come.
    pub(super) reclaims: Vec<Option<PreemptionClock>>,
    /// When the contracts' charges were last read from the store for the machine (`None`:
    /// never).
    contract_spent_at: Option<Instant>,
    /// Per pool (same order as `config.pools`), its speed: what turns an attempt's run time
    /// into work.
    speeds: Vec<f64>,
    /// The successful runs of each (tenant, job name) that a job has needed an estimate for
    /// (see `estimates.rs`): read from the store once, when the first such job is tracked,
    /// then kept up to date as jobs of the name succeed. Rounds read only this.
    histories: HashMap<(String, String), RunHistory>,
}

pub(super) fn event(kind: &str, message: impl Into<String>) -> JobEvent {
    JobEvent {
        at_ms: now_ms(),
        kind: kind.to_string(),
        message: message.into(),
    }
}

impl Reactor {
    pub(super) fn new(
        config: Arc<Config>,
        store: Arc<dyn Store>,
        executors: Vec<Arc<dyn Executor>>,
        metrics: Arc<Metrics>,
        started: Instant,
    ) -> Reactor {
        let machine = Machine::new(
            schedule::machine_pools(&config),
            schedule::machine_config(&config),
        );
        let reclaims = config
            .pools
            .iter()
            .map(|p| {
                p.faults
                    .as_ref()
                    .filter(|f| f.preempts())
                    .map(PreemptionClock::new)
            })
            .collect();
        Reactor {
            contract_spent_at: None,
            speeds: schedule::pool_throughputs(&config),
            histories: HashMap::new(),
            started,
            machine,
            reclaims,
            config,
            store,
            executors,
            metrics,
            jobs: BTreeMap::new(),
            from_store: HashSet::new(),
        }
    }

    /// Starts tracking a job that waits for an attempt, and tells the machine.
    pub(super) async fn track_queued(&mut self, mut live: LiveJob) {
        self.estimate_work(&mut live).await;
        // A job that runs after another reaches the machine once released (deps.rs).
        if !super::deps::held(&live) {
            let job = self.machine_job(&live);
            self.machine.handle(now_ms(), Event::Submitted(job));
        }
        self.jobs.insert(live.job.id, live);
    }

    /// What the machine knows of a tracked job: its work from the spec, or estimated from
    /// the history of its name.
    pub(super) fn machine_job(&self, live: &LiveJob) -> spillway_core::machine::MachineJob {
        schedule::machine_job(
            live.job.id,
            &live.job.tenant,
            live.job.submitted_ms,
            live.job.deadline_ms,
            &live.spec,
            self.work_source(live).estimated_secs(),
        )
    }

    /// Where a tracked job's work comes from.
    pub(super) fn work_source<'a>(&self, live: &'a LiveJob) -> WorkSource<'a> {
        WorkSource::of(&live.spec, &live.job.tenant, live.history)
    }

    /// Gives a job about to be tracked what the history of its name says of its work, reading
    /// that history from the store unless it is read already (or the job takes no work from
    /// it). A failed read leaves the job without an estimate (and the next job of the name
    /// tries again): the service goes on.
    pub(super) async fn estimate_work(&mut self, live: &mut LiveJob) {
        if !WorkSource::wants_history(&live.spec) {
            return;
        }
        let key = (live.job.tenant.clone(), live.spec.name.clone());
        if !self.histories.contains_key(&key) {
            let (tenant, name) = (&key.0, &key.1);
            match self.store.succeeded_runs(tenant, name, LATEST_RUNS).await {
                Ok(runs) => {
                    let speed = |pool: &str| self.pool_index(pool).map(|i| self.speeds[i]);
                    let history = RunHistory::from_store(runs, speed, tenant, name);
                    self.histories.insert(key.clone(), history);
                }
                Err(e) => {
                    tracing::warn!(%tenant, %name, error = %e, "failed to read the earlier runs of a job name: its jobs have no work estimate");
                }
            }
        }
        live.history = self.histories.get(&key).map(RunHistory::snapshot);
    }

    /// A job's work after attempt `a` ended, given the work `done` before it (reference
    /// seconds; see `estimates.rs`). An attempt that never ran (a refused or never-started
    /// launch), or on a pool no longer configured, changes nothing.
    pub(super) fn work_after_attempt(&self, done: f64, a: &Attempt) -> f64 {
        let ran = !matches!(
            a.outcome,
            AttemptOutcome::NotStarted | AttemptOutcome::NoCapacity
        );
        match (ran, a.ended_ms, self.pool_index(&a.pool)) {
            (true, Some(ended), Some(pool)) => {
                let work = attempt_work(a.started_ms, ended, self.speeds[pool]);
                work_after(done, a.resumed, work)
            }
            _ => done,
        }
    }

    pub(super) fn pool_index(&self, name: &str) -> Option<usize> {
        self.config.pools.iter().position(|p| p.name == name)
    }

    /// The executor of a pool by name. An attempt recorded on a pool that has since been
    /// removed from the config goes to the first pool's executor (today every pool is local),
    /// so that its process is still adopted rather than launched again.
    pub(super) fn executor_of(&self, pool: &str) -> Arc<dyn Executor> {
        self.executors[self.pool_index(pool).unwrap_or(0)].clone()
    }

    /// Runs until the service stops or, with a `role` (a shared store), until this server
    /// no longer leads.
    pub(super) async fn run(
        mut self,
        mut inbox: UnboundedReceiver<Command>,
        mut exits: UnboundedReceiver<ExecReport>,
        mut role: Option<watch::Receiver<Role>>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Something happened that a round should look at.
        let mut dirty = true;
        // Rounds run at once when the service is quiet, but at most every MIN_ROUND_GAP under
        // a burst, so that deciding over a long queue does not starve the API of CPU.
        let mut next_round = tokio::time::Instant::now();
        loop {
            let reclaim_at = self.next_reclaim();
            tokio::select! {
                cmd = inbox.recv() => match cmd {
                    Some(cmd) => {
                        dirty |= cmd.changes_state();
                        self.command(cmd).await;
                    }
                    None => break,
                },
                Some(report) = exits.recv() => {
                    dirty |= self.reported(report).await;
                }
                _ = tick.tick() => {
                    if role.is_some() {
                        self.adopt_queued().await;
                    }
                    dirty = true;
                }
                () = role_changed(&mut role) => {
                    if !matches!(role.as_ref().map(|r| r.borrow().clone()), Some(Role::Leader(_))) {
                        tracing::error!("no longer the leader: scheduling stopped");
                        break;
                    }
                }
                () = sleep_until_some(reclaim_at) => {
                    self.reclaim_due().await;
                    dirty = true;
                }
                () = tokio::time::sleep_until(next_round), if dirty => {
                    // A launch refused for lack of capacity goes on to its next pool in a
                    // round right after this one.
                    dirty = self.round().await;
                    next_round = tokio::time::Instant::now() + MIN_ROUND_GAP;
                }
            }
        }
    }

    pub(super) async fn write(&self, writes: Vec<Write>) -> bool {
        match self.store.write(writes).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "failed to write to the store");
                false
            }
        }
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Submitted(job) => {
                if !self.known_from_store(job.id) {
                    self.track_queued(LiveJob::queued(job)).await;
                }
            }
            Command::Cancel(id, reply) => {
                let r = self.cancel(id).await;
                let _ = reply.send(r);
            }
            Command::Explain(id, reply) => {
                let _ = reply.send(self.explain(id));
            }
            Command::WaitReasons(ids, reply) => {
                let _ = reply.send(self.wait_reasons(&ids));
            }
            Command::Pools(reply) => {
                let _ = reply.send(self.pool_status());
            }
        }
    }

    async fn cancel(&mut self, id: JobId) -> Result<Job, ServiceError> {
        let Some(live) = self.jobs.get_mut(&id) else {
            return match self.store.job(id).await? {
                Some(j) => Err(ServiceError::Conflict(format!(
                    "job {id} already {}: nothing to cancel",
                    j.state
                ))),
                None => Err(ServiceError::NotFound(id)),
            };
        };
        match (live.attempt.as_ref(), live.handle.clone()) {
            (Some(a), Some(h)) => {
                if live.stopping != Some(Stop::Cancel) {
                    live.stopping = Some(Stop::Cancel);
                    self.machine
                        .handle(now_ms(), Event::Stopping { job: core_id(id) });
                    live.job.message = CANCELLING.into();
                    let (job, number, pool) = (live.job.clone(), a.number, a.pool.clone());
                    self.write(vec![
                        Write::Job(job.clone()),
                        Write::Event(id, event("cancel", "cancel requested")),
                    ])
                    .await;
                    let executor = self.executor_of(&pool);
                    if let Err(e) = executor.stop(id, number, h).await {
                        tracing::warn!(job = %id, error = %e, "failed to stop a cancelled job");
                    }
                    return Ok(job);
                }
                Ok(live.job.clone())
            }
            _ => {
                let mut live = self.jobs.remove(&id).expect("present");
                self.machine
                    .handle(now_ms(), Event::Withdrawn { job: core_id(id) });
                live.job.state = JobState::Cancelled;
                live.job.finished_ms = Some(now_ms());
                live.job.message = "cancelled while queued".into();
                let job = live.job.clone();
                self.write(vec![
                    Write::Job(job.clone()),
                    Write::Event(id, event("cancelled", "cancelled while queued")),
                ])
                .await;
                Ok(job)
            }
        }
    }

    /// One scheduling round: decide, then record and carry out the actions. Returns whether
    /// a launch was refused for lack of capacity (its job is queued again, for the next round).
    pub(super) async fn round(&mut self) -> bool {
        self.gate_dependencies().await;
        self.refresh_contract_spending().await;
        let started = Instant::now();
        let decision = self.machine.decide(now_ms());
        self.metrics.round_duration.observe(started.elapsed());
        if let Some(e) = &decision.policy_error {
            tracing::warn!(policy = %self.config.policy, error = %e, "the policy failed this round; jobs were taken in priority order");
        }
        for (id, reason) in decision.waiting {
            if let Some(l) = self.jobs.get_mut(&job_id(id)) {
                l.wait = Some(reason);
            }
        }
        let mut writes = Vec::new();
        let mut launches = Vec::new();
        for action in decision.actions {
            match action {
                Action::Preempt {
                    job,
                    for_job,
                    lease_ended,
                } => {
                    self.preempt(job_id(job), job_id(for_job), lease_ended, &mut writes)
                        .await;
                }
                Action::Start {
                    job,
                    pool,
                    accelerators,
                    reason,
                } => {
                    let job = job_id(job);
                    let Some(live) = self.jobs.get_mut(&job) else {
                        continue;
                    };
                    // A gang's accelerators said per node: "2 nodes x 8 H100".
                    let reason = reason.describe(live.spec.num_nodes);
                    // Earlier attempts that ran (refused and never-started launches do not
                    // count): a restart resumes from the checkpoint.
                    let restart_count = live.job.preemptions + live.job.restarts;
                    let resume = restart_count > 0
                        && live
                            .spec
                            .checkpoint
                            .as_ref()
                            .is_some_and(|c| c.resume.is_some());
                    live.job.attempts += 1;
                    live.job.state = JobState::Running;
                    live.job.message = reason.clone();
                    live.wait = None;
                    let attempt = Attempt {
                        job,
                        number: live.job.attempts,
                        pool: self.config.pools[pool].name.clone(),
                        accelerators,
                        resumed: resume,
                        pid: None,
                        pid_start: None,
                        external_id: None,
                        started_ms: now_ms(),
                        ended_ms: None,
                        outcome: AttemptOutcome::Starting,
                        exit_code: None,
                    };
                    writes.push(Write::Job(live.job.clone()));
                    writes.push(Write::Attempt(attempt.clone()));
                    let pool_config = &self.config.pools[pool];
                    if let Some(contract) = &pool_config.contract {
                        if !attempt.accelerators.is_empty() {
                            writes.push(Write::Charge(ContractCharge {
                                job,
                                attempt: attempt.number,
                                contract: contract.clone(),
                                pool: pool_config.name.clone(),
                                chips: attempt.accelerators.len() as u32,
                                usd_per_chip_hour: pool_config.price.0,
                            }));
                        }
                    }
                    let restart = match (restart_count, resume) {
                        (0, _) => String::new(),
                        (n, true) => format!("; restart {n}, running checkpoint.resume"),
                        (n, false) => format!("; restart {n}"),
                    };
                    writes.push(Write::Event(
                        job,
                        event(
                            "started",
                            format!("attempt {}: {reason}{restart}", attempt.number),
                        ),
                    ));
                    live.attempt = Some(attempt);
                    launches.push(job);
                }
            }
        }
        // The launch is on record before any process exists: a crash from here on is
        // resolved by recovery, never by launching again.
        if !self.write(writes).await {
            for id in launches {
                self.unlaunch(id);
            }
            return false;
        }
        let mut after = Vec::new();
        let mut refused = false;
        for id in launches {
            // The machine says whether to try: not on a pool that refused another start of
            // this round for lack of capacity.
            if !self.machine.should_launch(core_id(id)) {
                after.extend(self.untried(id));
                continue;
            }
            refused |= self.launch(id, &mut after).await;
        }
        self.write(after).await;
        self.publish_gauges();
        refused
    }

    /// Undoes a start that could not be recorded.
    fn unlaunch(&mut self, id: JobId) {
        let Some(live) = self.jobs.get_mut(&id) else {
            return;
        };
        live.attempt = None;
        self.machine.handle(
            now_ms(),
            Event::AttemptEnded {
                job: core_id(id),
                requeue: true,
            },
        );
        live.job.attempts -= 1;
        live.job.state = JobState::Queued;
    }

    /// A recorded attempt not launched because its pool refused another start of the same
    /// round for lack of capacity: it ends as never started, and the job waits for the next
    /// round (which the refusal's block in the failover memory steers), no restart used.
    fn untried(&mut self, id: JobId) -> Vec<Write> {
        let pool = self
            .jobs
            .get(&id)
            .and_then(|l| l.attempt.as_ref())
            .map_or_else(String::new, |a| a.pool.clone());
        self.finish(
            id,
            AttemptOutcome::NotStarted,
            None,
            Some(format!(
                "not launched: pool {pool} refused another launch of this round for lack of capacity"
            )),
        )
    }

    /// Launches a recorded attempt; returns whether the pool refused it for lack of capacity.
    async fn launch(&mut self, id: JobId, writes: &mut Vec<Write>) -> bool {
        let Some(live) = self.jobs.get(&id) else {
            return false;
        };
        let Some(attempt) = live.attempt.as_ref() else {
            return false;
        };
        let pool = self
            .pool_index(&attempt.pool)
            .expect("pool of a new attempt exists");
        let req = LaunchRequest {
            job: id,
            attempt: attempt.number,
            spec: live.spec.clone(),
            accelerator: self.config.pools[pool].accelerator.clone(),
            accelerators: attempt.accelerators.clone(),
            resume: attempt.resumed,
            restart_count: live.job.preemptions + live.job.restarts,
            checkpoint_dir: checkpoint_dir(&self.config.data_dir, id),
        };
        match self.executors[pool].launch(req).await {
            Ok(handle) => {
                self.metrics
                    .launched
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let live = self.jobs.get_mut(&id).expect("present");
                let a = live.attempt.as_mut().expect("present");
                handle.record(a);
                a.outcome = AttemptOutcome::Running;
                tracing::info!(job = %id, attempt = a.number, pool = %a.pool, accelerators = ?a.accelerators, "launched");
                live.handle = Some(handle);
                writes.push(Write::Attempt(a.clone()));
                false
            }
            Err(ExecError::NoCapacity { kind, detail }) => {
                tracing::info!(job = %id, pool = %self.config.pools[pool].name, %detail, "launch refused for lack of capacity");
                writes.extend(self.refused(id, pool, kind, &detail));
                true
            }
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "launch failed");
                let w = self.finish(
                    id,
                    AttemptOutcome::Failed,
                    None,
                    Some(format!("launch failed: {e}")),
                );
                writes.extend(w);
                false
            }
        }
    }

    async fn preempt(
        &mut self,
        id: JobId,
        for_job: JobId,
        lease_ended: bool,
        writes: &mut Vec<Write>,
    ) {
        let Some(live) = self.jobs.get_mut(&id) else {
            return;
        };
        let (Some(a), Some(h)) = (live.attempt.as_ref(), live.handle.clone()) else {
            return;
        };
        live.stopping = Some(Stop::Preempt(for_job));
        let (number, pool) = (a.number, a.pool.clone());
        let moving = !lease_ended && for_job == id;
        let why = match (lease_ended, moving) {
            (true, _) => "lease",
            (false, true) => "to_spot",
            (false, false) => "priority",
        };
        self.metrics.preempted(&pool, why);
        let message = match (lease_ended, for_job == id) {
            (false, true) => "stopped to move back to spot: the commitment-aware policy now ranks a spot pool with room first and the deadline's slack allows it (it checkpoints and restarts there)".to_string(),
            (false, false) => format!("preempted to make room for job {for_job}"),
            (true, false) => format!(
                "its round lease ended: the allocation gives job {for_job} its accelerators this round"
            ),
            (true, true) => "its round lease ended: it is not in this round".to_string(),
        };
        writes.push(Write::Event(id, event("preempt", message)));
        let executor = self.executor_of(&pool);
        if let Err(e) = executor.stop(id, number, h).await {
            tracing::warn!(job = %id, error = %e, "failed to stop a preempted job");
        }
    }

    /// Ends a job's current attempt with `outcome` and moves the job on: to a final state, or
    /// back to the queue (preempted, or failed/lost with restarts left). Returns the writes.
    pub(super) fn finish(
        &mut self,
        id: JobId,
        outcome: AttemptOutcome,
        exit_code: Option<i32>,
        detail: Option<String>,
    ) -> Vec<Write> {
        let Some(live) = self.jobs.get_mut(&id) else {
            return Vec::new();
        };
        let Some(mut a) = live.attempt.take() else {
            return Vec::new();
        };
        let stopping = live.stopping.take();
        let live_work_done = live.work_done_s;
        let pool_name = a.pool.clone();
        live.handle = None;
        a.outcome = outcome;
        a.ended_ms = Some(now_ms());
        a.exit_code = exit_code;
        let work_done_s = self.work_after_attempt(live_work_done, &a);
        let live = self.jobs.get_mut(&id).expect("present");
        live.work_done_s = work_done_s;
        let job = &mut live.job;
        job.exit_code = exit_code.or(job.exit_code);
        let code = exit_code.map_or("no exit code".to_string(), |c| format!("exit code {c}"));
        let (state, message) = match outcome {
            AttemptOutcome::Succeeded => {
                (JobState::Succeeded, "succeeded (exit code 0)".to_string())
            }
            AttemptOutcome::Cancelled => {
                (JobState::Cancelled, "cancelled while running".to_string())
            }
            AttemptOutcome::Preempted => {
                job.preemptions += 1;
                let by = match stopping {
                    Some(Stop::Preempt(j)) => format!(" for job {j}"),
                    Some(Stop::Reclaim) => {
                        format!(": pool {pool_name} reclaimed its spot capacity")
                    }
                    _ => String::new(),
                };
                (
                    JobState::Queued,
                    format!(
                        "preempted{by}; requeued to restart from its checkpoint (preemption {})",
                        job.preemptions
                    ),
                )
            }
            AttemptOutcome::NoCapacity => (
                JobState::Queued,
                format!(
                    "{}; requeued",
                    detail.clone().unwrap_or_else(|| "no capacity".to_string())
                ),
            ),
            AttemptOutcome::NotStarted => (
                JobState::Queued,
                detail.clone().map_or_else(
                    || {
                        "requeued: its launch was interrupted by a server restart before it began"
                            .to_string()
                    },
                    |d| format!("{d}; requeued"),
                ),
            ),
            AttemptOutcome::Failed
            | AttemptOutcome::Lost
            | AttemptOutcome::Starting
            | AttemptOutcome::Running => {
                let what = match (&detail, outcome) {
                    (Some(d), _) => d.clone(),
                    (None, AttemptOutcome::Lost) => {
                        "lost: its process vanished without an exit status".to_string()
                    }
                    _ => format!("failed with {code}"),
                };
                if job.restarts < live.spec.max_restarts {
                    job.restarts += 1;
                    (
                        JobState::Queued,
                        format!(
                            "{what}; restarting ({} of {})",
                            job.restarts, live.spec.max_restarts
                        ),
                    )
                } else {
                    (JobState::Failed, what)
                }
            }
        };
        job.state = state;
        job.message = message.clone();
        tracing::info!(job = %id, attempt = a.number, outcome = outcome.as_str(), state = %state, "attempt ended");
        if state.is_final() {
            job.finished_ms = Some(now_ms());
        }
        if state == JobState::Succeeded {
            // A history not read yet will be read with this run in it.
            let key = (job.tenant.clone(), live.spec.name.clone());
            if let Some(history) = self.histories.get_mut(&key) {
                history.record(live.work_done_s);
            }
        }
        self.machine.handle(
            now_ms(),
            Event::AttemptEnded {
                job: core_id(id),
                requeue: !state.is_final(),
            },
        );
        let kind = match outcome {
            AttemptOutcome::NoCapacity => "launch_failed",
            o => o.as_str(),
        };
        let writes = vec![
            Write::Attempt(a),
            Write::Job(job.clone()),
            Write::Event(id, event(kind, message)),
        ];
        if state.is_final() {
            self.jobs.remove(&id);
        }
        writes
    }

    /// Bills each contract for its attempts so far, when the policy paces contracts and
    /// the last reading is a tick old. The pace looks a day ahead, so a second-old reading
    /// changes nothing that matters; what started since is in the round as running capacity.
    async fn refresh_contract_spending(&mut self) {
        if !self.config.policy.reads_contracts()
            || self.config.contracts.is_empty()
            || self.contract_spent_at.is_some_and(|at| at.elapsed() < TICK)
        {
            return;
        }
        match self.store.contract_usage(now_ms()).await {
            Ok(rows) => {
                let ledgers = super::contracts::ledgers(&self.config, &rows);
                for (contract, ledger) in ledgers.into_iter().enumerate() {
                    self.machine
                        .handle(now_ms(), Event::ContractCharged { contract, ledger });
                }
                self.contract_spent_at = Some(Instant::now());
            }
            // The last reading stands in; the next round tries again.
            Err(e) => tracing::warn!(error = %e, "failed to read the contracts' charges"),
        }
    }
}

/// Resolves at `at`; never without one.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Resolves when the role changes; never without a role (a store of its own).
async fn role_changed(role: &mut Option<watch::Receiver<Role>>) {
    if let Some(r) = role {
        if r.changed().await.is_ok() {
            return;
        }
    }
    std::future::pending().await
}
