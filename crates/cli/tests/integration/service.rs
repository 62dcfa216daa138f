//! `spillway serve` end to end: the real binary on 127.0.0.1 with an ephemeral port, driven
//! by the real CLI. Readiness and job completion are polled with a bounded number of
//! attempts, never waited for with fixed sleeps.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Pause between two polls.
pub(crate) const POLL: Duration = Duration::from_millis(50);
/// Polls before giving up (30 s in all).
pub(crate) const ATTEMPTS: usize = 600;

/// A running `spillway serve`.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
    pub(crate) dir: PathBuf,
    config: PathBuf,
}

impl Server {
    /// Starts a server with this config in a fresh data directory under `dir`.
    pub(crate) fn start(dir: &Path, config: &str) -> Server {
        let config_path = dir.join("spillway.toml");
        std::fs::write(&config_path, config).unwrap();
        Server::start_in(dir, &config_path)
    }

    /// (Re)starts a server on the data directory under `dir`.
    pub(crate) fn start_in(dir: &Path, config: &Path) -> Server {
        let addr_file = dir.join("addr");
        let _ = std::fs::remove_file(&addr_file);
        let child = crate::spawn_serve(dir, config, &addr_file, &[]);
        let mut addr = None;
        for _ in 0..ATTEMPTS {
            if let Ok(a) = std::fs::read_to_string(&addr_file) {
                if http_get(&a, "/healthz").is_some_and(|b| b.contains("ok")) {
                    addr = Some(a);
                    break;
                }
            }
            std::thread::sleep(POLL);
        }
        Server {
            child,
            addr: addr.expect("server did not become ready"),
            dir: dir.to_path_buf(),
            config: config.to_path_buf(),
        }
    }

    /// The CLI pointed at this server with `token`.
    pub(crate) fn cli(&self, token: Option<&str>) -> assert_cmd::Command {
        let mut cmd = crate::spillway();
        cmd.env("SPILLWAY_SERVER", format!("http://{}", self.addr));
        match token {
            Some(t) => cmd.env("SPILLWAY_TOKEN", t),
            None => cmd.env_remove("SPILLWAY_TOKEN"),
        };
        cmd
    }

    /// Submits a spec given as text; returns the id.
    pub(crate) fn submit(&self, token: Option<&str>, spec: &str) -> String {
        crate::submit_spec(self.cli(token), spec)
    }

    /// `show --json` of a job.
    pub(crate) fn show(&self, token: Option<&str>, id: &str) -> serde_json::Value {
        let out = self
            .cli(token)
            .args(["show", id, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "show failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `spillway explain` of a job, as printed.
    pub(crate) fn explain(&self, id: &str) -> String {
        let out = self.cli(None).args(["explain", id]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Polls until the job is in a final state; returns that state.
    pub(crate) fn wait_final(&self, token: Option<&str>, id: &str) -> String {
        for _ in 0..ATTEMPTS {
            let state = self.show(token, id)["job"]["state"]
                .as_str()
                .unwrap()
                .to_string();
            if ["succeeded", "failed", "cancelled"].contains(&state.as_str()) {
                return state;
            }
            std::thread::sleep(POLL);
        }
        panic!("job {id} did not finish");
    }

    /// Polls until the job runs.
    pub(crate) fn wait_running(&self, id: &str) {
        for _ in 0..ATTEMPTS {
            if self.show(None, id)["job"]["state"] == "running" {
                return;
            }
            std::thread::sleep(POLL);
        }
        panic!("job {id} did not start");
    }

    /// Kills the server as a crash would (SIGKILL), leaving its jobs running.
    pub(crate) fn kill9(mut self) -> (PathBuf, PathBuf) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        (self.dir.clone(), self.config.clone())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.0 GET; `None` if the server is not answering yet.
pub(crate) fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr.trim()).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

const H100_POOL: &str =
    "[[pool]]\nname = \"local\"\nexecutor = \"local\"\naccelerator = \"H100\"\ncount = 8\n";

#[test]
fn submit_run_logs_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), H100_POOL);
    let id = server.submit(
        None,
        "name: hello\nrun: echo hello from $SPILLWAY_JOB_ID; echo oops >&2\n",
    );
    assert_eq!(server.wait_final(None, &id), "succeeded");
    server
        .cli(None)
        .args(["logs", &id])
        .assert()
        .success()
        .stdout(format!("hello from {id}\n"));
    server
        .cli(None)
        .args(["logs", &id, "--stderr"])
        .assert()
        .success()
        .stdout("oops\n");
    server
        .cli(None)
        .args(["logs", &id, "--follow"])
        .assert()
        .success()
        .stdout(format!("hello from {id}\n"));
    let jobs = server
        .cli(None)
        .args(["jobs", "--state", "succeeded"])
        .output()
        .unwrap();
    let table = String::from_utf8(jobs.stdout).unwrap();
    assert!(table.lines().nth(1).unwrap().contains("hello"), "{table}");
    let explain = server.cli(None).args(["explain", &id]).output().unwrap();
    assert!(String::from_utf8_lossy(&explain.stdout).contains("succeeded (exit code 0)"));
}

#[test]
fn failing_job_fails_with_its_exit_code_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), H100_POOL);
    let id = server.submit(None, "run: exit 3\nmax_restarts: 1\n");
    assert_eq!(server.wait_final(None, &id), "failed");
    let d = server.show(None, &id);
    assert_eq!(d["job"]["exit_code"], 3);
    assert_eq!(
        d["attempts"].as_array().unwrap().len(),
        2,
        "one restart: {d}"
    );
}

