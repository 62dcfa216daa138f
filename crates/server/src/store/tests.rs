//! The store test suite: the same test functions against SQLite and against PostgreSQL (a
//! fresh schema per test on the test server; skipped loudly without one, unless
//! `SPILLWAY_REQUIRE_ENGINES=1`).

use super::*;
use crate::job::{AttemptOutcome, JobEvent};
use spillway_model::spec::{AcceleratorNames, parse_spec};
use std::sync::Arc;

fn spec(run: &str) -> spillway_model::spec::JobSpec {
    parse_spec(&format!("run: {run}\n"), &AcceleratorNames::new(["H100"]))
        .unwrap()
        .spec
}

fn new_job(run: &str, key: Option<&str>) -> NewJob {
    NewJob {
        tenant: "t1".into(),
        spec: spec(run),
        submitted_ms: 1000,
        deadline_ms: None,
        idempotency_key: key.map(String::from),
    }
}

fn attempt(job: JobId, number: u32) -> Attempt {
    Attempt {
        job,
        number,
        pool: "local".into(),
        accelerators: vec![0, 1],
        resumed: false,
        pid: Some(42),
        pid_start: Some(7),
        external_id: None,
        started_ms: 1_000,
        ended_ms: Some(4_000),
        outcome: AttemptOutcome::Succeeded,
        exit_code: Some(0),
    }
}

/// Keeps a backend's files (SQLite) alive for the test.
struct Backend {
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    /// How to open a second store on the same database (Postgres only).
    url: Option<String>,
}

async fn sqlite(_test: &str) -> Option<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
    Some(Backend {
        store: Arc::new(store),
        _dir: Some(dir),
        url: None,
    })
}

async fn postgres(test: &str) -> Option<Backend> {
    let url = postgres::testing::fresh_url(test).await?;
    let store = PostgresStore::connect(&url).await.unwrap();
    Some(Backend {
        store: Arc::new(store),
        _dir: None,
        url: Some(url),
    })
}

/// Generates `sqlite::NAME` and `postgres::NAME` tests from each `async fn NAME(Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test]
            async fn $name() {
                let b = super::sqlite(stringify!($name)).await.unwrap();
                super::$name(b).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test]
            async fn $name() {
                let Some(b) = super::postgres(stringify!($name)).await else { return };
                super::$name(b).await;
            })*
        }
    };
}

on_both_backends!(
    submitted_jobs_read_back_and_ids_increase,
    idempotency_key_returns_the_same_job_and_rejects_a_different_spec,
    concurrent_submits_are_batched_and_all_stored,
    attempts_events_and_usage,
    jobs_filter_by_tenant_and_state_newest_first,
    unfinished_jobs_come_with_their_attempts,
    a_failing_write_fails_alone_in_its_batch,
    attempts_are_replaced_by_number,
    contracts_are_charged_by_attempt_at_the_price_they_started_under,
    history_pages_through_a_period_with_attempts,
    succeeded_runs_are_the_tenants_successful_jobs_of_the_name,
    attempts_overlapping_a_window_come_with_their_tenants_in_start_order,
);

/// Stores a job of `tenant` named `name` that ended in `state` with these attempts (pool,
/// start, end, outcome).
async fn finished_job(
    store: &dyn Store,
    tenant: &str,
    name: &str,
    state: JobState,
    attempts: &[(&str, i64, i64, AttemptOutcome)],
) -> JobId {
    let spec = parse_spec(
        &format!("name: {name}\nrun: echo {name}\n"),
        &AcceleratorNames::new(["H100"]),
    )
    .unwrap()
    .spec;
    let mut job = store
        .submit(NewJob {
            tenant: tenant.into(),
            spec,
            ..new_job("x", None)
        })
        .await
        .unwrap()
        .job;
    let mut writes = Vec::new();
    for (i, &(pool, started, ended, outcome)) in attempts.iter().enumerate() {
        writes.push(Write::Attempt(Attempt {
            pool: pool.into(),
            // Attempts on pool b resume from a checkpoint (a fact the runs read back).
            resumed: pool == "b",
            started_ms: started,
            ended_ms: Some(ended),
            outcome,
            ..attempt(job.id, i as u32 + 1)
        }));
    }
    job.state = state;
    job.attempts = attempts.len() as u32;
    writes.push(Write::Job(job.clone()));
    store.write(writes).await.unwrap();
    job.id
}

