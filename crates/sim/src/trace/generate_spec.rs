//! The command-line form of a [`GenerateSpec`]: comma-separated `key=value` pairs, e.g.
//! `jobs=600,rate=2.0,multi_gpu=true,seed=0`.
//!
//! | key | value | default |
//! |---|---|---|
//! | `jobs` | number of jobs, >= 1 | required |
//! | `rate` | Poisson arrivals, jobs per hour (> 0), or `static` (all at t = 0) | `static` |
//! | `multi_gpu` | `true`: scale factors 1/2/4/8; `false`: all 1 | `false` |
//! | `sizes` | `gavel` (closed-form rules) or `philly` (sampled pairs) | `gavel` |
//! | `multi_priority` | `true`: a fifth of the jobs get weight 5 | `false` |
//! | `slos` | `true`: deadlines of 1.2, 2 or 10 times the duration | `false` |
//! | `seed` | seed of the random streams | `0` |

use super::generate::{GenerateSpec, JobSizes};
use std::collections::HashSet;
use std::str::FromStr;

const KEYS: [&str; 7] = [
    "jobs",
    "rate",
    "multi_gpu",
    "sizes",
    "multi_priority",
    "slos",
    "seed",
];

/// A generator spec string that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("read the generator spec: key `{key}`: {message}")]
pub struct SpecError {
    /// The key at fault (or the pair, when it has no `=`).
    pub key: String,
    /// What is wrong and how to write it.
    pub message: String,
}

impl SpecError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl FromStr for GenerateSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut spec = GenerateSpec::default();
        let mut seen = HashSet::new();
        for pair in text
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
        {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(SpecError::new(
                    pair,
                    "expected `key=value`, e.g. `jobs=600,rate=2.0,multi_gpu=true,seed=0`",
                ));
            };
            let (key, value) = (key.trim(), value.trim());
            if !KEYS.contains(&key) {
                return Err(SpecError::new(
                    key,
                    format!("unknown key; the keys are {}", KEYS.join(", ")),
                ));
            }
            if !seen.insert(key.to_string()) {
                return Err(SpecError::new(key, "given twice"));
            }
            match key {
                "jobs" => {
                    spec.num_jobs = value
                        .parse::<usize>()
                        .ok()
                        .filter(|&jobs| jobs > 0)
                        .ok_or_else(|| {
                            SpecError::new(key, format!("`{value}` is not a number of jobs >= 1"))
                        })?;
                }
                "rate" => {
                    spec.jobs_per_hour = if value == "static" {
                        None
                    } else {
                        let rate = value
                            .parse::<f64>()
                            .ok()
                            .filter(|rate| rate.is_finite() && *rate > 0.0)
                            .ok_or_else(|| {
                                SpecError::new(
                                    key,
                                    format!(
                                        "`{value}` is not a positive number of jobs per hour \
                                         (or `static` for all jobs at t = 0)"
                                    ),
                                )
                            })?;
                        Some(rate)
                    };
                }
                "multi_gpu" => spec.multi_gpu = boolean(key, value)?,
                "multi_priority" => spec.multi_priority = boolean(key, value)?,
                "slos" => spec.slos = boolean(key, value)?,
                "sizes" => {
                    spec.sizes = match value {
                        "gavel" => JobSizes::Gavel,
                        "philly" => JobSizes::Philly,
                        _ => {
                            return Err(SpecError::new(
                                key,
                                format!("`{value}` is neither `gavel` nor `philly`"),
                            ));
                        }
                    };
                }
                _ => {
                    spec.seed = value.parse().map_err(|_| {
                        SpecError::new(key, format!("`{value}` is not a whole number >= 0"))
                    })?;
                }
            }
        }
        if !seen.contains("jobs") {
            return Err(SpecError::new(
                "jobs",
                "missing; say how many jobs to generate, e.g. `jobs=600`",
            ));
        }
        Ok(spec)
    }
}

fn boolean(key: &str, value: &str) -> Result<bool, SpecError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(SpecError::new(
            key,
            format!("`{value}` is neither `true` nor `false`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_spec_reads() {
        let spec: GenerateSpec =
            "jobs=600, rate=2.0,multi_gpu=true,seed=3,sizes=philly,slos=true,multi_priority=false"
                .parse()
                .unwrap();
        assert_eq!(
            spec,
            GenerateSpec {
                num_jobs: 600,
                jobs_per_hour: Some(2.0),
                multi_gpu: true,
                sizes: JobSizes::Philly,
                multi_priority: false,
                slos: true,
                seed: 3,
            }
        );
        let spec: GenerateSpec = "jobs=200".parse().unwrap();
        assert_eq!(spec.jobs_per_hour, None);
        assert!(!spec.multi_gpu);
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                "rate=2",
                "read the generator spec: key `jobs`: missing; say how many jobs to generate, e.g. `jobs=600`",
            ),
            (
                "jobs=0",
                "read the generator spec: key `jobs`: `0` is not a number of jobs >= 1",
            ),
            (
                "jobs=5,rate=-1",
                "read the generator spec: key `rate`: `-1` is not a positive number of jobs per hour (or `static` for all jobs at t = 0)",
            ),
            (
                "jobs=5,multi_gpu=yes",
                "read the generator spec: key `multi_gpu`: `yes` is neither `true` nor `false`",
            ),
            (
                "jobs=5,jobs=6",
                "read the generator spec: key `jobs`: given twice",
            ),
            (
                "jobs=5,speed=2",
                "read the generator spec: key `speed`: unknown key; the keys are jobs, rate, multi_gpu, sizes, multi_priority, slos, seed",
            ),
            (
                "jobs=5,seed",
                "read the generator spec: key `seed`: expected `key=value`, e.g. `jobs=600,rate=2.0,multi_gpu=true,seed=0`",
            ),
            (
                "jobs=5,sizes=alibaba",
                "read the generator spec: key `sizes`: `alibaba` is neither `gavel` nor `philly`",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                text.parse::<GenerateSpec>().unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
    }
}