#[test]
fn cancel_kills_the_process_tree() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), H100_POOL);
    let marker = dir.path().join("child.pid");
    // The job starts a grandchild; cancel must reach it too (process group).
    let id = server.submit(
        None,
        &format!("run: sleep 300 & echo $! > {}; wait\n", marker.display()),
    );
    server.wait_running(&id);
    let mut child_pid = None;
    for _ in 0..ATTEMPTS {
        if let Some(p) = std::fs::read_to_string(&marker)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            child_pid = Some(p);
            break;
        }
        std::thread::sleep(POLL);
    }
    let child_pid = child_pid.expect("the job wrote its child's pid");
    server.cli(None).args(["cancel", &id]).assert().success();
    assert_eq!(server.wait_final(None, &id), "cancelled");
    let mut gone = false;
    for _ in 0..ATTEMPTS {
        let stat = std::fs::read_to_string(format!("/proc/{child_pid}/stat")).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z ") {
            gone = true;
            break;
        }
        std::thread::sleep(POLL);
    }
    assert!(gone, "grandchild {child_pid} survived cancel");
    server
        .cli(None)
        .args(["cancel", &id])
        .assert()
        .failure()
        .stderr(predicates::str::contains("already cancelled"));
}

#[test]
fn multi_accelerator_job_sees_distinct_devices() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), H100_POOL);
    let first = server.submit(
        None,
        "run: echo $CUDA_VISIBLE_DEVICES\nresources:\n  accelerators: H100:2\n",
    );
    assert_eq!(server.wait_final(None, &first), "succeeded");
    let out = server.cli(None).args(["logs", &first]).output().unwrap();
    let devices: Vec<u32> = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .split(',')
        .map(|d| d.parse().unwrap())
        .collect();
    assert_eq!(devices.len(), 2);
    assert_ne!(devices[0], devices[1]);
    assert!(devices.iter().all(|d| *d < 8));
    // Two jobs at once get disjoint devices.
    let spec = "run: echo $CUDA_VISIBLE_DEVICES; sleep 1\nresources:\n  accelerators: H100:4\n";
    let (a, b) = (server.submit(None, spec), server.submit(None, spec));
    assert_eq!(server.wait_final(None, &a), "succeeded");
    assert_eq!(server.wait_final(None, &b), "succeeded");
    let mut all: Vec<String> = [a, b]
        .iter()
        .flat_map(|id| {
            let out = server.cli(None).args(["logs", id]).output().unwrap();
            String::from_utf8(out.stdout)
                .unwrap()
                .trim()
                .split(',')
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 8, "two 4-GPU jobs must share no device: {all:?}");
}

