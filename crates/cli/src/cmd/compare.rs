//! `spillway compare`: every policy on one trace, side by side with the no-queueing bound (each
//! job alone on its fastest accelerator from the moment it arrives, i.e. an unbounded cluster).
//!
//! It prints average and p99 JCT, makespan, utilization and the worst finish-time-fairness
//! ratio (JCT over the job's time alone on its fastest pool) of each policy, how far each is
//! above the bound, and, for the policies that are not Gavel's, the share of the gap between the
//! best Gavel policy and the bound that they close.

use super::simulate::{GAVEL_CLUSTER, generate_records, load_matrix, parse_cluster, parse_window};
use crate::table::{Align, Table};
use anyhow::{Context, Result, bail};
use serde::Serialize;
use spillway_core::{Cluster, PolicyKind, SchedulerConfig};
use spillway_sim::engine::{SimConfig, simulate};
use spillway_sim::lower_bound::{BoundOptions, LowerBound, check_step, lower_bound};
use spillway_sim::metrics::{Summary, mean, quantile};
use spillway_sim::trace::{self, ReadOptions};
use spillway_sim::workload::{self, SimJob, WorkloadOptions};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Flags of `spillway compare`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompareArgs {
    /// Workload trace (any format `simulate --trace` reads).
    #[arg(long, value_name = "FILE", required_unless_present = "generate")]
    trace: Option<PathBuf>,
    /// Generate a workload like Gavel's instead (same keys as `simulate --generate`, e.g.
    /// `jobs=400,multi_gpu=true,seed=7`).
    #[arg(long, value_name = "SPEC", conflicts_with = "trace")]
    generate: Option<String>,
    /// Pools as `type=count[@usd_per_hour]`, comma-separated [default: v100=36,p100=36,k80=36].
    #[arg(long)]
    cluster: Option<String>,
    /// Throughput matrix in Gavel's JSON format [default: Gavel's simulation matrix].
    #[arg(long, value_name = "FILE")]
    throughputs: Option<PathBuf>,
    /// Policies to run, comma-separated [default: every policy, one name each; the cost
    /// policies only when every pool has a price].
    #[arg(long, value_delimiter = ',')]
    policies: Vec<String>,
    /// Round length, seconds.
    #[arg(long, default_value_t = 360.0)]
    round_s: f64,
    /// Least time between two allocation recomputations, seconds (Gavel: 1920).
    #[arg(long, default_value_t = 1920.0)]
    realloc_interval_s: f64,
    /// Seed of the randomized policies and of job types drawn for traces without them.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Measure JCT over jobs A..B only (trace positions, end exclusive), e.g. 200..800.
    #[arg(long, value_name = "A..B", value_parser = parse_window)]
    jobs_window: Option<Range<u64>>,
    /// Also bound from below the average JCT that any schedule can reach on this cluster (a
    /// time-indexed LP relaxation solved by HiGHS; minutes for a few hundred jobs), and say
    /// how much of the best Gavel policy's gap to the no-queueing bound can be closed at most.
    #[arg(long)]
    lower_bound: bool,
    /// With --lower-bound: the LP's time step, hours (finer is tighter and larger).
    #[arg(long, default_value_t = 1.0, requires = "lower_bound")]
    bound_step_h: f64,
    /// With --lower-bound: HiGHS's time limit, seconds.
    #[arg(long, default_value_t = 1800, requires = "lower_bound")]
    bound_time_limit_s: u64,
    /// With --lower-bound: write the LP's solution, one CSV row per job (its JCT, first run,
    /// half-work point and hours on each pool), to join with `simulate --per-job-csv` by job_id.
    #[arg(long, value_name = "FILE", requires = "lower_bound")]
    bound_jobs_csv: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// The figures of one row: a policy or the bound.
#[derive(Debug, Clone, Serialize)]
struct Row {
    /// The policy's canonical name, or `no-queueing bound`.
    policy: String,
    /// Whether the policy is one of Gavel's (the bound and Spillway's own are not).
    gavel: bool,
    avg_jct_hours: f64,
    p99_jct_hours: f64,
    makespan_hours: f64,
    /// Busy accelerator-time over capacity x makespan (absent for the bound, whose cluster is
    /// unbounded).
    utilization: Option<f64>,
    /// Largest JCT / (time alone on the job's fastest pool).
    ftf_max: f64,
    /// Average JCT over the bound's, minus 1.
    above_bound: f64,
    /// For policies that are not Gavel's: (best Gavel avg JCT - this) / (best Gavel - bound).
    gap_closed: Option<f64>,
    /// Seconds the simulation took.
    wall_s: f64,
}

/// Gavel's own policies (the reference the new ones are measured against).
fn is_gavel(kind: PolicyKind) -> bool {
    !matches!(
        kind,
        PolicyKind::PriorityBackfill | PolicyKind::ShortestRemaining | PolicyKind::LeastAttained
    )
}

/// Every policy once, under its canonical name; cost policies only with prices.
fn default_policies(cluster: &Cluster) -> Vec<PolicyKind> {
    let priced = cluster.pools().iter().all(|p| p.price_per_hour.is_some());
    let mut kinds: Vec<PolicyKind> = Vec::new();
    for name in PolicyKind::all_names() {
        let kind: PolicyKind = name.parse().expect("every listed name parses");
        if kinds.contains(&kind) {
            continue;
        }
        if matches!(kind, PolicyKind::ThroughputPerCost { .. }) && !priced {
            continue;
        }
        kinds.push(kind);
    }
    kinds
}

/// The no-queueing bound: every job alone on its fastest pool from its arrival.
fn bound(jobs: &[SimJob], window: Option<&Range<u64>>) -> Row {
    let in_window = |i: usize| window.is_none_or(|w| w.contains(&(i as u64)));
    let ideal = |j: &SimJob| {
        let best = j.spec.throughputs.iter().copied().fold(0.0, f64::max);
        j.spec.total_steps as f64 / best
    };
    let mut jct: Vec<f64> = jobs
        .iter()
        .enumerate()
        .filter(|(i, _)| in_window(*i))
        .map(|(_, j)| ideal(j))
        .collect();
    jct.sort_by(f64::total_cmp);
    let makespan_s = jobs
        .iter()
        .map(|j| j.spec.arrival.as_secs() + ideal(j))
        .fold(0.0, f64::max);
    Row {
        policy: "no-queueing bound".to_string(),
        gavel: false,
        avg_jct_hours: mean(&jct) / 3600.0,
        p99_jct_hours: quantile(&jct, 0.99) / 3600.0,
        makespan_hours: makespan_s / 3600.0,
        utilization: None,
        ftf_max: 1.0,
        above_bound: 0.0,
        gap_closed: None,
        wall_s: 0.0,
    }
}

pub(crate) fn run(args: CompareArgs) -> Result<()> {
    if !(args.round_s > 0.0 && args.round_s.is_finite()) {
        bail!("--round-s must be > 0, found {}", args.round_s);
    }
    if args.lower_bound {
        // Refused before the policies run, not after.
        check_step(args.bound_step_h).context("--bound-step-h")?;
    }
    let matrix = load_matrix(args.throughputs.as_deref())?;
    let records = match (&args.generate, &args.trace) {
        (Some(spec), _) => generate_records(spec, &matrix)?,
        (None, Some(path)) => {
            let trace = trace::read_trace(path, None, &ReadOptions::default())
                .with_context(|| format!("read trace {}", path.display()))?;
            trace.jobs
        }
        (None, None) => bail!("--trace or --generate is required"),
    };
    let cluster = parse_cluster(args.cluster.as_deref().unwrap_or(GAVEL_CLUSTER))?;
    let options = WorkloadOptions {
        seed: args.seed,
        ..WorkloadOptions::default()
    };
    let jobs = workload::build(&records, &matrix, &cluster, &options)?;
    let policies: Vec<PolicyKind> = if args.policies.is_empty() {
        default_policies(&cluster)
    } else {
        args.policies
            .iter()
            .map(|p| p.parse())
            .collect::<Result<_, _>>()?
    };
    let config = SimConfig {
        scheduler: SchedulerConfig {
            round_s: args.round_s,
            min_reallocation_interval_s: args.realloc_interval_s,
            seed: args.seed,
            solver_time_limit: Duration::from_secs(60),
            ..SchedulerConfig::default()
        },
        ..SimConfig::default()
    };
    let bound = bound(&jobs, args.jobs_window.as_ref());
    let mut rows = Vec::with_capacity(policies.len() + 1);
    for &policy in &policies {
        let start = Instant::now();
        let outcome = simulate(&jobs, &cluster, policy, &config, &mut |_, _| {})?;
        let wall_s = start.elapsed().as_secs_f64();
        let s = Summary::new(&outcome, &cluster, args.jobs_window.clone());
        rows.push(Row {
            policy: s.policy.clone(),
            gavel: is_gavel(policy),
            avg_jct_hours: s.avg_jct_hours,
            p99_jct_hours: s.p99_jct_hours,
            makespan_hours: s.makespan_hours,
            utilization: Some(s.utilization),
            ftf_max: s.ftf_max,
            above_bound: s.avg_jct_hours / bound.avg_jct_hours - 1.0,
            gap_closed: None,
            wall_s,
        });
    }
    let best_gavel = rows
        .iter()
        .filter(|r| r.gavel)
        .map(|r| r.avg_jct_hours)
        .min_by(f64::total_cmp);
    if let Some(best) = best_gavel {
        let gap = best - bound.avg_jct_hours;
        for r in rows.iter_mut().filter(|r| !r.gavel) {
            if gap > 0.0 {
                r.gap_closed = Some((best - r.avg_jct_hours) / gap);
            }
        }
    }
    let no_queueing = bound.avg_jct_hours;
    // Steps up to the shortest makespan measured: any horizon is valid, one near a good
    // schedule's end keeps the LP small and tight.
    let horizon_h = rows
        .iter()
        .map(|r| r.makespan_hours)
        .reduce(f64::min)
        .unwrap_or(bound.makespan_hours);
    rows.push(bound);
    let lower = if args.lower_bound {
        let options = BoundOptions {
            step_h: args.bound_step_h,
            horizon_h,
            window: args.jobs_window.clone(),
            time_limit: Duration::from_secs(args.bound_time_limit_s),
        };
        let lower = lower_bound(&jobs, &cluster, &options)?;
        if let Some(path) = &args.bound_jobs_csv {
            write_bound_jobs_csv(path, &jobs, &cluster, &lower)?;
        }
        Some(lower)
    } else {
        None
    };
    // The most of the best Gavel policy's gap to the no-queueing bound that any schedule closes.
    let reachable = lower.as_ref().zip(best_gavel).and_then(|(l, best)| {
        (best > no_queueing).then(|| ((best - l.avg_jct_hours) / (best - no_queueing)).max(0.0))
    });
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "jobs": jobs.len(),
                "best_gavel_avg_jct_hours": best_gavel,
                "rows": rows,
                "lower_bound": lower,
                "most_gap_closable": reachable,
            }))?
        );
        return Ok(());
    }
    print!("{}", render(&rows));
    if let Some(l) = &lower {
        println!(
            "LP lower bound: no schedule averages below {:.3} h here ({:+.1}% above the no-queueing bound){} \
             [time-indexed LP, {} h steps to {:.0} h, {} columns, HiGHS {:.0} s]",
            l.avg_jct_hours,
            (l.avg_jct_hours / no_queueing - 1.0) * 100.0,
            reachable.map_or(String::new(), |r| format!(
                "; at most {:.0}% of the best Gavel policy's gap can be closed",
                r * 100.0
            )),
            l.step_h,
            l.horizon_h,
            l.columns,
            l.solve_s
        );
    }
    Ok(())
}

