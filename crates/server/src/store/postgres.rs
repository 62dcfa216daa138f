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
mod writer;

use super::migrations::{
    ATTEMPT_COLUMNS, ATTEMPTS_ON_WHERE, CONTRACT_USAGE_SQL, MIGRATIONS, OVERLAPPING_TENANT_COLUMN,
    SUCCEEDED_COUNT_SQL, SUCCEEDED_RUNS_SQL, attempts_overlapping_sql, latest, postgres_params,
    postgres_sql,
};
use super::{
    ContractUsageRow, HistoryQuery, JobFilter, LeaseHolder, NewJob, Store, StoreError, Submitted,
    SucceededRuns, TenantAttempt, UsageRow, Write, check_version, group_runs,
};
use crate::job::{Attempt, Job, JobEvent, JobId, JobState};
use async_trait::async_trait;
use rows::{JOB_COLUMNS, attempt_from_row, job_from_row};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, GenericClient, NoTls};
use writer::{Op, Reply, writer_loop};

/// Read connections (each pipelines concurrent queries).
const READERS: usize = 2;
/// Key of the advisory lock that serializes migrations of replicas starting together.
const MIGRATION_LOCK: i64 = 0x5350_494c_4c57_4159; // "SPILLWAY"

/// The fence of this store's writes: no lease taken yet (a lone server or a test), the token
/// of the lease held, or lost.
pub(super) const UNFENCED: i64 = 0;
pub(super) const LOST: i64 = -1;

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

pub(super) async fn connect(config: &tokio_postgres::Config) -> Result<Client, StoreError> {
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

    /// Connects to `url` for reading only (`spillway replay --database`): the schema is neither
    /// created nor migrated, a database of another schema version is refused, and writes fail
    /// with [`StoreError::Closed`], so that a replay never changes a live server's store.
    pub async fn connect_read_only(url: &str) -> Result<PostgresStore, StoreError> {
        let config = parse(url)?;
        let client = connect(&config).await?;
        let exists: bool = client
            .query_one("SELECT to_regclass('spillway_schema') IS NOT NULL", &[])
            .await?
            .get(0);
        let found: i64 = if exists {
            client
                .query_opt("SELECT version FROM spillway_schema", &[])
                .await?
                .map_or(0, |r| r.get(0))
        } else {
            0
        };
        check_version(found)?;
        // No writer: the receiver is dropped, so every write answers `Closed`.
        let (writer, _) = mpsc::unbounded_channel();
        Ok(PostgresStore {
            writer,
            readers: vec![Conn::new(config.clone(), client)],
            next_reader: AtomicUsize::new(0),
            lease_conn: Conn {
                config,
                client: tokio::sync::Mutex::new(None),
            },
            fence: Arc::new(AtomicI64::new(UNFENCED)),
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

pub(super) async fn load_job(c: &impl GenericClient, id: JobId) -> Result<Option<Job>, StoreError> {
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
             AND ($2::text IS NULL OR state = $2) AND ($4::bigint IS NULL OR id < $4)
             ORDER BY id DESC LIMIT $3"
        );
        let limit = filter.limit.map(i64::from);
        let before = filter.before.map(|id| id.0);
        let rows = self
            .reader()
            .await?
            .query(
                &sql,
                &[
                    &filter.tenant,
                    &filter.state.map(JobState::as_str),
                    &limit,
                    &before,
                ],
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

    async fn history(&self, q: HistoryQuery) -> Result<Vec<(Job, Vec<Attempt>)>, StoreError> {
        let c = self.reader().await?;
        let sql_jobs = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE submitted_ms >= $1 AND submitted_ms < $2
             AND id > $3 ORDER BY id LIMIT $4"
        );
        let after = q.after.map_or(0, |a| a.0);
        let jobs = c
            .query(
                &sql_jobs,
                &[&q.from_ms, &q.to_ms, &after, &i64::from(q.limit)],
            )
            .await?;
        let ids: Vec<i64> = jobs.iter().map(|r| r.get(0)).collect();
        // A job's attempts may change between the two reads while the server runs: the page
        // is what was stored at about that moment, as a replay needs.
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

    async fn attempts_on(&self, pool: &str) -> Result<Vec<Attempt>, StoreError> {
        let sql = postgres_params(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempts {ATTEMPTS_ON_WHERE}"
        ));
        let rows = self.reader().await?.query(&sql, &[&pool]).await?;
        rows.iter().map(attempt_from_row).collect()
    }

    async fn attempts_overlapping(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<TenantAttempt>, StoreError> {
        let sql = postgres_params(&attempts_overlapping_sql());
        let rows = self
            .reader()
            .await?
            .query(&sql, &[&from_ms, &to_ms])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TenantAttempt {
                    tenant: r.try_get(OVERLAPPING_TENANT_COLUMN)?,
                    attempt: attempt_from_row(r)?,
                })
            })
            .collect()
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
                 WHERE a.outcome NOT IN ('notstarted', 'nocapacity')
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

    async fn contract_usage(&self, now_ms: i64) -> Result<Vec<ContractUsageRow>, StoreError> {
        let sql = postgres_params(CONTRACT_USAGE_SQL);
        let rows = self.reader().await?.query(&sql, &[&now_ms]).await?;
        rows.iter()
            .map(|r| {
                Ok(ContractUsageRow {
                    contract: r.try_get(0)?,
                    pool: r.try_get(1)?,
                    chips: r.try_get::<_, i64>(2)? as u32,
                    usd_per_chip_hour: r.try_get(3)?,
                    started_ms: r.try_get(4)?,
                    until_ms: r.try_get(5)?,
                })
            })
            .collect()
    }

    async fn succeeded_runs(
        &self,
        tenant: &str,
        name: &str,
        limit: u32,
    ) -> Result<SucceededRuns, StoreError> {
        let c = self.reader().await?;
        let total: i64 = c
            .query_one(&postgres_params(SUCCEEDED_COUNT_SQL), &[&tenant, &name])
            .await?
            .try_get(0)?;
        let rows = c
            .query(
                &postgres_params(SUCCEEDED_RUNS_SQL),
                &[&tenant, &name, &i64::from(limit)],
            )
            .await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(group_runs(total, rows))
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
