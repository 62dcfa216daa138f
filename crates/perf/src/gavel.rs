//! Gavel throughput matrices: steps/s per (job type, scale factor) per accelerator type.
//!
//! Gavel's JSON maps an accelerator name to a map keyed by the Python tuple text
//! `"('ResNet-50 (batch size 32)', 1)"` (job type, scale factor). Each value holds the isolated
//! throughput under `"null"` and, under other job keys, the pair of throughputs when the two jobs
//! share the accelerator (space sharing). The throughput of a job with scale factor `k` is the
//! throughput of the whole gang of `k` accelerators, in steps per second.

use serde_json::Value;
use std::collections::BTreeMap;

/// A job type and the number of accelerators it runs on at once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobKey {
    /// The job type, e.g. `ResNet-50 (batch size 32)`.
    pub job_type: String,
    /// Accelerators per job (gang size).
    pub scale_factor: u32,
}

impl JobKey {
    /// Parses Gavel's tuple text `('ResNet-50 (batch size 32)', 1)`.
    pub fn parse_gavel(text: &str) -> Option<JobKey> {
        let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
        let comma = inner.rfind(',')?;
        let name = inner[..comma].trim();
        let name = name
            .strip_prefix('\'')
            .and_then(|n| n.strip_suffix('\''))
            .or_else(|| name.strip_prefix('"').and_then(|n| n.strip_suffix('"')))?;
        let scale_factor = inner[comma + 1..].trim().parse().ok()?;
        Some(JobKey {
            job_type: name.to_string(),
            scale_factor,
        })
    }
}

/// Why a Gavel throughput matrix could not be read.
#[derive(Debug, thiserror::Error)]
pub enum GavelMatrixError {
    /// The text is not JSON.
    #[error("parse throughput matrix as JSON")]
    Json(#[from] serde_json::Error),
    /// The JSON is not shaped like Gavel's matrix.
    #[error("read throughput matrix: {at}: {message}")]
    Shape {
        /// Where in the document (accelerator and key).
        at: String,
        /// What is wrong.
        message: String,
    },
}

/// Measured throughputs, isolated and co-located, for each job key on each accelerator type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThroughputMatrix {
    /// Accelerator names, sorted.
    accelerators: Vec<String>,
    /// Isolated steps/s per job key, one entry per accelerator (index into `accelerators`);
    /// `None` where the matrix has no number for that pair.
    isolated: BTreeMap<JobKey, Vec<Option<f64>>>,
    /// Co-located throughputs: (job a, job b, accelerator index) -> (a's steps/s, b's steps/s).
    colocated: BTreeMap<(JobKey, JobKey, usize), (f64, f64)>,
}

impl ThroughputMatrix {
    /// Parses Gavel's `simulation_throughputs.json` format.
    pub fn from_gavel_json(text: &str) -> Result<ThroughputMatrix, GavelMatrixError> {
        let root: Value = serde_json::from_str(text)?;
        let root = root.as_object().ok_or_else(|| GavelMatrixError::Shape {
            at: "top level".into(),
            message: "expected an object keyed by accelerator name (`v100`, `k80`, ...)".into(),
        })?;
        let accelerators: Vec<String> = {
            let mut a: Vec<String> = root.keys().cloned().collect();
            a.sort();
            a
        };
        let mut matrix = ThroughputMatrix {
            accelerators: accelerators.clone(),
            ..ThroughputMatrix::default()
        };
        for (acc_index, acc) in accelerators.iter().enumerate() {
            let jobs = root[acc]
                .as_object()
                .ok_or_else(|| GavelMatrixError::Shape {
                    at: acc.clone(),
                    message: "expected an object keyed by `('<job type>', <scale factor>)`".into(),
                })?;
            for (key_text, entry) in jobs {
                let at = || format!("{acc} / {key_text}");
                let key = JobKey::parse_gavel(key_text).ok_or_else(|| GavelMatrixError::Shape {
                    at: at(),
                    message: "key is not of the form `('<job type>', <scale factor>)`".into(),
                })?;
                let entry = entry.as_object().ok_or_else(|| GavelMatrixError::Shape {
                    at: at(),
                    message: "expected an object with a `null` entry".into(),
                })?;
                for (other_text, value) in entry {
                    if other_text == "null" {
                        let v = rate(value).ok_or_else(|| GavelMatrixError::Shape {
                            at: format!("{} / null", at()),
                            message: format!("expected a finite number >= 0, found {value}"),
                        })?;
                        let row = matrix
                            .isolated
                            .entry(key.clone())
                            .or_insert_with(|| vec![None; accelerators.len()]);
                        row[acc_index] = Some(v);
                        continue;
                    }
                    let other =
                        JobKey::parse_gavel(other_text).ok_or_else(|| GavelMatrixError::Shape {
                            at: format!("{} / {other_text}", at()),
                            message: "key is not of the form `('<job type>', <scale factor>)`"
                                .into(),
                        })?;
                    let pair = value
                        .as_array()
                        .filter(|p| p.len() == 2)
                        .and_then(|p| Some((rate(&p[0])?, rate(&p[1])?)))
                        .ok_or_else(|| GavelMatrixError::Shape {
                            at: format!("{} / {other_text}", at()),
                            message: format!("expected a pair of numbers >= 0, found {value}"),
                        })?;
                    matrix
                        .colocated
                        .insert((key.clone(), other, acc_index), pair);
                }
            }
        }
        if matrix.isolated.is_empty() {
            return Err(GavelMatrixError::Shape {
                at: "top level".into(),
                message: "the matrix holds no job types".into(),
            });
        }
        Ok(matrix)
    }

