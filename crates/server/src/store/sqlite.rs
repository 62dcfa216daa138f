//! The embedded store: one SQLite file in WAL mode.
//!
//! All writes go through one writer thread that commits whatever has queued up in a single
//! transaction (group commit): each submit is durable (`synchronous = FULL`) before it is
//! answered, yet a burst of submits costs one fsync, not one each. Reads use their own
//! connection, which WAL lets run beside the writer.

use super::migrations::{
    ATTEMPT_COLUMNS, ATTEMPTS_ON_WHERE, CONTRACT_USAGE_SQL, OVERLAPPING_TENANT_COLUMN,
    SUCCEEDED_COUNT_SQL, SUCCEEDED_RUNS_SQL, attempts_overlapping_sql, migrate,
};
use super::{
    ContractUsageRow, HistoryQuery, JobFilter, NewJob, Store, StoreError, Submitted, SucceededRuns,
    TenantAttempt, UsageRow, Write, check_version, group_runs,
};
use crate::job::{Attempt, AttemptOutcome, Job, JobEvent, JobId, JobState};
use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 1024;

// Short-lived queue entries: boxing would add an allocation per submit for no gain.
#[allow(clippy::large_enum_variant)]
enum Op {
    Submit(NewJob, oneshot::Sender<Result<Submitted, StoreError>>),
    Write(Vec<Write>, oneshot::Sender<Result<(), StoreError>>),
}

/// SQLite-backed [`Store`].
pub struct SqliteStore {
    /// Queue to the writer thread.
    writer: mpsc::Sender<Op>,
    /// The read connection (reads are short; one at a time is plenty on a small machine).
    reader: Arc<Mutex<Connection>>,
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        }
        let mut write_conn = open(path)?;
        migrate(&mut write_conn)?;
        let reader = open(path)?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("spillway-store-writer".into())
            .spawn(move || writer_loop(write_conn, rx))
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        Ok(SqliteStore {
            writer: tx,
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    /// Opens an existing database for reading only (`spillway replay --database`): nothing is
    /// created or migrated, and a database of another schema version is refused, so that a
    /// replay never changes a live server's store. Its writes fail with [`StoreError::Closed`].
    pub fn open_read_only(path: &Path) -> Result<SqliteStore, StoreError> {
        if !path.is_file() {
            return Err(StoreError::Open {
                path: path.display().to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such database file (the server keeps it at <data dir>/spillway.sqlite)",
                ),
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        check_version(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)?;
        // No writer: the receiver is dropped, so every write answers `Closed`.
        let (writer, _) = mpsc::channel();
        Ok(SqliteStore {
            writer,
            reader: Arc::new(Mutex::new(conn)),
        })
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        })
        .await
        .map_err(|_| StoreError::Closed)?
    }
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Op>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, batch);
    }
}

/// Commits a batch in one transaction; each operation runs in its own savepoint so that one
/// failing operation does not undo the others.
fn commit_batch(conn: &mut Connection, batch: Vec<Op>) {
    #[allow(clippy::large_enum_variant)]
    enum Reply {
        Submit(
            oneshot::Sender<Result<Submitted, StoreError>>,
            Result<Submitted, StoreError>,
        ),
        Write(
            oneshot::Sender<Result<(), StoreError>>,
            Result<(), StoreError>,
        ),
    }
    let mut replies = Vec::with_capacity(batch.len());
    let outcome = (|| -> Result<(), rusqlite::Error> {
        let mut tx = conn.transaction()?;
        for op in batch {
            let mut sp = tx.savepoint()?;
            match op {
                Op::Submit(job, reply) => {
                    let r = insert_job(&sp, job);
                    if r.is_ok() {
                        sp.commit()?;
                    } else {
                        sp.rollback()?;
                    }
                    replies.push(Reply::Submit(reply, r));
                }
                Op::Write(writes, reply) => {
                    let r = apply_writes(&sp, &writes);
                    if r.is_ok() {
                        sp.commit()?;
                    } else {
                        sp.rollback()?;
                    }
                    replies.push(Reply::Write(reply, r));
                }
            }
        }
        tx.commit()
    })();
    for reply in replies {
        match (reply, &outcome) {
            (Reply::Submit(tx, r), Ok(())) => drop(tx.send(r)),
            (Reply::Write(tx, r), Ok(())) => drop(tx.send(r)),
            (Reply::Submit(tx, _), Err(e)) => drop(tx.send(Err(clone_err(e)))),
            (Reply::Write(tx, _), Err(e)) => drop(tx.send(Err(clone_err(e)))),
        }
    }
}

fn clone_err(e: &rusqlite::Error) -> StoreError {
    StoreError::Commit(e.to_string())
}

