//! `spillway serve` with Slurm and Ray pools, end to end against the REAL engines that
//! `scripts/engines/start-all.sh` starts (two one-host Slurm clusters with fake typed GPUs,
//! a Ray head): submit through the CLI, the job runs under the engine with the accelerators
//! it asked for, logs come back through `spillway logs`; cancel; Slurm preemption requeues;
//! slurmctld restarts and a Spillway crash lose no job and submit none twice; two clusters
//! at once; Ray's admission timeout.
//!
//! An engine that is not there makes its tests pass with a loud SKIPPED banner, or fail
//! with `SPILLWAY_REQUIRE_ENGINES=1` (the rule of crates/engines/tests). Engines give no
//! notifications: tests poll, with bounded waits generous for a busy 2-core host.

use spillway_engines::env_file::{self, EnginesEnv};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The Slurm tests share two small clusters: one at a time, so that preemption and a
/// slurmctld restart hit only the test that causes them.
static SLURM: Mutex<()> = Mutex::new(());

/// Longest wait for any one thing.
const LIMIT: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(100);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn engines() -> EnginesEnv {
    EnginesEnv::load(&workspace_root())
}

/// A missing engine: a failure when engines are required, else a loud skip.
fn unavailable(test: &str, engine: &str, why: &str) -> Option<EnginesEnv> {
    if EnginesEnv::engines_required() {
        panic!(
            "{test}: {engine} is required ({}=1) but not available: {why}",
            env_file::REQUIRE_ENGINES
        );
    }
    // Straight to stderr: the harness would hide an eprintln! of a passing test.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n******** SKIPPED {test}: {engine} is not available: {why}.\n\
         ******** Start the engines with scripts/engines/start-all.sh; set {}=1 to make \
         this a failure.\n",
        env_file::REQUIRE_ENGINES
    );
    None
}

fn slurm_up(conf: &str) -> Result<(), String> {
    let out = Command::new("scontrol")
        .arg("ping")
        .env("SLURM_CONF", conf)
        .output()
        .map_err(|e| format!("cannot run scontrol: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("is UP") {
        Ok(())
    } else {
        Err(format!("scontrol ping says: {}", text.trim()))
    }
}

/// The env with both clusters answering, or `None` after a skip.
pub(crate) fn need_slurm(test: &str, keys: &[&str]) -> Option<EnginesEnv> {
    let env = engines();
    for key in keys {
        let Some(conf) = env.get(key) else {
            return unavailable(test, "Slurm", &format!("{key} is not set"));
        };
        if let Err(why) = slurm_up(conf) {
            return unavailable(test, "Slurm", &why);
        }
    }
    Some(env)
}

pub(crate) fn need_ray(test: &str) -> Option<EnginesEnv> {
    let env = engines();
    let Some(address) = env.get(env_file::RAY_ADDRESS) else {
        return unavailable(
            test,
            "Ray",
            &format!("{} is not set", env_file::RAY_ADDRESS),
        );
    };
    let host = address.trim_start_matches("http://").trim_end_matches('/');
    match http_get(host, "/api/version") {
        Some(body) if body.contains("ray_version") => Some(env),
        other => unavailable(test, "Ray", &format!("{address} answered {other:?}")),
    }
}

pub(crate) fn lock_slurm() -> MutexGuard<'static, ()> {
    SLURM.lock().unwrap_or_else(|p| p.into_inner())
}

fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr.trim()).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// Polls `f` until it gives a value; panics naming `what` after [`LIMIT`].
pub(crate) fn wait<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let since = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(since.elapsed() < LIMIT, "{what}: not after {LIMIT:?}");
        std::thread::sleep(POLL);
    }
}

/// A running `spillway serve` on 127.0.0.1.
pub(crate) struct Server {
    child: Child,
    addr: String,
    dir: PathBuf,
}

impl Server {
    /// Starts a server with `config` on the data directory under `dir`.
    pub(crate) fn start(dir: &Path, config: &str) -> Server {
        let config_path = dir.join("spillway.toml");
        std::fs::write(&config_path, config).unwrap();
        let addr_file = dir.join("addr");
        let _ = std::fs::remove_file(&addr_file);
        let child = crate::spawn_serve(dir, &config_path, &addr_file, &[]);
        // Recovery may wait for a slurmctld that restarts: allow for it.
        let addr = wait("server ready", || {
            let a = std::fs::read_to_string(&addr_file).ok()?;
            http_get(&a, "/healthz")
                .filter(|b| b.contains("ok"))
                .map(|_| a)
        });
        Server {
            child,
            addr,
            dir: dir.to_path_buf(),
        }
    }

