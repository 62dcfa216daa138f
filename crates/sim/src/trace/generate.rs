//! Synthetic workloads generated like Gavel's: Poisson arrivals, Philly-like durations and scale
//! factors.
//!
//! For each job, in order, from one seeded ChaCha8 stream (the "job" stream):
//! 1. scale factor: 1 w.p. 0.7, 2 w.p. 0.1, 4 w.p. 0.15, 8 w.p. 0.05 (Gavel's
//!    `_generate_scale_factor`); it is drawn even for single-GPU workloads and then set to 1, so
//!    that the single- and multi-GPU workloads of one seed share their durations;
//! 2. duration: `60 * 10^U(1.5, 3)` s w.p. 0.8, else `60 * 10^U(3, 4)` s (Gavel's
//!    `_generate_duration`: 31.6 min to 16.7 h, or 16.7 h to 6.9 days);
//!    with `sizes=philly`, steps 1 and 2 are replaced by one `(duration, num_gpus)` pair drawn
//!    uniformly from Gavel's Philly job distribution (33,192 pairs), GPUs set to 1 for
//!    single-GPU workloads;
//! 3. job type: uniform among the given types that the throughput matrix measures at that
//!    scale factor (Gavel draws templates until it finds a distributed one for multi-GPU jobs);
//! 4. priority weight (only with `multi_priority`): 5 w.p. 0.2, else 1;
//! 5. SLO (only with `slos`): 1.2, 2 or 10 times the duration w.p. 0.33, 0.34, 0.33, as the
//!    deadline;
//! 6. work: `round(duration x throughput(type, scale))` steps on the reference accelerator,
//!    at least 1.
//!
//! Arrivals come from a second stream of the same seed, so changing the rate moves the arrival
//! times but keeps every job's size and type: job 0 arrives at 0 and each next one an
//! exponential time later, with mean `3600 / jobs_per_hour` s; with no rate all jobs arrive at 0
//! (a static workload).

use super::assign::{self, ThroughputLookup};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spillway_model::{JobRecord, WorkAmount};
use std::collections::BTreeMap;
use std::sync::OnceLock;

pub use super::generate_spec::SpecError;

/// Where job durations and GPU counts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobSizes {
    /// Gavel's closed-form Philly-like rules (steps 1 and 2 of the module doc).
    #[default]
    Gavel,
    /// Pairs drawn from Gavel's `philly_job_distribution.csv` (embedded).
    Philly,
}

/// What workload to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateSpec {
    /// How many jobs.
    pub num_jobs: usize,
    /// Poisson arrival rate in jobs per hour; `None` puts every job at t = 0.
    pub jobs_per_hour: Option<f64>,
    /// Multi-GPU jobs (scale factors 1, 2, 4, 8) instead of single-GPU ones.
    pub multi_gpu: bool,
    /// Where durations and GPU counts come from.
    pub sizes: JobSizes,
    /// A fifth of the jobs get priority weight 5 (Gavel's multi-priority workloads).
    pub multi_priority: bool,
    /// Every job gets a deadline of 1.2, 2 or 10 times its duration.
    pub slos: bool,
    /// Seed of both random streams.
    pub seed: u64,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        Self {
            num_jobs: 100,
            jobs_per_hour: None,
            multi_gpu: false,
            sizes: JobSizes::Gavel,
            multi_priority: false,
            slos: false,
            seed: 0,
        }
    }
}

/// Why a workload could not be generated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenerateError {
    /// No job types to choose from.
    #[error(
        "generate jobs: the list of job types is empty; give a throughput matrix with at least one job type"
    )]
    NoJobTypes,
    /// No job type is measured at a scale factor the generator drew.
    #[error(
        "generate jobs: no job type of the throughput matrix is measured at scale factor {scale_factor} on the reference accelerator (it has scale factors {available}); use a matrix that covers 1, 2, 4 and 8 GPUs or generate single-GPU jobs"
    )]
    NoTypeForScale {
        /// The scale factor drawn.
        scale_factor: u32,
        /// The scale factors the matrix measures.
        available: String,
    },
    /// The arrival rate is not a positive number.
    #[error("generate jobs: the arrival rate {0} is not a positive number of jobs per hour")]
    BadRate(f64),
}