async fn succeeded_runs_are_the_tenants_successful_jobs_of_the_name(b: Backend) {
    use AttemptOutcome::{NoCapacity, Preempted, Succeeded};
    let store = &*b.store;
    let first = finished_job(
        store,
        "t1",
        "train",
        JobState::Succeeded,
        &[
            ("a", 0, 2_000, Preempted),
            ("b", 2_500, 2_500, NoCapacity),
            ("b", 3_000, 4_000, Succeeded),
        ],
    )
    .await;
    // Failed and cancelled jobs, other names and other tenants do not count.
    let failed = [("a", 0, 9_000, AttemptOutcome::Failed)];
    finished_job(store, "t1", "train", JobState::Failed, &failed).await;
    let cancelled = [("a", 0, 9_000, AttemptOutcome::Cancelled)];
    finished_job(store, "t1", "train", JobState::Cancelled, &cancelled).await;
    let other = [("a", 0, 9_000, Succeeded)];
    finished_job(store, "t1", "eval", JobState::Succeeded, &other).await;
    finished_job(store, "t2", "train", JobState::Succeeded, &other).await;
    let second = finished_job(
        store,
        "t1",
        "train",
        JobState::Succeeded,
        &[("a", 10_000, 11_500, Succeeded)],
    )
    .await;
    // A malformed record (succeeded without an attempt that ran) is returned as it is, for
    // the reader to skip.
    let third = finished_job(store, "t1", "train", JobState::Succeeded, &[]).await;

    let all = store.succeeded_runs("t1", "train", 20).await.unwrap();
    assert_eq!(all.total, 3);
    let run = |job, attempts: &[(&str, i64, i64)]| SucceededRun {
        job,
        attempts: attempts
            .iter()
            .map(|&(p, s, e)| RanAttempt {
                pool: p.to_string(),
                resumed: p == "b",
                started_ms: s,
                ended_ms: Some(e),
            })
            .collect(),
    };
    assert_eq!(
        all.latest,
        [
            run(third, &[]),
            run(second, &[("a", 10_000, 11_500)]),
            run(first, &[("a", 0, 2_000), ("b", 3_000, 4_000)]),
        ],
        "newest first, refused launches left out"
    );
    let latest = store.succeeded_runs("t1", "train", 2).await.unwrap();
    assert_eq!(latest.total, 3, "the count is of all of them");
    assert_eq!(latest.latest, all.latest[..2]);
    assert_eq!(
        store.succeeded_runs("t1", "nothing", 20).await.unwrap(),
        SucceededRuns::default()
    );
}

