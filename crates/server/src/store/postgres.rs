//! The shared store: PostgreSQL, for several `serve` replicas (one leader) or a database the
//! organization already runs.
//!
//! Like the SQLite store, all writes go through one writer task that commits whatever has
//! queued up in one transaction (group commit), so a submit is durable before it is answered
//! and a burst of submits costs one commit. A batch runs optimistically as one transaction;
//! if the database rejects any statement the batch is rolled back and each operation is
//! retried in its own transaction, so one bad operation fails alone. Reads use their own
//! connections, and the leader lease its own, so that renewing it never waits behind a batch.
//!
//! Connections are plain TCP without TLS (loopback or a private network); the URL is any
//! `postgres://` URL or key-value string `tokio-postgres` accepts, e.g. with
//! `?options=-c%20search_path%3Dmyschema` to keep the tables in a schema of their own.

mod lease;
mod rows;
#[cfg(test)]
pub(crate) mod testing;

use super::migrations::{MIGRATIONS, latest, postgres_sql};
use super::{JobFilter, LeaseHolder, NewJob, Store, StoreError, Submitted, UsageRow, Write};
use crate::job::{Attempt, Job, JobEvent, JobId, JobState};
use async_trait::async_trait;
use rows::{ATTEMPT_COLUMNS, JOB_COLUMNS, attempt_from_row, job_from_row};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, GenericClient, NoTls, Statement};

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 1024;
/// Read connections (each pipelines concurrent queries).
const READERS: usize = 2;
/// Key of the advisory lock that serializes migrations of replicas starting together.
const MIGRATION_LOCK: i64 = 0x5350_494c_4c57_4159; // "SPILLWAY"

/// The fence of this store's writes: no lease taken yet (a lone server or a test), the token
/// of the lease held, or lost.
const UNFENCED: i64 = 0;
const LOST: i64 = -1;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        match e.as_db_error() {
            Some(db) => StoreError::Postgres(format!(
                "{}: {}{}",
                db.severity(),
                db.message(),
                db.detail().map(|d| format!(" ({d})")).unwrap_or_default()
            )),
            None => StoreError::Postgres(e.to_string()),
        }
    }
}

// Short-lived queue entries: boxing would add an allocation per submit for no gain.
#[allow(clippy::large_enum_variant)]
enum Op {
    Submit(NewJob),
    Write(Vec<Write>),
}

#[allow(clippy::large_enum_variant)]
enum Reply {
    Submit(oneshot::Sender<Result<Submitted, StoreError>>),
    Write(oneshot::Sender<Result<(), StoreError>>),
}

#[allow(clippy::large_enum_variant)]
enum Done {
    Submit(Result<Submitted, StoreError>),
    Write(Result<(), StoreError>),
}

/// A connection that is opened again when the server closed it.
struct Conn {
    config: tokio_postgres::Config,
    client: tokio::sync::Mutex<Option<Arc<Client>>>,
}

impl Conn {
    fn new(config: tokio_postgres::Config, client: Client) -> Conn {
        Conn {
            config,
            client: tokio::sync::Mutex::new(Some(Arc::new(client))),
        }
    }

    async fn get(&self) -> Result<Arc<Client>, StoreError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let c = Arc::new(connect(&self.config).await?);
        *slot = Some(c.clone());
        Ok(c)
    }
}

async fn connect(config: &tokio_postgres::Config) -> Result<Client, StoreError> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres connection closed");
        }
    });
    Ok(client)
}

/// PostgreSQL-backed [`Store`].
pub struct PostgresStore {
    writer: mpsc::UnboundedSender<(Op, Reply)>,
    readers: Vec<Conn>,
    next_reader: AtomicUsize,
    lease_conn: Conn,
    /// [`UNFENCED`], the lease token held, or [`LOST`]; read by the writer for every batch.
    fence: Arc<AtomicI64>,
}