/// Generates `spec.num_jobs` jobs over `job_types`, with work in steps from `throughput` (steps/s
/// on the reference accelerator). Deterministic in the spec, the set of types and the matrix.
pub fn generate(
    spec: &GenerateSpec,
    job_types: &[String],
    throughput: ThroughputLookup<'_>,
) -> Result<Vec<JobRecord>, GenerateError> {
    let mean_interarrival_s = match spec.jobs_per_hour {
        Some(rate) if rate.is_finite() && rate > 0.0 => Some(3600.0 / rate),
        Some(rate) => return Err(GenerateError::BadRate(rate)),
        None => None,
    };
    let types = assign::sorted_unique(job_types);
    if types.is_empty() {
        return Err(GenerateError::NoJobTypes);
    }
    let mut jobs_rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut arrivals_rng = ChaCha8Rng::seed_from_u64(spec.seed);
    arrivals_rng.set_stream(1);
    let mut types_by_scale: BTreeMap<u32, Vec<String>> = BTreeMap::new();

    let mut jobs = Vec::with_capacity(spec.num_jobs);
    let mut arrival_time_s = 0.0;
    for position in 0..spec.num_jobs {
        let (duration_s, drawn_scale) = match spec.sizes {
            JobSizes::Gavel => {
                let scale = gavel_scale_factor(&mut jobs_rng);
                (gavel_duration(&mut jobs_rng), scale)
            }
            JobSizes::Philly => {
                let table = philly_job_distribution();
                let index = jobs_rng.random_range(0..table.len() as u64);
                table[usize::try_from(index).unwrap_or_default()]
            }
        };
        let scale_factor = if spec.multi_gpu { drawn_scale } else { 1 };
        let candidates = types_by_scale
            .entry(scale_factor)
            .or_insert_with(|| assign::types_at_scale(&types, scale_factor, throughput));
        let job_type = assign::pick(&mut jobs_rng, candidates)
            .ok_or_else(|| GenerateError::NoTypeForScale {
                scale_factor,
                available: assign::measured_scales(&types, throughput),
            })?
            .clone();
        let priority_weight = if spec.multi_priority && jobs_rng.random::<f64>() < 0.2 {
            5.0
        } else {
            1.0
        };
        let deadline_s = spec.slos.then(|| {
            let draw = jobs_rng.random::<f64>();
            let multiple = if draw < 0.33 {
                1.2
            } else if draw < 0.67 {
                2.0
            } else {
                10.0
            };
            multiple * duration_s
        });
        // The candidates were filtered on this very lookup, so the rate is there.
        let rate = assign::usable(throughput(&job_type, scale_factor)).unwrap_or(1.0);
        if position > 0 {
            if let Some(mean) = mean_interarrival_s {
                arrival_time_s += exponential(&mut arrivals_rng, mean);
            }
        }
        jobs.push(JobRecord {
            id: position.to_string(),
            job_type: Some(job_type),
            work: WorkAmount::Steps(assign::steps_for(duration_s, rate)),
            scale_factor,
            priority_weight,
            arrival_time_s,
            deadline_s,
            slo_factor: None,
            accelerator_constraint: None,
        });
    }
    Ok(jobs)
}

/// Gavel's Philly-like scale factor: 1 (70%), 2 (10%), 4 (15%), 8 (5%).
fn gavel_scale_factor(rng: &mut ChaCha8Rng) -> u32 {
    match rng.random::<f64>() {
        draw if draw < 0.7 => 1,
        draw if draw < 0.8 => 2,
        draw if draw < 0.95 => 4,
        _ => 8,
    }
}

/// Gavel's Philly-like duration in seconds.
fn gavel_duration(rng: &mut ChaCha8Rng) -> f64 {
    let long = rng.random::<f64>() >= 0.8;
    let exponent = if long {
        rng.random_range(3.0..4.0)
    } else {
        rng.random_range(1.5..3.0)
    };
    60.0 * 10f64.powf(exponent)
}

/// An exponential draw with the given mean, by inversion.
fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    // `random` is in [0, 1), so `1 - u` is in (0, 1] and the logarithm is finite.
    -(1.0 - rng.random::<f64>()).ln() * mean
}