fn insert_job(conn: &Connection, job: NewJob) -> Result<Submitted, StoreError> {
    if let Some(key) = &job.idempotency_key {
        let existing: Option<i64> = conn
            .prepare_cached("SELECT job_id FROM idempotency WHERE tenant = ?1 AND key = ?2")?
            .query_row(params![job.tenant, key], |r| r.get(0))
            .optional()?;
        if let Some(id) = existing {
            let stored = load_job(conn, JobId(id))?.ok_or(StoreError::Corrupt {
                table: "idempotency",
                id,
                reason: "names a job that does not exist".into(),
            })?;
            if stored.spec != job.spec {
                return Err(StoreError::IdempotencyConflict {
                    key: key.clone(),
                    job: stored.id,
                });
            }
            return Ok(Submitted {
                job: stored,
                created: false,
            });
        }
    }
    let spec_json = serde_json::to_string(&job.spec).expect("specs serialize");
    let message = "queued".to_string();
    conn.prepare_cached(
        "INSERT INTO jobs (tenant, name, state, priority, spec, submitted_ms, deadline_ms, message)
         VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        job.tenant,
        job.spec.name,
        job.spec.priority,
        spec_json,
        job.submitted_ms,
        job.deadline_ms,
        message
    ])?;
    let id = JobId(conn.last_insert_rowid());
    if let Some(key) = &job.idempotency_key {
        conn.prepare_cached("INSERT INTO idempotency (tenant, key, job_id) VALUES (?1, ?2, ?3)")?
            .execute(params![job.tenant, key, id.0])?;
    }
    conn.prepare_cached(
        "INSERT INTO events (job_id, at_ms, kind, message) VALUES (?1, ?2, 'submitted', ?3)",
    )?
    .execute(params![
        id.0,
        job.submitted_ms,
        format!("submitted by tenant {}", job.tenant)
    ])?;
    Ok(Submitted {
        job: Job {
            id,
            tenant: job.tenant,
            spec: job.spec,
            state: JobState::Queued,
            submitted_ms: job.submitted_ms,
            deadline_ms: job.deadline_ms,
            attempts: 0,
            restarts: 0,
            preemptions: 0,
            exit_code: None,
            message,
            finished_ms: None,
        },
        created: true,
    })
}

fn apply_writes(conn: &Connection, writes: &[Write]) -> Result<(), StoreError> {
    for w in writes {
        match w {
            Write::Job(j) => {
                conn.prepare_cached(
                    "UPDATE jobs SET state = ?2, attempts = ?3, restarts = ?4, exit_code = ?5,
                     message = ?6, finished_ms = ?7, preemptions = ?8 WHERE id = ?1",
                )?
                .execute(params![
                    j.id.0,
                    j.state.as_str(),
                    j.attempts,
                    j.restarts,
                    j.exit_code,
                    j.message,
                    j.finished_ms,
                    j.preemptions
                ])?;
            }
            Write::Attempt(a) => {
                let accs = serde_json::to_string(&a.accelerators).expect("indices serialize");
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO attempts (job_id, number, pool, accelerators, resumed,
                     pid, pid_start, started_ms, ended_ms, outcome, exit_code, external_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                )?
                .execute(params![
                    a.job.0,
                    a.number,
                    a.pool,
                    accs,
                    a.resumed,
                    a.pid,
                    a.pid_start.map(|s| s as i64),
                    a.started_ms,
                    a.ended_ms,
                    a.outcome.as_str(),
                    a.exit_code,
                    a.external_id
                ])?;
            }
            Write::Event(id, e) => {
                conn.prepare_cached(
                    "INSERT INTO events (job_id, at_ms, kind, message) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![id.0, e.at_ms, e.kind, e.message])?;
            }
            Write::Charge(c) => {
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO contract_charges (job_id, number, contract, pool, chips,
                     usd_per_chip_hour) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    c.job.0,
                    c.attempt,
                    c.contract,
                    c.pool,
                    c.chips,
                    c.usd_per_chip_hour
                ])?;
            }
        }
    }
    Ok(())
}

const JOB_COLUMNS: &str = "id, tenant, state, spec, submitted_ms, deadline_ms, attempts, restarts, exit_code, message, finished_ms, preemptions";

fn job_from_row(r: &Row<'_>) -> rusqlite::Result<Result<Job, StoreError>> {
    let id: i64 = r.get(0)?;
    let state: String = r.get(2)?;
    let spec: String = r.get(3)?;
    let corrupt = |reason: String| StoreError::Corrupt {
        table: "jobs",
        id,
        reason,
    };
    let state = match JobState::from_str(&state) {
        Ok(s) => s,
        Err(e) => return Ok(Err(corrupt(e))),
    };
    let spec = match serde_json::from_str(&spec) {
        Ok(s) => s,
        Err(e) => return Ok(Err(corrupt(format!("spec: {e}")))),
    };
    Ok(Ok(Job {
        id: JobId(id),
        tenant: r.get(1)?,
        state,
        spec,
        submitted_ms: r.get(4)?,
        deadline_ms: r.get(5)?,
        attempts: r.get(6)?,
        restarts: r.get(7)?,
        exit_code: r.get(8)?,
        message: r.get(9)?,
        finished_ms: r.get(10)?,
        preemptions: r.get(11)?,
    }))
}

