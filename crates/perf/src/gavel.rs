//! Gavel throughput matrices: steps/s per (job type, scale factor) per accelerator type.
//!
//! Gavel's JSON maps an accelerator name to a map keyed by the Python tuple text
//! `"('ResNet-50 (batch size 32)', 1)"` (job type, scale factor). Each value holds the isolated
//! throughput under `"null"` and, under other job keys, the pair of throughputs when the two jobs
//! share the accelerator (space sharing). The throughput of a job with scale factor `k` is the
//! throughput of the whole gang of `k` accelerators, in steps per second.

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

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
    /// Every job key the co-located throughputs name, sorted: they refer to keys by index here
    /// (Gavel's matrix has some 20,000 pairs of 83 keys).
    colocated_keys: Vec<JobKey>,
    /// Co-located throughputs: (job a, job b, accelerator index) -> (a's steps/s, b's steps/s).
    colocated: BTreeMap<(usize, usize, usize), (f64, f64)>,
}

/// A matrix being read; co-located pairs keep Gavel's key texts until the end.
struct Reading<'a> {
    accelerators: Vec<String>,
    isolated: BTreeMap<JobKey, Vec<Option<f64>>>,
    /// (job text, other job text, accelerator index, pair).
    colocated: Vec<(&'a str, &'a str, usize, (f64, f64))>,
}

impl<'a> Reading<'a> {
    fn new(accelerators: Vec<String>) -> Reading<'a> {
        Reading {
            accelerators,
            isolated: BTreeMap::new(),
            colocated: Vec::new(),
        }
    }

    fn isolated(&mut self, key: &JobKey, acc_index: usize, rate: f64) {
        let n = self.accelerators.len();
        let row = match self.isolated.get_mut(key) {
            Some(row) => row,
            None => self.isolated.entry(key.clone()).or_insert(vec![None; n]),
        };
        row[acc_index] = Some(rate);
    }

    /// The matrix, with the co-located pairs' keys parsed once per distinct text; `None` if one
    /// of them is not a key.
    fn finish(self) -> Option<ThroughputMatrix> {
        // Number the distinct texts as they come, then rank their keys.
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut keys: Vec<Option<JobKey>> = Vec::new();
        let mut id_of = |text: &'a str| {
            *ids.entry(text).or_insert_with(|| {
                keys.push(JobKey::parse_gavel(text));
                keys.len() - 1
            })
        };
        let mut last_a: Option<(&str, usize)> = None;
        let numbered: Vec<(usize, usize, usize, (f64, f64))> = self
            .colocated
            .iter()
            .map(|&(a, b, acc, pair)| {
                // A job's pairs come one after another: number its text once.
                let a_id = match last_a {
                    Some((text, id)) if text == a => id,
                    _ => id_of(a),
                };
                last_a = Some((a, a_id));
                (a_id, id_of(b), acc, pair)
            })
            .collect();
        let keys: Vec<JobKey> = keys.into_iter().collect::<Option<_>>()?;
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by(|&x, &y| keys[x].cmp(&keys[y]));
        let mut rank = vec![0; keys.len()];
        for (position, &id) in order.iter().enumerate() {
            rank[id] = position;
        }
        let colocated = numbered
            .into_iter()
            .map(|(a, b, acc, pair)| ((rank[a], rank[b], acc), pair))
            .collect();
        let colocated_keys = order.into_iter().map(|id| keys[id].clone()).collect();
        Some(ThroughputMatrix {
            accelerators: self.accelerators,
            isolated: self.isolated,
            colocated_keys,
            colocated,
        })
    }
}

impl ThroughputMatrix {
    /// Parses Gavel's `simulation_throughputs.json` format.
    pub fn from_gavel_json(text: &str) -> Result<ThroughputMatrix, GavelMatrixError> {
        // Reading the document straight into typed maps with borrowed keys skips building a
        // `serde_json::Value` tree, which took a sixth of a short simulation's time (the vendored
        // matrix is 1.2 MB, read by every simulation); a document it does not accept (a
        // malformed one, or keys with escapes) is read again through `Value`, which names what
        // is wrong.
        match Self::from_gavel_json_typed(text) {
            Some(matrix) => Ok(matrix),
            None => Self::from_gavel_json_value(text),
        }
    }

