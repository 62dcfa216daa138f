//! Failover: a launch refused for lack of capacity (`ExecError::NoCapacity`, from a cloud API
//! or an injected stockout) is reported to the decision core's machine, whose failover memory which blocks
//! the pool's zone, region or provider (by the kind of failure) for every job and fades with
//! `[scheduler] failover_half_life_s`; the job is queued again, no restart used, and the next
//! round (run at once) places it on its next pool, skipping what the memory blocks.

use super::reactor::{Reactor, event};
use crate::job::{AttemptOutcome, JobId, now_ms};
use crate::schedule::{Event, core_id};
use crate::store::Write;
use spillway_core::SimTime;
use spillway_core::econ::FailureKind;

impl Reactor {
    /// A launch refused for lack of capacity: the failover memory blocks the pool's zone,
    /// region or provider (by the kind of failure) for every job, and the job is queued again,
    /// no restart used, for its next pool.
    pub(super) fn refused(
        &mut self,
        id: JobId,
        pool: usize,
        kind: spillway_core::econ::FailureKind,
        detail: &str,
    ) -> Vec<Write> {
        let now = now_ms();
        self.machine.handle(
            now,
            Event::LaunchRefused {
                job: core_id(id),
                kind,
            },
        );
        let p = &self.config.pools[pool];
        let at = SimTime(now.saturating_mul(1000));
        let kind_name = failure_name(kind);
        self.metrics.launch_failed(&p.name, kind_name);
        let memory = self.machine.failover();
        let blocked = match memory.blocked_until(p.location.memory_key(), at) {
            Some((scope, until)) => format!(
                "{scope} blocked for every job until {} ({} s; blocks fade with a half-life of {} s)",
                utc(until.0 / 1000),
                ((until.0 - at.0).max(0) as u64).div_ceil(1_000_000),
                memory.half_life_s()
            ),
            None => "nothing blocked".to_string(),
        };
        let pool_name = p.name.clone();
        let number = self
            .jobs
            .get(&id)
            .and_then(|l| l.attempt.as_ref())
            .map(|a| a.number);
        let mut writes = self.finish(
            id,
            AttemptOutcome::NoCapacity,
            None,
            Some(format!(
                "launch on pool {pool_name} failed for lack of capacity ({kind_name}): {detail}"
            )),
        );
        writes.push(Write::Event(
            id,
            event(
                "blocked",
                format!(
                    "{blocked}: the job goes on to its next pool{}",
                    number.map_or(String::new(), |n| format!(" (attempt {n} refused)"))
                ),
            ),
        ));
        writes
    }
}

/// The config's name of a kind of capacity failure.
fn failure_name(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::ZoneCapacity => "zone",
        FailureKind::RegionQuota => "region",
        FailureKind::Provider => "provider",
    }
}

/// Milliseconds since the epoch as an RFC 3339 UTC time, for event messages.
fn utc(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| format!("{ms} ms"), |t| t.to_string())
}
