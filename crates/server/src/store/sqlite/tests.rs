//! SQLite store tests: durability across reopen, idempotency, batched writes, usage.

use super::*;
use spillway_model::spec::{AcceleratorNames, parse_spec};

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

#[tokio::test]
async fn jobs_survive_reopen_and_ids_increase() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let first = {
        let store = SqliteStore::open(&path).unwrap();
        let a = store.submit(new_job("echo a", None)).await.unwrap();
        let b = store.submit(new_job("echo b", None)).await.unwrap();
        assert!(b.job.id > a.job.id);
        a.job
    };
    let store = SqliteStore::open(&path).unwrap();
    let loaded = store.job(first.id).await.unwrap().unwrap();
    assert_eq!(loaded, first);
    assert_eq!(store.unfinished().await.unwrap().len(), 2);
}

#[tokio::test]
async fn idempotency_key_returns_the_same_job_and_rejects_a_different_spec() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
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
    assert_eq!(store.jobs(JobFilter::default()).await.unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_submits_are_batched_and_all_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let mut handles = Vec::new();
    for i in 0..200 {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            s.submit(new_job(&format!("echo {i}"), None))
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
}

#[tokio::test]
async fn attempts_events_and_usage() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    let mut job = store.submit(new_job("echo a", None)).await.unwrap().job;
    job.state = JobState::Running;
    job.attempts = 1;
    let attempt = Attempt {
        job: job.id,
        number: 1,
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
    };
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
    assert_eq!(store.attempts(job.id).await.unwrap(), vec![attempt]);
    let kinds: Vec<String> = store
        .events(job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["submitted", "started"]);
    let usage = store.usage(10_000).await.unwrap();
    assert_eq!(usage[0].chip_ms, 6_000);
    let running = store
        .jobs(JobFilter {
            state: Some(JobState::Running),
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(running.len(), 1);
}
