//! `spillway simulate`: replay a workload through the decision core under one or more policies
//! and compare them; `--gavel-parity` re-runs Gavel's published experiments next to its numbers.

use crate::table::{Align, Table};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use spillway_core::{Cluster, PolicyKind, Pool, SchedulerConfig};
use spillway_perf::gavel::ThroughputMatrix;
use spillway_sim::engine::{SimConfig, SimOutcome, simulate};
use spillway_sim::metrics::Summary;
use spillway_sim::parity::{self, GAVEL_RESULTS};
use spillway_sim::trace::{self, ReadOptions, TraceFormat, generate};
use spillway_sim::workload::{self, SimJob, WorkloadOptions};
use std::io::IsTerminal;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod html;
pub(crate) mod scenario;
pub(crate) mod service;

/// Gavel's simulation throughput matrix, vendored (see data/gavel/PROVENANCE.md).
const GAVEL_MATRIX: &str = include_str!("../../../../data/gavel/simulation_throughputs.json");

/// The Alibaba GPU cluster's node list (cluster-trace-gpu-v2023), vendored for
/// `--cluster alibaba` (see data/traces/alibaba-gpu-v2023/README.md).
const ALIBABA_NODES: &str =
    include_str!("../../../../data/traces/alibaba-gpu-v2023/openb_node_list_gpu_node.csv");

/// Gavel's generated traces, vendored for `--gavel-parity`.
const GAVEL_TRACES: &[(&str, &str)] = &[
    (
        "single_600jobs_2.0jph_seed0.trace",
        include_str!("../../../../data/gavel/generated/single_600jobs_2.0jph_seed0.trace"),
    ),
    (
        "multi_600jobs_1.0jph_seed0.trace",
        include_str!("../../../../data/gavel/generated/multi_600jobs_1.0jph_seed0.trace"),
    ),
    (
        "static_200jobs_seed0.trace",
        include_str!("../../../../data/gavel/generated/static_200jobs_seed0.trace"),
    ),
];