async fn attempts_overlapping_a_window_come_with_their_tenants_in_start_order(b: Backend) {
    let store = b.store;
    let mut jobs = Vec::new();
    for tenant in ["t1", "t2"] {
        let job = NewJob {
            tenant: tenant.into(),
            ..new_job("echo w", None)
        };
        jobs.push(store.submit(job).await.unwrap().job.id);
    }
    let (t1, t2) = (jobs[0], jobs[1]);
    // The window is [10 000, 20 000): (job, number, start, end, outcome).
    use AttemptOutcome::{NoCapacity, Running, Succeeded};
    let written = [
        (t1, 1, 1_000, Some(9_000), Succeeded),    // before it
        (t1, 2, 5_000, Some(10_000), Succeeded),   // ends where it starts
        (t1, 3, 8_000, Some(12_000), Succeeded),   // across its start
        (t1, 4, 12_000, Some(15_000), Succeeded),  // inside
        (t2, 1, 12_000, Some(13_000), Succeeded),  // inside, at the same time: job order
        (t2, 2, 14_000, Some(14_000), NoCapacity), // a refused launch inside
        (t1, 5, 18_000, Some(25_000), Succeeded),  // across its end
        (t2, 3, 2_000, Some(30_000), Succeeded),   // across all of it
        (t2, 4, 20_000, Some(21_000), Succeeded),  // starts where it ends
        (t2, 5, 22_000, Some(23_000), Succeeded),  // after it
        (t1, 6, 3_000, None, Running),             // running since before it
        (t2, 6, 19_000, None, Running),            // running since inside it
        (t1, 7, 21_000, None, Running),            // running since after it
    ]
    .map(|(job, number, started_ms, ended_ms, outcome)| Attempt {
        started_ms,
        ended_ms,
        outcome,
        exit_code: (outcome == Succeeded).then_some(0),
        ..attempt(job, number)
    });
    store
        .write(written.iter().cloned().map(Write::Attempt).collect())
        .await
        .unwrap();

    let got = store.attempts_overlapping(10_000, 20_000).await.unwrap();
    let keys: Vec<(&str, JobId, u32)> = got
        .iter()
        .map(|t| (t.tenant.as_str(), t.attempt.job, t.attempt.number))
        .collect();
    assert_eq!(
        keys,
        [
            ("t2", t2, 3),
            ("t1", t1, 6),
            ("t1", t1, 3),
            ("t1", t1, 4),
            ("t2", t2, 1),
            ("t2", t2, 2),
            ("t1", t1, 5),
            ("t2", t2, 6),
        ],
        "in start order, then job order; none that ended by its start or started at its end"
    );
    for t in &got {
        let stored = written
            .iter()
            .find(|a| (a.job, a.number) == (t.attempt.job, t.attempt.number))
            .unwrap();
        assert_eq!(&t.attempt, stored, "read back whole");
    }
    let running: Vec<(JobId, u32)> = store
        .attempts_overlapping(31_000, 40_000)
        .await
        .unwrap()
        .iter()
        .map(|t| (t.attempt.job, t.attempt.number))
        .collect();
    assert_eq!(
        running,
        [(t1, 6), (t2, 6), (t1, 7)],
        "after every end, the running attempts"
    );
    assert_eq!(store.attempts_overlapping(0, 1_000).await.unwrap(), []);
}

async fn history_pages_through_a_period_with_attempts(b: Backend) {
    let store = b.store;
    let mut ids = Vec::new();
    for at in [500, 1_000, 2_000, 3_000] {
        let mut j = new_job("echo h", None);
        j.submitted_ms = at;
        ids.push(store.submit(j).await.unwrap().job.id);
    }
    store
        .write(vec![
            Write::Attempt(attempt_with(ids[2], 2, None)),
            Write::Attempt(attempt_with(ids[2], 1, Some(2_500))),
        ])
        .await
        .unwrap();
    let q = |after, limit| HistoryQuery {
        from_ms: 1_000,
        to_ms: 3_000,
        after,
        limit,
    };
    let all = store.history(q(None, 10)).await.unwrap();
    let got: Vec<JobId> = all.iter().map(|(j, _)| j.id).collect();
    assert_eq!(got, [ids[1], ids[2]], "from included, to excluded");
    let numbers: Vec<u32> = all[1].1.iter().map(|a| a.number).collect();
    assert_eq!(numbers, [1, 2]);
    let first = store.history(q(None, 1)).await.unwrap();
    assert_eq!(first[0].0.id, ids[1]);
    let next = store.history(q(Some(ids[1]), 1)).await.unwrap();
    assert_eq!(next[0].0.id, ids[2]);
    assert!(store.history(q(Some(ids[2]), 1)).await.unwrap().is_empty());
}

