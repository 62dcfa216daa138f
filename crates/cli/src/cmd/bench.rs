//! `spillway bench`: performance figures of the service on this machine (benchmarks, not
//! tests): durable submits per second over HTTP, and the duration of one scheduling round.

use anyhow::Context;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spillway_core::JobId;
use spillway_core::econ::PlanKind;
use spillway_core::machine::{Event, Machine, MachineConfig, MachineJob, MachinePool};
use spillway_model::UsdPerHour;
use spillway_model::spec::{AcceleratorChoice, ChoiceOrder};
use spillway_server::config::Config;
use spillway_server::schedule::LivePolicy;
use std::time::{Duration, Instant};

/// Flags of `spillway bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Debug, clap::Subcommand)]
enum BenchWhat {
    /// Durable submits per second over HTTP against a fresh in-process server on 127.0.0.1.
    Submit(SubmitBench),
    /// Duration of one scheduling round with many pending jobs.
    Schedule(ScheduleBench),
    /// The simulated service (the core's state machine on a virtual clock) over synthetic
    /// workloads of growing size: wall time and how it grows.
    Service(ServiceBench),
    /// `spillway replay` of a synthetic history (default 100,000 jobs): how long it takes.
    Replay(super::replay::bench::ReplayBench),
}

#[derive(Debug, clap::Args)]
struct SubmitBench {
    /// Jobs to submit.
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
    /// Clients submitting at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Also measure against this PostgreSQL (in a fresh schema, dropped afterwards), after
    /// SQLite, in the same run.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ScheduleBench {
    /// Queued jobs.
    #[arg(long, default_value_t = 10_000)]
    pending: usize,
    /// Rounds to time.
    #[arg(long, default_value_t = 30)]
    rounds: usize,
    /// Seed of the synthetic workload.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The decision core's policy (any name `[scheduler] policy` accepts).
    #[arg(long, default_value = "priority_backfill")]
    policy: LivePolicy,
}

#[derive(Debug, clap::Args)]
struct ServiceBench {
    /// Workload sizes, comma-separated; each runs in the same process, smallest first.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    jobs: Vec<usize>,
    /// Accelerators in all, split evenly over three pools (H100, A100, L4).
    #[arg(long, default_value_t = 960)]
    accelerators: u32,
    /// Offered load: busy share of the accelerators the arrivals would keep (0.9 = 90%).
    #[arg(long, default_value_t = 0.9)]
    load: f64,
    /// Seed of the synthetic workload.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The decision core's policy (any name `[scheduler] policy` accepts).
    #[arg(long, default_value = "priority_backfill")]
    policy: LivePolicy,
}

pub(crate) fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchWhat::Submit(b) => submit(b),
        BenchWhat::Schedule(b) => schedule(b),
        BenchWhat::Service(b) => service(b),
        BenchWhat::Replay(b) => super::replay::bench::run_bench(b),
    }
}

