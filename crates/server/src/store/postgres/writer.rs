//! The writer task of the Postgres store: group commit of submits and writes, fenced by the
//! leader lease's token.

use super::{LOST, UNFENCED, connect, load_job};
use crate::job::{Job, JobId, JobState};
use crate::store::{NewJob, StoreError, Submitted, Write};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::{Client, GenericClient, Statement};

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 1024;

// Short-lived queue entries: boxing would add an allocation per submit for no gain.
#[allow(clippy::large_enum_variant)]
pub(super) enum Op {
    Submit(NewJob),
    Write(Vec<Write>),
}

#[allow(clippy::large_enum_variant)]
pub(super) enum Reply {
    Submit(oneshot::Sender<Result<Submitted, StoreError>>),
    Write(oneshot::Sender<Result<(), StoreError>>),
}

#[allow(clippy::large_enum_variant)]
enum Done {
    Submit(Result<Submitted, StoreError>),
    Write(Result<(), StoreError>),
}

/// The writer's prepared statements (per connection).
struct Statements {
    find_key: Statement,
    insert_job: Statement,
    update_job: Statement,
    upsert_attempt: Statement,
    insert_event: Statement,
    upsert_charge: Statement,
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
                     message = $6, finished_ms = $7, preemptions = $8 WHERE id = $1",
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
            upsert_charge: c
                .prepare(
                    "INSERT INTO contract_charges (job_id, number, contract, pool, chips,
                     usd_per_chip_hour) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (job_id, number) DO UPDATE SET contract = EXCLUDED.contract,
                     pool = EXCLUDED.pool, chips = EXCLUDED.chips,
                     usd_per_chip_hour = EXCLUDED.usd_per_chip_hour",
                )
                .await?,
            // FOR SHARE: a takeover (which updates the row) waits until this batch commits, so
            // a batch either commits before the new leader's recovery reads, or is refused.
            fence: c
                .prepare("SELECT token FROM leader_lease WHERE name = 'leader' FOR SHARE")
                .await?,
        })
    }
}

pub(super) async fn writer_loop(
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
            preemptions: 0,
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
                        &i64::from(j.preemptions),
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
            Write::Charge(ch) => {
                c.execute(
                    &s.upsert_charge,
                    &[
                        &ch.job.0,
                        &i64::from(ch.attempt),
                        &ch.contract,
                        &ch.pool,
                        &i64::from(ch.chips),
                        &ch.usd_per_chip_hour,
                    ],
                )
                .await?;
            }
        }
    }
    Ok(())
}