#[test]
fn tenants_cannot_see_each_others_jobs() {
    let dir = tempfile::tempdir().unwrap();
    // Top-level keys come before the TOML tables.
    let config = format!(
        "admin_tokens = [\"admin-token-1\"]\n{H100_POOL}\
         [[tenant]]\nname = \"red\"\ntokens = [\"red-token-1\"]\n\
         [[tenant]]\nname = \"blue\"\ntokens = [\"blue-token-1\"]\n"
    );
    let server = Server::start(dir.path(), &config);
    let red = server.submit(Some("red-token-1"), "run: echo red\n");
    let blue = server.submit(Some("blue-token-1"), "run: echo blue\n");
    server
        .cli(Some("blue-token-1"))
        .args(["show", &red])
        .assert()
        .failure()
        .stderr(predicates::str::contains(format!("job {red} not found")));
    server
        .cli(Some("blue-token-1"))
        .args(["cancel", &red])
        .assert()
        .failure();
    server
        .cli(Some("blue-token-1"))
        .args(["logs", &red])
        .assert()
        .failure();
    let list = server
        .cli(Some("red-token-1"))
        .args(["jobs", "--json"])
        .output()
        .unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let ids: Vec<String> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].to_string())
        .collect();
    assert_eq!(ids, vec![red.clone()]);
    let all = server
        .cli(Some("admin-token-1"))
        .args(["jobs", "--json"])
        .output()
        .unwrap();
    let all: serde_json::Value = serde_json::from_slice(&all.stdout).unwrap();
    assert_eq!(all["jobs"].as_array().unwrap().len(), 2);
    server
        .cli(None)
        .args(["jobs"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("missing bearer token"));
    server
        .cli(Some("wrong-token"))
        .args(["jobs"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("unknown token"));
    server
        .cli(Some("red-token-1"))
        .args(["submit", "-"])
        .write_stdin("tenant: blue\nrun: echo x\n")
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "the spec names tenant 'blue' but the token belongs to 'red'",
        ));
    assert_eq!(server.wait_final(Some("admin-token-1"), &blue), "succeeded");
}

#[test]
fn kill_9_and_restart_runs_every_job_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let ids_file = dir.path().join("ids");
    let server = Server::start(dir.path(), "[[pool]]\nname = \"cpu\"\nmax_jobs = 3\n");
    let spec = format!(
        "run: sleep 0.5; echo $SPILLWAY_JOB_ID >> {}\n",
        ids_file.display()
    );
    let ids: Vec<String> = (0..12).map(|_| server.submit(None, &spec)).collect();
    // Crash once a few have finished, with others running and more queued.
    for _ in 0..ATTEMPTS {
        let done = std::fs::read_to_string(&ids_file)
            .unwrap_or_default()
            .lines()
            .count();
        if done >= 3 {
            break;
        }
        std::thread::sleep(POLL);
    }
    let (dir_path, config) = server.kill9();
    let server = Server::start_in(&dir_path, &config);
    for id in &ids {
        assert_eq!(server.wait_final(None, id), "succeeded", "job {id}");
    }
    let mut seen: Vec<String> = std::fs::read_to_string(&ids_file)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    seen.sort_by_key(|s| s.parse::<u64>().unwrap());
    let mut expected = ids.clone();
    expected.sort_by_key(|s| s.parse::<u64>().unwrap());
    assert_eq!(seen, expected, "every job exactly once");
}

#[test]
fn validate_works_offline() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, "name: t\nrun: python train.py\nresources:\n  accelerators: [H100:8, A100-80GB:8]\nfile_mounts: {/d: s3://x}\n").unwrap();
    crate::spillway()
        .args(["validate"])
        .arg(&good)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "valid SkyPilot task: job 't', H100:8 or A100-80GB:8 (in order of preference)",
        ))
        .stderr("warning: file_mounts: ignored: SkyPilot field that Spillway does not use\n");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "run: x\nresources:\n  accelerators: [H100:8, h100mega:8]\n",
    )
    .unwrap();
    crate::spillway()
        .args(["validate"])
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "resources.accelerators[1]: unknown accelerator 'h100mega': did you mean H100-MEGA?",
        ));
}

