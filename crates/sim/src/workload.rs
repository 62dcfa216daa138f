//! From trace records to the jobs the core schedules: job types, throughputs per pool, steps,
//! deadlines.
//!
//! - Jobs without a type get one by [`assign_job_types_by_scale`] (seeded ChaCha8, uniform among
//!   the matrix's types measured at the job's scale factor, sorted by name; see
//!   `trace::assign`).
//! - Throughput of a scale factor the matrix lacks (e.g. a 64-GPU Philly job) is the largest
//!   known smaller scale factor's, scaled linearly; types are drawn by the same rule.
//! - A pool whose accelerator is not a column of the matrix uses its documented stand-in
//!   ([`crate::accelerators`]: `v100m32` -> `v100`, `t4` -> `v100` x 0.52, ...).
//! - Work given in seconds becomes steps at the job's throughput on the reference accelerator
//!   (`v100`, like Gavel), or on its fastest pool when the reference cannot run it.
//! - A job constrained to accelerator types (`accelerator_constraint`, alternatives `a|b`) runs
//!   only on the pools [`JobRecord::permits`]; a `v100m32` constraint also permits a `v100`
//!   pool (the same chip).
//! - Gavel's SLO multiple (`slo_factor`) becomes a deadline of `slo_factor x duration` after
//!   arrival, duration = steps / throughput on the reference accelerator, as Gavel computes it.

use crate::accelerators;
use crate::trace::assign::{AssignError, assign_job_types_by_scale};
use spillway_core::{Cluster, JobId, JobSpec, SimTime};
use spillway_model::{JobRecord, WorkAmount};
use spillway_perf::gavel::ThroughputMatrix;

/// A job of the simulation: the core's view plus what reports need.
#[derive(Debug, Clone, PartialEq)]
pub struct SimJob {
    /// What the core schedules.
    pub spec: JobSpec,
    /// The job type.
    pub job_type: String,
    /// The trace's own id.
    pub trace_id: String,
}

/// How records become jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadOptions {
    /// Seed for job types drawn for jobs without one.
    pub seed: u64,
    /// The accelerator on which a trace's seconds of work are measured.
    pub reference_accelerator: String,
}

impl Default for WorkloadOptions {
    fn default() -> WorkloadOptions {
        WorkloadOptions {
            seed: 0,
            reference_accelerator: "v100".to_string(),
        }
    }
}

/// Why a workload cannot be simulated.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    /// A pool names an accelerator the matrix does not know.
    #[error(
        "match pool `{pool}` to the throughput matrix: it has no accelerator of that name and no documented stand-in (it knows: {known}); name the pool as the matrix does or add a column"
    )]
    UnknownPool {
        /// The pool.
        pool: String,
        /// Accelerators the matrix knows.
        known: String,
    },
    /// A job's type is missing from the matrix.
    #[error(
        "read job {job}: job type `{job_type}` is not in the throughput matrix; add it to the matrix or fix the trace"
    )]
    UnknownJobType {
        /// The trace id.
        job: String,
        /// The type.
        job_type: String,
    },
    /// A job is pinned to accelerators the cluster lacks.
    #[error(
        "read job {job}: it needs accelerator `{accelerator}`, which no pool provides (pools: {pools}); add such a pool or drop the constraint"
    )]
    MissingAccelerator {
        /// The trace id.
        job: String,
        /// The accelerator constraint as given.
        accelerator: String,
        /// The cluster's pools.
        pools: String,
    },
    /// Job types could not be assigned.
    #[error(transparent)]
    Assign(#[from] AssignError),
    /// A job has no work.
    #[error("read job {job}: its work ({work}) is not positive")]
    NoWork {
        /// The trace id.
        job: String,
        /// The work as given.
        work: String,
    },
    /// The core refuses the job (too large for the cluster, cannot run anywhere).
    #[error("read job {job}")]
    Rejected {
        /// The trace id.
        job: String,
        /// Why.
        #[source]
        source: spillway_core::CoreError,
    },
}

/// Throughput of `job_type` with `scale_factor` on `accelerator`, extrapolating linearly from the
/// largest smaller scale factor the matrix knows.
pub fn throughput_for(
    matrix: &ThroughputMatrix,
    job_type: &str,
    scale_factor: u32,
    accelerator: &str,
) -> Option<f64> {
    if let Some(t) = matrix.throughput(job_type, scale_factor, accelerator) {
        return Some(t);
    }
    let known = matrix
        .scale_factors(job_type)
        .into_iter()
        .filter(|&k| k < scale_factor)
        .max()?;
    matrix
        .throughput(job_type, known, accelerator)
        .map(|t| t * f64::from(scale_factor) / f64::from(known))
}

