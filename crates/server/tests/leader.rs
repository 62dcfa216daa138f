//! Leadership of a service on a shared (Postgres) store: it takes the lease, schedules, and
//! stops when another replica takes the lease from it. Needs the test server of
//! `scripts/engines/start-all.sh`; SKIPPED loudly without it unless
//! `SPILLWAY_REQUIRE_ENGINES=1`.

use spillway_engines::env_file::{self, EnginesEnv};
use spillway_server::config::Config;
use spillway_server::service::leader::Role;
use spillway_server::service::{Service, ServiceError};
use spillway_server::store::{PostgresStore, Store};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The test server's URL and a fresh schema's URL, or `None` after a loud skip.
async fn database(test: &str) -> Option<(String, String)> {
    let env = EnginesEnv::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let Some(base) = env.get(env_file::DATABASE_URL) else {
        let why = format!("{} is not set", env_file::DATABASE_URL);
        assert!(
            !EnginesEnv::engines_required(),
            "{test}: PostgreSQL is required but not available: {why}"
        );
        let _ = writeln!(
            std::io::stderr().lock(),
            "\n******** SKIPPED {test}: PostgreSQL is not available: {why}.\n\
             ******** Start it with scripts/engines/start-all.sh; set {}=1 to make this a failure.\n",
            env_file::REQUIRE_ENGINES
        );
        return None;
    };
    let schema = format!("leader_{}_{test}", std::process::id());
    let url = PostgresStore::create_schema(base, &schema).await.unwrap();
    Some((base.to_string(), url))
}

/// Waits (bounded) until `f` holds.
async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for: {what}");
}

#[tokio::test]
async fn a_leader_whose_lease_is_taken_stops_and_its_writes_are_fenced() {
    let test = "lease_taken";
    let Some((base, url)) = database(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::parse("[[pool]]\nname = \"cpu\"\nmax_jobs = 1\n", "test").unwrap();
    config.data_dir = dir.path().to_path_buf();
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let service = Service::start_with_at(config, store, "127.0.0.1:1")
        .await
        .unwrap();
    until("the service leads", || {
        matches!(service.role(), Role::Leader(_))
    })
    .await;
    assert!(service.pools().await.is_ok());

    // Another replica takes the lease over (as after this one stalled past its expiry).
    let thief = PostgresStore::connect(&url).await.unwrap();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("UPDATE leader_lease SET expires_ms = 0")
        .await
        .unwrap();
    let taken = thief.lease("thief", "127.0.0.1:2", 60_000).await.unwrap();
    assert_eq!(taken.holder, "thief");

    tokio::time::timeout(Duration::from_secs(20), service.lost_leadership())
        .await
        .expect("the old leader noticed it lost the lease");
    assert_eq!(service.role(), Role::Lost);
    assert!(matches!(
        service.cancel(spillway_server::job::JobId(1)).await,
        Err(ServiceError::Stopped)
    ));
    // Its store refuses writes from now on.
    let err = service.store.write(vec![]).await;
    assert!(err.is_ok(), "an empty batch writes nothing");
    let job = service
        .store
        .submit(spillway_server::store::NewJob {
            tenant: "t".into(),
            spec: spillway_model::spec::parse_spec(
                "run: echo\n",
                &spillway_model::spec::AcceleratorNames::new(["H100"]),
            )
            .unwrap()
            .spec,
            submitted_ms: 1,
            deadline_ms: None,
            idempotency_key: None,
        })
        .await
        .unwrap()
        .job;
    let err = service
        .store
        .write(vec![spillway_server::store::Write::Job(job)])
        .await
        .unwrap_err();
    assert!(
        matches!(err, spillway_server::store::StoreError::Fenced { .. }),
        "{err}"
    );
    PostgresStore::drop_schema(&base, &format!("leader_{}_{test}", std::process::id()))
        .await
        .unwrap();
}