async fn submitted_jobs_read_back_and_ids_increase(b: Backend) {
    let store = b.store;
    let a = store.submit(new_job("echo a", None)).await.unwrap();
    let c = store.submit(new_job("echo b", None)).await.unwrap();
    assert!(a.created && c.created);
    assert!(c.job.id > a.job.id);
    assert_eq!(store.job(a.job.id).await.unwrap().unwrap(), a.job);
    assert_eq!(store.job(JobId(999_999)).await.unwrap(), None);
    assert_eq!(store.unfinished().await.unwrap().len(), 2);
    assert_eq!(store.queued_ids().await.unwrap(), vec![a.job.id, c.job.id]);
    let kinds: Vec<String> = store
        .events(a.job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["submitted"]);
}

async fn idempotency_key_returns_the_same_job_and_rejects_a_different_spec(b: Backend) {
    let store = b.store;
    let a = store.submit(new_job("echo a", Some("k1"))).await.unwrap();
    let again = store.submit(new_job("echo a", Some("k1"))).await.unwrap();
    assert!(a.created);
    assert!(!again.created);
    assert_eq!(a.job.id, again.job.id);
    let err = store
        .submit(new_job("echo other", Some("k1")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::IdempotencyConflict { .. }),
        "{err}"
    );
    // Keys are scoped to the tenant.
    let mut other = new_job("echo a", Some("k1"));
    other.tenant = "t2".into();
    assert!(store.submit(other).await.unwrap().created);
    assert_eq!(store.jobs(JobFilter::default()).await.unwrap().len(), 2);
}