fn load_job(conn: &Connection, id: JobId) -> Result<Option<Job>, StoreError> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
    match conn
        .prepare_cached(&sql)?
        .query_row([id.0], job_from_row)
        .optional()?
    {
        Some(r) => r.map(Some),
        None => Ok(None),
    }
}

fn attempt_from_row(r: &Row<'_>) -> rusqlite::Result<Result<Attempt, StoreError>> {
    let job: i64 = r.get(0)?;
    let accs: String = r.get(3)?;
    let outcome: String = r.get(9)?;
    let corrupt = |reason: String| StoreError::Corrupt {
        table: "attempts",
        id: job,
        reason,
    };
    let Some(outcome) = AttemptOutcome::parse(&outcome) else {
        return Ok(Err(corrupt(format!("unknown outcome '{outcome}'"))));
    };
    let accelerators = match serde_json::from_str(&accs) {
        Ok(a) => a,
        Err(e) => return Ok(Err(corrupt(format!("accelerators: {e}")))),
    };
    Ok(Ok(Attempt {
        job: JobId(job),
        number: r.get(1)?,
        pool: r.get(2)?,
        accelerators,
        resumed: r.get(4)?,
        pid: r.get(5)?,
        pid_start: r.get::<_, Option<i64>>(6)?.map(|s| s as u64),
        started_ms: r.get(7)?,
        ended_ms: r.get(8)?,
        outcome,
        exit_code: r.get(10)?,
        external_id: r.get(11)?,
    }))
}

fn load_attempts(conn: &Connection, id: JobId) -> Result<Vec<Attempt>, StoreError> {
    let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE job_id = ?1 ORDER BY number");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([id.0], attempt_from_row)?;
    rows.map(|r| r?).collect()
}

#[async_trait]
impl Store for SqliteStore {
    async fn submit(&self, job: NewJob) -> Result<Submitted, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.writer
            .send(Op::Submit(job, tx))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn write(&self, batch: Vec<Write>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        self.writer
            .send(Op::Write(batch, tx))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        self.read(move |c| load_job(c, id)).await
    }