impl PostgresStore {
    /// Connects to `url`, migrates the schema and starts the writer.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        let config = parse(url)?;
        let mut writer = connect(&config).await?;
        migrate(&mut writer).await?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(Conn::new(config.clone(), connect(&config).await?));
        }
        let lease_conn = Conn::new(config.clone(), connect(&config).await?);
        let fence = Arc::new(AtomicI64::new(UNFENCED));
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(writer_loop(config, writer, rx, fence.clone()));
        Ok(PostgresStore {
            writer: tx,
            readers,
            next_reader: AtomicUsize::new(0),
            lease_conn,
            fence,
        })
    }

    /// Creates `schema` in the database at `url` and returns a URL whose tables live there
    /// (for benchmarks and tests that need a database of their own).
    pub async fn create_schema(url: &str, schema: &str) -> Result<String, StoreError> {
        check_schema_name(schema)?;
        let client = connect(&parse(url)?).await?;
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await?;
        let sep = if url.contains('?') { '&' } else { '?' };
        Ok(format!("{url}{sep}options=-c%20search_path%3D{schema}"))
    }

    /// Drops `schema` and everything in it.
    pub async fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        check_schema_name(schema)?;
        let client = connect(&parse(url)?).await?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await?;
        Ok(())
    }

    async fn reader(&self) -> Result<Arc<Client>, StoreError> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].get().await
    }
}

fn parse(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    tokio_postgres::Config::from_str(url).map_err(|e| {
        StoreError::Postgres(format!(
            "invalid database URL: {e}; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE"
        ))
    })
}

/// Schema names are put into SQL text: only lowercase letters, digits and `_` are allowed.
fn check_schema_name(schema: &str) -> Result<(), StoreError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Postgres(format!(
            "invalid schema name '{schema}': use lowercase letters, digits and '_'"
        )))
    }
}

