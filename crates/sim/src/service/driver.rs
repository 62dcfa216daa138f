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

use super::event_loop::Replay;
use super::outcome::AttemptLog;
pub use super::outcome::{AttemptRecord, BusyTimeline, JobRecord, ServiceOutcome, ServiceSummary};
use super::workload::ServiceJob;
use super::world::{Unlimited, World};
use spillway_core::econ::ContractLedger;
use spillway_core::machine::{MachineConfig, MachinePool};

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
    /// Tell the machine what a stopped job saved
    /// ([`Event::WorkLeft`](spillway_core::machine::Event::WorkLeft)), so that its policy ranks
    /// the job by the work it has left (the scenarios' clouds; the service's `explain` does not
    /// know it).
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
    Replay::new(
        pools,
        config,
        jobs,
        &empty(),
        sim,
        &mut Unlimited,
        progress,
        log,
    )
    .run()
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
    Replay::new(pools, config, jobs, &empty(), sim, world, progress, log).run()
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
    Replay::new(
        pools,
        config,
        jobs,
        start,
        sim,
        &mut Unlimited,
        &mut |_, _| {},
        log,
    )
    .run()
}