    pub(crate) fn cli(&self) -> assert_cmd::Command {
        let mut cmd = crate::spillway();
        cmd.env("SPILLWAY_SERVER", format!("http://{}", self.addr));
        cmd.env_remove("SPILLWAY_TOKEN");
        cmd
    }

    /// Submits a spec; returns the job id.
    pub(crate) fn submit(&self, spec: &str) -> String {
        crate::submit_spec(self.cli(), spec)
    }

    pub(crate) fn show(&self, id: &str) -> serde_json::Value {
        let out = self.cli().args(["show", id, "--json"]).output().unwrap();
        assert!(
            out.status.success(),
            "show failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Waits for a final state; returns the job's details then.
    pub(crate) fn wait_final(&self, id: &str) -> serde_json::Value {
        let since = Instant::now();
        loop {
            let d = self.show(id);
            let state = d["job"]["state"].as_str().unwrap_or_default();
            if ["succeeded", "failed", "cancelled"].contains(&state) {
                return d;
            }
            // On a timeout, say where the job stood: its state, attempts and events.
            assert!(
                since.elapsed() < LIMIT,
                "job {id} final: not after {LIMIT:?}; last seen: {d:#}"
            );
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the job has an event of `kind`; returns the details then.
    pub(crate) fn wait_event(&self, id: &str, kind: &str) -> serde_json::Value {
        wait(&format!("job {id} event {kind}"), || {
            let d = self.show(id);
            events(&d).iter().any(|(k, _)| k == kind).then_some(d)
        })
    }

    pub(crate) fn logs(&self, id: &str) -> String {
        let out = self.cli().args(["logs", id]).output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The installation id the engine executors put in job names.
    pub(crate) fn instance(&self) -> String {
        std::fs::read_to_string(self.data().join("instance-id"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// Kills the server as a crash would, leaving the engines' jobs alone.
    fn kill9(mut self) -> PathBuf {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.dir.clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (kind, message) of each event.
fn events(d: &serde_json::Value) -> Vec<(String, String)> {
    d["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_string(),
                e["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// A Slurm pool of 4 H100 (the clusters' `h100` GRES) on the cluster of `conf`.
fn slurm_pool(name: &str, conf: &str) -> String {
    format!(
        "[[pool]]\nname = \"{name}\"\nexecutor = \"slurm\"\nslurm_conf = \"{conf}\"\n\
         partition = \"batch\"\ngres = \"gpu:h100\"\naccelerator = \"H100\"\ncount = 4\n\
         time_limit = \"10m\"\npoll_interval = \"200ms\"\n"
    )
}

/// Slurm jobs (any state) of this server's job `id` (comment `spillway:<id>`, name
/// `spillway-<instance>-<id>-<attempt>`), from `squeue --json`.
fn slurm_jobs_of(server: &Server, conf: &str, id: &str) -> Vec<serde_json::Value> {
    let prefix = format!("spillway-{}-{id}-", server.instance());
    let out = Command::new("squeue")
        .args(["--json", "--states=all"])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let comment = format!("spillway:{id}");
    doc["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|j| j["comment"].as_str() == Some(comment.as_str()))
        .filter(|j| j["name"].as_str().is_some_and(|n| n.starts_with(&prefix)))
        .cloned()
        .collect()
}

#[test]
fn slurm_job_runs_with_its_gpus_then_a_cancel_reaches_slurm() {
    let test = "slurm_job_runs_with_its_gpus_then_a_cancel_reaches_slurm";
    let _slurm = lock_slurm();
    let Some(env) = need_slurm(test, &[env_file::SLURM_CONF]) else {
        return;
    };
    let conf = env.get(env_file::SLURM_CONF).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &slurm_pool("cluster-a", conf));

    let id = server.submit(
        "name: gpus\nsetup: echo setup-ok\nrun: |\n  echo \"$CUDA_VISIBLE_DEVICES\" > gpus.txt\n  \
         echo \"job=$SPILLWAY_JOB_ID slurm=$SLURM_JOB_ID gpus=$CUDA_VISIBLE_DEVICES\"\n  echo oops >&2\n\
         resources:\n  accelerators: H100:2\n",
    );
    let d = server.wait_final(&id);
    assert_eq!(d["job"]["state"], "succeeded", "{d:#}");
    // Slurm handed over two of the h100 devices (fake devices 4 to 7).
    let gpus =
        std::fs::read_to_string(server.data().join(format!("jobs/{id}/work/gpus.txt"))).unwrap();
    let gpus: Vec<u32> = gpus.trim().split(',').map(|g| g.parse().unwrap()).collect();
    assert_eq!(gpus.len(), 2, "{gpus:?}");
    assert!(gpus.iter().all(|g| (4..8).contains(g)), "{gpus:?}");
    let slurm_id = d["attempts"][0]["external_id"]
        .as_str()
        .unwrap()
        .to_string();
    let logs = server.logs(&id);
    assert!(logs.starts_with("setup-ok\n"), "{logs}");
    assert!(
        logs.contains(&format!("job={id} slurm={slurm_id} gpus=")),
        "{logs}"
    );
    let stderr = server
        .cli()
        .args(["logs", &id, "--stderr"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&stderr.stdout), "oops\n");
    assert!(
        events(&d)
            .iter()
            .any(|(k, m)| k == "running" && m.contains(&format!("Slurm job {slurm_id}"))),
        "{d:#}"
    );
    let in_slurm = slurm_jobs_of(&server, conf, &id);
    assert_eq!(in_slurm.len(), 1, "{in_slurm:#?}");
    assert_eq!(
        in_slurm[0]["name"],
        format!("spillway-{}-{id}-1", server.instance())
    );
    assert_eq!(in_slurm[0]["partition"], "batch");

    // Cancel a running job: scancel, and the job ends cancelled in both.
    let id = server.submit("name: sleeper\nrun: sleep 300\nresources:\n  accelerators: H100:1\n");
    server.wait_event(&id, "running");
    server.cli().args(["cancel", &id]).assert().success();
    let d = server.wait_final(&id);
    assert_eq!(d["job"]["state"], "cancelled", "{d:#}");
    let state = wait("Slurm job cancelled", || {
        let jobs = slurm_jobs_of(&server, conf, &id);
        let state = jobs.first()?["job_state"].as_str()?.to_string();
        (state == "CANCELLED").then_some(state)
    });
    assert_eq!(state, "CANCELLED");
}

#[test]
fn slurm_preemption_requeues_the_job_which_then_finishes() {
    let test = "slurm_preemption_requeues_the_job_which_then_finishes";
    let _slurm = lock_slurm();
    let Some(env) = need_slurm(test, &[env_file::SLURM_CONF]) else {
        return;
    };
    let conf = env.get(env_file::SLURM_CONF).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &slurm_pool("cluster-a", conf));
    let id = server.submit(
        "name: preemptible\nrun: echo \"run ${SLURM_RESTART_COUNT:-0}\"; sleep 4\n\
         resources:\n  accelerators: H100:4\n",
    );
    server.wait_event(&id, "running");
    // Someone else's urgent job takes all h100s: Slurm preempts ours by requeueing it.
    let urgent = Command::new("sbatch")
        .args([
            "--parsable",
            "--partition=urgent",
            "--gres=gpu:h100:4",
            "--job-name=urgent",
            "--output=/dev/null",
            "--wrap=sleep 2",
        ])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    assert!(urgent.status.success(), "{urgent:?}");
    let d = server.wait_event(&id, "requeued");
    let d = if d["job"]["state"] == "queued" {
        d
    } else {
        server.show(&id)
    };
    // Shown as requeued by Slurm, not failed.
    assert!(
        ["queued", "running"].contains(&d["job"]["state"].as_str().unwrap()),
        "{d:#}"
    );
    let d = server.wait_final(&id);
    assert_eq!(d["job"]["state"], "succeeded", "{d:#}");
    assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "{d:#}");
    let logs = server.logs(&id);
    assert!(
        logs.contains("run 0\n") && logs.contains("run 1\n"),
        "{logs}"
    );
    assert_eq!(slurm_jobs_of(&server, conf, &id).len(), 1);
}

#[test]
fn slurmctld_restart_and_a_spillway_crash_lose_no_job_and_submit_none_twice() {
    let test = "slurmctld_restart_and_a_spillway_crash_lose_no_job_and_submit_none_twice";
    let _slurm = lock_slurm();
    let Some(env) = need_slurm(test, &[env_file::SLURM_B_CONF]) else {
        return;
    };
    let conf = env.get(env_file::SLURM_B_CONF).unwrap();
    let Some(slurm_dir) = env.get(env_file::SLURM_B_DIR) else {
        unavailable(test, "Slurm cluster B", "SPILLWAY_SLURM_B_DIR is not set");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &slurm_pool("cluster-b", conf));
    let spec = "run: echo done-$SPILLWAY_JOB_ID; sleep 3\nresources:\n  accelerators: H100:2\n";
    let a = server.submit(spec);
    let b = server.submit(spec);
    server.wait_event(&a, "running");
    let restart = Command::new(workspace_root().join("scripts/engines/slurm-restart-ctld.sh"))
        .arg(slurm_dir)
        .output()
        .unwrap();
    assert!(restart.status.success(), "{restart:?}");
    // Spillway crashes too, while both jobs are in Slurm's hands; its successor adopts them.
    let dir_path = server.kill9();
    let server = Server::start(&dir_path, &slurm_pool("cluster-b", conf));
    let c = server.submit(spec);
    for id in [&a, &b, &c] {
        let d = server.wait_final(id);
        assert_eq!(d["job"]["state"], "succeeded", "{d:#}");
        assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "{d:#}");
        assert!(server.logs(id).contains(&format!("done-{id}")));
        assert_eq!(
            slurm_jobs_of(&server, conf, id).len(),
            1,
            "job {id} submitted twice"
        );
    }
    let d = server.show(&a);
    assert!(
        events(&d).iter().any(|(k, _)| k == "adopted"),
        "job {a} was not adopted: {d:#}"
    );
}

#[test]
fn two_slurm_clusters_are_two_pools_and_jobs_land_on_both() {
    let test = "two_slurm_clusters_are_two_pools_and_jobs_land_on_both";
    let _slurm = lock_slurm();
    let Some(env) = need_slurm(test, &[env_file::SLURM_CONF, env_file::SLURM_B_CONF]) else {
        return;
    };
    let (conf_a, conf_b) = (
        env.get(env_file::SLURM_CONF).unwrap(),
        env.get(env_file::SLURM_B_CONF).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}{}",
        slurm_pool("cluster-a", conf_a),
        slurm_pool("cluster-b", conf_b)
    );
    let server = Server::start(dir.path(), &config);
    // Each job takes a whole pool: the second cannot fit on the first cluster.
    let spec = "run: echo on-$SLURM_CLUSTER_NAME; sleep 2\nresources:\n  accelerators: H100:4\n";
    let ids = [server.submit(spec), server.submit(spec)];
    let mut pools = Vec::new();
    for id in &ids {
        let d = server.wait_final(id);
        assert_eq!(d["job"]["state"], "succeeded", "{d:#}");
        pools.push(d["attempts"][0]["pool"].as_str().unwrap().to_string());
    }
    pools.sort();
    assert_eq!(pools, ["cluster-a", "cluster-b"]);
    assert_eq!(
        slurm_jobs_of(&server, conf_a, &ids[0]).len()
            + slurm_jobs_of(&server, conf_b, &ids[0]).len(),
        1
    );
}

fn ray_pools(address: &str) -> String {
    format!(
        "[[pool]]\nname = \"ray\"\nexecutor = \"ray\"\naddress = \"{address}\"\n\
         accelerator = \"H100\"\ncount = 4\npoll_interval = \"200ms\"\n\
         [[pool]]\nname = \"ray-missing\"\nexecutor = \"ray\"\naddress = \"{address}\"\n\
         ray_resource = \"spillway_no_such_resource\"\naccelerator = \"H200\"\ncount = 1\n\
         admission_timeout = \"3s\"\npoll_interval = \"200ms\"\n"
    )
}

#[test]
fn ray_job_succeeds_with_logs_cancel_stops_it_and_unadmitted_jobs_fail_with_the_reason() {
    let test =
        "ray_job_succeeds_with_logs_cancel_stops_it_and_unadmitted_jobs_fail_with_the_reason";
    let Some(env) = need_ray(test) else {
        return;
    };
    let address = env.get(env_file::RAY_ADDRESS).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &ray_pools(address));

    let id = server.submit(
        "name: ray-hello\nrun: echo \"ray job $SPILLWAY_JOB_ID gpus=$CUDA_VISIBLE_DEVICES\"\n\
         resources:\n  accelerators: H100:1\n",
    );
    let d = server.wait_final(&id);
    assert_eq!(d["job"]["state"], "succeeded", "{d:#}");
    assert_eq!(
        d["attempts"][0]["external_id"],
        format!("spillway-{}-{id}-1", server.instance())
    );
    let logs = server.logs(&id);
    assert!(logs.contains(&format!("ray job {id} gpus=")), "{logs}");

    let id =
        server.submit("name: ray-sleeper\nrun: sleep 300\nresources:\n  accelerators: H100:1\n");
    server.wait_event(&id, "running");
    server.cli().args(["cancel", &id]).assert().success();
    let d = server.wait_final(&id);
    assert_eq!(d["job"]["state"], "cancelled", "{d:#}");

    // H200 lives only on the pool whose Ray resource no node has: Ray keeps it PENDING.
    let id = server.submit("name: never\nrun: echo never\nresources:\n  accelerators: H200:1\n");
    let d = server.wait_final(&id);
    assert_eq!(d["job"]["state"], "failed", "{d:#}");
    let message = d["job"]["message"].as_str().unwrap();
    assert!(
        message.contains("not admitted") && message.contains("PENDING"),
        "{message}"
    );
}
