//! Two `spillway serve` replicas on one PostgreSQL: one leads, the other serves reads and
//! accepts submits, and takes over when the leader is killed with SIGKILL; no job runs
//! twice. Needs the test server of `scripts/engines/start-all.sh` (a fresh schema per
//! test); without it the test is SKIPPED loudly, or fails with `SPILLWAY_REQUIRE_ENGINES=1`.

use spillway_engines::env_file::{self, EnginesEnv};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

/// Pause between two polls.
const POLL: Duration = Duration::from_millis(50);
/// Polls before giving up (30 s in all).
const ATTEMPTS: usize = 600;

/// The test server's URL in a schema of this test's own, or `None` after a loud skip.
fn database(test: &str) -> Option<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let env = EnginesEnv::load(&root);
    let Some(base) = env.get(env_file::DATABASE_URL) else {
        let why = format!("{} is not set", env_file::DATABASE_URL);
        assert!(
            !EnginesEnv::engines_required(),
            "{test}: PostgreSQL is required ({}=1) but not available: {why}",
            env_file::REQUIRE_ENGINES
        );
        // Straight to stderr: the harness hides the output of passing tests.
        let _ = writeln!(
            std::io::stderr().lock(),
            "\n******** SKIPPED {test}: PostgreSQL is not available: {why}.\n\
             ******** Start it with scripts/engines/start-all.sh; set {}=1 to make this a failure.\n",
            env_file::REQUIRE_ENGINES
        );
        return None;
    };
    let schema = format!("ha_{}_{test}", std::process::id());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt
        .block_on(spillway_server::store::PostgresStore::create_schema(
            base, &schema,
        ))
        .unwrap_or_else(|e| panic!("{test}: failed to create schema {schema} on {base}: {e}"));
    Some((url, schema))
}

/// A running replica.
struct Replica {
    child: Child,
    addr: String,
}

impl Replica {
    /// Starts a replica sharing `data` (logs and pid files) and the database.
    fn start(name: &str, dir: &Path, config: &Path, database: &str) -> Replica {
        let addr_file = dir.join(format!("addr-{name}"));
        let child = crate::spawn_serve(
            dir,
            config,
            &addr_file,
            &["--database".as_ref(), database.as_ref()],
        );
        let addr = poll("replica ready", || {
            let a = std::fs::read_to_string(&addr_file).ok()?;
            http_get(&a, "/healthz")
                .filter(|(status, _)| *status == 200)
                .map(|_| a)
        });
        Replica { child, addr }
    }

    /// Whether it leads: only the leader answers `/v1/pools`; a follower answers 503.
    fn pools(&self) -> Option<(u16, String)> {
        http_get(&self.addr, "/v1/pools")
    }

    fn cli(&self) -> assert_cmd::Command {
        let mut cmd = crate::spillway();
        cmd.env("SPILLWAY_SERVER", format!("http://{}", self.addr));
        cmd.env_remove("SPILLWAY_TOKEN");
        cmd
    }

    fn submit(&self, spec: &str) -> String {
        crate::submit_spec(self.cli(), spec)
    }

    fn state(&self, id: &str) -> String {
        let out = self.cli().args(["show", id, "--json"]).output().unwrap();
        assert!(out.status.success(), "show {id} on {} failed", self.addr);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["job"]["state"].as_str().unwrap().to_string()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `f` until it returns a value; panics after [`ATTEMPTS`].
fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..ATTEMPTS {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(POLL);
    }
    panic!("gave up waiting for: {what}");
}

/// A plain HTTP/1.0 GET: status and body, or `None` if nothing answers.
fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr.trim()).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text))
}

#[test]
fn the_follower_takes_over_a_killed_leader_and_runs_every_job_exactly_once() {
    let test = "takeover";
    let Some((url, schema)) = database(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("spillway.toml");
    std::fs::write(&config, "[[pool]]\nname = \"cpu\"\nmax_jobs = 3\n").unwrap();
    let ids_file = dir.path().join("ids");

    let a = Replica::start("a", dir.path(), &config, &url);
    poll("replica a leads", || a.pools().filter(|(s, _)| *s == 200));
    let b = Replica::start("b", dir.path(), &config, &url);
    // A follower answers "no leader is elected yet" until it has read the lease once.
    let (status, body) = poll("replica b reads the lease", || {
        b.pools()
            .filter(|(_, body)| !body.contains("no leader is elected yet"))
    });
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains(&format!("follows the leader at http://{}", a.addr)),
        "{body}"
    );

    // One long job still runs when the leader dies, so the new leader must adopt it.
    let long = a.submit(&format!(
        "run: sleep 8; echo $SPILLWAY_JOB_ID >> {}\n",
        ids_file.display()
    ));
    poll("the long job runs", || {
        (a.state(&long) == "running").then_some(())
    });
    // Submits go to both: the follower stores them and the leader picks them up.
    let spec = format!(
        "run: sleep 0.5; echo $SPILLWAY_JOB_ID >> {}\n",
        ids_file.display()
    );
    let mut ids: Vec<String> = (0..16)
        .map(|i| if i % 2 == 0 { &a } else { &b }.submit(&spec))
        .collect();
    // The follower serves reads of jobs the leader runs.
    poll("a job submitted to the follower runs", || {
        (b.state(&ids[1]) != "queued").then_some(())
    });
    poll("a few short jobs done", || {
        let done = std::fs::read_to_string(&ids_file)
            .unwrap_or_default()
            .lines()
            .count();
        (done >= 3).then_some(())
    });

    // Crash the leader mid-queue, with jobs running and more queued.
    let mut a = a;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let killed = Instant::now();
    poll("the follower takes over", || {
        b.pools().filter(|(s, _)| *s == 200)
    });
    let takeover = killed.elapsed();
    ids.push(long.clone());
    let _ = writeln!(
        std::io::stderr().lock(),
        "takeover: the follower led {:.2} s after SIGKILL of the leader",
        takeover.as_secs_f64()
    );

    for id in &ids {
        let state = poll("every job finished", || {
            let s = b.state(id);
            ["succeeded", "failed", "cancelled"]
                .contains(&s.as_str())
                .then_some(s)
        });
        assert_eq!(state, "succeeded", "job {id}");
    }
    let mut seen: Vec<u64> = std::fs::read_to_string(&ids_file)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    seen.sort_unstable();
    let mut expected: Vec<u64> = ids.iter().map(|i| i.parse().unwrap()).collect();
    expected.sort_unstable();
    assert_eq!(seen, expected, "every job exactly once");
    let out = b.cli().args(["show", &long, "--json"]).output().unwrap();
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"adopted"), "{kinds:?}");
    assert_eq!(shown["job"]["attempts"], 1, "{shown}");
    let base = EnginesEnv::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .get(env_file::DATABASE_URL)
        .unwrap()
        .to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(spillway_server::store::PostgresStore::drop_schema(
        &base, &schema,
    ))
    .unwrap();
}
