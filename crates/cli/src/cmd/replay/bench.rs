//! `spillway bench replay`: how long a replay of a large history takes (a benchmark, not a
//! test). A synthetic history is made by running a synthetic workload through the simulated
//! service once (untimed); then the replay itself is timed as `spillway replay` runs it: the
//! history turned into jobs, what happened measured, the calibrated replay, the report.

use super::history::{PastJob, Ran};
use super::{figures, report, series, simulate, workload};
use anyhow::Result;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spillway_core::JobId;
use spillway_core::machine::MachineJob;
use spillway_model::spec::{AcceleratorNames, JobSpec, parse_spec};
use spillway_server::config::Config;
use spillway_server::job::{AttemptOutcome, JobState};
use spillway_server::schedule::{machine_config, machine_pools};
use spillway_sim::service::{ServiceJob, ServiceSimConfig, run};
use std::collections::BTreeMap;
use std::time::Instant;

/// Flags of `spillway bench replay`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReplayBench {
    /// Jobs in the synthetic history.
    #[arg(long, default_value_t = 100_000)]
    jobs: usize,
    /// Seed of the synthetic history.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The bench's service: two pools, three tenants (one with a quota), priority_backfill.
const CONFIG: &str = r#"
[[pool]]
name = "h100"
accelerator = "H100"
count = 512
price = { plan = "owned", usd_per_chip_hour = 2.0 }

[[pool]]
name = "a100"
accelerator = "A100"
count = 512
price = { plan = "on_demand", usd_per_chip_hour = 1.2 }

[[tenant]]
name = "research"
max_accelerators = { H100 = 256 }

[[tenant]]
name = "product"

[[tenant]]
name = "batch"
"#;

pub(crate) fn run_bench(b: ReplayBench) -> Result<()> {
    let config = Config::parse(CONFIG, "the bench config")?;
    let pools = machine_pools(&config);
    let names = AcceleratorNames::new(["H100", "A100"]);
    // One spec per (shape, priority), cloned: parsing is not what is measured.
    let mut specs: BTreeMap<(u32, u32), JobSpec> = BTreeMap::new();
    for count in [1, 2, 4, 8] {
        for priority in [100, 500, 900] {
            let text = format!(
                "name: synthetic\npriority: {priority}\nresources:\n  any_of: [{{accelerators: H100:{count}}}, {{accelerators: A100:{count}}}]\nrun: train\n"
            );
            specs.insert((count, priority), parse_spec(&text, &names)?.spec);
        }
    }
    let tenants = ["research", "product", "batch"];
    let mut rng = ChaCha8Rng::seed_from_u64(b.seed);
    let origin = 1_796_083_200_000i64; // 2026-12-01 00:00:00 UTC
    let mut at = origin;
    let mut jobs = Vec::with_capacity(b.jobs);
    let mut meta = Vec::with_capacity(b.jobs);
    for i in 0..b.jobs {
        // Mean 3.2 chips x 1,500 reference seconds a job, one every 9 s: about 80% of the
        // pools (the A100s at a third of an H100's speed).
        at += (-(1.0 - rng.random::<f64>()).ln() * 9_000.0) as i64;
        let count = [1, 1, 2, 4, 8][rng.random_range(0..5usize)];
        let priority = [100, 500, 500, 900][rng.random_range(0..4usize)];
        let tenant = tenants[rng.random_range(0..3usize)];
        let work_s = 60.0 + (-(1.0 - rng.random::<f64>()).ln() * 1_440.0);
        let spec = &specs[&(count, priority)];
        jobs.push(ServiceJob {
            job: MachineJob::from_spec(JobId(i as u64 + 1), tenant, at, None, spec),
            work_s,
        });
        meta.push((tenant, spec));
    }
    eprintln!("making a history of {} jobs (untimed)...", b.jobs);
    let lived = run(
        pools.clone(),
        machine_config(&config),
        &jobs,
        &ServiceSimConfig::default(),
    );
    let mut attempts: BTreeMap<u64, Vec<Ran>> = BTreeMap::new();
    for a in &lived.attempts {
        attempts.entry(a.job).or_default().push(Ran {
            pool: a.pool.clone(),
            chips: a.chips,
            accelerators: a.accelerators.clone(),
            started_ms: a.started_ms,
            ended_ms: a.ended_ms,
            outcome: AttemptOutcome::Preempted,
        });
    }
    let history: Vec<PastJob> = lived
        .jobs
        .iter()
        .zip(&meta)
        .map(|(j, (tenant, spec))| {
            let mut ran = attempts.remove(&j.job).unwrap_or_default();
            if let Some(last) = ran.last_mut() {
                last.outcome = AttemptOutcome::Succeeded;
            }
            PastJob {
                id: j.job as i64,
                tenant: tenant.to_string(),
                spec: (*spec).clone(),
                state: if j.finished_ms.is_some() {
                    JobState::Succeeded
                } else {
                    JobState::Queued
                },
                submitted_ms: j.submitted_ms,
                deadline_ms: None,
                finished_ms: j.finished_ms,
                attempts: ran,
            }
        })
        .collect();
    let now_ms = lived.makespan_ms + 1;

    let t = Instant::now();
    let replay = workload::replayable(&history, &pools, now_ms);
    let t_jobs = t.elapsed();
    let actual = figures::actual(&history, &replay, &[], origin, &config, now_ms);
    let t_actual = t.elapsed();
    let carried = workload::Carried::default();
    let calibrated = simulate(
        "replay".into(),
        (origin, now_ms),
        &config,
        machine_config(&config),
        &replay,
        &carried,
        Vec::new(),
        (1.0, 0),
    );
    let t_replay = t.elapsed();
    let series = series::series(
        origin,
        &[
            (
                "actual",
                &series::actual(history.iter(), origin, now_ms),
                &config,
            ),
            (
                "replay",
                &series::replayed(&calibrated.outcome, origin),
                &config,
            ),
        ],
    );
    let rounds = calibrated.outcome.rounds;
    let r = report::Report {
        from_ms: origin,
        to_ms: now_ms,
        history: &history,
        replay: &replay,
        carried: &carried,
        pools: &pools,
        actual,
        calibrated,
        what_if: None,
        series,
    };
    let text = r.text();
    let total = t.elapsed();
    print!("{text}");
    println!(
        "replay of {} jobs ({} attempts, {} rounds, 1,024 accelerators): {:.2} s in all: history to jobs {:.2} s, what happened {:.2} s, replay {:.2} s, report {:.2} s",
        history.len(),
        lived.attempts.len(),
        rounds,
        total.as_secs_f64(),
        t_jobs.as_secs_f64(),
        (t_actual - t_jobs).as_secs_f64(),
        (t_replay - t_actual).as_secs_f64(),
        (total - t_replay).as_secs_f64(),
    );
    Ok(())
}
