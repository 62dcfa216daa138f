//! The history as a replay: which jobs are replayed, with how much work, and which are left out.
//!
//! Every job that ran at least once is replayed, with the work it was observed to do: its
//! last attempt's run time on the pool where it ran, times that pool's speed (as
//! `simulate --workload` converts `run_s`), plus the attempts the simulator cannot reproduce
//! (earlier attempts that failed or were lost, and for a job that resumes from a checkpoint the
//! attempts that were preempted, whose work it kept). Preempted attempts of other jobs are not
//! work: their work was lost, and the replay decides its own preemptions. A job still running
//! at the end of the history is replayed for the time it has run so far and does not count in
//! the JCT. A job that never ran (cancelled while queued, still queued) is left out and
//! counted. The spec's own `work` estimate is kept as the policy's estimate, as the service
//! had it, and never replaces what was observed.
//!
//! A job submitted before the period and still under way at its start ([`carried`]) is
//! replayed from the start for the work it did from then on (the same rules, on the part of
//! its attempts in the period): running then, it holds its accelerators from the start;
//! waiting then, it waits from the start. It arrived before the period: no JCT.

use super::history::{PastJob, Ran};
use spillway_core::machine::MachinePool;
use spillway_server::job::{AttemptOutcome, JobId, JobState};
use spillway_server::schedule::machine_job;
use spillway_sim::service::ServiceJob;
use std::collections::{BTreeMap, BTreeSet};

/// The history, ready to replay.
#[derive(Debug, Clone, Default)]
pub(crate) struct Replayable {
    /// The jobs replayed, oldest first; times in ms since the epoch, as the service had them.
    pub(crate) jobs: Vec<ServiceJob>,
    /// Ids of the replayed jobs that ended in the history (their JCT is compared).
    pub(crate) ended: BTreeSet<u64>,
    /// Jobs left out, per reason.
    pub(crate) left_out: BTreeMap<&'static str, usize>,
    /// Replayed jobs whose spec states no `work` estimate (their work is what was observed, like
    /// every replayed job's; the policy sees them as open-ended, as the service did).
    pub(crate) without_estimate: usize,
    /// Attempts on pools the configuration does not have, per pool (their work is converted at
    /// speed 1.0).
    pub(crate) unknown_pools: BTreeMap<String, usize>,
    /// For the export: each replayed job's pool of its last attempt (when the config has it).
    pub(crate) last_pool: BTreeMap<u64, String>,
    /// The earliest arrival, ms since the epoch.
    pub(crate) origin_ms: i64,
}

/// Turns the history into jobs to replay on `pools` (the live configuration's: their speeds
/// convert run time into work), with running attempts counted up to `now_ms`.
pub(crate) fn replayable(history: &[PastJob], pools: &[MachinePool], now_ms: i64) -> Replayable {
    let mut out = Replayable {
        origin_ms: history.iter().map(|j| j.submitted_ms).min().unwrap_or(0),
        ..Replayable::default()
    };
    for j in history {
        let runs: Vec<_> = j.attempts.iter().filter(|a| a.ran()).collect();
        let Some(last) = runs.last() else {
            let why = match j.state {
                JobState::Queued => "still queued at the end of the history",
                JobState::Cancelled => "cancelled before it ever ran",
                _ => "ended without ever running",
            };
            *out.left_out.entry(why).or_default() += 1;
            continue;
        };
        if j.state == JobState::Queued {
            // Preempted and waiting again when the history ends: its future is unknown.
            *out.left_out
                .entry("requeued and waiting at the end of the history")
                .or_default() += 1;
            continue;
        }
        let work_s = work(j, &runs, pools, i64::MIN, now_ms, &mut out.unknown_pools);
        if speed(pools, &last.pool).is_some() {
            out.last_pool.insert(j.id as u64, last.pool.clone());
        }
        if j.state.is_final() && j.finished_ms.is_some() {
            out.ended.insert(j.id as u64);
        }
        if j.spec.work.is_none() {
            out.without_estimate += 1;
        }
        out.jobs.push(ServiceJob {
            job: machine_job(
                JobId(j.id),
                &j.tenant,
                j.submitted_ms,
                j.deadline_ms,
                &j.spec,
                // Not the service's estimate from earlier runs: the replay knows the work.
                None,
            ),
            work_s,
        });
    }
    out
}

fn speed(pools: &[MachinePool], name: &str) -> Option<f64> {
    pools.iter().find(|p| p.name == name).map(|p| p.throughput)
}

/// The reference work of `runs` (the attempts of `j` that ran) from `from_ms` on: the last
/// attempt, and those the simulator cannot reproduce (failed or lost, and preempted ones of a
/// job that resumes), each for its run time after `from_ms` x its pool's speed.
fn work(
    j: &PastJob,
    runs: &[&Ran],
    pools: &[MachinePool],
    from_ms: i64,
    now_ms: i64,
    unknown_pools: &mut BTreeMap<String, usize>,
) -> f64 {
    let resumable = j
        .spec
        .checkpoint
        .as_ref()
        .is_some_and(|c| c.resume.is_some());
    let mut work_s = 0.0;
    for (i, a) in runs.iter().enumerate() {
        let counts = i + 1 == runs.len()
            || matches!(a.outcome, AttemptOutcome::Failed | AttemptOutcome::Lost)
            || (resumable && a.outcome == AttemptOutcome::Preempted);
        if !counts {
            continue;
        }
        let s = match speed(pools, &a.pool) {
            Some(s) => s,
            None => {
                *unknown_pools.entry(a.pool.clone()).or_default() += 1;
                1.0
            }
        };
        let end = a.ended_ms.unwrap_or(now_ms);
        work_s += (end - a.started_ms.max(from_ms)).max(0) as f64 / 1000.0 * s;
    }
    work_s
}

/// Jobs of before the period under way at its start, ready to replay from it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Carried {
    /// The jobs, with the work they did from the start of the period on.
    pub(crate) jobs: Vec<ServiceJob>,
    /// Per job: the pool and accelerators of its attempt running at the start (`None`: it
    /// waited then).
    pub(crate) running: Vec<Option<(String, u32)>>,
    /// Their ids.
    pub(crate) ids: BTreeSet<u64>,
}

/// Turns `prior` (jobs submitted before `from_ms` with an attempt that ended after it, or runs
/// still) into jobs replayed from `from_ms`, their work converted with `pools`' speeds.
pub(crate) fn carried(
    prior: &[PastJob],
    pools: &[MachinePool],
    from_ms: i64,
    now_ms: i64,
    unknown_pools: &mut BTreeMap<String, usize>,
) -> Carried {
    let mut out = Carried::default();
    for j in prior {
        let runs: Vec<&Ran> = j
            .attempts
            .iter()
            .filter(|a| a.ran() && a.ended_ms.unwrap_or(now_ms) > from_ms)
            .collect();
        if runs.is_empty() {
            continue;
        }
        let running = runs
            .first()
            .filter(|a| a.started_ms <= from_ms)
            .map(|a| (a.pool.clone(), a.chips));
        out.jobs.push(ServiceJob {
            job: machine_job(
                JobId(j.id),
                &j.tenant,
                j.submitted_ms,
                j.deadline_ms,
                &j.spec,
                // Not the service's estimate from earlier runs: the replay knows the work.
                None,
            ),
            work_s: work(j, &runs, pools, from_ms, now_ms, unknown_pools),
        });
        out.running.push(running);
        out.ids.insert(j.id as u64);
    }
    out
}
