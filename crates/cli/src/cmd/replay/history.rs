//! Reading the history of a period: from the store directly (`--database`, read-only, through
//! the [`Store`] trait) or from a running server (`GET /v1/history`, a page at a time). Both
//! become the same records.

use crate::cmd::client::{Api, ClientArgs};
use anyhow::{Context, Result};
use spillway_model::spec::JobSpec;
use spillway_server::api::HistoryPage;
use spillway_server::job::{AttemptOutcome, JobState};
use spillway_server::store::{HistoryQuery, PostgresStore, SqliteStore, Store};

/// Jobs read per page.
const PAGE: u32 = 5_000;

/// One attempt as the history records it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ran {
    /// The pool's name.
    pub(crate) pool: String,
    /// Accelerators it held.
    pub(crate) chips: u32,
    /// Their indices in the pool (what a pool rented by VMs bills by).
    pub(crate) accelerators: Vec<u32>,
    /// Start, ms since the epoch.
    pub(crate) started_ms: i64,
    /// End, ms since the epoch (`None`: still running).
    pub(crate) ended_ms: Option<i64>,
    /// How it ended.
    pub(crate) outcome: AttemptOutcome,
}

impl Ran {
    /// Whether a process really ran (not refused for capacity, not recorded and never launched).
    pub(crate) fn ran(&self) -> bool {
        !matches!(
            self.outcome,
            AttemptOutcome::NotStarted | AttemptOutcome::NoCapacity
        )
    }
}

/// One job of the history.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PastJob {
    pub(crate) id: i64,
    pub(crate) tenant: String,
    pub(crate) spec: JobSpec,
    pub(crate) state: JobState,
    pub(crate) submitted_ms: i64,
    pub(crate) deadline_ms: Option<i64>,
    pub(crate) finished_ms: Option<i64>,
    pub(crate) attempts: Vec<Ran>,
}

/// Where the history comes from.
pub(crate) enum Source<'a> {
    /// A SQLite file or a `postgres://` URL.
    Database(&'a str),
    /// A running server.
    Server(&'a ClientArgs),
}

/// Every job submitted in `[from_ms, to_ms)`, oldest first.
pub(crate) fn read(source: &Source<'_>, from_ms: i64, to_ms: i64) -> Result<Vec<PastJob>> {
    let mut out = Vec::new();
    read_into(source, from_ms, to_ms, &mut |j| out.push(j))?;
    Ok(out)
}

/// Hands every job submitted in `[from_ms, to_ms)` to `sink`, oldest first, a page at a time
/// (the history before a period can be long: the caller keeps what it needs).
pub(crate) fn read_into(
    source: &Source<'_>,
    from_ms: i64,
    to_ms: i64,
    sink: &mut dyn FnMut(PastJob),
) -> Result<()> {
    match source {
        Source::Database(db) => read_store(db, from_ms, to_ms, sink),
        Source::Server(args) => read_server(args, from_ms, to_ms, sink),
    }
}

fn read_store(db: &str, from_ms: i64, to_ms: i64, sink: &mut dyn FnMut(PastJob)) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store: Box<dyn Store> =
            if db.starts_with("postgres://") || db.starts_with("postgresql://") {
                Box::new(
                    PostgresStore::connect_read_only(db)
                        .await
                        .with_context(|| "failed to open the Postgres store".to_string())?,
                )
            } else {
                Box::new(
                    SqliteStore::open_read_only(std::path::Path::new(db))
                        .with_context(|| format!("failed to open the store {db}"))?,
                )
            };
        let mut after = None;
        loop {
            let page = store
                .history(HistoryQuery {
                    from_ms,
                    to_ms,
                    after,
                    limit: PAGE,
                })
                .await
                .context("failed to read the history from the store")?;
            let full = page.len() as u32 == PAGE;
            after = page.last().map(|(j, _)| j.id);
            for (j, attempts) in page {
                sink(PastJob {
                    id: j.id.0,
                    tenant: j.tenant,
                    spec: j.spec,
                    state: j.state,
                    submitted_ms: j.submitted_ms,
                    deadline_ms: j.deadline_ms,
                    finished_ms: j.finished_ms,
                    attempts: attempts
                        .into_iter()
                        .map(|a| Ran {
                            pool: a.pool,
                            chips: a.accelerators.len() as u32,
                            accelerators: a.accelerators,
                            started_ms: a.started_ms,
                            ended_ms: a.ended_ms,
                            outcome: a.outcome,
                        })
                        .collect(),
                });
            }
            if !full {
                return Ok(());
            }
        }
    })
}

fn read_server(
    args: &ClientArgs,
    from_ms: i64,
    to_ms: i64,
    sink: &mut dyn FnMut(PastJob),
) -> Result<()> {
    let api = Api::new(args)?;
    let mut after: Option<i64> = None;
    loop {
        let mut query = vec![
            ("from_ms", from_ms.to_string()),
            ("to_ms", to_ms.to_string()),
            ("limit", PAGE.to_string()),
        ];
        if let Some(a) = after {
            query.push(("after", a.to_string()));
        }
        let page: HistoryPage = api
            .send(api.get("/v1/history").query(&query))
            .context("failed to read the history from the server")?;
        for h in page.jobs {
            let spec: JobSpec = serde_json::from_value(h.job.spec)
                .with_context(|| format!("job {}: the server's spec cannot be read", h.job.id))?;
            sink(PastJob {
                id: h.job.id,
                tenant: h.job.tenant,
                spec,
                state: h.job.state,
                submitted_ms: h.job.submitted_ms,
                deadline_ms: h.job.deadline_ms,
                finished_ms: h.job.finished_ms,
                attempts: h
                    .attempts
                    .into_iter()
                    .map(|a| Ran {
                        pool: a.pool,
                        chips: a.accelerators.len() as u32,
                        accelerators: a.accelerators,
                        started_ms: a.started_ms,
                        ended_ms: a.ended_ms,
                        outcome: a.outcome,
                    })
                    .collect(),
            });
        }
        match page.next_after {
            Some(a) => after = Some(a),
            None => return Ok(()),
        }
    }
}
