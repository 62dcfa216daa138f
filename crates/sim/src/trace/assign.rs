//! Giving trace jobs what their trace lacks: a job type (Philly, Alibaba and CSV traces carry
//! none) by a seeded, documented rule, and an amount of work in steps from a run time.
//!
//! The type rule, like Gavel's generator: the candidate types are sorted and deduplicated (so
//! the result does not depend on the order a throughput matrix lists them), one ChaCha8 stream
//! is seeded with `seed`, and the jobs without a type are visited in slice order, each drawing
//! one type uniformly among the candidates. Jobs that already have a type draw nothing. The same
//! jobs, types and seed always give the same types.
//!
//! [`assign_job_types_by_scale`] narrows the candidates of each job to the types the throughput
//! matrix measures at the job's scale factor, as Gavel does for multi-GPU jobs (only
//! distributed job types run on several GPUs).
//!
//! Jobs at a scale factor the matrix does not measure (a 16- or 64-GPU Philly job against
//! Gavel's matrix, which stops at 8; a 3-GPU job): the job draws among the types measured at the
//! largest measured scale factor below its own, and its throughput is that scale factor's,
//! scaled linearly (a 64-GPU job runs 8x the 8-GPU rate). [`crate::workload::throughput_for`]
//! follows the same rule, so that assigning types here and building the workload agree. Only a
//! job smaller than every measured scale factor gets no type (an error).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spillway_model::{JobRecord, WorkAmount};

/// Steps per second of a job type at a scale factor on the reference accelerator (V100 in
/// Gavel's matrices); `None` when the matrix does not hold that pair.
pub type ThroughputLookup<'a> = &'a dyn Fn(&str, u32) -> Option<f64>;

/// Why job types or steps could not be given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AssignError {
    /// No job types to choose from.
    #[error(
        "assign job types: the list of job types is empty; give a throughput matrix with at least one job type"
    )]
    NoJobTypes,
    /// No job type is measured at a job's scale factor.
    #[error(
        "assign a job type to job {job}: no job type of the throughput matrix is measured at scale factor {scale_factor} or below (the matrix has scale factors {available}); use a matrix that covers it or drop such jobs"
    )]
    NoTypeForScale {
        /// The job's id.
        job: String,
        /// Its scale factor.
        scale_factor: u32,
        /// The scale factors the matrix does measure, e.g. `1, 2, 4, 8`.
        available: String,
    },
    /// A job given in seconds has no job type.
    #[error(
        "convert the run time of job {job} to steps: the job has no job type; assign job types first"
    )]
    MissingJobType {
        /// The job's id.
        job: String,
    },
    /// The matrix has no usable throughput for a job's type and scale factor.
    #[error(
        "convert the run time of job {job} to steps: the throughput matrix has no throughput for job type `{job_type}` at scale factor {scale_factor} or below on the reference accelerator; add it to the matrix or change the job's type or GPU count"
    )]
    MissingThroughput {
        /// The job's id.
        job: String,
        /// Its job type.
        job_type: String,
        /// Its scale factor.
        scale_factor: u32,
    },
}

/// Gives every job without a type one drawn uniformly from `job_types` (see the module doc).
/// Returns how many jobs got a type.
pub fn assign_job_types(
    jobs: &mut [JobRecord],
    job_types: &[String],
    seed: u64,
) -> Result<usize, AssignError> {
    let candidates = sorted_unique(job_types);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut assigned = 0;
    for job in jobs.iter_mut().filter(|job| job.job_type.is_none()) {
        let chosen = pick(&mut rng, &candidates).ok_or(AssignError::NoJobTypes)?;
        job.job_type = Some(chosen.clone());
        assigned += 1;
    }
    Ok(assigned)
}

/// Like [`assign_job_types`], but each job draws only among the types that `throughput`
/// measures at the job's scale factor.
pub fn assign_job_types_by_scale(
    jobs: &mut [JobRecord],
    job_types: &[String],
    seed: u64,
    throughput: ThroughputLookup<'_>,
) -> Result<usize, AssignError> {
    let all = sorted_unique(job_types);
    if all.is_empty() && jobs.iter().any(|job| job.job_type.is_none()) {
        return Err(AssignError::NoJobTypes);
    }
    let mut by_scale: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut assigned = 0;
    for job in jobs.iter_mut().filter(|job| job.job_type.is_none()) {
        let scale = job.scale_factor;
        let candidates = by_scale
            .entry(scale)
            .or_insert_with(|| types_at_scale_or_below(&all, scale, throughput));
        let Some(chosen) = pick(&mut rng, candidates) else {
            return Err(AssignError::NoTypeForScale {
                job: job.id.clone(),
                scale_factor: scale,
                available: measured_scales(&all, throughput),
            });
        };
        job.job_type = Some(chosen.clone());
        assigned += 1;
    }
    Ok(assigned)
}