    async fn jobs(&self, filter: JobFilter) -> Result<Vec<Job>, StoreError> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR tenant = ?1)
                 AND (?2 IS NULL OR state = ?2) AND (?4 IS NULL OR id < ?4)
                 ORDER BY id DESC LIMIT ?3"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let limit = filter.limit.map_or(-1, i64::from);
            let before = filter.before.map(|id| id.0);
            let rows = stmt.query_map(
                params![
                    filter.tenant,
                    filter.state.map(JobState::as_str),
                    limit,
                    before
                ],
                job_from_row,
            )?;
            rows.map(|r| r?).collect()
        })
        .await
    }

    async fn unfinished(&self) -> Result<Vec<(Job, Vec<Attempt>)>, StoreError> {
        self.read(|c| {
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('queued', 'running') ORDER BY id"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let jobs: Vec<Job> = stmt
                .query_map([], job_from_row)?
                .map(|r| r?)
                .collect::<Result<_, StoreError>>()?;
            let mut out = Vec::with_capacity(jobs.len());
            for job in jobs {
                let attempts = load_attempts(c, job.id)?;
                out.push((job, attempts));
            }
            Ok(out)
        })
        .await
    }

    async fn attempts(&self, id: JobId) -> Result<Vec<Attempt>, StoreError> {
        self.read(move |c| load_attempts(c, id)).await
    }

    async fn history(&self, q: HistoryQuery) -> Result<Vec<(Job, Vec<Attempt>)>, StoreError> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE submitted_ms >= ?1 AND submitted_ms < ?2
                 AND id > ?3 ORDER BY id LIMIT ?4"
            );
            let mut stmt = c.prepare_cached(&sql)?;
            let after = q.after.map_or(0, |a| a.0);
            let jobs: Vec<Job> = stmt
                .query_map(
                    params![q.from_ms, q.to_ms, after, i64::from(q.limit)],
                    job_from_row,
                )?
                .map(|r| r?)
                .collect::<Result<_, StoreError>>()?;
            let mut out = Vec::with_capacity(jobs.len());
            for job in jobs {
                let attempts = load_attempts(c, job.id)?;
                out.push((job, attempts));
            }
            Ok(out)
        })
        .await
    }

    async fn events(&self, id: JobId) -> Result<Vec<JobEvent>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT at_ms, kind, message FROM events WHERE job_id = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([id.0], |r| {
                Ok(JobEvent {
                    at_ms: r.get(0)?,
                    kind: r.get(1)?,
                    message: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn succeeded_runs(
        &self,
        tenant: &str,
        name: &str,
        limit: u32,
    ) -> Result<SucceededRuns, StoreError> {
        let (tenant, name) = (tenant.to_string(), name.to_string());
        self.read(move |c| {
            let total: i64 = c
                .prepare_cached(SUCCEEDED_COUNT_SQL)?
                .query_row(params![tenant, name], |r| r.get(0))?;
            let mut stmt = c.prepare_cached(SUCCEEDED_RUNS_SQL)?;
            let rows = stmt
                .query_map(params![tenant, name, i64::from(limit)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(group_runs(total, rows))
        })
        .await
    }

    async fn queued_ids(&self) -> Result<Vec<JobId>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok(JobId(r.get(0)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn attempts_on(&self, pool: &str) -> Result<Vec<Attempt>, StoreError> {
        let pool = pool.to_string();
        self.read(move |c| {
            let sql = format!("SELECT {ATTEMPT_COLUMNS} FROM attempts {ATTEMPTS_ON_WHERE}");
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map([pool], attempt_from_row)?;
            rows.map(|r| r?).collect()
        })
        .await
    }

    async fn attempts_overlapping(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<TenantAttempt>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&attempts_overlapping_sql())?;
            let rows = stmt.query_map([from_ms, to_ms], |r| {
                let tenant: String = r.get(OVERLAPPING_TENANT_COLUMN)?;
                Ok(attempt_from_row(r)?.map(|attempt| TenantAttempt { tenant, attempt }))
            })?;
            rows.map(|r| r?).collect()
        })
        .await
    }

    async fn usage(&self, now_ms: i64) -> Result<Vec<UsageRow>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT j.tenant, a.pool,
                        SUM((COALESCE(a.ended_ms, ?1) - a.started_ms) * json_array_length(a.accelerators)),
                        COUNT(*)
                 FROM attempts a JOIN jobs j ON j.id = a.job_id
                 WHERE a.outcome NOT IN ('notstarted', 'nocapacity')
                 GROUP BY j.tenant, a.pool ORDER BY j.tenant, a.pool",
            )?;
            let rows = stmt.query_map([now_ms], |r| {
                Ok(UsageRow {
                    tenant: r.get(0)?,
                    pool: r.get(1)?,
                    chip_ms: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                    attempts: r.get::<_, i64>(3)? as u64,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn contract_usage(&self, now_ms: i64) -> Result<Vec<ContractUsageRow>, StoreError> {
        self.read(move |c| {
            let mut stmt = c.prepare_cached(CONTRACT_USAGE_SQL)?;
            let rows = stmt.query_map([now_ms], |r| {
                Ok(ContractUsageRow {
                    contract: r.get(0)?,
                    pool: r.get(1)?,
                    chips: r.get::<_, i64>(2)? as u32,
                    usd_per_chip_hour: r.get(3)?,
                    started_ms: r.get(4)?,
                    until_ms: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    //! What only the SQLite store has: a file that outlives the process. The behaviour both
    //! stores share is tested in `store::tests` against each.

    use super::*;
    use spillway_model::spec::{AcceleratorNames, parse_spec};

    #[tokio::test]
    async fn jobs_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let spec = parse_spec("run: echo a\n", &AcceleratorNames::new(["H100"]))
            .unwrap()
            .spec;
        let job = NewJob {
            tenant: "t1".into(),
            spec,
            submitted_ms: 1000,
            deadline_ms: None,
            idempotency_key: None,
        };
        let first = SqliteStore::open(&path)
            .unwrap()
            .submit(job)
            .await
            .unwrap()
            .job;
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.job(first.id).await.unwrap().unwrap(), first);
    }

    /// The history's read of a window goes through the index on the attempts' end, not a scan
    /// of every attempt. SQLite plans without statistics: an index on the attempts' start
    /// would win over it here, and read nearly all of history.
    #[test]
    fn attempts_overlapping_a_window_are_read_through_the_index_on_their_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let conn = store.reader.lock().unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {}", attempts_overlapping_sql());
        let mut stmt = conn.prepare(&sql).unwrap();
        let plan: Vec<String> = stmt
            .query_map([0, 1], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let on_attempts: Vec<&String> = plan.iter().filter(|l| l.contains("attempts ")).collect();
        assert!(
            !on_attempts.is_empty()
                && on_attempts
                    .iter()
                    .all(|l| l.contains("USING INDEX attempts_by_end")),
            "{plan:?}"
        );
    }
}