/// Flags of `spillway simulate`.
#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArgs {
    /// Pools as `type=count[@usd_per_hour]`, comma-separated, in the order policies fill them;
    /// `alibaba` for the GPUs of the Alibaba trace's node list (built in) [default:
    /// v100=36,p100=36,k80=36, Gavel's; `alibaba` for an Alibaba pod list].
    #[arg(long)]
    cluster: Option<String>,
    /// Pools from a node list in the Alibaba format (`sn,cpu_milli,memory_mib,gpu,model`): one
    /// pool per GPU model; overrides --cluster.
    #[arg(long, value_name = "FILE", conflicts_with = "pools")]
    cluster_from_nodes: Option<PathBuf>,
    /// A file of pools, one `type=count[@usd_per_hour]` per line (`#` comments); overrides
    /// --cluster.
    #[arg(long, value_name = "FILE")]
    pools: Option<PathBuf>,
    /// Throughput matrix in Gavel's JSON format [default: Gavel's simulation matrix, built in].
    #[arg(long, value_name = "FILE")]
    throughputs: Option<PathBuf>,
    /// Round length, seconds.
    #[arg(long, default_value_t = 360.0)]
    round_s: f64,
    /// Least time between two allocation recomputations, seconds (Gavel: 1920).
    #[arg(long, default_value_t = 1920.0)]
    realloc_interval_s: f64,
    /// Seed (randomized policies, job types drawn for traces without them).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Policies to compare, comma-separated (Gavel's names accepted).
    #[arg(long, default_value = "max_min_fairness_perf", value_delimiter = ',')]
    policy: Vec<String>,
    /// Workload trace.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present_any = ["gavel_parity", "generate", "scenario", "workload"],
        conflicts_with = "generate"
    )]
    trace: Option<PathBuf>,
    /// A scenario of priced pools, contracts and a workload (TOML, see docs/economics.md); runs
    /// the placement policies `baseline`, `commitment-aware`, `on-demand-only`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["trace", "generate", "gavel_parity"])]
    scenario: Option<PathBuf>,
    /// The service's configuration (`spillway serve --config`): with --workload, replays jobs
    /// through the service's own state machine on a virtual clock, with the config's pools,
    /// tenants' quotas, contracts and policy (`--policy` compares others).
    #[arg(long, value_name = "FILE", requires = "workload", conflicts_with_all = ["trace", "generate", "gavel_parity", "scenario"])]
    config: Option<PathBuf>,
    /// A service workload, one JSON job a line (spec, tenant, arrival, observed run time; see
    /// docs/simulator.md); needs --config.
    #[arg(long, value_name = "FILE", requires = "config")]
    workload: Option<PathBuf>,
    /// Generate a workload like Gavel's instead of reading one: comma-separated `key=value`
    /// (`jobs=600,rate=2.0,multi_gpu=true,sizes=gavel|philly,multi_priority=true,slos=true,seed=0`;
    /// `rate` in jobs per hour, omitted = all at t = 0).
    #[arg(long, value_name = "SPEC")]
    generate: Option<String>,
    /// Trace format [default: detected from the content].
    #[arg(long, value_enum)]
    trace_format: Option<FormatArg>,
    /// Skip malformed trace lines (they are counted) instead of failing.
    #[arg(long)]
    skip_bad_lines: bool,
    /// Measure JCT over jobs A..B only (trace positions, end exclusive), e.g. 4000..5000.
    #[arg(long, value_name = "A..B", value_parser = parse_window)]
    jobs_window: Option<Range<u64>>,
    /// Solve max-min fairness job by job, as Gavel formulates it, instead of over classes of
    /// identical jobs (same optimum, slower; can return a different optimal point when pool
    /// sizes differ).
    #[arg(long)]
    per_job_lp: bool,
    /// Solve max-min fairness and minimum makespan with the general LP backend (Clarabel) instead
    /// of the specialized interior-point methods (same optima, and for minimum makespan the same
    /// point up to rounding; for cross-checking).
    #[arg(long)]
    general_lp: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Write one CSV row per job and policy to this file.
    #[arg(long, value_name = "FILE")]
    per_job_csv: Option<PathBuf>,
    /// Write SVG plots (JCT CDF per policy, utilization over time) into this folder.
    #[arg(long, value_name = "DIR")]
    plot: Option<PathBuf>,
    /// Write one self-contained HTML page (summary and charts, no network) to this file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["scenario", "gavel_parity", "workload"])]
    html: Option<PathBuf>,
    /// Re-run Gavel's published experiments (3 traces x policies) and print Gavel's numbers next
    /// to ours.
    #[arg(long, conflicts_with_all = ["trace", "policy"])]
    gavel_parity: bool,
    /// With --gavel-parity: only rows whose trace (single, multi, static) is listed.
    #[arg(long, value_delimiter = ',', requires = "gavel_parity")]
    parity_traces: Vec<String>,
    /// With --gavel-parity: only rows whose policy is listed.
    #[arg(long, value_delimiter = ',', requires = "gavel_parity")]
    parity_policies: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Gavel,
    Philly,
    Alibaba,
    Csv,
}

pub(crate) fn parse_window(s: &str) -> Result<Range<u64>, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("expected A..B, found {s:?}"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("bad start in {s:?}"))?;
    let b: u64 = b.trim().parse().map_err(|_| format!("bad end in {s:?}"))?;
    if b <= a {
        return Err(format!("the window {s:?} is empty (end must exceed start)"));
    }
    Ok(a..b)
}

/// Parses `v100=36,p100=36@1.46,k80=36`.
pub(crate) fn parse_cluster(spec: &str) -> Result<Cluster> {
    let mut pools = Vec::new();
    for part in spec
        .split([',', '\n'])
        .map(|p| p.split('#').next().unwrap_or("").trim())
        .filter(|p| !p.is_empty())
    {
        let (name, rest) = part
            .split_once('=')
            .with_context(|| format!("parse pool {part:?}: expected type=count[@usd_per_hour]"))?;
        let (count, price) = match rest.split_once('@') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let capacity: u32 = count.trim().parse().with_context(|| {
            format!("parse pool {part:?}: count {count:?} is not a whole number")
        })?;
        let price_per_hour = price
            .map(|p| {
                p.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .with_context(|| {
                        format!("parse pool {part:?}: price {p:?} is not a number >= 0")
                    })
            })
            .transpose()?;
        pools.push(Pool {
            name: name.trim().to_string(),
            capacity,
            price_per_hour,
        });
    }
    Ok(Cluster::new(pools)?)
}

/// Gavel's cluster, the default.
pub(crate) const GAVEL_CLUSTER: &str = "v100=36,p100=36,k80=36";

/// The Alibaba trace's cluster, from its vendored node list.
fn alibaba_cluster() -> Result<Cluster> {
    cluster_from_nodes(
        Path::new("openb_node_list_gpu_node.csv (built in)"),
        ALIBABA_NODES,
    )
}

