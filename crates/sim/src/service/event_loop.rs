//! The driver's event loop ([`Replay`]): the heap of what is due (arrivals, attempt ends,
//! wake-ups, the world's ticks), what each event does to the simulated pools and the machine,
//! and how the machine's decision is carried out on them. [`driver`](super::driver) holds what
//! a replay is given and its entry points; the rules are written down there.

use super::charges::Charges;
use super::driver::{IDLE_LIMIT_MS, IDLE_TICK_MAX_MS, RunningJob, ServiceSimConfig, Start};
use super::job_index::JobIndex;
use super::live::{Attempt, Live};
use super::outcome::{AttemptLog, AttemptRecord, JobRecord, ServiceOutcome};
use super::workload::ServiceJob;
use super::world::World;
use spillway_core::JobId;
use spillway_core::live::{Action, Decision, StartReason, WaitReason};
use spillway_core::machine::{Event, Machine, MachineConfig, MachinePool};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

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

/// One replay under way: the machine, the simulated pools' jobs, the heap of what is due, and
/// the outcome as it is written.
pub(super) struct Replay<'a> {
    jobs: &'a [ServiceJob],
    sim: &'a ServiceSimConfig,
    world: &'a mut dyn World,
    progress: &'a mut dyn FnMut(usize, usize),
    machine: Machine,
    /// The pools as the replay was given them (the machine's own may change with capacity).
    pools: Vec<MachinePool>,
    /// Job index by id.
    index: JobIndex,
    /// What is due, by time, then by the order it was pushed in (`seq`), but for the
    /// workload's arrivals, which are in `arrivals`.
    heap: BinaryHeap<Reverse<(i64, u64, Due)>>,
    /// The workload's arrivals, (time, seq, job index) in the order they are due, each with the
    /// `seq` it would have had on the heap (they come first), and how many are taken. Apart
    /// from the heap, which then holds only what runs (a million arrivals made every push and
    /// pop of an attempt's end climb a heap of a million).
    arrivals: Vec<(i64, u64, usize)>,
    next_arrival: usize,
    seq: u64,
    live: Vec<Live>,
    out: ServiceOutcome,
    log: AttemptLog,
    charges: Charges,
    /// The service reads the contracts' charges only under the policy that paces them.
    reads_charges: bool,
    /// The wake-up on the heap, if any.
    wake_at: Option<i64>,
    /// Why jobs waited at the last round that left some waiting.
    last_waits: Vec<(JobId, WaitReason)>,
    /// Arrivals still to come and attempts that ended: when none is to come and every attempt
    /// ended, only the clock can change anything (see [`IDLE_LIMIT_MS`]).
    arrivals_left: usize,
    ended: usize,
    finished: usize,
    idle_since: Option<i64>,
    idle_tick: i64,
    /// The world's next tick on the heap, if any (ticks run while the machine has jobs).
    tick_at: Option<i64>,
}