/// The LP's solution, one row per job in workload order.
fn write_bound_jobs_csv(
    path: &Path,
    jobs: &[SimJob],
    cluster: &Cluster,
    lower: &LowerBound,
) -> Result<()> {
    let mut out = String::from("job_id,trace_id,arrival_h,lp_jct_h,lp_first_run_h,lp_half_work_h");
    for pool in cluster.pools() {
        out.push_str(&format!(",hours_{}", pool.name));
    }
    out.push('\n');
    for (job, solved) in jobs.iter().zip(&lower.jobs) {
        out.push_str(&format!(
            "{},{},{:.4},{:.6},{:.4},{:.4}",
            job.spec.id,
            job.trace_id,
            solved.arrival_h,
            solved.jct_hours,
            solved.first_run_h,
            solved.half_work_h
        ));
        for hours in &solved.hours_per_pool {
            out.push_str(&format!(",{hours:.6}"));
        }
        out.push('\n');
    }
    std::fs::write(path, out).with_context(|| format!("write {}", path.display()))
}

fn render(rows: &[Row]) -> String {
    let mut table = Table::new(&[
        ("policy", Align::Left),
        ("avg JCT h", Align::Right),
        ("vs bound", Align::Right),
        ("gap closed", Align::Right),
        ("p99 JCT h", Align::Right),
        ("makespan h", Align::Right),
        ("util", Align::Right),
        ("FTF max", Align::Right),
        ("wall s", Align::Right),
    ]);
    for r in rows {
        table.push(vec![
            if r.gavel {
                r.policy.clone()
            } else {
                format!("{} *", r.policy)
            },
            format!("{:.3}", r.avg_jct_hours),
            format!("{:+.1}%", r.above_bound * 100.0),
            r.gap_closed
                .map_or("-".to_string(), |g| format!("{:.0}%", g * 100.0)),
            format!("{:.3}", r.p99_jct_hours),
            format!("{:.2}", r.makespan_hours),
            r.utilization.map_or("-".to_string(), |u| format!("{u:.3}")),
            format!("{:.2}", r.ftf_max),
            format!("{:.1}", r.wall_s),
        ]);
    }
    format!(
        "{}* not one of Gavel's policies; gap closed = (best Gavel avg JCT - its) / (best Gavel - bound)\n",
        table.render()
    )
}