/// One pool per GPU model of an Alibaba-format node list.
fn cluster_from_nodes(path: &Path, text: &str) -> Result<Cluster> {
    let gpus = trace::alibaba_nodes::gpus_by_model(path, text)?;
    if gpus.is_empty() {
        bail!(
            "read node list {}: no node has a GPU, so the cluster would be empty",
            path.display()
        );
    }
    parse_cluster(&trace::alibaba_nodes::cluster_spec(&gpus))
        .with_context(|| format!("read node list {}", path.display()))
}

pub(crate) fn load_matrix(path: Option<&Path>) -> Result<ThroughputMatrix> {
    match path {
        None => Ok(ThroughputMatrix::from_gavel_json(GAVEL_MATRIX)?),
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("read throughput matrix {}", p.display()))?;
            ThroughputMatrix::from_gavel_json(&text)
                .with_context(|| format!("read throughput matrix {}", p.display()))
        }
    }
}

fn progress_bar(total: usize, label: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>24} [{bar:30}] {pos}/{len} jobs {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_string());
    bar
}

pub(crate) fn run(args: SimulateArgs) -> Result<()> {
    if args.gavel_parity {
        return run_parity(&args);
    }
    if let Some(path) = &args.scenario {
        return scenario::run(path, &args.policy, args.json, args.plot.as_deref());
    }
    if let (Some(config), Some(workload)) = (&args.config, &args.workload) {
        return service::run_config(config, workload, &args.policy, args.json);
    }
    if !(args.round_s > 0.0 && args.round_s.is_finite()) {
        bail!("--round-s must be > 0, found {}", args.round_s);
    }
    let policies: Vec<PolicyKind> = args
        .policy
        .iter()
        .map(|p| p.parse())
        .collect::<Result<_, _>>()?;
    let matrix = load_matrix(args.throughputs.as_deref())?;
    let (records, alibaba_trace) = match &args.generate {
        Some(spec) => (generate_records(spec, &matrix)?, false),
        None => read_records(&args)?,
    };
    let cluster = match (&args.pools, &args.cluster_from_nodes) {
        (Some(file), _) => parse_cluster(
            &std::fs::read_to_string(file)
                .with_context(|| format!("read pools file {}", file.display()))?,
        )
        .with_context(|| format!("read pools file {}", file.display()))?,
        (None, Some(file)) => cluster_from_nodes(
            file,
            &std::fs::read_to_string(file)
                .with_context(|| format!("read node list {}", file.display()))?,
        )?,
        (None, None) => match args.cluster.as_deref() {
            Some("alibaba") => alibaba_cluster()?,
            Some(spec) => parse_cluster(spec)?,
            // An Alibaba pod list runs on the cluster it was recorded on, whose GPU models its
            // constraints name.
            None if alibaba_trace => {
                eprintln!("no --cluster given: using the Alibaba trace's own (--cluster alibaba)");
                alibaba_cluster()?
            }
            None => parse_cluster(GAVEL_CLUSTER)?,
        },
    };
    let options = WorkloadOptions {
        seed: args.seed,
        ..WorkloadOptions::default()
    };
    let jobs = workload::build(&records, &matrix, &cluster, &options)?;
    let config = SimConfig {
        scheduler: SchedulerConfig {
            round_s: args.round_s,
            min_reallocation_interval_s: args.realloc_interval_s,
            seed: args.seed,
            solver_time_limit: Duration::from_secs(60),
            aggregate_classes: !args.per_job_lp,
            specialized_max_min: !args.general_lp,
        },
        ..SimConfig::default()
    };
    // The policies run side by side, each on a thread of its own (each run is deterministic
    // and shares nothing); each run's wall time is its own, cores shared.
    let bars = indicatif::MultiProgress::new();
    let runs: Vec<(Summary, SimOutcome, f64)> =
        spillway_sim::parallel::map_each(&policies, |&policy| {
            let bar = bars.add(progress_bar(jobs.len(), policy.name()));
            let start = Instant::now();
            let outcome = simulate(&jobs, &cluster, policy, &config, &mut |done, _| {
                bar.set_position(done as u64)
            })?;
            bar.finish_and_clear();
            let wall = start.elapsed().as_secs_f64();
            let summary = Summary::new(&outcome, &cluster, args.jobs_window.clone());
            Ok::<_, anyhow::Error>((summary, outcome, wall))
        })
        .into_iter()
        .collect::<Result<_>>()?;
    if let Some(path) = &args.per_job_csv {
        write_per_job_csv(path, &jobs, &runs)?;
    }
    if let Some(dir) = &args.plot {
        let outcomes: Vec<&SimOutcome> = runs.iter().map(|(_, o, _)| o).collect();
        spillway_sim::plot::write_plots(dir, &outcomes, &cluster, args.jobs_window.clone())
            .with_context(|| format!("write plots into {}", dir.display()))?;
    }
    if let Some(path) = &args.html {
        html::write(
            path,
            "Spillway simulation",
            &summary_table(&runs, &cluster),
            &runs,
            &cluster,
        )?;
    }
    if args.json {
        let runs: Vec<&Summary> = runs.iter().map(|(s, _, _)| s).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "runs": runs }))?
        );
        return Ok(());
    }
    print!("{}", summary_table(&runs, &cluster));
    Ok(())
}

