//! The LP lower bound on the average JCT against real schedules: on an overloaded cluster it
//! lies above the no-queueing bound and below every policy's average JCT.

use spillway_core::{Cluster, PolicyKind, Pool, SchedulerConfig};
use spillway_perf::gavel::ThroughputMatrix;
use spillway_sim::lower_bound::{BoundOptions, lower_bound};
use spillway_sim::trace::generate::{GenerateSpec, generate};
use spillway_sim::workload::{self, WorkloadOptions};
use spillway_sim::{SimConfig, Summary, simulate};
use std::path::PathBuf;
use std::time::Duration;

fn matrix() -> ThroughputMatrix {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/gavel/simulation_throughputs.json");
    ThroughputMatrix::from_gavel_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_lp_bound_lies_between_the_no_queueing_bound_and_every_policy() {
    let matrix = matrix();
    let types: Vec<String> = matrix.job_types().iter().map(|t| t.to_string()).collect();
    let lookup =
        |job_type: &str, scale: u32| workload::throughput_for(&matrix, job_type, scale, "v100");
    // 80 jobs, a quarter of them gangs, arriving at 12 an hour on 8 + 8 + 8 accelerators: far
    // more work than the cluster does while they arrive.
    let spec: GenerateSpec = "jobs=80,rate=12,multi_gpu=true,seed=5".parse().unwrap();
    let records = generate(&spec, &types, &lookup).unwrap();
    let pools = ["v100", "p100", "k80"].map(|name| Pool {
        name: name.into(),
        capacity: 8,
        price_per_hour: None,
    });
    let cluster = Cluster::new(pools.to_vec()).unwrap();
    let jobs = workload::build(&records, &matrix, &cluster, &WorkloadOptions::default()).unwrap();
    let ideal: f64 = jobs
        .iter()
        .map(|j| {
            let best = j.spec.throughputs.iter().copied().fold(0.0, f64::max);
            j.spec.total_steps as f64 / best / 3600.0
        })
        .sum::<f64>()
        / jobs.len() as f64;
    let config = SimConfig {
        scheduler: SchedulerConfig {
            solver_time_limit: Duration::from_secs(60),
            ..SchedulerConfig::default()
        },
        ..SimConfig::default()
    };
    let mut shortest_makespan = f64::INFINITY;
    let mut best = f64::INFINITY;
    for policy in [
        "fifo_perf",
        "max_min_fairness_perf",
        "max_sum_throughput_perf",
        "srpt_perf",
    ] {
        let kind: PolicyKind = policy.parse().unwrap();
        let outcome = simulate(&jobs, &cluster, kind, &config, &mut |_, _| {}).unwrap();
        let summary = Summary::new(&outcome, &cluster, None);
        shortest_makespan = shortest_makespan.min(summary.makespan_hours);
        best = best.min(summary.avg_jct_hours);
    }
    let options = BoundOptions {
        step_h: 0.5,
        horizon_h: shortest_makespan,
        window: None,
        time_limit: Duration::from_secs(120),
    };
    let bound = lower_bound(&jobs, &cluster, &options).unwrap();
    assert!(
        bound.avg_jct_hours <= best,
        "the bound {} is above a real schedule's {best}",
        bound.avg_jct_hours
    );
    // Queueing that no schedule avoids: well above the no-queueing bound.
    assert!(
        bound.avg_jct_hours > 1.2 * ideal,
        "bound {} against the no-queueing {ideal}",
        bound.avg_jct_hours
    );
    // Any horizon is valid; a shorter one is looser, never above.
    let short = BoundOptions {
        horizon_h: shortest_makespan / 4.0,
        ..options
    };
    let looser = lower_bound(&jobs, &cluster, &short).unwrap();
    assert!(looser.avg_jct_hours <= bound.avg_jct_hours + 1e-6);
}