/// A seeded workload for the simulated service: Poisson arrivals at the rate that keeps
/// `load` of `accelerators` busy; 1, 2, 4 or 8 accelerators; run times from 10 minutes to 10
/// hours (log-uniform); one accelerator type, or any of two, or an ordered pair.
fn service_workload(
    n: usize,
    accelerators: u32,
    load: f64,
    seed: u64,
) -> Vec<spillway_sim::service::ServiceJob> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let types = ["H100", "A100", "L4"];
    let sizes = [1u32, 2, 4, 8];
    // Mean accelerator-seconds per job: E[count] x E[run time].
    let mean_count = sizes.iter().sum::<u32>() as f64 / sizes.len() as f64;
    let (lo, hi) = (600f64.ln(), 36_000f64.ln());
    let mean_run = (36_000.0 - 600.0) / (hi - lo);
    let rate = load * f64::from(accelerators) / (mean_count * mean_run);
    let mut t = 0.0f64;
    (0..n)
        .map(|i| {
            t += -(1.0 - rng.random::<f64>()).ln() / rate;
            let count = sizes[rng.random_range(0..sizes.len())];
            let run_s = (lo + rng.random::<f64>() * (hi - lo)).exp();
            let first = rng.random_range(0..types.len());
            let (order, alts) = match i % 3 {
                0 => (ChoiceOrder::Ordered, 1),
                1 => (ChoiceOrder::AnyOf, 2),
                _ => (ChoiceOrder::Ordered, 2),
            };
            let choices = (0..alts)
                .map(|k| AcceleratorChoice {
                    accelerator: types[(first + k) % types.len()].to_string(),
                    count,
                })
                .collect();
            spillway_sim::service::ServiceJob {
                job: MachineJob {
                    id: JobId(i as u64 + 1),
                    tenant: format!("tenant-{}", i % 8),
                    submitted_ms: (t * 1000.0) as i64,
                    priority: [100, 500, 500, 900][rng.random_range(0..4usize)],
                    choices,
                    order,
                    slice_choices: Vec::new(),
                    topology: None,
                    num_nodes: 1,
                    infra: None,
                    use_spot: false,
                    alternatives: Vec::new(),
                    budget: None,
                    work_secs: Some(run_s.ceil() as u64),
                    deadline_ms: None,
                    checkpoint_interval_s: None,
                    resumable: false,
                    speeds: None,
                    weight: None,
                },
                work_s: run_s,
            }
        })
        .collect()
}

fn service(b: ServiceBench) -> anyhow::Result<()> {
    anyhow::ensure!(
        b.load > 0.0 && b.load.is_finite(),
        "--load must be a number > 0, found {}",
        b.load
    );
    let per_pool = (b.accelerators / 3).max(1);
    let pools: Vec<MachinePool> = ["H100", "A100", "L4"]
        .iter()
        .enumerate()
        .map(|(i, a)| MachinePool {
            name: a.to_lowercase(),
            executor: "simulated".into(),
            accelerator: Some(a.to_string()),
            capacity: per_pool,
            slice: None,
            nodes: 1,
            block: 1,
            max_jobs: u32::MAX,
            price: UsdPerHour([4.0, 2.0, 0.8][i]),
            plan: PlanKind::OnDemand,
            throughput: [1.0, 0.35, 0.12][i],
            location: ("sim".into(), "sim".into(), a.to_string()),
            contract: None,
            preemptions_per_hour: 0.0,
        })
        .collect();
    let capacities: Vec<u32> = pools.iter().map(|p| p.capacity).collect();
    let mut sizes = b.jobs.clone();
    sizes.sort_unstable();
    let mut first: Option<(usize, f64)> = None;
    for n in sizes {
        let jobs = service_workload(n, per_pool * 3, b.load, b.seed);
        let config = MachineConfig {
            policy: b.policy,
            ..MachineConfig::default()
        };
        let t = Instant::now();
        let outcome = spillway_sim::service::run(
            pools.clone(),
            config,
            &jobs,
            &spillway_sim::service::ServiceSimConfig::default(),
        );
        let secs = t.elapsed().as_secs_f64();
        let s = spillway_sim::service::ServiceSummary::new(&outcome, &capacities);
        let growth = first.map_or(String::new(), |(n0, t0)| {
            format!(
                "; {:.1}x the time of {n0} jobs for {:.0}x the jobs",
                secs / t0,
                n as f64 / n0 as f64
            )
        });
        println!(
            "simulated service ({}): {n} jobs on {} accelerators: {secs:.2} s wall, {} rounds, {} finished, avg JCT {:.0} s, avg wait {:.0} s{growth}",
            b.policy,
            per_pool * 3,
            outcome.rounds,
            s.finished,
            s.avg_jct_s,
            s.avg_queueing_s
        );
        first.get_or_insert((n, secs));
    }
    Ok(())
}