/// Brings the schema up to date in one transaction, under an advisory lock so that replicas
/// starting together migrate once.
async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS spillway_schema (version BIGINT NOT NULL)")
        .await?;
    let current: i64 = match tx
        .query_opt("SELECT version FROM spillway_schema", &[])
        .await?
    {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO spillway_schema (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    let known = latest();
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch_execute(&postgres_sql(sql)).await?;
        tx.execute(
            "UPDATE spillway_schema SET version = $1",
            &[&(i as i64 + 1)],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The writer's prepared statements (per connection).
struct Statements {
    find_key: Statement,
    insert_job: Statement,
    update_job: Statement,
    upsert_attempt: Statement,
    insert_event: Statement,
    fence: Statement,
}

impl Statements {
    async fn prepare(c: &Client) -> Result<Statements, StoreError> {
        Ok(Statements {
            find_key: c
                .prepare("SELECT job_id FROM idempotency WHERE tenant = $1 AND key = $2")
                .await?,
            // One round trip per submit: the job, its first event and its key together.
            insert_job: c
                .prepare(
                    "WITH j AS (INSERT INTO jobs (tenant, name, state, priority, spec, submitted_ms, deadline_ms, message)
                                VALUES ($1, $2, 'queued', $3, $4, $5, $6, 'queued') RETURNING id),
                          e AS (INSERT INTO events (job_id, at_ms, kind, message)
                                SELECT id, $5, 'submitted', $7 FROM j),
                          k AS (INSERT INTO idempotency (tenant, key, job_id)
                                SELECT $1, $8, id FROM j WHERE $8::text IS NOT NULL)
                     SELECT id FROM j",
                )
                .await?,
            update_job: c
                .prepare(
                    "UPDATE jobs SET state = $2, attempts = $3, restarts = $4, exit_code = $5,
                     message = $6, finished_ms = $7 WHERE id = $1",
                )
                .await?,
            upsert_attempt: c
                .prepare(
                    "INSERT INTO attempts (job_id, number, pool, accelerators, resumed, pid, pid_start,
                     started_ms, ended_ms, outcome, exit_code, external_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                     ON CONFLICT (job_id, number) DO UPDATE SET pool = EXCLUDED.pool,
                     accelerators = EXCLUDED.accelerators, resumed = EXCLUDED.resumed,
                     pid = EXCLUDED.pid, pid_start = EXCLUDED.pid_start,
                     started_ms = EXCLUDED.started_ms, ended_ms = EXCLUDED.ended_ms,
                     outcome = EXCLUDED.outcome, exit_code = EXCLUDED.exit_code,
                     external_id = EXCLUDED.external_id",
                )
                .await?,
            insert_event: c
                .prepare("INSERT INTO events (job_id, at_ms, kind, message) VALUES ($1, $2, $3, $4)")
                .await?,
            // FOR SHARE: a takeover (which updates the row) waits until this batch commits, so
            // a batch either commits before the new leader's recovery reads, or is refused.
            fence: c
                .prepare("SELECT token FROM leader_lease WHERE name = 'leader' FOR SHARE")
                .await?,
        })
    }
}

async fn writer_loop(
    config: tokio_postgres::Config,
    client: Client,
    mut rx: mpsc::UnboundedReceiver<(Op, Reply)>,
    fence: Arc<AtomicI64>,
) {
    let mut conn = Some(client);
    let mut stmts: Option<Statements> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let (ops, replies): (Vec<Op>, Vec<Reply>) = batch.into_iter().unzip();
        // (Re)connect and prepare; on failure every operation of the batch fails.
        if conn.as_ref().is_none_or(Client::is_closed) {
            stmts = None;
            match connect(&config).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    conn = None;
                    fail_all(replies, &e);
                    continue;
                }
            }
        }
        let Some(client) = conn.as_mut() else {
            continue;
        };
        if stmts.is_none() {
            match Statements::prepare(client).await {
                Ok(s) => stmts = Some(s),
                Err(e) => {
                    fail_all(replies, &e);
                    continue;
                }
            }
        }
        let s = stmts.as_ref().expect("prepared above");
        let token = fence.load(Ordering::SeqCst);
        let done = match run_batch(client, s, token, &ops).await {
            Ok(done) => done,
            Err(_) => {
                // Some statement failed and aborted the transaction: retry each operation
                // alone so that only the one at fault fails.
                let mut done = Vec::with_capacity(ops.len());
                for op in &ops {
                    done.push(
                        match run_batch(client, s, token, std::slice::from_ref(op)).await {
                            Ok(mut d) => d.pop().expect("one result per operation"),
                            Err(e) => match op {
                                Op::Submit(_) => Done::Submit(Err(e)),
                                Op::Write(_) => Done::Write(Err(e)),
                            },
                        },
                    );
                }
                done
            }
        };
        for (reply, done) in replies.into_iter().zip(done) {
            match (reply, done) {
                (Reply::Submit(tx), Done::Submit(r)) => drop(tx.send(r)),
                (Reply::Write(tx), Done::Write(r)) => drop(tx.send(r)),
                _ => unreachable!("results follow the operations"),
            }
        }
    }
}

fn fail_all(replies: Vec<Reply>, e: &StoreError) {
    for reply in replies {
        let err = StoreError::Commit(e.to_string());
        match reply {
            Reply::Submit(tx) => drop(tx.send(Err(err))),
            Reply::Write(tx) => drop(tx.send(Err(err))),
        }
    }
}