#[test]
fn validate_shows_tpu_slices_in_both_forms_and_pipelines_task_by_task() {
    let dir = tempfile::tempdir().unwrap();
    let tpu = dir.path().join("tpu.yaml");
    std::fs::write(
        &tpu,
        "run: x\nenvs: {HF_TOKEN: null}\nresources:\n  accelerators: [tpu-v5p-32, tpu-v6e:8]\n",
    )
    .unwrap();
    crate::spillway()
        .args(["validate"])
        .arg(&tpu)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "job 'job', tpu-v5p-32 = 16 chips or tpu-v6e:8 = tpu-v6e-8 (in order of preference), priority 500; give at submit: --env HF_TOKEN=...",
        ));
    let pipeline = dir.path().join("pipeline.yaml");
    std::fs::write(
        &pipeline,
        "name: p\n---\nname: a\nrun: x\n---\nname: b\nrun: y\nresources: {accelerators: H100:8}\n",
    )
    .unwrap();
    crate::spillway()
        .args(["validate"])
        .arg(&pipeline)
        .assert()
        .success()
        .stdout(predicates::str::contains("is a valid pipeline of 2 tasks"))
        .stdout(predicates::str::contains(
            "  2. SkyPilot task: job 'b', H100:8",
        ));
}

/// Two slice jobs on a pool of two `tpu-v5p-8` slices hold one whole slice each at once
/// (never the cheaper loose chips next to them), and a shape no pool has is refused at submit.
#[test]
fn slice_jobs_hold_whole_slices_and_other_shapes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        "[[pool]]\nname = \"loose\"\naccelerator = \"tpu-v5p\"\ncount = 8\nprice = { plan = \"on_demand\", usd_per_chip_hour = 0.1 }\n\
         [[pool]]\nname = \"pods\"\naccelerator = \"tpu-v5p-8\"\nslices = 2\ntopology = \"2x2\"\nprice = { plan = \"on_demand\", usd_per_chip_hour = 4.2 }\n",
    );
    let go = dir.path().join("go");
    // Each job says which chips it got, then holds them until both run.
    let spec = format!(
        "run: echo \"$TPU_VISIBLE_CHIPS $TPU_ACCELERATOR_TYPE\"; while [ ! -f {} ]; do sleep 0.05; done\nresources:\n  accelerators: tpu-v5p-8\n",
        go.display()
    );
    let (a, b) = (server.submit(None, &spec), server.submit(None, &spec));
    server.wait_running(&a);
    server.wait_running(&b);
    std::fs::write(&go, "").unwrap();
    let mut chips = Vec::new();
    for id in [&a, &b] {
        assert_eq!(server.wait_final(None, id), "succeeded");
        assert_eq!(server.show(None, id)["attempts"][0]["pool"], "pods");
        let out = server.cli(None).args(["logs", id]).output().unwrap();
        chips.push(String::from_utf8(out.stdout).unwrap());
    }
    chips.sort();
    assert_eq!(chips, ["0,1,2,3 v5p-8\n", "4,5,6,7 v5p-8\n"]);
    let out = server
        .cli(None)
        .args(["submit", "-"])
        .write_stdin(
            "run: x\nresources:\n  accelerators: tpu-v5p-8\n  accelerator_args: {topology: 4x1}\n",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no declared pool has a tpu-v5p-8 of topology 4x1 slice")
            && err.contains("pool pods is tpu-v5p-8 slices of topology 2x2")
            && err.contains("pool loose has 8 loose tpu-v5p chips"),
        "{err}"
    );
}

#[test]
fn a_pipeline_runs_task_after_task_with_values_given_at_submit() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), H100_POOL);
    let file = dir.path().join("pipeline.yaml");
    std::fs::write(
        &file,
        "name: p\n---\nname: first\nrun: sleep 0.3; echo \"first $STAGE\"\nenvs: {STAGE: null}\n---\nname: second\nrun: test -n \"$API_KEY\" && echo \"second ${#API_KEY}\"\nsecrets: {API_KEY: null}\n",
    )
    .unwrap();
    let out = server
        .cli(None)
        .args(["submit", "--env", "STAGE=one", "--secret", "API_KEY"])
        .arg(&file)
        .env("API_KEY", "k3y-from-env")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        server.show(None, &ids[1])["job"]["spec"]["after"],
        ids[0].parse::<i64>().unwrap()
    );
    assert_eq!(server.wait_final(None, &ids[1]), "succeeded");
    assert_eq!(server.wait_final(None, &ids[0]), "succeeded");
    server
        .cli(None)
        .args(["logs", &ids[1]])
        .assert()
        .success()
        .stdout("second 12\n");
    let shown = server.show(None, &ids[1]).to_string();
    assert!(!shown.contains("k3y-from-env"), "{shown}");
    // A secret missing from the caller's environment is refused before anything is sent.
    server
        .cli(None)
        .args(["submit", "--secret", "NOT_SET_ANYWHERE"])
        .arg(&file)
        .env_remove("NOT_SET_ANYWHERE")
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "--secret NOT_SET_ANYWHERE: NOT_SET_ANYWHERE is not set in your environment",
        ));
}