/// Reads the trace named by `--trace`, reporting skipped lines (and, for an Alibaba pod list,
/// the pods its rules left out). Also says whether it is an Alibaba pod list.
fn read_records(args: &SimulateArgs) -> Result<(Vec<spillway_model::JobRecord>, bool)> {
    let trace_path = args
        .trace
        .as_deref()
        .context("--trace or --generate is required")?;
    let format = args.trace_format.map(|f| match f {
        FormatArg::Gavel => TraceFormat::Gavel,
        FormatArg::Philly => TraceFormat::Philly,
        FormatArg::Alibaba => TraceFormat::Alibaba,
        FormatArg::Csv => TraceFormat::Csv,
    });
    let trace = trace::read_trace(
        trace_path,
        format,
        &ReadOptions {
            skip_bad_lines: args.skip_bad_lines,
        },
    )?;
    if let Some(summary) = &trace.alibaba {
        eprintln!("{}: {summary}", trace_path.display());
    }
    if !trace.skipped.is_empty() {
        eprintln!(
            "skipped {} malformed line(s) of {}; first: line {}: {}",
            trace.skipped.len(),
            trace_path.display(),
            trace.skipped[0].line,
            trace.skipped[0].reason
        );
    }
    Ok((trace.jobs, trace.alibaba.is_some()))
}

/// Generates a workload like Gavel's from `--generate`.
pub(crate) fn generate_records(
    spec: &str,
    matrix: &ThroughputMatrix,
) -> Result<Vec<spillway_model::JobRecord>> {
    let spec: generate::GenerateSpec = spec.parse()?;
    let types: Vec<String> = matrix.job_types().iter().map(|t| t.to_string()).collect();
    let lookup =
        |job_type: &str, scale: u32| workload::throughput_for(matrix, job_type, scale, "v100");
    Ok(generate::generate(&spec, &types, &lookup)?)
}

fn summary_table(runs: &[(Summary, SimOutcome, f64)], cluster: &Cluster) -> String {
    let mut columns: Vec<(String, Align)> = [
        "policy",
        "jobs",
        "avg JCT h",
        "p50 h",
        "p90 h",
        "p99 h",
        "makespan h",
        "util",
    ]
    .iter()
    .enumerate()
    .map(|(i, h)| {
        (
            h.to_string(),
            if i == 0 { Align::Left } else { Align::Right },
        )
    })
    .collect();
    for p in cluster.pools() {
        columns.push((format!("util {}", p.name), Align::Right));
    }
    for h in ["FTF mean", "FTF max", "preempt", "SLO miss", "cost $"] {
        columns.push((h.to_string(), Align::Right));
    }
    let refs: Vec<(&str, Align)> = columns.iter().map(|(h, a)| (h.as_str(), *a)).collect();
    let mut table = Table::new(&refs);
    for (s, _, _) in runs {
        let mut row = vec![
            s.policy.clone(),
            s.jobs_completed.to_string(),
            format!("{:.3}", s.avg_jct_hours),
            format!("{:.3}", s.p50_jct_hours),
            format!("{:.3}", s.p90_jct_hours),
            format!("{:.3}", s.p99_jct_hours),
            format!("{:.2}", s.makespan_hours),
            format!("{:.3}", s.utilization),
        ];
        row.extend(
            s.utilization_per_pool
                .iter()
                .map(|u| format!("{:.3}", u.utilization)),
        );
        row.push(format!("{:.2}", s.ftf_mean));
        row.push(format!("{:.2}", s.ftf_max));
        row.push(s.preemptions.to_string());
        row.push(format!("{}/{}", s.slo_misses, s.jobs_with_slo));
        row.push(s.cost_usd.map_or("-".to_string(), |c| format!("{c:.2}")));
        table.push(row);
    }
    table.render()
}

