//! Decoding rows of the Postgres schema (64-bit integers throughout) into records.

use crate::job::{Attempt, AttemptOutcome, Job, JobId, JobState};
use crate::store::StoreError;
use std::str::FromStr;
use tokio_postgres::Row;

pub(super) const JOB_COLUMNS: &str = "id, tenant, state, spec, submitted_ms, deadline_ms, attempts, restarts, exit_code, message, finished_ms, preemptions";

/// A stored count or code out of its Rust type's range: only a hand-edited database has one.
fn narrow<T: TryFrom<i64>>(
    table: &'static str,
    id: i64,
    column: &str,
    v: i64,
) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| StoreError::Corrupt {
        table,
        id,
        reason: format!("{column} {v} is out of range"),
    })
}

pub(super) fn job_from_row(r: &Row) -> Result<Job, StoreError> {
    let id: i64 = r.try_get(0)?;
    let corrupt = |reason: String| StoreError::Corrupt {
        table: "jobs",
        id,
        reason,
    };
    let state = JobState::from_str(r.try_get(2)?).map_err(corrupt)?;
    let spec = serde_json::from_str(r.try_get(3)?).map_err(|e| corrupt(format!("spec: {e}")))?;
    let exit_code: Option<i64> = r.try_get(8)?;
    Ok(Job {
        id: JobId(id),
        tenant: r.try_get(1)?,
        state,
        spec,
        submitted_ms: r.try_get(4)?,
        deadline_ms: r.try_get(5)?,
        attempts: narrow("jobs", id, "attempts", r.try_get(6)?)?,
        restarts: narrow("jobs", id, "restarts", r.try_get(7)?)?,
        exit_code: exit_code
            .map(|c| narrow("jobs", id, "exit_code", c))
            .transpose()?,
        message: r.try_get(9)?,
        finished_ms: r.try_get(10)?,
        preemptions: narrow("jobs", id, "preemptions", r.try_get(11)?)?,
    })
}

pub(super) fn attempt_from_row(r: &Row) -> Result<Attempt, StoreError> {
    let job: i64 = r.try_get(0)?;
    let corrupt = |reason: String| StoreError::Corrupt {
        table: "attempts",
        id: job,
        reason,
    };
    let outcome: &str = r.try_get(9)?;
    let outcome = AttemptOutcome::parse(outcome)
        .ok_or_else(|| corrupt(format!("unknown outcome '{outcome}'")))?;
    let accelerators =
        serde_json::from_str(r.try_get(3)?).map_err(|e| corrupt(format!("accelerators: {e}")))?;
    let pid: Option<i64> = r.try_get(5)?;
    let pid_start: Option<i64> = r.try_get(6)?;
    let exit_code: Option<i64> = r.try_get(10)?;
    let resumed: i64 = r.try_get(4)?;
    Ok(Attempt {
        job: JobId(job),
        number: narrow("attempts", job, "number", r.try_get(1)?)?,
        pool: r.try_get(2)?,
        accelerators,
        resumed: resumed != 0,
        pid: pid.map(|p| narrow("attempts", job, "pid", p)).transpose()?,
        pid_start: pid_start.map(|s| s as u64),
        started_ms: r.try_get(7)?,
        ended_ms: r.try_get(8)?,
        outcome,
        exit_code: exit_code
            .map(|c| narrow("attempts", job, "exit_code", c))
            .transpose()?,
        external_id: r.try_get(11)?,
    })
}