/// The matrix column and relative speed of each pool (see [`crate::accelerators`]).
fn pool_columns(
    matrix: &ThroughputMatrix,
    cluster: &Cluster,
) -> Result<Vec<(String, f64)>, WorkloadError> {
    let known = matrix.accelerators();
    cluster
        .pools()
        .iter()
        .map(|pool| {
            if known.contains(&pool.name) {
                return Ok((pool.name.clone(), 1.0));
            }
            accelerators::equivalent(&pool.name)
                .filter(|e| known.iter().any(|k| k == e.column))
                .map(|e| (e.column.to_string(), e.speed))
                .ok_or_else(|| WorkloadError::UnknownPool {
                    pool: pool.name.clone(),
                    known: known.join(", "),
                })
        })
        .collect()
}

/// Whether `record` may run on pool `pool` (see the module doc).
fn permits(record: &JobRecord, pool: &str) -> bool {
    record.permits(pool) || accelerators::same_chip_names(pool).any(|name| record.permits(name))
}

/// Builds the jobs of `records` for `cluster`. Ids are positions in `records`.
pub fn build(
    records: &[JobRecord],
    matrix: &ThroughputMatrix,
    cluster: &Cluster,
    options: &WorkloadOptions,
) -> Result<Vec<SimJob>, WorkloadError> {
    let columns = pool_columns(matrix, cluster)?;
    // Types for jobs without one, by the documented rule of `trace::assign`. A type counts as
    // measured at a scale factor when some accelerator of the matrix runs it there.
    let all_types: Vec<String> = matrix.job_types().iter().map(|s| s.to_string()).collect();
    let measured = |job_type: &str, scale: u32| {
        matrix
            .accelerators()
            .iter()
            .filter_map(|acc| matrix.throughput(job_type, scale, acc))
            .reduce(f64::max)
    };
    let mut typed: Vec<JobRecord> = records.to_vec();
    assign_job_types_by_scale(&mut typed, &all_types, options.seed, &measured)?;
    let mut jobs = Vec::with_capacity(records.len());
    for (index, record) in typed.into_iter().enumerate() {
        let job_type = record.job_type.clone().expect("every job has a type now");
        if matrix.scale_factors(&job_type).is_empty() {
            return Err(WorkloadError::UnknownJobType {
                job: record.id.clone(),
                job_type,
            });
        }
        let throughputs: Vec<f64> = cluster
            .pools()
            .iter()
            .zip(&columns)
            .map(|(pool, (column, speed))| {
                if !permits(&record, &pool.name) {
                    return 0.0;
                }
                throughput_for(matrix, &job_type, record.scale_factor, column).unwrap_or(0.0)
                    * speed
            })
            .collect();
        if let Some(acc) = &record.accelerator_constraint
            && !cluster.pools().iter().any(|p| permits(&record, &p.name))
        {
            return Err(WorkloadError::MissingAccelerator {
                job: record.id.clone(),
                accelerator: acc.clone(),
                pools: cluster
                    .pools()
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        // Steps per second on the reference accelerator: what a trace's seconds and Gavel's SLO
        // multiples are measured on.
        let reference = throughput_for(
            matrix,
            &job_type,
            record.scale_factor,
            &options.reference_accelerator,
        )
        .filter(|t| *t > 0.0)
        .unwrap_or_else(|| throughputs.iter().copied().fold(0.0, f64::max));
        let total_steps = match record.work {
            WorkAmount::Steps(s) => s,
            WorkAmount::Seconds(secs) => (secs * reference).ceil().max(0.0) as u64,
        };
        if total_steps == 0 {
            return Err(WorkloadError::NoWork {
                job: record.id.clone(),
                work: format!("{:?}", record.work),
            });
        }
        let arrival = SimTime::from_secs(record.arrival_time_s);
        let deadline_after_arrival = record.deadline_s.or_else(|| {
            let factor = record.slo_factor?;
            (reference > 0.0).then(|| factor * total_steps as f64 / reference)
        });
        let spec = JobSpec {
            id: JobId(index as u64),
            scale_factor: record.scale_factor,
            total_steps,
            throughputs,
            priority_weight: record.priority_weight,
            arrival,
            deadline: deadline_after_arrival.map(|d| SimTime(arrival.0 + SimTime::from_secs(d).0)),
        };
        jobs.push(SimJob {
            spec,
            job_type,
            trace_id: record.id,
        });
    }
    Ok(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::Pool;

    const MATRIX: &str = r#"{
        "v100": {"('A', 1)": {"null": 10.0}, "('A', 8)": {"null": 64.0}, "('B', 1)": {"null": 2.0}},
        "k80": {"('A', 1)": {"null": 2.0}, "('A', 8)": {"null": 8.0}, "('B', 1)": {"null": 0.0}}
    }"#;

    fn record(id: &str, job_type: Option<&str>, work: WorkAmount, sf: u32) -> JobRecord {
        JobRecord {
            id: id.to_string(),
            job_type: job_type.map(str::to_string),
            work,
            scale_factor: sf,
            priority_weight: 1.0,
            arrival_time_s: 1.5,
            deadline_s: Some(100.0),
            slo_factor: None,
            accelerator_constraint: None,
        }
    }

    fn cluster() -> Cluster {
        let pool = |name: &str| Pool {
            name: name.to_string(),
            capacity: 64,
            price_per_hour: None,
        };
        Cluster::new(vec![pool("v100"), pool("k80")]).unwrap()
    }

    #[test]
    fn seconds_become_steps_on_the_reference_and_large_gangs_extrapolate() {
        let m = ThroughputMatrix::from_gavel_json(MATRIX).unwrap();
        let recs = vec![
            record("a", Some("A"), WorkAmount::Seconds(100.0), 1),
            record("b", Some("A"), WorkAmount::Steps(7), 16),
        ];
        let jobs = build(&recs, &m, &cluster(), &WorkloadOptions::default()).unwrap();
        assert_eq!(jobs[0].spec.total_steps, 1000);
        assert_eq!(jobs[0].spec.throughputs, [10.0, 2.0]);
        assert_eq!(jobs[0].spec.arrival, SimTime::from_secs(1.5));
        assert_eq!(jobs[0].spec.deadline, Some(SimTime::from_secs(101.5)));
        // 16 GPUs: twice the 8-GPU rate.
        assert_eq!(jobs[1].spec.throughputs, [128.0, 16.0]);
    }

    #[test]
    fn assigns_seeded_types_and_reports_unknown_ones() {
        let m = ThroughputMatrix::from_gavel_json(MATRIX).unwrap();
        let recs: Vec<JobRecord> = (0..20)
            .map(|i| record(&i.to_string(), None, WorkAmount::Steps(5), 8))
            .collect();
        let jobs = build(&recs, &m, &cluster(), &WorkloadOptions::default()).unwrap();
        // Only A is measured at 8 GPUs.
        assert!(jobs.iter().all(|j| j.job_type == "A"));
        let err = build(
            &[record("x", Some("C"), WorkAmount::Steps(5), 1)],
            &m,
            &cluster(),
            &WorkloadOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("job type `C`"), "{err}");
        let mut pinned = record("y", Some("A"), WorkAmount::Steps(5), 1);
        pinned.accelerator_constraint = Some("k80".to_string());
        let jobs = build(&[pinned], &m, &cluster(), &WorkloadOptions::default()).unwrap();
        assert_eq!(jobs[0].spec.throughputs, [0.0, 2.0]);
    }

    #[test]
    fn alternatives_stand_ins_and_slo_multiples() {
        let m = ThroughputMatrix::from_gavel_json(MATRIX).unwrap();
        let pool = |name: &str| Pool {
            name: name.to_string(),
            capacity: 8,
            price_per_hour: None,
        };
        let alibaba = Cluster::new(vec![pool("v100m32"), pool("t4"), pool("k80")]).unwrap();
        let mut either = record("e", Some("A"), WorkAmount::Steps(100), 1);
        either.accelerator_constraint = Some("t4|k80".to_string());
        either.deadline_s = None;
        either.slo_factor = Some(2.0);
        let mut same_chip = record("s", Some("A"), WorkAmount::Steps(100), 1);
        same_chip.accelerator_constraint = Some("v100m16|v100m32".to_string());
        let jobs = build(
            &[either, same_chip],
            &m,
            &alibaba,
            &WorkloadOptions::default(),
        )
        .unwrap();
        // t4 runs at 0.52 of the v100 column.
        assert_eq!(jobs[0].spec.throughputs, [0.0, 10.0 * 0.52, 2.0]);
        assert_eq!(jobs[1].spec.throughputs, [10.0, 0.0, 0.0]);
        // 2 x (100 steps / 10 steps/s on the reference v100) after the arrival at 1.5 s.
        assert_eq!(jobs[0].spec.deadline, Some(SimTime::from_secs(21.5)));

        // A v100m32 constraint runs on a pool named as the matrix names the chip.
        let mut pinned = record("p", Some("A"), WorkAmount::Steps(5), 1);
        pinned.accelerator_constraint = Some("v100m32".to_string());
        let jobs = build(
            std::slice::from_ref(&pinned),
            &m,
            &cluster_of(&["v100", "k80"]),
            &WorkloadOptions::default(),
        )
        .unwrap();
        assert_eq!(jobs[0].spec.throughputs, [10.0, 0.0]);
        pinned.accelerator_constraint = Some("p100|a10".to_string());
        let err = build(&[pinned], &m, &cluster(), &WorkloadOptions::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "read job p: it needs accelerator `p100|a10`, which no pool provides (pools: v100, \
             k80); add such a pool or drop the constraint"
        );
        let err = build(&[], &m, &cluster_of(&["h100"]), &WorkloadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("pool `h100`"), "{err}");
    }

    fn cluster_of(names: &[&str]) -> Cluster {
        Cluster::new(
            names
                .iter()
                .map(|name| Pool {
                    name: name.to_string(),
                    capacity: 8,
                    price_per_hour: None,
                })
                .collect(),
        )
        .unwrap()
    }
}