/// p-th percentile (0..=100) of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn submit(b: SubmitBench) -> anyhow::Result<()> {
    let Some(url) = &b.postgres else {
        return submit_once(&b, None);
    };
    println!("-- SQLite (WAL, synchronous = FULL)");
    submit_once(&b, None)?;
    let rt = tokio::runtime::Runtime::new()?;
    let schema = format!("spillway_bench_{}", std::process::id());
    let scoped = rt
        .block_on(spillway_server::store::PostgresStore::create_schema(
            url, &schema,
        ))
        .context("failed to prepare the bench schema")?;
    println!("-- PostgreSQL (schema {schema})");
    let result = submit_once(&b, Some(scoped));
    if let Err(e) = rt.block_on(spillway_server::store::PostgresStore::drop_schema(
        url, &schema,
    )) {
        eprintln!("warning: failed to drop bench schema {schema}: {e}");
    }
    result
}

fn submit_once(b: &SubmitBench, database: Option<String>) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!(
        "spillway-bench-{}-{}",
        std::process::id(),
        database.is_some()
    ));
    std::fs::create_dir_all(&dir).context("failed to create the bench directory")?;
    // One accelerator held by a long job: every submitted job queues (and each round
    // considers the whole growing queue), none is launched.
    let mut config = Config::parse(
        "listen = \"127.0.0.1:0\"\n[[pool]]\nname = \"bench\"\naccelerator = \"H100\"\ncount = 1\nmax_jobs = 1\n",
        "the bench config",
    )?;
    config.data_dir = dir.join("data");
    config.database = database;
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(async {
        let addr_file = dir.join("addr");
        let options = spillway_server::ServeOptions { addr_file: Some(addr_file.clone()) };
        let server = tokio::spawn(spillway_server::serve(config, options));
        let mut addr = None;
        for _ in 0..200 {
            if let Ok(a) = std::fs::read_to_string(&addr_file) {
                addr = Some(a);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let base = format!("http://{}", addr.context("the bench server did not start")?);
        let client = reqwest::Client::new();
        let blocker: serde_json::Value = client
            .post(format!("{base}/v1/jobs"))
            .json(&serde_json::json!({"yaml": "name: blocker\nrun: sleep 600\nresources: {accelerators: H100:1}\n"}))
            .send()
            .await?
            .json()
            .await?;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..b.concurrency {
            let client = client.clone();
            let base = base.clone();
            let n = b.jobs / b.concurrency + usize::from(c < b.jobs % b.concurrency);
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(n);
                for i in 0..n {
                    let body = serde_json::json!({"yaml": format!("name: bench-{c}-{i}\nrun: echo {i}\nresources: {{accelerators: H100:1}}\n")});
                    let t = Instant::now();
                    let resp = client.post(format!("{base}/v1/jobs")).json(&body).send().await?;
                    anyhow::ensure!(resp.status().as_u16() == 201, "submit answered {}", resp.status());
                    resp.bytes().await?;
                    lat.push(t.elapsed());
                }
                anyhow::Ok(lat)
            }));
        }
        let mut lat = Vec::with_capacity(b.jobs);
        for t in tasks {
            lat.extend(t.await??);
        }
        let wall = started.elapsed();
        let _ = client.post(format!("{base}/v1/jobs/{}/cancel", blocker["id"])).send().await;
        let metrics = client.get(format!("{base}/metrics")).send().await?.text().await?;
        server.abort();
        anyhow::Ok((lat, wall, metrics))
    });
    // Stops the server (and its store's connections) before the next measurement.
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
    let (mut lat, wall, metrics) = result?;
    lat.sort();
    println!(
        "durable submits over HTTP: {} jobs, {} clients, {:.2} s: {:.0} submits/s",
        lat.len(),
        b.concurrency,
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "latency: p50 {}, p90 {}, p99 {}, max {}",
        ms(percentile(&lat, 50.0)),
        ms(percentile(&lat, 90.0)),
        ms(percentile(&lat, 99.0)),
        ms(*lat.last().unwrap_or(&Duration::ZERO))
    );
    let rounds = metrics
        .lines()
        .find_map(|l| l.strip_prefix("spillway_scheduling_round_seconds_count "))
        .unwrap_or("?");
    println!(
        "scheduling rounds run meanwhile: {rounds} (queue grew to {} jobs)",
        lat.len()
    );
    Ok(())
}

