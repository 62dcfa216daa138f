//! The virtual-clock driver of the machine: an event heap of arrivals, attempt ends and wake-ups,
//! integer milliseconds with sequence-number tie-breaks, so the same workload always gives the
//! same outcome.
//!
//! The service runs a round after every batch of events and once a second while something
//! waits on the clock; here a round runs at every instant at which an event happened, and,
//! while a job waits for a reason that time alone changes (a failover block fading, a wait
//! before renting, spot slack, a contract's pace), again `tick_ms` later. A preempted or
//! reclaimed job's attempt ends `stop_ms` after the machine asks it to stop (the service's
//! executors stop a process group with SIGTERM). A job that can resume (`checkpoint.resume`)
//! keeps the work it saved (up to its last checkpoint when it states an interval); any other
//! starts over.
//!
//! A replay may start in the middle of things ([`Start`]): jobs already running then hold their
//! accelerators from the start for the work they have left, and the contracts have been charged
//! something already. As the service does, the machine then reads each contract's ledger
//! (charged before the start, by the attempts since and by running capacity up to now, by the
//! contract's rules) before every round under the commitment-aware policy.
//!
//! Once nothing runs and nothing more arrives, jobs that wait only on the clock (a contract far
//! ahead of its schedule) are looked at with doubling ticks, up to a minute, for at most
//! [`IDLE_LIMIT_MS`]; then the replay ends with them waiting, their reasons recorded.

use super::charges::Charges;
use super::outcome::AttemptLog;
pub use super::outcome::{AttemptRecord, BusyTimeline, JobRecord, ServiceOutcome, ServiceSummary};
use super::workload::ServiceJob;
use super::world::{Unlimited, World};
use spillway_core::JobId;
use spillway_core::econ::ContractLedger;
use spillway_core::live::{Action, Decision, WaitReason};
use spillway_core::machine::{Event, IdMap, Machine, MachineConfig, MachinePool};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// How the simulated service behaves where the machine does not decide.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSimConfig {
    /// How often the service looks again while jobs wait on the clock, ms (the service: 1,000).
    pub tick_ms: i64,
    /// How long a job takes to stop once asked, ms.
    pub stop_ms: i64,
    /// Keep each attempt's start reason in words ([`AttemptRecord::reason`]); off for long
    /// traces whose reports do not show them (millions of time-shared attempts). Off, the
    /// machine also skips rounds in which no queued job could act
    /// ([`MachineConfig::explain_every_wait`]): the same actions, fewer wait reasons.
    pub keep_reasons: bool,
    /// Time from a (re)start until a job's work progresses again, ms (provisioning, loading a
    /// checkpoint): an attempt runs that much longer, and a stopped one saves none of it.
    pub restart_overhead_ms: i64,
    /// Tell the machine what a stopped job saved ([`Event::WorkLeft`]), so that its policy
    /// ranks the job by the work it has left (the scenarios' clouds; the service's `explain`
    /// does not know it).
    pub tell_work_left: bool,
    /// Keep each attempt's accelerator indices ([`AttemptRecord::accelerators`]; the scenarios'
    /// books bill rentals by them). Off for traces of millions of attempts.
    pub keep_accelerators: bool,
}

impl Default for ServiceSimConfig {
    fn default() -> ServiceSimConfig {
        ServiceSimConfig {
            tick_ms: 1_000,
            stop_ms: 0,
            keep_reasons: true,
            restart_overhead_ms: 0,
            tell_work_left: false,
            keep_accelerators: false,
        }
    }
}

/// What is already under way when a replay starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Start {
    /// The instant the replay starts, ms: running jobs hold their accelerators from then, and
    /// jobs submitted earlier arrive then (they waited when it started).
    pub at_ms: i64,
    /// Jobs running at that instant (their workload entry's `work_s` is the work they have left).
    pub running: Vec<RunningJob>,
    /// What each contract (as [`MachineConfig::contracts`]) was charged before the start.
    pub contract_ledgers: Vec<ContractLedger>,
}