/// Gavel's `(duration_s, num_gpus)` pairs, parsed once from the vendored copy.
pub fn philly_job_distribution() -> &'static [(f64, u32)] {
    static TABLE: OnceLock<Vec<(f64, u32)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let text = include_str!("../../../../data/traces/philly/philly_job_distribution.csv");
        // The file is vendored and checked by a test; a malformed row cannot occur at run time.
        text.lines()
            .skip(1)
            .filter_map(|line| {
                let (duration, gpus) = line.split_once(',')?;
                Some((duration.trim().parse().ok()?, gpus.trim().parse().ok()?))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(job_type: &str, scale: u32) -> Option<f64> {
        match (job_type, scale) {
            ("A3C", 1) => Some(2.0),
            ("ResNet", 1 | 2 | 4 | 8) => Some(10.0 * f64::from(scale)),
            _ => None,
        }
    }

    fn types() -> Vec<String> {
        vec!["ResNet".to_string(), "A3C".to_string()]
    }

    #[test]
    fn the_same_spec_gives_the_same_jobs() {
        let spec = GenerateSpec {
            num_jobs: 50,
            jobs_per_hour: Some(3.0),
            multi_gpu: true,
            ..GenerateSpec::default()
        };
        let first = generate(&spec, &types(), &matrix).unwrap();
        assert_eq!(first, generate(&spec, &types(), &matrix).unwrap());
        let reseeded = GenerateSpec { seed: 1, ..spec };
        assert_ne!(first, generate(&reseeded, &types(), &matrix).unwrap());
    }

    #[test]
    fn changing_the_rate_keeps_sizes_and_types() {
        let slow = GenerateSpec {
            num_jobs: 50,
            jobs_per_hour: Some(1.0),
            multi_gpu: true,
            ..GenerateSpec::default()
        };
        let fast = GenerateSpec {
            jobs_per_hour: Some(4.0),
            ..slow.clone()
        };
        let slow = generate(&slow, &types(), &matrix).unwrap();
        let fast = generate(&fast, &types(), &matrix).unwrap();
        for (a, b) in slow.iter().zip(&fast) {
            assert_eq!(
                (&a.job_type, a.work, a.scale_factor),
                (&b.job_type, b.work, b.scale_factor)
            );
            // Four times the rate: a quarter of the gaps.
            assert!((a.arrival_time_s - 4.0 * b.arrival_time_s).abs() < 1e-6);
        }
    }

    #[test]
    fn steps_are_duration_times_reference_throughput() {
        let spec = GenerateSpec {
            num_jobs: 200,
            multi_gpu: true,
            slos: true,
            ..GenerateSpec::default()
        };
        for job in generate(&spec, &types(), &matrix).unwrap() {
            let rate = matrix(job.job_type.as_deref().unwrap(), job.scale_factor).unwrap();
            let WorkAmount::Steps(steps) = job.work else {
                panic!("generated work is in steps")
            };
            let duration = steps as f64 / rate;
            assert!((60.0 * 10f64.powf(1.5) - 1.0..=600_001.0).contains(&duration));
            let multiple = job.deadline_s.unwrap() / duration;
            assert!([1.2, 2.0, 10.0].iter().any(|m| (multiple - m).abs() < 0.01));
            assert_eq!(job.arrival_time_s, 0.0);
        }
    }

    #[test]
    fn a_matrix_without_multi_gpu_types_is_a_clear_error() {
        let spec = GenerateSpec {
            num_jobs: 100,
            multi_gpu: true,
            ..GenerateSpec::default()
        };
        let error = generate(&spec, &["A3C".to_string()], &matrix).unwrap_err();
        assert!(
            matches!(error, GenerateError::NoTypeForScale { .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("(it has scale factors 1)"),
            "{error}"
        );
        assert_eq!(
            generate(&spec, &[], &matrix),
            Err(GenerateError::NoJobTypes)
        );
        let spec = GenerateSpec {
            jobs_per_hour: Some(0.0),
            ..spec
        };
        assert_eq!(
            generate(&spec, &types(), &matrix),
            Err(GenerateError::BadRate(0.0))
        );
    }

    #[test]
    fn the_embedded_philly_distribution_is_complete() {
        let table = philly_job_distribution();
        assert_eq!(table.len(), 33_192);
        assert!(
            table
                .iter()
                .all(|&(d, g)| d > 0.0 && [1, 2, 4, 8].contains(&g))
        );
    }
}