    /// Isolated throughput (steps/s of the whole gang) of `job_type` with `scale_factor`
    /// accelerators of type `accelerator`; `None` when the matrix does not know it.
    pub fn throughput(&self, job_type: &str, scale_factor: u32, accelerator: &str) -> Option<f64> {
        let acc = self.accelerator_index(accelerator)?;
        let key = JobKey {
            job_type: job_type.to_string(),
            scale_factor,
        };
        self.isolated.get(&key).and_then(|row| row[acc])
    }

    /// Throughputs of `a` and `b` when they share one accelerator of type `accelerator`.
    pub fn colocated(&self, a: &JobKey, b: &JobKey, accelerator: &str) -> Option<(f64, f64)> {
        let acc = self.accelerator_index(accelerator)?;
        self.colocated.get(&(a.clone(), b.clone(), acc)).copied()
    }

    /// Distinct job types, sorted.
    pub fn job_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = self.isolated.keys().map(|k| k.job_type.as_str()).collect();
        types.dedup();
        types
    }

    /// Every (job type, scale factor) the matrix knows, sorted.
    pub fn job_keys(&self) -> impl Iterator<Item = &JobKey> {
        self.isolated.keys()
    }

    /// Scale factors the matrix knows for `job_type`, ascending.
    pub fn scale_factors(&self, job_type: &str) -> Vec<u32> {
        self.isolated
            .keys()
            .filter(|k| k.job_type == job_type)
            .map(|k| k.scale_factor)
            .collect()
    }

    /// Accelerator names as the matrix spells them, sorted.
    pub fn accelerators(&self) -> &[String] {
        &self.accelerators
    }

    fn accelerator_index(&self, accelerator: &str) -> Option<usize> {
        self.accelerators.iter().position(|a| a == accelerator)
    }
}

fn rate(value: &Value) -> Option<f64> {
    value.as_f64().filter(|v| v.is_finite() && *v >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{
        "v100": {
            "('ResNet-50 (batch size 32)', 1)": {
                "null": 2.5,
                "('A3C', 1)": [1.0, 3.0]
            },
            "('A3C', 1)": {"null": 7.0}
        },
        "k80": {
            "('ResNet-50 (batch size 32)', 1)": {"null": 0.0},
            "('ResNet-50 (batch size 32)', 2)": {"null": 0.5}
        }
    }"#;

    #[test]
    fn parses_keys_with_parentheses_in_names() {
        let key = JobKey::parse_gavel("('ResNet-50 (batch size 32)', 4)").unwrap();
        assert_eq!(key.job_type, "ResNet-50 (batch size 32)");
        assert_eq!(key.scale_factor, 4);
        assert!(JobKey::parse_gavel("ResNet-50, 4").is_none());
        assert!(JobKey::parse_gavel("('A3C', x)").is_none());
    }

    #[test]
    fn reads_isolated_and_colocated_throughputs() {
        let m = ThroughputMatrix::from_gavel_json(SMALL).unwrap();
        assert_eq!(m.accelerators(), ["k80", "v100"]);
        assert_eq!(m.job_types(), ["A3C", "ResNet-50 (batch size 32)"]);
        assert_eq!(
            m.throughput("ResNet-50 (batch size 32)", 1, "v100"),
            Some(2.5)
        );
        assert_eq!(
            m.throughput("ResNet-50 (batch size 32)", 1, "k80"),
            Some(0.0)
        );
        assert_eq!(m.throughput("ResNet-50 (batch size 32)", 2, "v100"), None);
        assert_eq!(m.throughput("A3C", 1, "p100"), None);
        assert_eq!(m.scale_factors("ResNet-50 (batch size 32)"), [1, 2]);
        let a = JobKey::parse_gavel("('ResNet-50 (batch size 32)', 1)").unwrap();
        let b = JobKey::parse_gavel("('A3C', 1)").unwrap();
        assert_eq!(m.colocated(&a, &b, "v100"), Some((1.0, 3.0)));
    }

    #[test]
    fn rejects_bad_keys_and_values_naming_them() {
        let err = ThroughputMatrix::from_gavel_json(r#"{"v100": {"resnet": {"null": 1}}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("v100 / resnet"), "{err}");
        let err = ThroughputMatrix::from_gavel_json(r#"{"v100": {"('A3C', 1)": {"null": -1}}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("null") && err.contains("-1"), "{err}");
        assert!(ThroughputMatrix::from_gavel_json("[1]").is_err());
        assert!(ThroughputMatrix::from_gavel_json("{}").is_err());
    }

    #[test]
    fn reads_gavel_published_matrix() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/gavel/simulation_throughputs.json"
        );
        let m = ThroughputMatrix::from_gavel_json(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(m.job_types().len(), 26);
        assert_eq!(m.job_keys().count(), 83);
        let v100 = m
            .throughput("ResNet-50 (batch size 128)", 1, "v100")
            .unwrap();
        assert!((v100 - 2.4967655780898292).abs() < 1e-12);
        assert_eq!(
            m.throughput("ResNet-50 (batch size 128)", 2, "k80"),
            Some(0.0)
        );
    }
}
