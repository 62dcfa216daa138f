//! Durable state behind one trait, so that SQLite (embedded, the default) and Postgres
//! (several replicas, one leader) are interchangeable.
//!
//! The trait speaks in whole records: the scheduling loop owns the truth about live jobs in
//! memory and writes each change through [`Store::write`] before acting on it (a launch is
//! recorded before the process is spawned), so that a restarted server can tell what was
//! decided. Reads serve the API and recovery.

mod migrations;
mod postgres;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::job::{Attempt, Job, JobEvent, JobId, JobState};
use async_trait::async_trait;
use spillway_model::spec::JobSpec;

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// Postgres reported an error (or could not be reached).
    #[error("postgres error: {0}")]
    Postgres(String),
    /// This server no longer holds the leader lease that its writes are fenced with: another
    /// replica took over, and this one must not change anything.
    #[error(
        "write refused: this server's leader lease (token {token}) was taken over by another replica"
    )]
    Fenced {
        /// The token this server held.
        token: i64,
    },
    /// A stored record could not be decoded (a bug or a hand-edited database).
    #[error("corrupt record in {table} (id {id}): {reason}")]
    Corrupt {
        /// Table holding the record.
        table: &'static str,
        /// Its id.
        id: i64,
        /// What was wrong with it.
        reason: String,
    },
    /// The database needs a newer Spillway.
    #[error(
        "database schema version {found} is newer than this Spillway knows ({known}): upgrade spillway"
    )]
    TooNew {
        /// Version found in the database.
        found: i64,
        /// Latest version this build knows.
        known: i64,
    },
    /// An idempotency key was reused for a different job.
    #[error(
        "idempotency key '{key}' was already used for job {job} with a different spec: use a new key"
    )]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// The job it names.
        job: JobId,
    },
    /// A batch could not be committed; nothing in it was stored.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The store's writer has stopped (the server is shutting down).
    #[error("store writer stopped")]
    Closed,
    /// A database read as it is (`spillway replay --database`), not migrated, has another
    /// schema version than this build.
    #[error("database schema version {found} is not this Spillway's ({known}): {hint}")]
    OtherVersion {
        /// Version found in the database (0: not a Spillway database).
        found: i64,
        /// Latest version this build knows.
        known: i64,
        /// What to do about it.
        hint: &'static str,
    },
    /// Opening the database directory or file failed.
    #[error("cannot open database at {path}: {source}")]
    Open {
        /// The database path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// A job to store at submit.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// The tenant it belongs to.
    pub tenant: String,
    /// The validated spec.
    pub spec: JobSpec,
    /// Submit time, ms since the epoch.
    pub submitted_ms: i64,
    /// Absolute deadline.
    pub deadline_ms: Option<i64>,
    /// The client's `Idempotency-Key`, scoped to the tenant.
    pub idempotency_key: Option<String>,
}

/// What submit stored.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The job (the earlier one when the idempotency key was seen before).
    pub job: Job,
    /// False when an idempotency key matched an earlier submit.
    pub created: bool,
}

/// One change to write.
#[derive(Debug, Clone)]
// Written in small batches and dropped at once; boxing jobs would only add allocations.
#[allow(clippy::large_enum_variant)]
pub enum Write {
    /// Replace a job's mutable fields.
    Job(Job),
    /// Insert or replace an attempt.
    Attempt(Attempt),
    /// Append an event.
    Event(JobId, JobEvent),
    /// Charge an attempt on a committed pool to its contract (written with the attempt).
    Charge(ContractCharge),
}

/// An attempt charged to a contract: its accelerator time, from the attempt's start to its
/// end (or now while it runs), at the committed price it started under.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractCharge {
    /// The job.
    pub job: JobId,
    /// The attempt.
    pub attempt: u32,
    /// The contract's name.
    pub contract: String,
    /// The committed pool.
    pub pool: String,
    /// Accelerators it holds.
    pub chips: u32,
    /// The committed price of one accelerator-hour.
    pub usd_per_chip_hour: f64,
}

/// What one contract was charged for the attempts on one pool.
#[derive(Debug, Clone, PartialEq)]
pub struct ContractUsageRow {
    /// The contract.
    pub contract: String,
    /// The pool.
    pub pool: String,
    /// Accelerators the attempt held.
    pub chips: u32,
    /// Committed price per accelerator-hour when it started.
    pub usd_per_chip_hour: f64,
    /// When it started, ms since the epoch.
    pub started_ms: i64,
    /// When it ended, ms since the epoch; `now` while it runs.
    pub until_ms: i64,
}