async fn concurrent_submits_are_batched_and_all_stored(b: Backend) {
    let store = b.store;
    let mut handles = Vec::new();
    for i in 0..200 {
        let s = store.clone();
        let key = (i % 2 == 0).then(|| format!("key-{i}"));
        handles.push(tokio::spawn(async move {
            s.submit(new_job(&format!("echo {i}"), key.as_deref()))
                .await
                .unwrap()
                .job
                .id
        }));
    }
    let mut ids = Vec::new();
    for h in handles {
        ids.push(h.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200);
    assert_eq!(store.queued_ids().await.unwrap(), ids);
}

async fn attempts_events_and_usage(b: Backend) {
    let store = b.store;
    let mut job = store.submit(new_job("echo a", None)).await.unwrap().job;
    job.state = JobState::Running;
    job.attempts = 1;
    job.exit_code = Some(-3);
    let attempt = attempt(job.id, 1);
    let event = JobEvent {
        at_ms: 1_000,
        kind: "started".into(),
        message: "on local".into(),
    };
    store
        .write(vec![
            Write::Job(job.clone()),
            Write::Attempt(attempt.clone()),
            Write::Event(job.id, event),
        ])
        .await
        .unwrap();
    assert_eq!(store.job(job.id).await.unwrap().unwrap(), job);
    assert_eq!(store.attempts(job.id).await.unwrap(), vec![attempt]);
    let kinds: Vec<String> = store
        .events(job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["submitted", "started"]);
    let mut running = attempt_with(job.id, 2, None);
    running.started_ms = 6_000;
    store
        .write(vec![Write::Attempt(running.clone())])
        .await
        .unwrap();
    // A launch that never ran is not an attempt on the pool.
    let mut refused = attempt_with(job.id, 3, Some(6_500));
    refused.started_ms = 6_500;
    refused.outcome = AttemptOutcome::NoCapacity;
    store.write(vec![Write::Attempt(refused)]).await.unwrap();
    let on_local = store.attempts_on("local").await.unwrap();
    assert_eq!(
        on_local,
        vec![store.attempts(job.id).await.unwrap()[0].clone(), running]
    );
    assert!(store.attempts_on("elsewhere").await.unwrap().is_empty());
    let usage = store.usage(10_000).await.unwrap();
    // 3 s x 2 ended, plus 4 s x 2 still running at 10 s.
    assert_eq!(
        usage,
        vec![UsageRow {
            tenant: "t1".into(),
            pool: "local".into(),
            chip_ms: 14_000,
            attempts: 2
        }]
    );
    assert!(store.queued_ids().await.unwrap().is_empty());
}

fn attempt_with(job: JobId, number: u32, ended: Option<i64>) -> Attempt {
    Attempt {
        ended_ms: ended,
        outcome: if ended.is_some() {
            AttemptOutcome::Succeeded
        } else {
            AttemptOutcome::Running
        },
        exit_code: None,
        ..attempt(job, number)
    }
}

async fn jobs_filter_by_tenant_and_state_newest_first(b: Backend) {
    let store = b.store;
    let mut ids = Vec::new();
    for (i, tenant) in ["t1", "t2", "t1", "t1"].iter().enumerate() {
        let mut j = new_job(&format!("echo {i}"), None);
        j.tenant = tenant.to_string();
        ids.push(store.submit(j).await.unwrap().job);
    }
    let mut done = ids[2].clone();
    done.state = JobState::Succeeded;
    done.finished_ms = Some(5);
    store.write(vec![Write::Job(done)]).await.unwrap();
    let list = |f: JobFilter| {
        let s = store.clone();
        async move {
            s.jobs(f)
                .await
                .unwrap()
                .into_iter()
                .map(|j| j.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(JobFilter::default()).await,
        vec![ids[3].id, ids[2].id, ids[1].id, ids[0].id]
    );
    let t1 = JobFilter {
        tenant: Some("t1".into()),
        ..JobFilter::default()
    };
    assert_eq!(
        list(t1.clone()).await,
        vec![ids[3].id, ids[2].id, ids[0].id]
    );
    let t1_queued = JobFilter {
        state: Some(JobState::Queued),
        limit: Some(1),
        ..t1
    };
    assert_eq!(list(t1_queued).await, vec![ids[3].id]);
    // Pages: the next one starts below the last id of the one before.
    let page = JobFilter {
        limit: Some(2),
        before: Some(ids[3].id),
        ..JobFilter::default()
    };
    assert_eq!(list(page).await, vec![ids[2].id, ids[1].id]);
}

async fn unfinished_jobs_come_with_their_attempts(b: Backend) {
    let store = b.store;
    let a = store.submit(new_job("echo a", None)).await.unwrap().job;
    let c = store.submit(new_job("echo c", None)).await.unwrap().job;
    let mut running = c.clone();
    running.state = JobState::Running;
    running.attempts = 2;
    store
        .write(vec![
            Write::Job(running.clone()),
            Write::Attempt(attempt_with(c.id, 2, None)),
            Write::Attempt(attempt_with(c.id, 1, Some(2_000))),
        ])
        .await
        .unwrap();
    let unfinished = store.unfinished().await.unwrap();
    assert_eq!(unfinished.len(), 2);
    assert_eq!(unfinished[0], (a, vec![]));
    assert_eq!(unfinished[1].0, running);
    let numbers: Vec<u32> = unfinished[1].1.iter().map(|a| a.number).collect();
    assert_eq!(numbers, [1, 2]);
}

async fn a_failing_write_fails_alone_in_its_batch(b: Backend) {
    let store = b.store;
    // An attempt of a job that does not exist violates the foreign key; submits queued
    // beside it in the same batch must still be stored.
    let bad = {
        let s = store.clone();
        tokio::spawn(async move {
            s.write(vec![Write::Attempt(attempt(JobId(424_242), 1))])
                .await
        })
    };
    let mut good = Vec::new();
    for i in 0..20 {
        let s = store.clone();
        good.push(tokio::spawn(async move {
            s.submit(new_job(&format!("echo {i}"), None)).await
        }));
    }
    assert!(bad.await.unwrap().is_err());
    for g in good {
        g.await.unwrap().unwrap();
    }
    assert_eq!(store.queued_ids().await.unwrap().len(), 20);
    assert!(store.attempts(JobId(424_242)).await.unwrap().is_empty());
}

async fn attempts_are_replaced_by_number(b: Backend) {
    let store = b.store;
    let job = store.submit(new_job("echo a", None)).await.unwrap().job;
    let mut a = attempt_with(job.id, 1, None);
    a.outcome = AttemptOutcome::Starting;
    a.pid = None;
    a.pid_start = None;
    store.write(vec![Write::Attempt(a.clone())]).await.unwrap();
    a.outcome = AttemptOutcome::Running;
    a.pid = Some(4_000_000);
    a.pid_start = Some(u64::from(u32::MAX) + 5);
    a.external_id = Some("slurm-7".into());
    a.resumed = true;
    store.write(vec![Write::Attempt(a.clone())]).await.unwrap();
    assert_eq!(store.attempts(job.id).await.unwrap(), vec![a]);
}

// The lease matters only where several servers share the store.

#[tokio::test]
async fn a_read_only_sqlite_store_reads_and_refuses_other_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let id = {
        let store = SqliteStore::open(&path).unwrap();
        store.submit(new_job("echo r", None)).await.unwrap().job.id
    };
    let ro = SqliteStore::open_read_only(&path).unwrap();
    assert_eq!(ro.job(id).await.unwrap().unwrap().id, id);
    assert!(matches!(
        ro.write(vec![Write::Event(
            id,
            JobEvent {
                at_ms: 1,
                kind: "x".into(),
                message: "y".into()
            }
        )])
        .await,
        Err(StoreError::Closed)
    ));
    let missing = SqliteStore::open_read_only(&dir.path().join("nope.db"));
    assert!(matches!(missing, Err(StoreError::Open { .. })));
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 2).unwrap();
    drop(conn);
    let err = SqliteStore::open_read_only(&path).err().unwrap();
    assert!(
        matches!(err, StoreError::OtherVersion { found: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("older Spillway"), "{err}");
}

#[tokio::test]
async fn sqlite_is_not_shared_and_its_lease_is_always_held() {
    let b = sqlite("sqlite_lease").await.unwrap();
    assert!(!b.store.shared());
    let l = b.store.lease("me", "addr", 3_000).await.unwrap();
    assert_eq!(l.holder, "me");
}

#[tokio::test]
async fn postgres_lease_is_exclusive_and_taken_over_only_after_expiry() {
    let Some(b) = postgres("postgres_lease_is_exclusive").await else {
        return;
    };
    assert!(b.store.shared());
    let other = PostgresStore::connect(b.url.as_deref().unwrap())
        .await
        .unwrap();
    let first = b.store.lease("a", "http://a", 60_000).await.unwrap();
    assert_eq!((first.holder.as_str(), first.token), ("a", 1));
    // Renewing keeps the token; another replica sees the holder and its address.
    assert_eq!(
        b.store.lease("a", "http://a", 60_000).await.unwrap().token,
        1
    );
    let seen = other.lease("b", "http://b", 60_000).await.unwrap();
    assert_eq!(
        (seen.holder.as_str(), seen.address.as_str(), seen.token),
        ("a", "http://a", 1)
    );
    // A renewal that sets the expiry in the past stands for a leader that stopped renewing.
    b.store.lease("a", "http://a", -60_000).await.unwrap();
    let taken = other.lease("b", "http://b", 60_000).await.unwrap();
    assert_eq!((taken.holder.as_str(), taken.token), ("b", 2));
    // The old holder cannot renew its way back in.
    let back = b.store.lease("a", "http://a", 60_000).await.unwrap();
    assert_eq!((back.holder.as_str(), back.token), ("b", 2));
}

#[tokio::test]
async fn postgres_lease_fences_the_writes_of_a_stale_leader() {
    let Some(b) = postgres("postgres_lease_fences").await else {
        return;
    };
    let stale = b.store;
    let fresh = PostgresStore::connect(b.url.as_deref().unwrap())
        .await
        .unwrap();
    stale.lease("a", "http://a", -60_000).await.unwrap();
    let job = stale.submit(new_job("echo a", None)).await.unwrap().job;
    stale
        .write(vec![Write::Attempt(attempt_with(job.id, 1, None))])
        .await
        .unwrap();
    // "b" takes over before "a" notices: a's next launch record is refused in its own
    // transaction, with the token it held.
    assert_eq!(fresh.lease("b", "http://b", 60_000).await.unwrap().token, 2);
    let err = stale
        .write(vec![Write::Attempt(attempt_with(job.id, 2, None))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Fenced { token: 1 }), "{err}");
    assert_eq!(stale.attempts(job.id).await.unwrap().len(), 1);
    // Submits are not fenced: any replica accepts them.
    stale.submit(new_job("echo b", None)).await.unwrap();
    // Once "a" sees the new holder it refuses writes without asking the database.
    assert_eq!(
        stale.lease("a", "http://a", 60_000).await.unwrap().holder,
        "b"
    );
    let err = stale
        .write(vec![Write::Job(job.clone())])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Fenced { .. }), "{err}");
    fresh
        .write(vec![Write::Attempt(attempt_with(job.id, 2, None))])
        .await
        .unwrap();
}

#[tokio::test]
async fn postgres_replicas_racing_for_the_lease_elect_one() {
    let Some(b) = postgres("postgres_replicas_racing").await else {
        return;
    };
    let url = b.url.unwrap();
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(Arc::new(PostgresStore::connect(&url).await.unwrap()));
    }
    let mut handles = Vec::new();
    for (i, s) in stores.iter().enumerate() {
        let s = s.clone();
        handles.push(tokio::spawn(async move {
            let me = format!("r{i}");
            let l = s.lease(&me, "x", 60_000).await.unwrap();
            l.holder == me
        }));
    }
    let mut winners = 0;
    for h in handles {
        winners += usize::from(h.await.unwrap());
    }
    assert_eq!(winners, 1);
}