    /// [`ThroughputMatrix::from_gavel_json`] for well-formed documents; `None` for any other.
    fn from_gavel_json_typed(text: &str) -> Option<ThroughputMatrix> {
        type Doc<'a> = BTreeMap<&'a str, BTreeMap<&'a str, BTreeMap<&'a str, Cell>>>;
        let root: Doc<'_> = serde_json::from_str(text).ok()?;
        // BTreeMap keys come sorted, as `from_gavel_json_value` sorts them.
        let mut reading = Reading::new(root.keys().map(|a| a.to_string()).collect());
        for (acc_index, jobs) in root.values().enumerate() {
            for (key_text, entry) in jobs {
                let key = JobKey::parse_gavel(key_text)?;
                for (other_text, cell) in entry {
                    match (*other_text == "null", *cell) {
                        (true, Cell::Rate(v)) => reading.isolated(&key, acc_index, valid(v)?),
                        (false, Cell::Pair(a, b)) => {
                            reading.colocated.push((
                                key_text,
                                other_text,
                                acc_index,
                                (valid(a)?, valid(b)?),
                            ));
                        }
                        _ => return None,
                    }
                }
            }
        }
        if reading.isolated.is_empty() {
            return None;
        }
        reading.finish()
    }

    /// [`ThroughputMatrix::from_gavel_json`] through `serde_json::Value`, naming what is wrong.
    fn from_gavel_json_value(text: &str) -> Result<ThroughputMatrix, GavelMatrixError> {
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
        let mut reading = Reading::new(accelerators.clone());
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
                        reading.isolated(&key, acc_index, v);
                        continue;
                    }
                    JobKey::parse_gavel(other_text).ok_or_else(|| GavelMatrixError::Shape {
                        at: format!("{} / {other_text}", at()),
                        message: "key is not of the form `('<job type>', <scale factor>)`".into(),
                    })?;
                    let pair = value
                        .as_array()
                        .filter(|p| p.len() == 2)
                        .and_then(|p| Some((rate(&p[0])?, rate(&p[1])?)))
                        .ok_or_else(|| GavelMatrixError::Shape {
                            at: format!("{} / {other_text}", at()),
                            message: format!("expected a pair of numbers >= 0, found {value}"),
                        })?;
                    reading
                        .colocated
                        .push((key_text, other_text, acc_index, pair));
                }
            }
        }
        if reading.isolated.is_empty() {
            return Err(GavelMatrixError::Shape {
                at: "top level".into(),
                message: "the matrix holds no job types".into(),
            });
        }
        Ok(reading.finish().expect("every key text was checked"))
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
        let a = self.colocated_keys.binary_search(a).ok()?;
        let b = self.colocated_keys.binary_search(b).ok()?;
        self.colocated.get(&(a, b, acc)).copied()
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
    value.as_f64().and_then(valid)
}

/// A throughput: finite and not negative.
fn valid(v: f64) -> Option<f64> {
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// A value in a job's entry: its isolated throughput (under `null`) or a co-located pair.
#[derive(Debug, Clone, Copy)]
enum Cell {
    Rate(f64),
    Pair(f64, f64),
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Cell, D::Error> {
        struct CellVisitor;

        impl<'de> Visitor<'de> for CellVisitor {
            type Value = Cell;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or a pair of numbers")
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Cell, E> {
                Ok(Cell::Rate(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Cell, E> {
                Ok(Cell::Rate(v as f64))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Cell, E> {
                Ok(Cell::Rate(v as f64))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cell, A::Error> {
                let too_short = || de::Error::custom("expected a pair");
                let a: f64 = seq.next_element()?.ok_or_else(too_short)?;
                let b: f64 = seq.next_element()?.ok_or_else(too_short)?;
                match seq.next_element::<de::IgnoredAny>()? {
                    None => Ok(Cell::Pair(a, b)),
                    Some(_) => Err(de::Error::custom("expected a pair")),
                }
            }
        }

        deserializer.deserialize_any(CellVisitor)
    }
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
        let err = ThroughputMatrix::from_gavel_json(
            r#"{"v100": {"('A3C', 1)": {"null": 1, "a3c": [1, 2]}}}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("v100 / ('A3C', 1) / a3c"), "{err}");
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

    #[test]
    fn typed_and_value_readings_agree() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/gavel/simulation_throughputs.json"
        );
        let published = std::fs::read_to_string(path).unwrap();
        for text in [SMALL, published.as_str()] {
            let typed = ThroughputMatrix::from_gavel_json_typed(text).unwrap();
            assert_eq!(
                typed,
                ThroughputMatrix::from_gavel_json_value(text).unwrap()
            );
        }
    }

    #[test]
    fn keys_with_escapes_are_read_through_values() {
        let text =
            r#"{"v100": {"(\u0027A3C\u0027, 1)": {"null": 2, "(\u0027A3C\u0027, 1)": [1, 1]}}}"#;
        assert!(ThroughputMatrix::from_gavel_json_typed(text).is_none());
        let m = ThroughputMatrix::from_gavel_json(text).unwrap();
        assert_eq!(m.throughput("A3C", 1, "v100"), Some(2.0));
        let a3c = JobKey::parse_gavel("('A3C', 1)").unwrap();
        assert_eq!(m.colocated(&a3c, &a3c, "v100"), Some((1.0, 1.0)));
    }
}