impl ContractUsageRow {
    /// Accelerator-milliseconds.
    pub fn chip_ms(&self) -> i64 {
        i64::from(self.chips) * (self.until_ms - self.started_ms).max(0)
    }

    /// Dollars at the committed price it started under.
    pub fn committed_usd(&self) -> f64 {
        self.chip_ms() as f64 * self.usd_per_chip_hour / 3_600_000.0
    }
}

/// Which jobs to list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this tenant's.
    pub tenant: Option<String>,
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// At most this many, newest first.
    pub limit: Option<u32>,
    /// Only jobs with a smaller id (the cursor of the next page).
    pub before: Option<JobId>,
}

/// Which part of the history to read: jobs submitted in `[from_ms, to_ms)` with an id above
/// `after`, oldest first, at most `limit` (a page; pass the last id read as the next `after`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryQuery {
    /// First submit time included, ms since the epoch.
    pub from_ms: i64,
    /// First submit time excluded, ms since the epoch.
    pub to_ms: i64,
    /// Only jobs with a greater id (the cursor); `None` from the start.
    pub after: Option<JobId>,
    /// At most this many jobs.
    pub limit: u32,
}

/// Refuses a database whose schema version is not this build's, for readers that must not
/// migrate it (a replay reads a live server's store).
pub(super) fn check_version(found: i64) -> Result<(), StoreError> {
    let known = migrations::latest();
    let hint = match found {
        f if f == known => return Ok(()),
        0 => "it is not a Spillway database (no schema): check the path or URL",
        f if f < known => {
            "it was written by an older Spillway: replay it with that version, or start `spillway serve` of this version on it once to migrate it"
        }
        _ => "it was written by a newer Spillway: upgrade spillway",
    };
    Err(StoreError::OtherVersion { found, known, hint })
}

/// An attempt with the tenant of its job: what a report of a time window (the dashboard's
/// history) reads of each attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantAttempt {
    /// The tenant its job belongs to.
    pub tenant: String,
    /// The attempt (its job's id in `attempt.job`).
    pub attempt: Attempt,
}

/// Accelerator time used by one tenant on one pool.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageRow {
    /// The tenant.
    pub tenant: String,
    /// The pool.
    pub pool: String,
    /// Accelerator-milliseconds used, counting running attempts up to `now`.
    pub chip_ms: i64,
    /// Attempts counted.
    pub attempts: u64,
}

/// A tenant's successful runs of one job name: how many there were, and the latest of them
/// with the time their attempts ran. What work estimates from history are made of.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SucceededRuns {
    /// Successful jobs of the name, all of them.
    pub total: u64,
    /// The latest of them (at most the limit asked for), newest first.
    pub latest: Vec<SucceededRun>,
}

/// One successful job and its attempts that ran (refused and never-started launches left
/// out), first first.
#[derive(Debug, Clone, PartialEq)]
pub struct SucceededRun {
    /// The job.
    pub job: JobId,
    /// Its attempts; empty only in a malformed record.
    pub attempts: Vec<RanAttempt>,
}

/// An attempt that ran, as a work estimate needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RanAttempt {
    /// Its pool.
    pub pool: String,
    /// Whether it resumed from the checkpoint of the attempts before it (else it started
    /// from scratch).
    pub resumed: bool,
    /// Start, ms since the epoch.
    pub started_ms: i64,
    /// End, ms since the epoch; missing only in a malformed record.
    pub ended_ms: Option<i64>,
}

/// A row of `SUCCEEDED_RUNS_SQL`: job, then the attempt's pool, resumed (0 or 1), start and
/// end, all null for a job without an attempt that ran.
pub(super) type SucceededRunRow = (i64, Option<String>, Option<i64>, Option<i64>, Option<i64>);

/// Groups the rows of `SUCCEEDED_RUNS_SQL`, in its order, into runs.
pub(super) fn group_runs(
    total: i64,
    rows: impl IntoIterator<Item = SucceededRunRow>,
) -> SucceededRuns {
    let mut latest: Vec<SucceededRun> = Vec::new();
    for (job, pool, resumed, started, ended) in rows {
        if latest.last().is_none_or(|r| r.job.0 != job) {
            latest.push(SucceededRun {
                job: JobId(job),
                attempts: Vec::new(),
            });
        }
        if let (Some(pool), Some(started_ms)) = (pool, started) {
            let run = latest.last_mut().expect("pushed above");
            run.attempts.push(RanAttempt {
                pool,
                resumed: resumed.is_some_and(|r| r != 0),
                started_ms,
                ended_ms: ended,
            });
        }
    }
    SucceededRuns {
        total: u64::try_from(total).unwrap_or(0),
        latest,
    }
}