fn schedule(b: ScheduleBench) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(b.seed);
    let accelerators = ["H100", "A100", "L4", "tpu-v5p"];
    let tenants: Vec<String> = (0..20).map(|i| format!("tenant-{i}")).collect();
    // Four pools of 512 chips, nearly full: 480 held by 60 running 8-chip jobs each.
    let pools: Vec<MachinePool> = accelerators
        .iter()
        .map(|a| MachinePool {
            name: a.to_string(),
            executor: "local".into(),
            accelerator: Some(a.to_string()),
            capacity: 512,
            slice: None,
            nodes: 1,
            block: 1,
            max_jobs: 10_000,
            price: UsdPerHour(2.0),
            plan: PlanKind::Owned,
            throughput: 1.0,
            location: ("local".into(), a.to_string(), a.to_string()),
            contract: None,
            preemptions_per_hour: 0.0,
        })
        .collect();
    let config = MachineConfig {
        policy: b.policy,
        ..MachineConfig::default()
    };
    // The state every round decides from, as the events that make it.
    let mut events = Vec::new();
    let job = |id: u64, tenant: &str, priority: u32, choices: Vec<AcceleratorChoice>| MachineJob {
        id: JobId(id),
        tenant: tenant.to_string(),
        submitted_ms: 0,
        priority,
        choices,
        order: ChoiceOrder::Ordered,
        slice_choices: Vec::new(),
        topology: None,
        num_nodes: 1,
        infra: None,
        use_spot: false,
        alternatives: Vec::new(),
        budget: None,
        work_secs: None,
        deadline_ms: None,
        checkpoint_interval_s: None,
        resumable: false,
        speeds: None,
        weight: None,
    };
    for j in 0..240u64 {
        let pool = (j / 60) as usize;
        let first = (j % 60) as u32 * 8;
        let mut running = job(
            j + 1,
            &tenants[j as usize % tenants.len()],
            500,
            vec![AcceleratorChoice {
                accelerator: accelerators[pool].to_string(),
                count: 8,
            }],
        );
        running.work_secs = Some(3_600 + j);
        events.push(Event::Restored {
            job: running,
            pool,
            accelerators: (first..first + 8).collect(),
            started_ms: 0,
            stopping: false,
        });
    }
    // Alternatives per job: one to three accelerator types, 1 to 8 chips.
    for i in 0..b.pending {
        let n = rng.random_range(1..=3usize);
        let first = rng.random_range(0..accelerators.len());
        let choices = (0..n)
            .map(|k| AcceleratorChoice {
                accelerator: accelerators[(first + k) % accelerators.len()].to_string(),
                count: [1, 2, 4, 8][rng.random_range(0..4usize)],
            })
            .collect();
        let priority = [100, 500, 500, 500, 900][rng.random_range(0..5usize)];
        let mut queued = job(
            1_000 + i as u64,
            &tenants[i % tenants.len()],
            priority,
            choices,
        );
        if i % 3 == 0 {
            queued.order = ChoiceOrder::AnyOf;
        }
        queued.work_secs = (i % 2 == 0).then(|| rng.random_range(600..86_400u64));
        events.push(Event::Submitted(queued));
    }
    let mut times = Vec::with_capacity(b.rounds);
    let mut started = 0;
    for _ in 0..b.rounds {
        // Each round decides from the same state, built outside the timing.
        let mut m = Machine::new(pools.clone(), config.clone());
        for e in &events {
            m.handle(0, e.clone());
        }
        let t = Instant::now();
        let d = m.decide(0);
        times.push(t.elapsed());
        started = d.actions.len();
    }
    times.sort();
    println!(
        "scheduling round ({}): {} pending, {} running, 4 pools: median {}, p90 {}, max {} over {} rounds ({} actions per round)",
        b.policy,
        b.pending,
        240,
        ms(percentile(&times, 50.0)),
        ms(percentile(&times, 90.0)),
        ms(*times.last().unwrap_or(&Duration::ZERO)),
        b.rounds,
        started
    );
    Ok(())
}
