//! From trace records to the jobs the core schedules: job types, throughputs per pool, steps.
//!
//! - A job without a type gets one drawn uniformly (seeded ChaCha8) from the matrix's types that
//!   exist at its scale factor (or at 1 when none does).
//! - Throughput of a scale factor the matrix lacks (e.g. a 64-GPU Philly job) is the largest
//!   known smaller scale factor's, scaled linearly.
//! - Work given in seconds becomes steps at the job's throughput on the reference accelerator
//!   (`v100`, like Gavel), or on its fastest pool when the reference cannot run it.
//! - A job pinned to an accelerator type (`accelerator_constraint`) runs only on that pool.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
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
        "match pool `{pool}` to the throughput matrix: it has no accelerator of that name (it knows: {known})"
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
    /// A job is pinned to an accelerator the cluster lacks.
    #[error("read job {job}: it needs accelerator `{accelerator}`, which no pool provides")]
    MissingAccelerator {
        /// The trace id.
        job: String,
        /// The accelerator.
        accelerator: String,
    },
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

/// Builds the jobs of `records` for `cluster`. Ids are positions in `records`.
pub fn build(
    records: &[JobRecord],
    matrix: &ThroughputMatrix,
    cluster: &Cluster,
    options: &WorkloadOptions,
) -> Result<Vec<SimJob>, WorkloadError> {
    for pool in cluster.pools() {
        if !matrix.accelerators().contains(&pool.name) {
            return Err(WorkloadError::UnknownPool {
                pool: pool.name.clone(),
                known: matrix.accelerators().join(", "),
            });
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let all_types: Vec<String> = matrix.job_types().iter().map(|s| s.to_string()).collect();
    let mut jobs = Vec::with_capacity(records.len());
    for (index, record) in records.iter().enumerate() {
        let job_type = match &record.job_type {
            Some(t) => t.clone(),
            None => {
                let fitting: Vec<&String> = all_types
                    .iter()
                    .filter(|t| matrix.scale_factors(t).contains(&record.scale_factor))
                    .collect();
                let pool: Vec<&String> = if fitting.is_empty() {
                    all_types.iter().collect()
                } else {
                    fitting
                };
                pool[rng.random_range(0..pool.len())].clone()
            }
        };
        if matrix.scale_factors(&job_type).is_empty() {
            return Err(WorkloadError::UnknownJobType {
                job: record.id.clone(),
                job_type,
            });
        }
        let mut throughputs: Vec<f64> = cluster
            .pools()
            .iter()
            .map(|p| throughput_for(matrix, &job_type, record.scale_factor, &p.name).unwrap_or(0.0))
            .collect();
        if let Some(acc) = &record.accelerator_constraint {
            let Some(keep) = cluster.find(acc) else {
                return Err(WorkloadError::MissingAccelerator {
                    job: record.id.clone(),
                    accelerator: acc.clone(),
                });
            };
            for (p, t) in throughputs.iter_mut().enumerate() {
                if p != keep.0 {
                    *t = 0.0;
                }
            }
        }
        let total_steps = match record.work {
            WorkAmount::Steps(s) => s,
            WorkAmount::Seconds(secs) => {
                let reference = throughput_for(
                    matrix,
                    &job_type,
                    record.scale_factor,
                    &options.reference_accelerator,
                )
                .filter(|t| *t > 0.0)
                .unwrap_or_else(|| throughputs.iter().copied().fold(0.0, f64::max));
                (secs * reference).ceil().max(0.0) as u64
            }
        };
        if total_steps == 0 {
            return Err(WorkloadError::NoWork {
                job: record.id.clone(),
                work: format!("{:?}", record.work),
            });
        }
        let arrival = SimTime::from_secs(record.arrival_time_s);
        let spec = JobSpec {
            id: JobId(index as u64),
            scale_factor: record.scale_factor,
            total_steps,
            throughputs,
            priority_weight: record.priority_weight,
            arrival,
            deadline: record
                .deadline_s
                .map(|d| SimTime(arrival.0 + SimTime::from_secs(d).0)),
        };
        jobs.push(SimJob {
            spec,
            job_type,
            trace_id: record.id.clone(),
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
}
