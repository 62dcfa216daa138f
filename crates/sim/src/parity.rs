//! Gavel's published results on its generated traces (data/gavel/generated/GAVEL_RESULTS.md),
//! and the runs that compare Spillway against them: same traces, cluster 36:36:36
//! (v100, p100, k80), rounds of 360 s, Gavel's throughput matrix, seed 0.

use crate::engine::{SimConfig, SimError, simulate};
use crate::metrics::Summary;
use crate::trace::{ReadOptions, TraceError, TraceFormat, read_trace};
use crate::workload::{self, WorkloadError, WorkloadOptions};
use spillway_core::{Cluster, CoreError, PolicyKind, Pool};
use spillway_perf::gavel::ThroughputMatrix;
use std::path::Path;

/// One row of Gavel's table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GavelResult {
    /// Trace short name (`single`, `multi`, `static`).
    pub trace: &'static str,
    /// Policy, Gavel's name.
    pub policy: &'static str,
    /// Average JCT, hours.
    pub avg_jct_hours: f64,
    /// Makespan, hours.
    pub makespan_hours: f64,
    /// Utilization.
    pub utilization: f64,
    /// Gavel's wall time for the whole run, seconds.
    pub wall_s: f64,
}

/// The trace files, by short name.
pub const TRACES: &[(&str, &str)] = &[
    ("single", "single_600jobs_2.0jph_seed0.trace"),
    ("multi", "multi_600jobs_1.0jph_seed0.trace"),
    ("static", "static_200jobs_seed0.trace"),
];

/// Gavel's own numbers (commit c4fa400, cvxpy 1.9.3 with ECOS).
pub const GAVEL_RESULTS: &[GavelResult] = &[
    row("single", "max_min_fairness", 19.787, 502.08, 0.216, 11.6),
    row(
        "single",
        "max_min_fairness_perf",
        15.109,
        430.42,
        0.191,
        9.4,
    ),
    row("single", "fifo", 15.119, 430.42, 0.191, 7.6),
    row("single", "fifo_perf", 13.248, 430.62, 0.167, 6.8),
    row("multi", "max_min_fairness", 20.203, 833.05, 0.263, 13.4),
    row(
        "multi",
        "max_min_fairness_perf",
        14.640,
        723.02,
        0.208,
        11.0,
    ),
    row("multi", "fifo", 15.300, 745.93, 0.208, 8.5),
    row("multi", "fifo_perf", 13.299, 723.02, 0.195, 7.7),
    row("static", "max_min_fairness", 24.114, 290.68, 0.204, 4.6),
    row(
        "static",
        "max_min_fairness_perf",
        19.359,
        181.93,
        0.269,
        3.8,
    ),
    row("static", "fifo", 38.550, 665.22, 0.115, 5.7),
    row("static", "fifo_perf", 25.533, 180.26, 0.275, 3.5),
    row(
        "static",
        "min_total_duration_perf",
        26.041,
        165.83,
        0.333,
        5.7,
    ),
];

const fn row(
    trace: &'static str,
    policy: &'static str,
    avg_jct_hours: f64,
    makespan_hours: f64,
    utilization: f64,
    wall_s: f64,
) -> GavelResult {
    GavelResult {
        trace,
        policy,
        avg_jct_hours,
        makespan_hours,
        utilization,
        wall_s,
    }
}

/// Gavel's simulated cluster: 36 V100, 36 P100, 36 K80.
pub fn gavel_cluster() -> Cluster {
    let pool = |name: &str| Pool {
        name: name.to_string(),
        capacity: 36,
        price_per_hour: None,
    };
    Cluster::new(vec![pool("v100"), pool("p100"), pool("k80")]).expect("non-empty cluster")
}

/// Why a parity run failed.
#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    /// The trace could not be read.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// The workload could not be built.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// The simulation failed.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// Unknown policy.
    #[error(transparent)]
    Policy(#[from] CoreError),
}

/// Our figures for one row of Gavel's table.
#[derive(Debug, Clone, PartialEq)]
pub struct ParityRun {
    /// Gavel's row.
    pub gavel: GavelResult,
    /// Our summary.
    pub ours: Summary,
    /// Our wall time, seconds.
    pub wall_s: f64,
}

impl ParityRun {
    /// Relative difference of our average JCT from Gavel's (0.01 = 1%).
    pub fn jct_diff(&self) -> f64 {
        self.ours.avg_jct_hours / self.gavel.avg_jct_hours - 1.0
    }

    /// Relative difference of our makespan from Gavel's.
    pub fn makespan_diff(&self) -> f64 {
        self.ours.makespan_hours / self.gavel.makespan_hours - 1.0
    }
}

/// Runs one row of Gavel's table with traces from `trace_dir`; `clock` measures wall time (the
/// library reads no clock itself).
pub fn run_case(
    gavel: &GavelResult,
    trace_dir: &Path,
    matrix: &ThroughputMatrix,
    clock: &mut dyn FnMut() -> f64,
) -> Result<ParityRun, ParityError> {
    let file = TRACES
        .iter()
        .find(|(name, _)| *name == gavel.trace)
        .map(|(_, f)| *f)
        .unwrap_or_default();
    let start = clock();
    let trace = read_trace(
        &trace_dir.join(file),
        Some(TraceFormat::Gavel),
        &ReadOptions::default(),
    )?;
    let cluster = gavel_cluster();
    let jobs = workload::build(&trace.jobs, matrix, &cluster, &WorkloadOptions::default())?;
    let policy: PolicyKind = gavel.policy.parse()?;
    let outcome = simulate(
        &jobs,
        &cluster,
        policy,
        &SimConfig::default(),
        &mut |_, _| {},
    )?;
    let ours = Summary::new(&outcome, &cluster, None);
    Ok(ParityRun {
        gavel: *gavel,
        ours,
        wall_s: clock() - start,
    })
}