/// A job running when the replay starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunningJob {
    /// Its index in the workload (it does not arrive again).
    pub job: usize,
    /// The pool it runs on (index); a pool without room for it makes it wait from the start.
    pub pool: usize,
    /// Accelerators it holds.
    pub chips: u32,
}

/// How long the replay keeps looking at jobs that wait only on the clock once nothing runs and
/// nothing more arrives (a contract far ahead of its schedule may hold a job back for good):
/// 30 days, ms. Its ticks then double, up to [`IDLE_TICK_MAX_MS`].
pub const IDLE_LIMIT_MS: i64 = 30 * 86_400_000;
/// The longest tick while idle, ms.
pub const IDLE_TICK_MAX_MS: i64 = 60_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Arrive(usize),
    /// The attempt `epoch` of job index `i` ends: finished (work done) or stopped.
    End {
        job: usize,
        epoch: u32,
        stopped: bool,
    },
    Wake,
    /// A tick of the world: capacity may change.
    Tick,
}

struct Live {
    /// Reference seconds of work done (saved) before the current attempt.
    saved_s: f64,
    epoch: u32,
    /// The attempt (`epoch`) whose end is on the heap; time-shared jobs get theirs from the
    /// machine's round.
    end_scheduled: Option<u32>,
    /// The current attempt: pool, start, index into `attempts` (its number when they are not
    /// kept), accelerators it holds.
    current: Option<(usize, i64, usize, u32)>,
    stopping: bool,
    /// Stopping to move elsewhere at once: it checkpoints as it leaves.
    moving: bool,
}

/// Replays `jobs` through a machine over `pools` with `config`, from an empty start.
pub fn run(
    pools: Vec<MachinePool>,
    config: MachineConfig,
    jobs: &[ServiceJob],
    sim: &ServiceSimConfig,
) -> ServiceOutcome {
    run_with_progress(pools, config, jobs, sim, &mut |_, _| {})
}

