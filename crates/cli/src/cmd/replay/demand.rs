//! `--scale-demand F`: more or fewer arrivals, deterministically. Each job arrives `floor(F)`
//! times, and once more with probability `F - floor(F)` (one draw per job from a ChaCha8 stream
//! seeded with `--seed`), so 1.5 keeps every job and adds a copy of about half of them, 0.5
//! keeps about half. A copy arrives at its original's time with a new id above every real one.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spillway_core::JobId;
use spillway_sim::service::ServiceJob;
use std::collections::BTreeMap;

/// The scaled jobs, in arrival order, and for each copy the id of the job it copies.
pub(crate) fn scale(
    jobs: &[ServiceJob],
    factor: f64,
    seed: u64,
) -> (Vec<ServiceJob>, BTreeMap<u64, u64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut next = jobs.iter().map(|j| j.job.id.0).max().unwrap_or(0) + 1;
    let whole = factor.floor() as u64;
    let frac = factor - factor.floor();
    let mut out = Vec::with_capacity((jobs.len() as f64 * factor.max(0.0)).ceil() as usize);
    let mut copies = BTreeMap::new();
    for j in jobs {
        // One draw per job whatever the factor, so that the same seed thins and duplicates
        // the same jobs.
        let extra = rng.random::<f64>() < frac;
        for c in 0..whole + u64::from(extra) {
            let mut k = j.clone();
            if c > 0 {
                k.job.id = JobId(next);
                copies.insert(next, j.job.id.0);
                next += 1;
            }
            out.push(k);
        }
    }
    // Thinning may drop a job's original and keep nothing; duplication keeps arrival order
    // because copies follow their original.
    out.sort_by_key(|j| (j.job.submitted_ms, j.job.id));
    (out, copies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::machine::MachineJob;
    use spillway_model::spec::{AcceleratorNames, parse_spec};

    fn jobs(n: u64) -> Vec<ServiceJob> {
        let spec = parse_spec("run: x\n", &AcceleratorNames::new(["H100"]))
            .unwrap()
            .spec;
        (1..=n)
            .map(|i| ServiceJob {
                job: MachineJob::from_spec(JobId(i), "t", i as i64 * 1000, None, &spec),
                work_s: 1.0,
            })
            .collect()
    }

    #[test]
    fn scaling_is_deterministic_and_close_to_the_factor() {
        let base = jobs(1000);
        let (a, copies) = scale(&base, 1.5, 7);
        let (b, _) = scale(&base, 1.5, 7);
        assert_eq!(a, b);
        assert!((1400..1600).contains(&a.len()), "{}", a.len());
        assert_eq!(copies.len(), a.len() - 1000);
        let (half, _) = scale(&base, 0.5, 7);
        assert!((400..600).contains(&half.len()), "{}", half.len());
        assert_eq!(scale(&base, 1.0, 3).0, base);
        assert!(scale(&base, 0.0, 3).0.is_empty());
    }
}