/// Turns every [`WorkAmount::Seconds`] into [`WorkAmount::Steps`]: run time x the job type's
/// throughput at its scale factor on the reference accelerator, rounded, at least 1 step, as
/// Gavel computes `total_steps`. Jobs already in steps are left alone.
pub fn seconds_to_steps(
    jobs: &mut [JobRecord],
    throughput: ThroughputLookup<'_>,
) -> Result<(), AssignError> {
    for job in jobs.iter_mut() {
        let WorkAmount::Seconds(seconds) = job.work else {
            continue;
        };
        let job_type = job
            .job_type
            .as_deref()
            .ok_or_else(|| AssignError::MissingJobType {
                job: job.id.clone(),
            })?;
        let rate = extrapolated(throughput, job_type, job.scale_factor).ok_or_else(|| {
            AssignError::MissingThroughput {
                job: job.id.clone(),
                job_type: job_type.to_string(),
                scale_factor: job.scale_factor,
            }
        })?;
        job.work = WorkAmount::Steps(steps_for(seconds, rate));
    }
    Ok(())
}

/// Steps done in `seconds` at `rate` steps/s: rounded, at least one.
pub(crate) fn steps_for(seconds: f64, rate: f64) -> u64 {
    // `as` saturates for values beyond u64, which no real job reaches.
    ((seconds * rate).round() as u64).max(1)
}

/// A throughput the simulator can divide by: finite and positive.
pub(crate) fn usable(rate: Option<f64>) -> Option<f64> {
    rate.filter(|rate| rate.is_finite() && *rate > 0.0)
}

/// Scale factors probed below a job's own: far beyond any matrix, bounded so that a garbage
/// GPU count cannot make the search long.
const MAX_PROBED_SCALE: u32 = 4096;

/// The types measured at `scale`, in sorted order.
pub(crate) fn types_at_scale(
    types: &[String],
    scale: u32,
    throughput: ThroughputLookup<'_>,
) -> Vec<String> {
    types
        .iter()
        .filter(|job_type| usable(throughput(job_type, scale)).is_some())
        .cloned()
        .collect()
}

/// The types measured at `scale`; when none is, those measured at the largest smaller scale
/// factor at which any is (see the module doc).
pub(crate) fn types_at_scale_or_below(
    types: &[String],
    scale: u32,
    throughput: ThroughputLookup<'_>,
) -> Vec<String> {
    (1..=scale.min(MAX_PROBED_SCALE))
        .rev()
        .map(|probe| types_at_scale(types, probe, throughput))
        .find(|found| !found.is_empty())
        .unwrap_or_default()
}

/// The throughput of `job_type` at `scale`: measured, or else the largest smaller measured scale
/// factor's, scaled linearly.
pub(crate) fn extrapolated(
    throughput: ThroughputLookup<'_>,
    job_type: &str,
    scale: u32,
) -> Option<f64> {
    (1..=scale.min(MAX_PROBED_SCALE))
        .rev()
        .find_map(|probe| usable(throughput(job_type, probe)).map(|rate| (probe, rate)))
        .map(|(probe, rate)| rate * f64::from(scale) / f64::from(probe))
}

/// The scale factors (1 to 1024) at which any of `types` is measured, for error messages.
pub(crate) fn measured_scales(types: &[String], throughput: ThroughputLookup<'_>) -> String {
    let scales: Vec<String> = (0..=10)
        .map(|power| 1u32 << power)
        .filter(|&scale| !types_at_scale(types, scale, throughput).is_empty())
        .map(|scale| scale.to_string())
        .collect();
    if scales.is_empty() {
        "none".to_string()
    } else {
        scales.join(", ")
    }
}

pub(crate) fn sorted_unique(types: &[String]) -> Vec<String> {
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    types
}

