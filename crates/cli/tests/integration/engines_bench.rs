//! The figure of issue 5, measured in one run on Slurm cluster A: submits per second into
//! Slurm through Spillway against plain `sbatch`, and the latency from submit to RUNNING
//! that Spillway adds. An ignored test: run it alone, in release, with the engines up:
//!
//! ```console
//! cargo test -p spillway --release --test integration -- --ignored engines_bench --nocapture
//! ```

use crate::engines::{Server, wait};
use spillway_engines::env_file::{self, EnginesEnv};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Jobs per throughput phase.
const JOBS: usize = 200;
/// Spillway's poll interval of the cluster.
const POLL_MS: u64 = 1000;
/// Jobs whose submit-to-running latency is measured one at a time, per side.
const LATENCY_JOBS: usize = 10;

/// Slurm jobs whose name starts with `prefix`: (name, state). Plain `squeue` output: the
/// JSON listing costs slurmctld far more and would slow down what is measured.
fn jobs_named(conf: &str, prefix: &str) -> Vec<(String, String)> {
    let out = Command::new("squeue")
        .args(["-h", "--states=all", "-o", "%j %T"])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(n, _)| n.starts_with(prefix))
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect()
}

fn sbatch(conf: &str, name: &str, wrap: &str) -> String {
    let out = Command::new("sbatch")
        .args(["--parsable", "--partition=batch", "--output=/dev/null"])
        .arg(format!("--job-name={name}"))
        .arg(format!("--wrap={wrap}"))
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn slurm_state(conf: &str, id: &str) -> String {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%T", "-j", id])
        .env("SLURM_CONF", conf)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn started(state: &str) -> bool {
    matches!(state, "RUNNING" | "COMPLETING" | "COMPLETED")
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn post_job(http: &reqwest::blocking::Client, addr: &str, yaml: &str) -> String {
    let resp: serde_json::Value = http
        .post(format!("http://{addr}/v1/jobs"))
        .json(&serde_json::json!({ "yaml": yaml }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    resp["id"].to_string()
}

#[test]
#[ignore = "benchmark: run alone, in release, with the engines up"]
fn engines_bench_submits_into_slurm() {
    let env = EnginesEnv::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."));
    let Some(conf) = env.get(env_file::SLURM_CONF) else {
        panic!("the benchmark needs Slurm cluster A: run scripts/engines/start-all.sh");
    };
    let tag = format!("bench{}", std::process::id());

    // 1. Plain sbatch in a loop.
    let since = Instant::now();
    for i in 0..JOBS {
        sbatch(conf, &format!("{tag}-plain-{i}"), "true");
    }
    let plain = since.elapsed();

    // 2. Through Spillway: HTTP submits from one client, until all are in Slurm.
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[pool]]\nname = \"slurm-cpu\"\nexecutor = \"slurm\"\nslurm_conf = \"{conf}\"\n\
         partition = \"batch\"\nmax_jobs = 100000\npoll_interval = \"{POLL_MS}ms\"\n"
    );
    let server = Server::start(dir.path(), &config);
    let addr = server.addr().to_string();
    let instance = server.instance();
    let http = reqwest::blocking::Client::new();
    let since = Instant::now();
    for _ in 0..JOBS {
        post_job(&http, &addr, "name: bench\nrun: \"true\"\n");
    }
    let posted = since.elapsed();
    let prefix = format!("spillway-{instance}-");
    wait("all jobs in Slurm", || {
        (jobs_named(conf, &prefix).len() >= JOBS).then_some(())
    });
    let through = since.elapsed();

    // 3. Submit to RUNNING, one job at a time, as Slurm shows it (20 ms polls of squeue).
    let poll = Duration::from_millis(20);
    let mut plain_latency = Vec::new();
    for i in 0..LATENCY_JOBS {
        let since = Instant::now();
        let id = sbatch(conf, &format!("{tag}-lat-{i}"), "sleep 1");
        while !started(&slurm_state(conf, &id)) {
            std::thread::sleep(poll);
        }
        plain_latency.push(since.elapsed());
    }
    let mut spillway_latency = Vec::new();
    let mut reported_latency = Vec::new();
    for _ in 0..LATENCY_JOBS {
        let since = Instant::now();
        let id = post_job(&http, &addr, "name: lat\nrun: sleep 1\n");
        let name = format!("spillway-{instance}-{id}-1");
        loop {
            let state = jobs_named(conf, &name)
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s);
            if state.as_deref().is_some_and(started) {
                break;
            }
            std::thread::sleep(poll);
        }
        spillway_latency.push(since.elapsed());
        // A job may start and end between two polls: then its end is the first news.
        wait("Spillway sees it started", || {
            let d = server.show(&id);
            let seen = d["job"]["state"] == "succeeded"
                || d["events"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|e| e["kind"] == "running"));
            seen.then_some(())
        });
        reported_latency.push(since.elapsed());
    }

    let rate = |d: Duration| JOBS as f64 / d.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("\nSlurm cluster A, {JOBS} trivial jobs per throughput phase:");
    println!(
        "  plain sbatch loop:                    {:7.1} jobs/s",
        rate(plain)
    );
    println!(
        "  through Spillway (HTTP submit -> in Slurm): {:7.1} jobs/s ({:.2}x); the HTTP submits alone: {:.1} jobs/s",
        rate(through),
        plain.as_secs_f64() / through.as_secs_f64(),
        rate(posted)
    );
    let (p, s, r) = (
        median(plain_latency),
        median(spillway_latency),
        median(reported_latency),
    );
    println!("submit to RUNNING, median of {LATENCY_JOBS}, squeue polled every 20 ms:");
    println!("  plain sbatch:                         {:7.0} ms", ms(p));
    println!(
        "  through Spillway, seen in Slurm:      {:7.0} ms ({:+.0} ms)",
        ms(s),
        ms(s) - ms(p)
    );
    println!(
        "  through Spillway, reported by Spillway: {:5.0} ms (its poll interval is {POLL_MS} ms; `show` polled every 100 ms)",
        ms(r)
    );
}