#[test]
fn pools_table() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        "[[pool]]\nname = \"h100-box\"\naccelerator = \"H100\"\ncount = 8\nprice = { plan = \"owned\", usd_per_chip_hour = 1.1 }\n\
         [[pool]]\nname = \"cpu\"\nmax_jobs = 4\n",
    );
    let out = server.cli(None).args(["pools"]).output().unwrap();
    assert!(out.status.success());
    insta::assert_snapshot!(String::from_utf8(out.stdout).unwrap());
}

#[test]
fn an_open_server_refuses_non_loopback_addresses() {
    let dir = tempfile::tempdir().unwrap();
    crate::spillway()
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "refusing to listen on 0.0.0.0:0 with no tokens configured",
        ));
}

#[test]
fn logs_follow_streams_a_running_job_until_it_ends() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), H100_POOL);
    let go = dir.path().join("go");
    // The job waits (at most 30 s) for the test to say go between its two lines.
    let id = server.submit(
        None,
        &format!(
            "run: echo first; for i in $(seq 600); do [ -f {} ] && break; sleep 0.05; done; echo second\n",
            go.display()
        ),
    );
    let mut follow = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(["logs", &id, "--follow"])
        .env("SPILLWAY_SERVER", format!("http://{}", server.addr))
        .env_remove("SPILLWAY_TOKEN")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(follow.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(
        line, "first\n",
        "the first line arrives while the job still runs"
    );
    std::fs::write(&go, "").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "second\n");
    assert!(follow.wait().unwrap().success());
    assert_eq!(server.wait_final(None, &id), "succeeded");
}

#[test]
fn the_configured_core_policy_places_jobs_and_explains_them() {
    let dir = tempfile::tempdir().unwrap();
    // An A100 pool listed first and an H100 pool: the heterogeneity-aware FIFO of the core
    // puts a job that accepts either (A100 first) on the faster H100.
    let server = Server::start(
        dir.path(),
        "[scheduler]\npolicy = \"fifo_perf\"\n\n\
         [[pool]]\nname = \"a100\"\naccelerator = \"A100\"\ncount = 1\n\n\
         [[pool]]\nname = \"h100\"\naccelerator = \"H100\"\ncount = 1\n",
    );
    let pools = server.cli(None).args(["pools"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&pools.stdout).contains("policy: fifo_perf"),
        "{}",
        String::from_utf8_lossy(&pools.stdout)
    );
    let id = server.submit(
        None,
        "run: sleep 30\nresources:\n  accelerators: [A100:1, H100:1]\n",
    );
    let mut explained = String::new();
    for _ in 0..ATTEMPTS {
        let out = server.cli(None).args(["explain", &id]).output().unwrap();
        explained = String::from_utf8(out.stdout).unwrap();
        if explained.contains("running") {
            break;
        }
        std::thread::sleep(POLL);
    }
    assert!(
        explained.contains("placed on pool h100 with H100:1")
            && explained.contains("by policy fifo_perf")
            && explained.contains("allocates it 100% of this pool's time")
            && explained.contains("policy: fifo_perf"),
        "{explained}"
    );
    // A second job: the H100 is taken, so the policy gives it the A100.
    let second = server.submit(
        None,
        "run: sleep 30\nresources:\n  accelerators: [A100:1, H100:1]\n",
    );
    for _ in 0..ATTEMPTS {
        if server.show(None, &second)["job"]["state"] == "running" {
            break;
        }
        std::thread::sleep(POLL);
    }
    let out = server
        .cli(None)
        .args(["explain", &second])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("placed on pool a100 with A100:1"), "{text}");
    for j in [&id, &second] {
        server.cli(None).args(["cancel", j]).assert().success();
        assert_eq!(server.wait_final(None, j), "cancelled");
    }
}