/// Draws one of `candidates` uniformly; `None` when there are none.
pub(crate) fn pick<'a>(rng: &mut ChaCha8Rng, candidates: &'a [String]) -> Option<&'a String> {
    if candidates.is_empty() {
        return None;
    }
    // A u64 range keeps the draw the same on 32- and 64-bit targets.
    let index = rng.random_range(0..candidates.len() as u64);
    candidates.get(usize::try_from(index).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: usize, scale_factor: u32, job_type: Option<&str>) -> JobRecord {
        JobRecord {
            id: id.to_string(),
            job_type: job_type.map(str::to_string),
            work: WorkAmount::Seconds(100.0),
            scale_factor,
            priority_weight: 1.0,
            arrival_time_s: 0.0,
            deadline_s: None,
            slo_factor: None,
            accelerator_constraint: None,
        }
    }

    fn types(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| name.to_string()).collect()
    }

    /// `A3C` runs on one GPU only; `ResNet` on 1, 2, 4 or 8.
    fn matrix(job_type: &str, scale: u32) -> Option<f64> {
        match (job_type, scale) {
            ("A3C", 1) => Some(7.0),
            ("ResNet", 1 | 2 | 4 | 8) => Some(10.0 * f64::from(scale)),
            _ => None,
        }
    }

    #[test]
    fn assignment_is_seeded_uniform_and_order_independent() {
        let names = types(&["c", "a", "b", "a"]);
        let mut first: Vec<_> = (0..3000).map(|i| job(i, 1, None)).collect();
        first[5].job_type = Some("given".into());
        assert_eq!(assign_job_types(&mut first, &names, 7).unwrap(), 2999);
        assert_eq!(first[5].job_type.as_deref(), Some("given"));
        let mut second: Vec<_> = (0..3000).map(|i| job(i, 1, None)).collect();
        second[5].job_type = Some("given".into());
        assign_job_types(&mut second, &types(&["b", "c", "a"]), 7).unwrap();
        assert_eq!(first, second);
        for name in ["a", "b", "c"] {
            let count = first
                .iter()
                .filter(|job| job.job_type.as_deref() == Some(name))
                .count();
            // 1000 expected each; 4 standard deviations is about 100.
            assert!((900..=1100).contains(&count), "{name}: {count}");
        }
        let mut other_seed: Vec<_> = (0..3000).map(|i| job(i, 1, None)).collect();
        assign_job_types(&mut other_seed, &names, 8).unwrap();
        assert_ne!(first, other_seed);
    }

    #[test]
    fn no_types_is_an_error_only_when_a_job_needs_one() {
        let mut jobs = vec![job(0, 1, Some("x"))];
        assert_eq!(assign_job_types(&mut jobs, &[], 0), Ok(0));
        let mut jobs = vec![job(0, 1, None)];
        assert_eq!(
            assign_job_types(&mut jobs, &[], 0),
            Err(AssignError::NoJobTypes)
        );
    }

    #[test]
    fn by_scale_picks_only_types_measured_at_the_scale() {
        let mut jobs: Vec<_> = (0..200)
            .map(|i| job(i, if i % 2 == 0 { 1 } else { 8 }, None))
            .collect();
        assign_job_types_by_scale(&mut jobs, &types(&["A3C", "ResNet"]), 1, &matrix).unwrap();
        assert!(
            jobs.iter()
                .filter(|job| job.scale_factor == 8)
                .all(|job| job.job_type.as_deref() == Some("ResNet"))
        );
        assert!(
            jobs.iter()
                .any(|job| job.scale_factor == 1 && job.job_type.as_deref() == Some("A3C"))
        );

        // Larger than measured: the types of the largest measured scale below (8), and the
        // 8-GPU rate scaled linearly.
        let mut jobs = vec![job(0, 16, None), job(1, 3, None)];
        assign_job_types_by_scale(&mut jobs, &types(&["A3C", "ResNet"]), 1, &matrix).unwrap();
        assert_eq!(jobs[0].job_type.as_deref(), Some("ResNet"));
        assert_eq!(jobs[1].job_type.as_deref(), Some("ResNet"));
        seconds_to_steps(&mut jobs, &matrix).unwrap();
        assert_eq!(jobs[0].work, WorkAmount::Steps(16_000));
        assert_eq!(jobs[1].work, WorkAmount::Steps(3_000));

        // Smaller than every measured scale factor: no type.
        let only_eight =
            |job_type: &str, scale: u32| matrix(job_type, scale).filter(|_| scale == 8);
        let mut jobs = vec![job(0, 4, None)];
        let error =
            assign_job_types_by_scale(&mut jobs, &types(&["A3C", "ResNet"]), 1, &only_eight)
                .unwrap_err();
        assert_eq!(
            error.to_string(),
            "assign a job type to job 0: no job type of the throughput matrix is measured at \
             scale factor 4 or below (the matrix has scale factors 8); use a matrix that \
             covers it or drop such jobs"
        );
    }

    #[test]
    fn seconds_become_steps_with_the_reference_throughput() {
        let mut jobs = vec![job(0, 2, Some("ResNet")), job(1, 1, Some("A3C"))];
        jobs[1].work = WorkAmount::Steps(5);
        seconds_to_steps(&mut jobs, &matrix).unwrap();
        assert_eq!(jobs[0].work, WorkAmount::Steps(2000));
        assert_eq!(jobs[1].work, WorkAmount::Steps(5));

        // Not measured at 2 GPUs: the 1-GPU rate, doubled (100 s x 14 steps/s).
        let mut jobs = vec![job(3, 2, Some("A3C")), job(5, 2, Some("BERT"))];
        assert_eq!(
            seconds_to_steps(&mut jobs, &matrix)
                .unwrap_err()
                .to_string(),
            "convert the run time of job 5 to steps: the throughput matrix has no throughput for \
             job type `BERT` at scale factor 2 or below on the reference accelerator; add it to \
             the matrix or change the job's type or GPU count"
        );
        assert_eq!(jobs[0].work, WorkAmount::Steps(1400));
        let mut jobs = vec![job(4, 1, None)];
        assert_eq!(
            seconds_to_steps(&mut jobs, &matrix),
            Err(AssignError::MissingJobType { job: "4".into() })
        );
    }
}