async fn contracts_are_charged_by_attempt_at_the_price_they_started_under(b: Backend) {
    let store = b.store;
    let mut job = store.submit(new_job("echo a", None)).await.unwrap().job;
    job.preemptions = 2;
    let charge = |number: u32, price: f64| {
        Write::Charge(ContractCharge {
            job: job.id,
            attempt: number,
            contract: "gcp".into(),
            pool: "tpu".into(),
            chips: 2,
            usd_per_chip_hour: price,
        })
    };
    // 3 s on 2 chips at $3.6/chip-hour, ended; 4 s running at $7.2 by now (10 s); a launch
    // that failed for lack of capacity is not charged.
    let mut failed = attempt_with(job.id, 3, Some(9_000));
    failed.outcome = AttemptOutcome::NoCapacity;
    let mut running = attempt_with(job.id, 2, None);
    running.started_ms = 6_000;
    store
        .write(vec![
            Write::Job(job.clone()),
            Write::Attempt(attempt(job.id, 1)),
            charge(1, 3.6),
            Write::Attempt(running),
            charge(2, 7.2),
            Write::Attempt(failed),
            charge(3, 100.0),
        ])
        .await
        .unwrap();
    assert_eq!(store.job(job.id).await.unwrap().unwrap().preemptions, 2);
    let rows = store.contract_usage(10_000).await.unwrap();
    // One row per attempt that ran, in the order they started.
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| (r.contract.as_str(), r.pool.as_str()) == ("gcp", "tpu"))
    );
    assert_eq!(rows.iter().map(|r| r.chip_ms()).sum::<i64>(), 14_000);
    assert_eq!(rows[1].started_ms, 6_000);
    assert_eq!(rows[1].until_ms, 10_000, "running: up to now");
    // 6,000 chip-ms x $3.6 + 8,000 x $7.2, per hour.
    let usd: f64 = rows.iter().map(|r| r.committed_usd()).sum();
    assert!((usd - 0.022).abs() < 1e-9, "{usd}");
    // Written again (a retried batch), an attempt is charged once.
    store.write(vec![charge(1, 3.6)]).await.unwrap();
    assert_eq!(store.contract_usage(10_000).await.unwrap(), rows);
    let usage = store.usage(10_000).await.unwrap();
    assert_eq!(usage[0].attempts, 2, "the failed launch is no usage");
}
