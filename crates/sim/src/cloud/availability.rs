//! How much of a pool's quota can be had over time: always all of it (owned), a spot
//! availability series (instances obtainable per tick, from the Can't Be Late traces, replayed
//! cyclically), or stockouts: an alternating process of seeded exponential "up" and "out"
//! periods with a given long-run out fraction and mean outage.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spillway_core::SimTime;
use std::path::Path;

/// How long a stockout process is drawn ahead (simulations longer than this see no stockouts
/// past it; 3 years covers every bundled scenario).
const HORIZON_S: f64 = 3.0 * 365.0 * 86_400.0;

/// A pool's availability process.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    /// The whole quota, always.
    Always,
    /// A series of obtainable instances out of `max`, one value every `gap_s` seconds.
    Trace {
        /// Seconds between values.
        gap_s: f64,
        /// Obtainable instances per tick.
        values: Vec<u32>,
        /// The series' maximum (the number of instances probed).
        max: u32,
    },
    /// Out-of-capacity periods: `[start, end)` seconds, sorted.
    Stockouts {
        /// The periods.
        outages: Vec<(f64, f64)>,
    },
}

impl Availability {
    /// Reads a `{"metadata": {"gap_seconds": g}, "data": [...]}` series.
    pub fn from_trace_file(path: &Path) -> Result<Availability, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("read availability trace {}: {e}", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("parse availability trace {}: {e}", path.display()))?;
        let gap_s = v["metadata"]["gap_seconds"]
            .as_f64()
            .filter(|g| *g > 0.0)
            .ok_or_else(|| {
                format!(
                    "availability trace {}: `metadata.gap_seconds` must be a positive number",
                    path.display()
                )
            })?;
        let values: Vec<u32> = v["data"]
            .as_array()
            .ok_or_else(|| {
                format!(
                    "availability trace {}: `data` must be an array",
                    path.display()
                )
            })?
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_u64().map(|n| n as u32).ok_or_else(|| {
                    format!(
                        "availability trace {}: data[{i}] is not a whole number >= 0",
                        path.display()
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let max = values.iter().copied().max().unwrap_or(0);
        if max == 0 {
            return Err(format!(
                "availability trace {}: no instance is ever available",
                path.display()
            ));
        }
        Ok(Availability::Trace { gap_s, values, max })
    }

    /// Stockouts a fraction `probability` of the time, lasting `mean_out_s` on average.
    pub fn stockouts(probability: f64, mean_out_s: f64, seed: u64) -> Availability {
        if probability <= 0.0 {
            return Availability::Always;
        }
        let mean_up_s = mean_out_s * (1.0 - probability) / probability;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x005e_ed0f_5704);
        let mut exp = |mean: f64| -mean * (1.0 - rng.random::<f64>()).ln();
        let mut t = exp(mean_up_s);
        let mut outages = Vec::new();
        while t < HORIZON_S {
            let end = t + exp(mean_out_s);
            outages.push((t, end));
            t = end + exp(mean_up_s);
        }
        Availability::Stockouts { outages }
    }

    /// Fraction of the quota obtainable at `at`.
    pub fn fraction(&self, at: SimTime) -> f64 {
        let t = at.as_secs().max(0.0);
        match self {
            Availability::Always => 1.0,
            Availability::Trace { gap_s, values, max } => {
                let i = (t / gap_s) as usize % values.len();
                f64::from(values[i]) / f64::from(*max)
            }
            Availability::Stockouts { outages } => {
                let i = outages.partition_point(|&(s, _)| s <= t);
                if i > 0 && t < outages[i - 1].1 {
                    0.0
                } else {
                    1.0
                }
            }
        }
    }

    /// Chips of a `quota` obtainable at `at`.
    pub fn chips(&self, quota: u32, at: SimTime) -> u32 {
        (f64::from(quota) * self.fraction(at)).floor() as u32
    }

    /// Drops in availability per hour over the series (spot: the expected preemption rate).
    pub fn drops_per_hour(&self) -> f64 {
        match self {
            Availability::Trace { gap_s, values, .. } => {
                let drops = values.windows(2).filter(|w| w[1] < w[0]).count();
                drops as f64 / (values.len() as f64 * gap_s / 3600.0)
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_replay_cyclically_and_scale_the_quota() {
        let a = Availability::Trace {
            gap_s: 300.0,
            values: vec![4, 2, 0, 4],
            max: 4,
        };
        assert_eq!(a.chips(64, SimTime::ZERO), 64);
        assert_eq!(a.chips(64, SimTime::from_secs(301.0)), 32);
        assert_eq!(a.chips(64, SimTime::from_secs(600.0)), 0);
        assert_eq!(
            a.chips(64, SimTime::from_secs(1200.0 + 301.0)),
            32,
            "cyclic"
        );
        // Two drops in 20 minutes.
        assert!((a.drops_per_hour() - 6.0).abs() < 1e-9);
    }

    #[test]
    fn stockouts_have_the_asked_long_run_fraction_and_are_seeded() {
        let a = Availability::stockouts(0.2, 7200.0, 1);
        assert_eq!(a, Availability::stockouts(0.2, 7200.0, 1));
        let n = 200_000;
        let out = (0..n)
            .filter(|i| a.fraction(SimTime::from_secs(f64::from(*i) * 400.0)) == 0.0)
            .count();
        let share = out as f64 / f64::from(n);
        assert!((share - 0.2).abs() < 0.03, "{share}");
        assert_eq!(Availability::stockouts(0.0, 1.0, 1), Availability::Always);
    }

    #[test]
    fn the_vendored_traces_read() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/spot");
        let a = Availability::from_trace_file(
            &dir.join("avail16-aws-08-27-2023-us-west-2a_v100_1.json"),
        )
        .unwrap();
        let Availability::Trace { gap_s, max, values } = &a else {
            panic!()
        };
        assert_eq!((*gap_s, *max, values.len()), (300.0, 16, 4736));
        assert!(a.drops_per_hour() > 0.0);
    }
}