/// Who holds the leader lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    /// The holder's id (unique per server process).
    pub holder: String,
    /// The holder's API address, for followers to point clients at.
    pub address: String,
    /// The fencing token: grows at every change of holder.
    pub token: i64,
    /// When the lease expires unless renewed, ms since the epoch (the database's clock).
    pub expires_ms: i64,
}

/// The durable state of the service.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a new job durably (or returns the one an idempotency key already names).
    async fn submit(&self, job: NewJob) -> Result<Submitted, StoreError>;
    /// Writes changes atomically and durably.
    async fn write(&self, batch: Vec<Write>) -> Result<(), StoreError>;
    /// One job.
    async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError>;
    /// Jobs matching a filter, newest first.
    async fn jobs(&self, filter: JobFilter) -> Result<Vec<Job>, StoreError>;
    /// Every job not in a final state, oldest first, with its attempts: what recovery needs.
    async fn unfinished(&self) -> Result<Vec<(Job, Vec<Attempt>)>, StoreError>;
    /// A job's attempts, first first.
    async fn attempts(&self, id: JobId) -> Result<Vec<Attempt>, StoreError>;
    /// A job's events, oldest first.
    async fn events(&self, id: JobId) -> Result<Vec<JobEvent>, StoreError>;
    /// Accelerator time per tenant and pool.
    async fn usage(&self, now_ms: i64) -> Result<Vec<UsageRow>, StoreError>;
    /// The attempts that ran on `pool` (every outcome but not started and no capacity), in
    /// the order they started: what the rented time of a pool rented by VMs is made of.
    async fn attempts_on(&self, pool: &str) -> Result<Vec<Attempt>, StoreError>;
    /// Every attempt that overlaps the window `[from_ms, to_ms)`, whatever its outcome: started
    /// before `to_ms`, and still running or ended after `from_ms`; each with its job's tenant,
    /// in the order they started (then by job and number). Read through an index on the
    /// attempts' end, so that its cost is that of the window's attempts and the running ones,
    /// not of the whole history.
    async fn attempts_overlapping(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<TenantAttempt>, StoreError>;
    /// What each contract was charged, per pool, counting running attempts up to `now_ms`.
    async fn contract_usage(&self, now_ms: i64) -> Result<Vec<ContractUsageRow>, StoreError>;
    /// One page of the history: the jobs a query selects, oldest first, each with its
    /// attempts (first first). What `spillway replay` replays.
    async fn history(&self, query: HistoryQuery) -> Result<Vec<(Job, Vec<Attempt>)>, StoreError>;
    /// A tenant's successful jobs named `name`: how many, and the latest `limit` of them with
    /// the attempts that ran (what a work estimate from history needs).
    async fn succeeded_runs(
        &self,
        tenant: &str,
        name: &str,
        limit: u32,
    ) -> Result<SucceededRuns, StoreError>;
    /// Ids of the jobs stored as queued, oldest first: how a leader finds the jobs that
    /// other replicas accepted.
    async fn queued_ids(&self) -> Result<Vec<JobId>, StoreError>;

    /// Whether several servers may share this store, so that one must lead (hold the lease)
    /// and the others follow. False for SQLite: its file belongs to one server.
    fn shared(&self) -> bool {
        false
    }
    /// Takes the leader lease for `holder` when it is free or expired, or renews it when
    /// `holder` holds it; returns who holds it afterwards. Once `holder` holds it, every
    /// [`Store::write`] checks its token in the same transaction and fails with
    /// [`StoreError::Fenced`] after another holder took over. A store that is not
    /// [`Store::shared`] always answers that `holder` holds it.
    async fn lease(
        &self,
        holder: &str,
        address: &str,
        ttl_ms: i64,
    ) -> Result<LeaseHolder, StoreError> {
        let _ = ttl_ms;
        Ok(LeaseHolder {
            holder: holder.to_string(),
            address: address.to_string(),
            token: 0,
            expires_ms: i64::MAX,
        })
    }
}

#[cfg(test)]
mod tests;