/// Runs operations in one transaction. A database error aborts the whole batch (`Err`);
/// errors of one operation that leave the transaction usable (an idempotency conflict, a
/// fenced write) are that operation's result.
async fn run_batch(
    client: &mut Client,
    s: &Statements,
    token: i64,
    ops: &[Op],
) -> Result<Vec<Done>, StoreError> {
    let tx = client.transaction().await?;
    let fenced = if token == UNFENCED || !ops.iter().any(|o| matches!(o, Op::Write(_))) {
        None
    } else if token == LOST {
        Some(StoreError::Fenced { token })
    } else {
        let current: Option<i64> = tx.query_opt(&s.fence, &[]).await?.map(|r| r.get(0));
        (current != Some(token)).then_some(StoreError::Fenced { token })
    };
    // Submits without a key are independent single statements: send them all at once
    // (tokio-postgres pipelines concurrent queries on one connection), so a batch of them
    // costs about one round trip instead of one each.
    let mut plain: HashMap<usize, Result<Submitted, StoreError>> =
        futures_util::future::join_all(ops.iter().enumerate().filter_map(|(i, op)| match op {
            Op::Submit(job) if job.idempotency_key.is_none() => {
                let tx = &tx;
                Some(async move { (i, insert_job(tx, s, job).await) })
            }
            _ => None,
        }))
        .await
        .into_iter()
        .collect();
    let mut done = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        done.push(match op {
            Op::Submit(job) => {
                let r = match plain.remove(&i) {
                    Some(r) => r,
                    None => insert_job(&tx, s, job).await,
                };
                match r {
                    Err(StoreError::Postgres(e)) => return Err(StoreError::Postgres(e)),
                    r => Done::Submit(r),
                }
            }
            Op::Write(writes) => match &fenced {
                Some(StoreError::Fenced { token }) => {
                    Done::Write(Err(StoreError::Fenced { token: *token }))
                }
                _ => {
                    apply_writes(&tx, s, writes).await?;
                    Done::Write(Ok(()))
                }
            },
        });
    }
    tx.commit().await?;
    Ok(done)
}