fn write_per_job_csv(
    path: &Path,
    jobs: &[SimJob],
    runs: &[(Summary, SimOutcome, f64)],
) -> Result<()> {
    let mut out = String::from(
        "policy,job_id,trace_id,job_type,scale_factor,arrival_s,finish_s,jct_hours,preemptions\n",
    );
    for (s, outcome, _) in runs {
        for j in &outcome.jobs {
            let job = &jobs[j.id.0 as usize];
            out.push_str(&format!(
                "{},{},{},\"{}\",{},{:.3},{:.3},{:.6},{}\n",
                s.policy,
                j.id,
                job.trace_id,
                job.job_type,
                job.spec.scale_factor,
                j.arrival.as_secs(),
                j.finish.as_secs(),
                (j.finish.0 - j.arrival.0) as f64 / 3.6e9,
                j.preemptions
            ));
        }
    }
    std::fs::write(path, out).with_context(|| format!("write per-job CSV {}", path.display()))
}

fn run_parity(args: &SimulateArgs) -> Result<()> {
    let matrix = load_matrix(args.throughputs.as_deref())?;
    let dir = tempdir_for_traces()?;
    let started = Instant::now();
    let mut clock = || started.elapsed().as_secs_f64();
    let mut table = Table::new(&[
        ("trace", Align::Left),
        ("policy", Align::Left),
        ("Gavel JCT h", Align::Right),
        ("ours JCT h", Align::Right),
        ("diff", Align::Right),
        ("Gavel makespan h", Align::Right),
        ("ours makespan h", Align::Right),
        ("diff", Align::Right),
        ("Gavel util", Align::Right),
        ("ours util", Align::Right),
        ("Gavel wall s", Align::Right),
        ("ours wall s", Align::Right),
        ("speed-up", Align::Right),
    ]);
    let mut json_rows = Vec::new();
    for gavel in GAVEL_RESULTS {
        if !args.parity_traces.is_empty() && !args.parity_traces.iter().any(|t| t == gavel.trace) {
            continue;
        }
        if !args.parity_policies.is_empty()
            && !args.parity_policies.iter().any(|p| p == gavel.policy)
        {
            continue;
        }
        let run = parity::run_case(gavel, &dir, &matrix, &mut clock)
            .with_context(|| format!("run {} on {}", gavel.policy, gavel.trace))?;
        table.push(vec![
            gavel.trace.to_string(),
            gavel.policy.to_string(),
            format!("{:.3}", gavel.avg_jct_hours),
            format!("{:.3}", run.ours.avg_jct_hours),
            format!("{:+.1}%", run.jct_diff() * 100.0),
            format!("{:.2}", gavel.makespan_hours),
            format!("{:.2}", run.ours.makespan_hours),
            format!("{:+.1}%", run.makespan_diff() * 100.0),
            format!("{:.3}", gavel.utilization),
            format!("{:.3}", run.ours.utilization),
            format!("{:.1}", gavel.wall_s),
            format!("{:.3}", run.wall_s),
            format!("{:.0}x", gavel.wall_s / run.wall_s.max(1e-6)),
        ]);
        json_rows.push(serde_json::json!({
            "trace": gavel.trace,
            "policy": gavel.policy,
            "gavel_avg_jct_hours": gavel.avg_jct_hours,
            "avg_jct_hours": run.ours.avg_jct_hours,
            "jct_diff": run.jct_diff(),
            "gavel_makespan_hours": gavel.makespan_hours,
            "makespan_hours": run.ours.makespan_hours,
            "makespan_diff": run.makespan_diff(),
            "gavel_wall_s": gavel.wall_s,
            "wall_s": run.wall_s,
        }));
    }
    let _ = std::fs::remove_dir_all(&dir);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "parity": json_rows }))?
        );
    } else {
        print!("{}", table.render());
    }
    Ok(())
}

/// Writes the built-in Gavel traces to a private temporary folder, since the trace readers work
/// on files.
fn tempdir_for_traces() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("spillway-gavel-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    for (name, text) in GAVEL_TRACES {
        std::fs::write(dir.join(name), text).with_context(|| format!("write {name}"))?;
    }
    Ok(dir)
}
