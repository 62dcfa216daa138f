//! Figures, not tests (ignored; run alone, in release):
//!
//! `cargo test -p spillway-engines --release --test integration -- --ignored bench --nocapture`
//!
//! Submits per second into Slurm cluster A through [`SlurmClient`] against plain `sbatch` in
//! a shell loop on the same machine, and the latency from submit to RUNNING. Each figure is
//! printed; nothing is asserted about speed.

use std::process::Command;
use std::time::{Duration, Instant};

use spillway_engines::slurm::{SlurmClient, SlurmError, SlurmJobSpec};

use crate::engines::{slurm_a, unique_id};

fn jobs_from_env(default: usize) -> usize {
    std::env::var("SPILLWAY_BENCH_JOBS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Waits until slurmctld has no job of ours left that is not finished, so each phase starts
/// on an idle cluster.
async fn drain(client: &SlurmClient, prefix: &str) {
    for _ in 0..600 {
        let jobs = client.jobs().await.unwrap();
        if jobs
            .iter()
            .filter(|s| s.comment.contains(prefix))
            .all(|s| s.state.is_terminal())
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("bench jobs did not drain");
}

fn per_second(n: usize, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run alone with --ignored bench"]
async fn bench_slurm_submit_throughput_and_latency() {
    let Some(cluster) = slurm_a("bench_slurm_submit_throughput").await else {
        return;
    };
    let client = cluster.client;
    let n = jobs_from_env(200);
    let prefix = unique_id("bench");
    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("job.sh");
    std::fs::write(&script, "#!/bin/bash\ntrue\n").unwrap();

    // 1. Submit to RUNNING, first, while slurmctld holds few jobs: plain sbatch polled with
    // `squeue -h -j ID -o %T`, then the client polled with `status` (squeue --json), both
    // every 20 ms, alternating so both see the same cluster.
    let samples = 10;
    let (mut ours, mut ours_call) = (Vec::new(), Vec::new());
    let (mut plain_latency, mut plain_call) = (Vec::new(), Vec::new());
    for i in 0..samples {
        let since = Instant::now();
        let out = Command::new("sbatch")
            .args([
                "--parsable",
                "-o",
                "/dev/null",
                &format!("--comment=spillway:{prefix}-plat"),
            ])
            .arg(&script)
            .env("SLURM_CONF", client.conf())
            .output()
            .unwrap();
        plain_call.push(since.elapsed());
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        loop {
            let state = Command::new("squeue")
                .args(["-h", "-j", &id, "-o", "%T"])
                .env("SLURM_CONF", client.conf())
                .output()
                .unwrap();
            let state = String::from_utf8_lossy(&state.stdout).trim().to_owned();
            if state != "PENDING" {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        plain_latency.push(since.elapsed());
        let mut long = SlurmJobSpec::new(format!("{prefix}-lat-{i}"), "sleep 3");
        long.output = Some("/dev/null".into());
        let since = Instant::now();
        let job = client.submit(&long).await.unwrap();
        ours_call.push(since.elapsed());
        loop {
            let status = client.status(job).await.unwrap();
            if status.state.is_running() || status.state.is_terminal() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ours.push(since.elapsed());
    }
    drain(&client, &prefix).await;
    let since = Instant::now();
    let listed = client.jobs().await.unwrap().len();
    let one_listing = since.elapsed();

    // 2. Plain sbatch in a shell loop: the baseline a person gets from the CLI.
    let loop_line = format!(
        "for i in $(seq {n}); do sbatch --parsable --job-name={prefix}-plain --comment=spillway:{prefix}-plain -o /dev/null {} > /dev/null || exit 1; done",
        script.display()
    );
    let since = Instant::now();
    let status = Command::new("bash")
        .arg("-c")
        .arg(&loop_line)
        .env("SLURM_CONF", client.conf())
        .status()
        .unwrap();
    let plain = since.elapsed();
    assert!(status.success(), "the sbatch loop failed");
    drain(&client, &prefix).await;

    // 3. The client, one submit after another (what a single scheduling loop does).
    let spec = |i: usize| {
        let mut spec = SlurmJobSpec::new(format!("{prefix}-seq-{i}"), "true");
        spec.output = Some("/dev/null".into());
        spec
    };
    let since = Instant::now();
    for i in 0..n {
        client.submit(&spec(i)).await.unwrap();
    }
    let sequential = since.elapsed();
    drain(&client, &prefix).await;

    // 4. The client with 8 submits in flight.
    let since = Instant::now();
    let mut in_flight: tokio::task::JoinSet<Result<_, SlurmError>> = tokio::task::JoinSet::new();
    for i in 0..n {
        if in_flight.len() >= 8 {
            in_flight.join_next().await.unwrap().unwrap().unwrap();
        }
        let client = client.clone();
        let mut spec = spec(i);
        spec.spillway_job_id = format!("{prefix}-par-{i}");
        in_flight.spawn(async move { client.submit(&spec).await });
    }
    while let Some(done) = in_flight.join_next().await {
        done.unwrap().unwrap();
    }
    let concurrent = since.elapsed();
    drain(&client, &prefix).await;

    let plain_rate = per_second(n, plain);
    let sequential_rate = per_second(n, sequential);
    let concurrent_rate = per_second(n, concurrent);
    println!(
        "\n== Slurm submit throughput, {n} trivial jobs each, cluster {}",
        client.conf().display()
    );
    println!("plain sbatch in a bash loop:      {plain_rate:8.1} jobs/s");
    println!(
        "SlurmClient::submit, sequential:  {sequential_rate:8.1} jobs/s  (ratio to plain {:.2})",
        sequential_rate / plain_rate
    );
    println!(
        "SlurmClient::submit, 8 in flight: {concurrent_rate:8.1} jobs/s  (ratio to plain {:.2})",
        concurrent_rate / plain_rate
    );
    println!("== Submit to RUNNING on an idle cluster, median of {samples}, polls every 20 ms");
    println!(
        "plain sbatch + squeue -h -j: submit call {:?}, submit to RUNNING seen {:?}",
        median(plain_call),
        median(plain_latency)
    );
    println!(
        "SlurmClient submit + status: submit call {:?}, submit to RUNNING seen {:?}",
        median(ours_call),
        median(ours)
    );
    println!("one squeue --json listing ({listed} jobs held by slurmctld): {one_listing:?}");
}