impl<'a> Replay<'a> {
    /// A replay of `jobs` from `start`: every job not running then arrives when it was
    /// submitted (or at the start, if earlier); the running ones hold their accelerators.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        pools: Vec<MachinePool>,
        config: MachineConfig,
        jobs: &'a [ServiceJob],
        start: &Start,
        sim: &'a ServiceSimConfig,
        world: &'a mut dyn World,
        progress: &'a mut dyn FnMut(usize, usize),
        log: AttemptLog,
    ) -> Replay<'a> {
        let mut config = config;
        config.explain_every_wait &= sim.keep_reasons;
        let policy = config.policy.name().to_string();
        let reads_charges = config.policy.reads_contracts() && !config.contracts.is_empty();
        let charges = Charges::new(
            config.contracts.clone(),
            &start.contract_ledgers,
            start.at_ms,
        );
        let machine = Machine::new(pools.clone(), config);
        let out = ServiceOutcome {
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
            busy_s: vec![0.0; pools.len()],
            makespan_ms: 0,
            busy_timeline: None,
        };
        let mut replay = Replay {
            jobs,
            sim,
            world,
            progress,
            machine,
            pools,
            index: JobIndex::new(jobs),
            heap: BinaryHeap::new(),
            arrivals: Vec::new(),
            next_arrival: 0,
            seq: 0,
            live: jobs.iter().map(|_| Live::default()).collect(),
            out,
            log,
            charges,
            reads_charges,
            wake_at: None,
            last_waits: Vec::new(),
            arrivals_left: 0,
            ended: 0,
            finished: 0,
            idle_since: None,
            idle_tick: sim.tick_ms.max(1),
            tick_at: None,
        };
        let running: BTreeMap<usize, _> = start.running.iter().map(|r| (r.job, *r)).collect();
        for (i, j) in jobs.iter().enumerate() {
            if !running.contains_key(&i) {
                let at = j.job.submitted_ms.max(start.at_ms);
                replay.arrivals.push((at, replay.seq, i));
                replay.seq += 1;
            }
        }
        // In the order the heap would give them: by time, then seq (already increasing).
        replay.arrivals.sort_by_key(|&(at, _, _)| at);
        replay.restore(start, running.values().copied());
        replay.arrivals_left = replay.arrivals.len()
            + replay
                .heap
                .iter()
                .filter(|Reverse((_, _, d))| matches!(d, Due::Arrive(_)))
                .count();
        if replay.arrivals_left == 0 {
            replay
                .machine
                .handle(start.at_ms.max(0), Event::NoMoreArrivals);
        }
        replay
    }

    fn push(&mut self, at: i64, due: Due) {
        self.heap.push(Reverse((at, self.seq, due)));
        self.seq += 1;
    }

    /// When the next event is due: the earlier of the next arrival and the heap's first, by
    /// (time, seq), the order of one heap holding both.
    fn next_at(&self) -> Option<i64> {
        let arrival = self
            .arrivals
            .get(self.next_arrival)
            .map(|&(at, seq, _)| (at, seq));
        let queued = self.heap.peek().map(|Reverse((at, seq, _))| (*at, *seq));
        match (arrival, queued) {
            (Some(a), Some(q)) => Some(a.min(q).0),
            (a, q) => a.or(q).map(|(at, _)| at),
        }
    }

    /// Takes the next event if it is due at `now`.
    fn take_due(&mut self, now: i64) -> Option<Due> {
        let arrival = self
            .arrivals
            .get(self.next_arrival)
            .filter(|&&(at, _, _)| at == now)
            .copied();
        let queued = self
            .heap
            .peek()
            .filter(|Reverse((at, _, _))| *at == now)
            .map(|Reverse((_, seq, _))| *seq);
        match (arrival, queued) {
            (Some((_, a, i)), q) if q.is_none_or(|q| a < q) => {
                self.next_arrival += 1;
                Some(Due::Arrive(i))
            }
            (_, Some(_)) => self.heap.pop().map(|Reverse((_, _, due))| due),
            _ => None,
        }
    }

    /// Jobs running at the start hold their accelerators from then, the lowest free ones of
    /// their pool; one its pool has no room for waits from the start instead.
    fn restore(&mut self, start: &Start, running: impl Iterator<Item = RunningJob>) {
        let jobs = self.jobs;
        let mut next_free: Vec<u32> = vec![0; self.pools.len()];
        for r in running {
            let fits = r.pool < self.pools.len()
                && next_free[r.pool] + r.chips <= self.pools[r.pool].capacity
                && r.job < jobs.len();
            if !fits {
                if r.job < jobs.len() {
                    self.push(start.at_ms, Due::Arrive(r.job));
                }
                continue;
            }
            let (i, p) = (r.job, r.pool);
            let accelerators: Vec<u32> = (next_free[p]..next_free[p] + r.chips).collect();
            next_free[p] += r.chips;
            self.machine.handle(
                start.at_ms,
                Event::Restored {
                    job: jobs[i].job.clone(),
                    pool: p,
                    accelerators,
                    started_ms: start.at_ms,
                    stopping: false,
                },
            );
            let pool_name = &self.pools[p].name;
            let attempt =
                self.log
                    .start(&mut self.out, start.at_ms, p, r.chips, || AttemptRecord {
                        job: jobs[i].job.id.0,
                        pool: pool_name.clone(),
                        started_ms: start.at_ms,
                        ended_ms: None,
                        chips: r.chips,
                        reason: "running when the replay starts".to_string(),
                        accelerators: Vec::new(),
                    });
            self.live[i].current = Some(Attempt {
                pool: p,
                started_ms: start.at_ms,
                record: attempt,
                chips: r.chips,
                speed: jobs[i].job.speed_on(p, &self.machine.pools()[p]),
            });
            self.out.jobs[i].first_start_ms = Some(start.at_ms);
            self.live[i].started = true;
            self.charges.started(&self.pools, p, r.chips, start.at_ms);
            let speed = jobs[i].job.speed_on(p, &self.pools[p]);
            let run_ms = (jobs[i].work_s.max(0.0) / speed * 1000.0).ceil() as i64;
            self.live[i].end_scheduled = Some(0);
            self.push(
                start.at_ms.saturating_add(run_ms),
                Due::End {
                    job: i,
                    epoch: 0,
                    stopped: false,
                },
            );
        }
    }

    /// Runs to the end: every event of an instant, then one round (none when only a tick came
    /// and it changed nothing: the machine would decide as it did).
    pub(super) fn run(mut self) -> ServiceOutcome {
        while let Some(now) = self.next_at() {
            let changed = self.take_events(now);
            if self.tick_at.is_none() && !self.machine.is_empty() {
                if let Some(at) = self.world.next_tick_ms(now) {
                    self.tick_at = Some(at);
                    self.push(at, Due::Tick);
                }
            }
            if changed && !self.decide(now) {
                break;
            }
        }
        self.finish()
    }

    /// Takes every event due at `now`; whether any can change the machine's decision.
    fn take_events(&mut self, now: i64) -> bool {
        let mut changed = false;
        while let Some(due) = self.take_due(now) {
            if matches!(due, Due::Arrive(_)) {
                self.arrivals_left -= 1;
            }
            changed |= !matches!(due, Due::Tick);
            match due {
                Due::Tick => changed |= self.tick(now),
                Due::Arrive(i) => self.arrive(now, i),
                Due::End {
                    job,
                    epoch,
                    stopped,
                } => self.end(now, job, epoch, stopped),
                Due::Wake => {
                    if self.wake_at.is_some_and(|w| w <= now) {
                        self.wake_at = None;
                    }
                }
            }
        }
        changed
    }

    /// A tick of the world: capacity changes, and the jobs whose capacity it takes back are
    /// stopped. Whether capacity grew.
    fn tick(&mut self, now: i64) -> bool {
        self.tick_at = None;
        let t = self.world.tick(now);
        for (pool, available) in t.capacity {
            self.machine
                .handle(now, Event::CapacityChanged { pool, available });
        }
        for i in t.reclaimed {
            let l = &mut self.live[i];
            if l.current.is_none() || l.stopping {
                continue;
            }
            l.stopping = true;
            let epoch = l.epoch;
            self.machine.handle(
                now,
                Event::Stopping {
                    job: self.jobs[i].job.id,
                },
            );
            self.push(
                now,
                Due::End {
                    job: i,
                    epoch,
                    stopped: true,
                },
            );
        }
        t.grew
    }

    /// Job `i` arrives. The service refuses at submit a job no pool could ever run.
    fn arrive(&mut self, now: i64, i: usize) {
        let job = &self.jobs[i].job;
        match self.machine.can_ever_place(job) {
            Ok(()) => self.machine.handle(now, Event::Submitted(job.clone())),
            Err(reason) => {
                self.out.jobs[i].waiting = Some(format!("refused at submit: {reason}"));
            }
        }
        if self.arrivals_left == 0 {
            self.machine.handle(now, Event::NoMoreArrivals);
        }
    }

    /// The attempt `epoch` of job `job` ends: its work is done, or it was stopped (and keeps
    /// what it saved).
    fn end(&mut self, now: i64, job: usize, epoch: u32, stopped: bool) {
        let jobs = self.jobs;
        let l = &mut self.live[job];
        if l.epoch != epoch {
            return;
        }
        let Some(Attempt {
            pool,
            started_ms: started,
            record: attempt,
            chips,
            speed,
        }) = l.current.take()
        else {
            return;
        };
        l.epoch += 1;
        l.stopping = false;
        let moving = std::mem::take(&mut l.moving);
        self.log.end(&mut self.out, attempt, now, pool, chips);
        self.ended += 1;
        let ran_s = (now - started) as f64 / 1000.0;
        self.out.busy_s[pool] += ran_s * f64::from(chips);
        self.charges.ended(&self.pools, pool, chips, now);
        self.world.ended(now, pool, job);
        let done = !stopped;
        if done {
            self.out.jobs[job].finished_ms = Some(now);
            self.out.makespan_ms = self.out.makespan_ms.max(now);
            self.finished += 1;
            (self.progress)(self.finished, jobs.len());
        } else {
            let overhead_s = self.sim.restart_overhead_ms as f64 / 1000.0;
            let l = &mut self.live[job];
            if moving {
                self.out.migrations += 1;
                l.saved_s += (ran_s - overhead_s).max(0.0) * speed;
            } else {
                l.preemptions += 1;
                self.out.preemptions += 1;
                l.saved_s += saved_work(&jobs[job], ran_s - overhead_s, speed);
            }
            l.saved_s = l.saved_s.min(jobs[job].work_s);
        }
        self.machine.handle(
            now,
            Event::AttemptEnded {
                job: jobs[job].job.id,
                requeue: !done,
            },
        );
        if !done && self.sim.tell_work_left {
            let left = (jobs[job].work_s - self.live[job].saved_s).max(0.0);
            self.machine.handle(
                now,
                Event::WorkLeft {
                    job: jobs[job].job.id,
                    work_secs: left.ceil() as u64,
                },
            );
        }
    }

    /// One round at `now`: the machine decides, the decision is carried out, and the next
    /// wake-up is set. False once nothing will ever change but the clock (see
    /// [`IDLE_LIMIT_MS`]): the replay ends there.
    fn decide(&mut self, now: i64) -> bool {
        if self.reads_charges {
            self.charges.advance_all(now);
            for k in 0..self.charges.ledgers.len() {
                let ledger = self.charges.ledgers[k].clone();
                self.machine.handle(
                    now,
                    Event::ContractCharged {
                        contract: k,
                        ledger,
                    },
                );
            }
        }
        let decision = self.machine.decide(now);
        self.out.rounds += 1;
        let refused = self.carry_out(&decision, now);
        // Time-shared jobs end when the round that places them completes their work.
        for (job, at) in self.machine.round_finishes() {
            let Some(i) = self.index.get(job) else {
                continue;
            };
            let l = &mut self.live[i];
            if l.current.is_none() || l.stopping || l.end_scheduled == Some(l.epoch) {
                continue;
            }
            l.end_scheduled = Some(l.epoch);
            let epoch = l.epoch;
            self.push(
                at.max(now),
                Due::End {
                    job: i,
                    epoch,
                    stopped: false,
                },
            );
        }
        // Wait reasons that time alone changes: look again a tick later (as the service does).
        let on_clock = decision.waiting.iter().any(|(_, r)| r.lapses_with_time());
        if !decision.waiting.is_empty() {
            self.last_waits = decision.waiting;
        }
        let idle = self.arrivals_left == 0 && self.ended == self.log.started;
        let tick = if idle && on_clock {
            let since = *self.idle_since.get_or_insert(now);
            if now - since > IDLE_LIMIT_MS {
                // Nothing will ever change but the clock: the waiting jobs keep their reasons.
                return false;
            }
            let t = self.idle_tick;
            self.idle_tick = (self.idle_tick * 2).min(IDLE_TICK_MAX_MS.max(self.sim.tick_ms));
            t
        } else {
            self.idle_since = None;
            self.idle_tick = self.sim.tick_ms.max(1);
            self.sim.tick_ms.max(1)
        };
        let mut wake = on_clock.then(|| now + tick);
        // A refused launch: the job tries elsewhere once the refusal has taken its time.
        if refused {
            let at = now + self.world.refusal_ms().max(1);
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
        // The end of a time-sharing lease.
        if let Some(lease_end) = self.machine.next_wake_ms() {
            let at = lease_end.max(now + 1);
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
        if let Some(at) = wake {
            if self.wake_at.is_none_or(|w| at < w) {
                self.wake_at = Some(at);
                self.push(at, Due::Wake);
            }
        }
        true
    }

    /// Carries out the machine's actions on the simulated pools; whether a launch was refused.
    fn carry_out(&mut self, decision: &Decision, now: i64) -> bool {
        let mut refused = false;
        let mut started_now: Vec<(usize, u32)> = Vec::new();
        for action in &decision.actions {
            match action {
                Action::Start {
                    job,
                    pool,
                    accelerators,
                    reason,
                } => {
                    let Some(i) = self.index.get(*job) else {
                        continue;
                    };
                    match self.start(now, i, *pool, accelerators, reason) {
                        Launch::Started(chips) => started_now.push((i, chips)),
                        Launch::Refused => refused = true,
                        Launch::NotTried => {}
                    }
                }
                Action::Preempt {
                    job,
                    for_job,
                    lease_ended,
                } => {
                    let Some(i) = self.index.get(*job) else {
                        continue;
                    };
                    let l = &mut self.live[i];
                    if l.current.is_none() || l.stopping {
                        continue;
                    }
                    l.stopping = true;
                    // A job stopped for itself, not at the end of a lease, moves back to spot.
                    l.moving = for_job == job && !lease_ended;
                    let epoch = l.epoch;
                    self.push(
                        now + self.sim.stop_ms.max(0),
                        Due::End {
                            job: i,
                            epoch,
                            stopped: true,
                        },
                    );
                }
            }
        }
        for &(i, chips) in &started_now {
            if let Some(a) = self.live[i].current {
                self.charges.started(&self.pools, a.pool, chips, now);
            }
        }
        refused
    }

    /// Launches job `i` on `pool`'s `accelerators` as the machine decided.
    fn start(
        &mut self,
        now: i64,
        i: usize,
        pool: usize,
        accelerators: &[u32],
        reason: &StartReason,
    ) -> Launch {
        let jobs = self.jobs;
        let id = jobs[i].job.id;
        // The machine says whether to try: not on a pool that refused another start of this
        // decision; the job goes back to the queue untried.
        if !self.machine.should_launch(id) {
            self.machine.handle(
                now,
                Event::AttemptEnded {
                    job: id,
                    requeue: true,
                },
            );
            return Launch::NotTried;
        }
        if let Err(kind) = self.world.launch(now, pool, i, accelerators) {
            self.out.refusals += 1;
            self.machine
                .handle(now, Event::LaunchRefused { job: id, kind });
            return Launch::Refused;
        }
        let left_s = (jobs[i].work_s - self.live[i].saved_s).max(0.0);
        let speed = jobs[i].job.speed_on(pool, &self.machine.pools()[pool]);
        let run_ms = (left_s / speed * 1000.0).ceil() as i64 + self.sim.restart_overhead_ms;
        let chips = accelerators.len() as u32;
        let (sim, machine) = (self.sim, &self.machine);
        let attempt = self
            .log
            .start(&mut self.out, now, pool, chips, || AttemptRecord {
                job: id.0,
                pool: machine.pools()[pool].name.clone(),
                started_ms: now,
                ended_ms: None,
                chips,
                reason: if sim.keep_reasons {
                    reason.describe(jobs[i].job.num_nodes)
                } else {
                    String::new()
                },
                accelerators: if sim.keep_accelerators {
                    accelerators.to_vec()
                } else {
                    Vec::new()
                },
            });
        let l = &mut self.live[i];
        l.current = Some(Attempt {
            pool,
            started_ms: now,
            record: attempt,
            chips,
            speed,
        });
        if !l.started {
            l.started = true;
            self.out.jobs[i].first_start_ms = Some(now);
        }
        if self.machine.time_shares(id) {
            return Launch::Started(chips);
        }
        l.end_scheduled = Some(l.epoch);
        let epoch = l.epoch;
        self.push(
            now.saturating_add(run_ms),
            Due::End {
                job: i,
                epoch,
                stopped: false,
            },
        );
        Launch::Started(chips)
    }

    /// The outcome, with the round mechanism's counters and the reasons jobs still wait.
    fn finish(mut self) -> ServiceOutcome {
        if let Some(stats) = self.machine.round_stats() {
            self.out.rounds = stats.rounds;
            self.out.lease_extensions = stats.lease_extensions;
            self.out.allocations = stats.allocations;
        }
        self.out.busy_timeline = self.log.timeline.take();
        for (record, l) in self.out.jobs.iter_mut().zip(&self.live) {
            record.preemptions = l.preemptions;
        }
        for (id, reason) in std::mem::take(&mut self.last_waits) {
            if let Some(i) = self.index.get(id) {
                if self.out.jobs[i].finished_ms.is_none() {
                    self.out.jobs[i].waiting = Some(reason.to_string());
                }
            }
        }
        self.out
    }
}

/// What became of a start the machine decided.
enum Launch {
    /// It runs, on this many accelerators.
    Started(u32),
    /// The world refused it for lack of capacity.
    Refused,
    /// The machine held it back (its pool refused another start of the same decision).
    NotTried,
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