/// [`run`], calling `progress(finished, total)` as jobs finish.
pub fn run_with_progress(
    pools: Vec<MachinePool>,
    config: MachineConfig,
    jobs: &[ServiceJob],
    sim: &ServiceSimConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> ServiceOutcome {
    run_in_world(pools, config, jobs, sim, &mut Unlimited, progress)
}

/// An empty start: no job accepted or running before the first arrival.
fn empty() -> Start {
    Start {
        at_ms: i64::MIN,
        ..Start::default()
    }
}

/// [`run_with_progress`] for a long trace's summary: the attempts are not kept
/// ([`ServiceOutcome::attempts`] is empty), only the busy accelerators per pool over time
/// ([`ServiceOutcome::busy_timeline`]); everything else is the same.
pub fn run_for_timeline(
    pools: Vec<MachinePool>,
    config: MachineConfig,
    jobs: &[ServiceJob],
    sim: &ServiceSimConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> ServiceOutcome {
    let log = AttemptLog::timeline(pools.len());
    run_logged(
        pools,
        config,
        jobs,
        &empty(),
        sim,
        &mut Unlimited,
        progress,
        log,
    )
}

/// Replays `jobs` through a machine over `pools` with `config`, from an empty start, on the
/// capacity `world` gives: launches it refuses fail over, jobs whose capacity it takes back at
/// its ticks are stopped and requeued.
pub fn run_in_world(
    pools: Vec<MachinePool>,
    config: MachineConfig,
    jobs: &[ServiceJob],
    sim: &ServiceSimConfig,
    world: &mut dyn World,
    progress: &mut dyn FnMut(usize, usize),
) -> ServiceOutcome {
    let log = AttemptLog::every_attempt();
    run_logged(pools, config, jobs, &empty(), sim, world, progress, log)
}

/// Replays `jobs` through a machine over `pools` with `config`, from `start`.
pub fn run_from(
    pools: Vec<MachinePool>,
    config: MachineConfig,
    jobs: &[ServiceJob],
    start: &Start,
    sim: &ServiceSimConfig,
) -> ServiceOutcome {
    let log = AttemptLog::every_attempt();
    run_logged(
        pools,
        config,
        jobs,
        start,
        sim,
        &mut Unlimited,
        &mut |_, _| {},
        log,
    )
}

#[allow(clippy::too_many_arguments)]
fn run_logged(
    pools: Vec<MachinePool>,
    config: MachineConfig,
    jobs: &[ServiceJob],
    start: &Start,
    sim: &ServiceSimConfig,
    world: &mut dyn World,
    progress: &mut dyn FnMut(usize, usize),
    mut log: AttemptLog,
) -> ServiceOutcome {
    let mut config = config;
    config.explain_every_wait &= sim.keep_reasons;
    let policy = config.policy.name().to_string();
    let pool_count = pools.len();
    // The service reads the contracts' charges only under the policy that paces them.
    let reads_charges = config.policy.reads_contracts() && !config.contracts.is_empty();
    let contracts = config.contracts.len();
    let mut charges = Charges::new(
        config.contracts.clone(),
        &start.contract_ledgers,
        start.at_ms,
    );
    let machine_pools = pools.clone();
    let mut machine = Machine::new(pools, config);
    // Searched by id once or twice per attempt: a hash map (never iterated).
    let index: IdMap<JobId, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.job.id, i))
        .collect();
    let mut heap: BinaryHeap<Reverse<(i64, u64, Due)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut push = |heap: &mut BinaryHeap<Reverse<(i64, u64, Due)>>, at: i64, due: Due| {
        heap.push(Reverse((at, seq, due)));
        seq += 1;
    };
    let running: BTreeMap<usize, RunningJob> = start.running.iter().map(|r| (r.job, *r)).collect();
    for (i, j) in jobs.iter().enumerate() {
        if !running.contains_key(&i) {
            push(
                &mut heap,
                j.job.submitted_ms.max(start.at_ms),
                Due::Arrive(i),
            );
        }
    }
    let mut live: Vec<Live> = jobs
        .iter()
        .map(|_| Live {
            saved_s: 0.0,
            epoch: 0,
            end_scheduled: None,
            current: None,
            stopping: false,
            moving: false,
        })
        .collect();
    let mut out = ServiceOutcome {
        policy,
        attempts: Vec::new(),
        jobs: jobs
            .iter()
            .map(|j| JobRecord {
                job: j.job.id.0,
                tenant: j.job.tenant.clone(),
                submitted_ms: j.job.submitted_ms,
                first_start_ms: None,
                finished_ms: None,
                preemptions: 0,
                waiting: None,
            })
            .collect(),
        preemptions: 0,
        refusals: 0,
        migrations: 0,
        rounds: 0,
        lease_extensions: 0,
        allocations: 0,
        busy_s: vec![0.0; pool_count],
        makespan_ms: 0,
        busy_timeline: None,
    };
    // Jobs running at the start hold their accelerators from then, the lowest free ones of
    // their pool; one its pool has no room for waits from the start instead.
    let mut next_free: Vec<u32> = vec![0; pool_count];
    for r in running.values() {
        let fits = r.pool < pool_count
            && next_free[r.pool] + r.chips <= machine_pools[r.pool].capacity
            && r.job < jobs.len();
        if !fits {
            if r.job < jobs.len() {
                push(&mut heap, start.at_ms, Due::Arrive(r.job));
            }
            continue;
        }
        let (i, p) = (r.job, r.pool);
        let accelerators: Vec<u32> = (next_free[p]..next_free[p] + r.chips).collect();
        next_free[p] += r.chips;
        machine.handle(
            start.at_ms,
            Event::Restored {
                job: jobs[i].job.clone(),
                pool: p,
                accelerators,
                started_ms: start.at_ms,
                stopping: false,
            },
        );
        let attempt = log.start(&mut out, start.at_ms, p, r.chips, || AttemptRecord {
            job: jobs[i].job.id.0,
            pool: machine_pools[p].name.clone(),
            started_ms: start.at_ms,
            ended_ms: None,
            chips: r.chips,
            reason: "running when the replay starts".to_string(),
            accelerators: Vec::new(),
        });
        live[i].current = Some((p, start.at_ms, attempt, r.chips));
        out.jobs[i].first_start_ms = Some(start.at_ms);
        charges.started(&machine_pools, p, r.chips, start.at_ms);
        let speed = jobs[i].job.speed_on(p, &machine_pools[p]);
        let run_ms = (jobs[i].work_s.max(0.0) / speed * 1000.0).ceil() as i64;
        live[i].end_scheduled = Some(0);
        push(
            &mut heap,
            start.at_ms.saturating_add(run_ms),
            Due::End {
                job: i,
                epoch: 0,
                stopped: false,
            },
        );
    }
    let mut wake_at: Option<i64> = None;
    // Why jobs waited at the last round that left some waiting.
    let mut last_waits: Vec<(JobId, WaitReason)> = Vec::new();
    // Arrivals still to come and attempts that ended: when none is to come and every attempt
    // ended, only the clock can change anything (see IDLE_LIMIT_MS).
    let mut arrivals_left = heap
        .iter()
        .filter(|Reverse((_, _, d))| matches!(d, Due::Arrive(_)))
        .count();
    let mut finished = 0usize;
    if arrivals_left == 0 {
        machine.handle(start.at_ms.max(0), Event::NoMoreArrivals);
    }
    let mut ended = 0usize;
    let mut idle_since: Option<i64> = None;
    let mut idle_tick = sim.tick_ms.max(1);
    // The world's next tick on the heap, if any (ticks run while the machine has jobs).
    let mut tick_at: Option<i64> = None;
    while let Some(Reverse((now, _, _))) = heap.peek().copied() {
        // Every event of this instant, then one round (none when only a tick came and it changed
        // nothing: the machine would decide as it did).
        let mut changed = false;
        while let Some(Reverse((at, _, due))) = heap.peek().copied() {
            if at != now {
                break;
            }
            heap.pop();
            if matches!(due, Due::Arrive(_)) {
                arrivals_left -= 1;
            }
            changed |= !matches!(due, Due::Tick);
            match due {
                Due::Tick => {
                    tick_at = None;
                    let t = world.tick(now);
                    changed |= t.grew;
                    for (pool, available) in t.capacity {
                        machine.handle(now, Event::CapacityChanged { pool, available });
                    }
                    for i in t.reclaimed {
                        let l = &mut live[i];
                        if l.current.is_none() || l.stopping {
                            continue;
                        }
                        l.stopping = true;
                        machine.handle(
                            now,
                            Event::Stopping {
                                job: jobs[i].job.id,
                            },
                        );
                        push(
                            &mut heap,
                            now,
                            Due::End {
                                job: i,
                                epoch: l.epoch,
                                stopped: true,
                            },
                        );
                    }
                }
                // The service refuses at submit a job no pool could ever run.
                Due::Arrive(i) => {
                    match machine.can_ever_place(&jobs[i].job) {
                        Ok(()) => machine.handle(now, Event::Submitted(jobs[i].job.clone())),
                        Err(reason) => {
                            out.jobs[i].waiting = Some(format!("refused at submit: {reason}"));
                        }
                    }
                    if arrivals_left == 0 {
                        machine.handle(now, Event::NoMoreArrivals);
                    }
                }
                Due::End {
                    job,
                    epoch,
                    stopped,
                } => {
                    let l = &mut live[job];
                    if l.epoch != epoch {
                        continue;
                    }
                    let Some((pool, started, attempt, chips)) = l.current.take() else {
                        continue;
                    };
                    l.epoch += 1;
                    l.stopping = false;
                    let moving = std::mem::take(&mut l.moving);
                    log.end(&mut out, attempt, now, pool, chips);
                    ended += 1;
                    let ran_s = (now - started) as f64 / 1000.0;
                    out.busy_s[pool] += ran_s * f64::from(chips);
                    charges.ended(&machine_pools, pool, chips, now);
                    world.ended(now, pool, job);
                    let done = !stopped;
                    if done {
                        out.jobs[job].finished_ms = Some(now);
                        out.makespan_ms = out.makespan_ms.max(now);
                        finished += 1;
                        progress(finished, jobs.len());
                    } else {
                        let speed = jobs[job].job.speed_on(pool, &machine.pools()[pool]);
                        let overhead_s = sim.restart_overhead_ms as f64 / 1000.0;
                        if moving {
                            out.migrations += 1;
                            l.saved_s += (ran_s - overhead_s).max(0.0) * speed;
                        } else {
                            out.jobs[job].preemptions += 1;
                            out.preemptions += 1;
                            l.saved_s += saved_work(&jobs[job], ran_s - overhead_s, speed);
                        }
                        l.saved_s = l.saved_s.min(jobs[job].work_s);
                    }
                    machine.handle(
                        now,
                        Event::AttemptEnded {
                            job: jobs[job].job.id,
                            requeue: !done,
                        },
                    );
                    if !done && sim.tell_work_left {
                        let left = (jobs[job].work_s - live[job].saved_s).max(0.0);
                        machine.handle(
                            now,
                            Event::WorkLeft {
                                job: jobs[job].job.id,
                                work_secs: left.ceil() as u64,
                            },
                        );
                    }
                }
                Due::Wake => {
                    if wake_at.is_some_and(|w| w <= now) {
                        wake_at = None;
                    }
                }
            }
        }
        if tick_at.is_none() && !machine.is_empty() {
            if let Some(at) = world.next_tick_ms(now) {
                tick_at = Some(at);
                push(&mut heap, at, Due::Tick);
            }
        }
        if !changed {
            continue;
        }
        if reads_charges {
            charges.advance_all(now);
            for k in 0..contracts {
                let ledger = charges.ledgers[k].clone();
                machine.handle(
                    now,
                    Event::ContractCharged {
                        contract: k,
                        ledger,
                    },
                );
            }
        }
        let decision = machine.decide(now);
        out.rounds += 1;
        let mut started_now: Vec<(usize, u32)> = Vec::new();
        let refused = carry_out(
            &decision,
            now,
            jobs,
            &index,
            &mut machine,
            &mut live,
            &mut out,
            sim,
            world,
            &mut heap,
            &mut push,
            &mut log,
            &mut started_now,
        );
        for &(i, chips) in &started_now {
            if let Some((p, _, _, _)) = live[i].current {
                charges.started(&machine_pools, p, chips, now);
            }
        }
        // Time-shared jobs end when the round that places them completes their work.
        for (job, at) in machine.round_finishes() {
            let Some(&i) = index.get(&job) else { continue };
            let l = &mut live[i];
            if l.current.is_none() || l.stopping || l.end_scheduled == Some(l.epoch) {
                continue;
            }
            l.end_scheduled = Some(l.epoch);
            push(
                &mut heap,
                at.max(now),
                Due::End {
                    job: i,
                    epoch: l.epoch,
                    stopped: false,
                },
            );
        }
        // Wait reasons that time alone changes: look again a tick later (as the service does).
        let on_clock = decision.waiting.iter().any(|(_, r)| r.lapses_with_time());
        if !decision.waiting.is_empty() {
            last_waits = decision.waiting;
        }
        let idle = arrivals_left == 0 && ended == log.started;
        let tick = if idle && on_clock {
            let since = *idle_since.get_or_insert(now);
            if now - since > IDLE_LIMIT_MS {
                // Nothing will ever change but the clock: the waiting jobs keep their reasons.
                break;
            }
            let t = idle_tick;
            idle_tick = (idle_tick * 2).min(IDLE_TICK_MAX_MS.max(sim.tick_ms));
            t
        } else {
            idle_since = None;
            idle_tick = sim.tick_ms.max(1);
            sim.tick_ms.max(1)
        };
        let mut wake = on_clock.then(|| now + tick);
        // A refused launch: the job tries elsewhere once the refusal has taken its time.
        if refused {
            let at = now + world.refusal_ms().max(1);
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
        // The end of a time-sharing lease.
        if let Some(lease_end) = machine.next_wake_ms() {
            let at = lease_end.max(now + 1);
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
        if let Some(at) = wake {
            if wake_at.is_none_or(|w| at < w) {
                wake_at = Some(at);
                push(&mut heap, at, Due::Wake);
            }
        }
    }
    if let Some(stats) = machine.round_stats() {
        out.rounds = stats.rounds;
        out.lease_extensions = stats.lease_extensions;
        out.allocations = stats.allocations;
    }
    out.busy_timeline = log.timeline;
    for (id, reason) in last_waits {
        if let Some(&i) = index.get(&id) {
            if out.jobs[i].finished_ms.is_none() {
                out.jobs[i].waiting = Some(reason.to_string());
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn carry_out(
    decision: &Decision,
    now: i64,
    jobs: &[ServiceJob],
    index: &IdMap<JobId, usize>,
    machine: &mut Machine,
    live: &mut [Live],
    out: &mut ServiceOutcome,
    sim: &ServiceSimConfig,
    world: &mut dyn World,
    heap: &mut BinaryHeap<Reverse<(i64, u64, Due)>>,
    push: &mut impl FnMut(&mut BinaryHeap<Reverse<(i64, u64, Due)>>, i64, Due),
    log: &mut AttemptLog,
    started_now: &mut Vec<(usize, u32)>,
) -> bool {
    let mut refused = false;
    for action in &decision.actions {
        match action {
            Action::Start {
                job,
                pool,
                accelerators,
                reason,
            } => {
                let Some(&i) = index.get(job) else { continue };
                // The machine says whether to try: not on a pool that refused another start
                // of this decision; the job goes back to the queue untried.
                if !machine.should_launch(*job) {
                    machine.handle(
                        now,
                        Event::AttemptEnded {
                            job: *job,
                            requeue: true,
                        },
                    );
                    continue;
                }
                if let Err(kind) = world.launch(now, *pool, i, accelerators) {
                    out.refusals += 1;
                    refused = true;
                    machine.handle(now, Event::LaunchRefused { job: *job, kind });
                    continue;
                }
                let l = &mut live[i];
                let left_s = (jobs[i].work_s - l.saved_s).max(0.0);
                let speed = jobs[i].job.speed_on(*pool, &machine.pools()[*pool]);
                let run_ms = (left_s / speed * 1000.0).ceil() as i64 + sim.restart_overhead_ms;
                let chips = accelerators.len() as u32;
                let attempt = log.start(out, now, *pool, chips, || AttemptRecord {
                    job: job.0,
                    pool: machine.pools()[*pool].name.clone(),
                    started_ms: now,
                    ended_ms: None,
                    chips,
                    reason: if sim.keep_reasons {
                        reason.describe(jobs[i].job.num_nodes)
                    } else {
                        String::new()
                    },
                    accelerators: if sim.keep_accelerators {
                        accelerators.clone()
                    } else {
                        Vec::new()
                    },
                });
                started_now.push((i, chips));
                l.current = Some((*pool, now, attempt, chips));
                out.jobs[i].first_start_ms.get_or_insert(now);
                if machine.time_shares(*job) {
                    continue;
                }
                l.end_scheduled = Some(l.epoch);
                push(
                    heap,
                    now.saturating_add(run_ms),
                    Due::End {
                        job: i,
                        epoch: l.epoch,
                        stopped: false,
                    },
                );
            }
            Action::Preempt {
                job,
                for_job,
                lease_ended,
            } => {
                let Some(&i) = index.get(job) else { continue };
                let l = &mut live[i];
                if l.current.is_none() || l.stopping {
                    continue;
                }
                l.stopping = true;
                // A job stopped for itself, not at the end of a lease, moves back to spot.
                l.moving = for_job == job && !lease_ended;
                push(
                    heap,
                    now + sim.stop_ms.max(0),
                    Due::End {
                        job: i,
                        epoch: l.epoch,
                        stopped: true,
                    },
                );
            }
        }
    }
    refused
}

/// Reference seconds of work a stopped attempt keeps: all of it for a job that resumes without
/// a stated interval, its work up to its last checkpoint with one, none for a job that starts
/// over.
fn saved_work(job: &ServiceJob, ran_s: f64, speed: f64) -> f64 {
    if !job.job.resumable {
        return 0.0;
    }
    let ran_s = ran_s.max(0.0);
    let kept_s = match job.job.checkpoint_interval_s {
        Some(i) if i > 0 => (ran_s / i as f64).floor() * i as f64,
        _ => ran_s,
    };
    kept_s * speed
}