async fn insert_job(
    c: &impl GenericClient,
    s: &Statements,
    job: &NewJob,
) -> Result<Submitted, StoreError> {
    if let Some(key) = &job.idempotency_key {
        if let Some(row) = c.query_opt(&s.find_key, &[&job.tenant, key]).await? {
            let id = JobId(row.get(0));
            let stored = load_job(c, id).await?.ok_or(StoreError::Corrupt {
                table: "idempotency",
                id: id.0,
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
    let row = c
        .query_one(
            &s.insert_job,
            &[
                &job.tenant,
                &job.spec.name,
                &i64::from(job.spec.priority),
                &spec_json,
                &job.submitted_ms,
                &job.deadline_ms,
                &format!("submitted by tenant {}", job.tenant),
                &job.idempotency_key,
            ],
        )
        .await?;
    Ok(Submitted {
        job: Job {
            id: JobId(row.get(0)),
            tenant: job.tenant.clone(),
            spec: job.spec.clone(),
            state: JobState::Queued,
            submitted_ms: job.submitted_ms,
            deadline_ms: job.deadline_ms,
            attempts: 0,
            restarts: 0,
            exit_code: None,
            message: "queued".into(),
            finished_ms: None,
        },
        created: true,
    })
}

async fn apply_writes(
    c: &impl GenericClient,
    s: &Statements,
    writes: &[Write],
) -> Result<(), StoreError> {
    for w in writes {
        match w {
            Write::Job(j) => {
                c.execute(
                    &s.update_job,
                    &[
                        &j.id.0,
                        &j.state.as_str(),
                        &i64::from(j.attempts),
                        &i64::from(j.restarts),
                        &j.exit_code.map(i64::from),
                        &j.message,
                        &j.finished_ms,
                    ],
                )
                .await?;
            }
            Write::Attempt(a) => {
                let accs = serde_json::to_string(&a.accelerators).expect("indices serialize");
                c.execute(
                    &s.upsert_attempt,
                    &[
                        &a.job.0,
                        &i64::from(a.number),
                        &a.pool,
                        &accs,
                        &i64::from(a.resumed),
                        &a.pid.map(i64::from),
                        &a.pid_start.map(|p| p as i64),
                        &a.started_ms,
                        &a.ended_ms,
                        &a.outcome.as_str(),
                        &a.exit_code.map(i64::from),
                        &a.external_id,
                    ],
                )
                .await?;
            }
            Write::Event(id, e) => {
                c.execute(&s.insert_event, &[&id.0, &e.at_ms, &e.kind, &e.message])
                    .await?;
            }
        }
    }
    Ok(())
}

async fn load_job(c: &impl GenericClient, id: JobId) -> Result<Option<Job>, StoreError> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
    match c.query_opt(&sql, &[&id.0]).await? {
        Some(row) => job_from_row(&row).map(Some),
        None => Ok(None),
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn submit(&self, job: NewJob) -> Result<Submitted, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.writer
            .send((Op::Submit(job), Reply::Submit(tx)))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn write(&self, batch: Vec<Write>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        self.writer
            .send((Op::Write(batch), Reply::Write(tx)))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn job(&self, id: JobId) -> Result<Option<Job>, StoreError> {
        load_job(&*self.reader().await?, id).await
    }

    async fn jobs(&self, filter: JobFilter) -> Result<Vec<Job>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1::text IS NULL OR tenant = $1)
             AND ($2::text IS NULL OR state = $2) ORDER BY id DESC LIMIT $3"
        );
        let limit = filter.limit.map(i64::from);
        let rows = self
            .reader()
            .await?
            .query(
                &sql,
                &[&filter.tenant, &filter.state.map(JobState::as_str), &limit],
            )
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn unfinished(&self) -> Result<Vec<(Job, Vec<Attempt>)>, StoreError> {
        let c = self.reader().await?;
        let sql_jobs = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE state IN ('queued', 'running') ORDER BY id"
        );
        let jobs = c.query(&sql_jobs, &[]).await?;
        let ids: Vec<i64> = jobs.iter().map(|r| r.get(0)).collect();
        // Recovery runs while no other server writes (it holds the lease), so the two reads
        // agree without a shared snapshot.
        let sql_attempts = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE job_id = ANY($1) ORDER BY job_id, number"
        );
        let attempts = c.query(&sql_attempts, &[&ids]).await?;
        let mut by_job: HashMap<i64, Vec<Attempt>> = HashMap::new();
        for row in &attempts {
            let a = attempt_from_row(row)?;
            by_job.entry(a.job.0).or_default().push(a);
        }
        jobs.iter()
            .map(|row| {
                let job = job_from_row(row)?;
                let attempts = by_job.remove(&job.id.0).unwrap_or_default();
                Ok((job, attempts))
            })
            .collect()
    }

    async fn attempts(&self, id: JobId) -> Result<Vec<Attempt>, StoreError> {
        let sql =
            format!("SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE job_id = $1 ORDER BY number");
        let rows = self.reader().await?.query(&sql, &[&id.0]).await?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn events(&self, id: JobId) -> Result<Vec<JobEvent>, StoreError> {
        let rows = self
            .reader()
            .await?
            .query(
                "SELECT at_ms, kind, message FROM events WHERE job_id = $1 ORDER BY id",
                &[&id.0],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| JobEvent {
                at_ms: r.get(0),
                kind: r.get(1),
                message: r.get(2),
            })
            .collect())
    }

    async fn usage(&self, now_ms: i64) -> Result<Vec<UsageRow>, StoreError> {
        let rows = self
            .reader()
            .await?
            .query(
                "SELECT j.tenant, a.pool,
                        SUM((COALESCE(a.ended_ms, $1) - a.started_ms) * json_array_length(a.accelerators::json))::bigint,
                        COUNT(*)
                 FROM attempts a JOIN jobs j ON j.id = a.job_id
                 WHERE a.outcome != 'notstarted'
                 GROUP BY j.tenant, a.pool ORDER BY j.tenant, a.pool",
                &[&now_ms],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| UsageRow {
                tenant: r.get(0),
                pool: r.get(1),
                chip_ms: r.get::<_, Option<i64>>(2).unwrap_or(0),
                attempts: r.get::<_, i64>(3) as u64,
            })
            .collect())
    }

    async fn queued_ids(&self) -> Result<Vec<JobId>, StoreError> {
        let rows = self
            .reader()
            .await?
            .query(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| JobId(r.get(0))).collect())
    }

    fn shared(&self) -> bool {
        true
    }

    async fn lease(
        &self,
        holder: &str,
        address: &str,
        ttl_ms: i64,
    ) -> Result<LeaseHolder, StoreError> {
        let client = self.lease_conn.get().await?;
        lease::take_or_renew(&client, &self.fence, holder, address, ttl_ms).await
    }
}
