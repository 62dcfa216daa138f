//! Injected faults of a local pool (`[pool.faults]`): stockout windows, during which a launch
//! on the pool fails for lack of capacity, and preemptions, at which a spot pool reclaims its
//! running jobs. They let failover and spot recovery run end to end, with real processes, on
//! one machine; engines (Slurm, Ray) have failures of their own and take none.
//!
//! Times are seconds since the service started. A seeded preemption rate draws exponential
//! gaps from a ChaCha8 stream, so the same seed gives the same preemption times.

use super::{ConfigError, field};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use spillway_core::econ::FailureKind;

/// `[pool.faults]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FaultsFile {
    #[serde(default)]
    stockouts: Vec<StockoutFile>,
    #[serde(default)]
    preempt_at_s: Vec<f64>,
    preempt_rate_per_hour: Option<f64>,
    #[serde(default)]
    seed: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StockoutFile {
    start_s: f64,
    end_s: f64,
    #[serde(default)]
    kind: StockoutKind,
}

/// What a stockout says is out of capacity, and so what the failover memory blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockoutKind {
    /// The pool's zone has no capacity (the usual stockout).
    #[default]
    Zone,
    /// The region's quota is used up: every pool of the region is blocked.
    Region,
    /// The provider refuses (outage, account limit): every pool of the provider is blocked.
    Provider,
}

impl StockoutKind {
    /// The failover memory's kind of failure.
    pub fn failure(self) -> FailureKind {
        match self {
            StockoutKind::Zone => FailureKind::ZoneCapacity,
            StockoutKind::Region => FailureKind::RegionQuota,
            StockoutKind::Provider => FailureKind::Provider,
        }
    }

    /// The lowercase name, as in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            StockoutKind::Zone => "zone",
            StockoutKind::Region => "region",
            StockoutKind::Provider => "provider",
        }
    }
}

/// One stockout window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stockout {
    /// Seconds since the service started when it begins.
    pub start_s: f64,
    /// Seconds since the service started when it ends (exclusive).
    pub end_s: f64,
    /// What is out of capacity.
    pub kind: StockoutKind,
}

/// A pool's validated faults.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolFaults {
    /// Windows during which launches fail for lack of capacity, by start.
    pub stockouts: Vec<Stockout>,
    /// Times at which the pool reclaims its running jobs, ascending.
    pub preempt_at_s: Vec<f64>,
    /// Reclaims per hour at random (exponential gaps), besides the fixed times.
    pub preempt_rate_per_hour: Option<f64>,
    /// Seed of the random reclaims.
    pub seed: u64,
}

impl PoolFaults {
    /// The stockout in force `elapsed_s` seconds after the service started, if any.
    pub fn stockout_at(&self, elapsed_s: f64) -> Option<&Stockout> {
        self.stockouts
            .iter()
            .find(|w| w.start_s <= elapsed_s && elapsed_s < w.end_s)
    }

    /// Whether the pool is ever preempted.
    pub fn preempts(&self) -> bool {
        !self.preempt_at_s.is_empty() || self.preempt_rate_per_hour.is_some()
    }
}

/// When a pool's next injected preemptions fall: its fixed times merged with the seeded
/// random ones, consumed in order.
#[derive(Debug)]
pub struct PreemptionClock {
    fixed: std::vec::IntoIter<f64>,
    next_fixed: Option<f64>,
    random: Option<(ChaCha8Rng, f64)>,
    next_random: Option<f64>,
}

impl PreemptionClock {
    /// The clock of a pool's faults, at the service's start.
    pub fn new(faults: &PoolFaults) -> PreemptionClock {
        let mut fixed = faults.preempt_at_s.clone().into_iter();
        let next_fixed = fixed.next();
        let mut random = faults
            .preempt_rate_per_hour
            .map(|r| (ChaCha8Rng::seed_from_u64(faults.seed), r / 3600.0));
        let next_random = random.as_mut().map(|(rng, rate)| gap(rng, *rate));
        PreemptionClock {
            fixed,
            next_fixed,
            random,
            next_random,
        }
    }

    /// Seconds since the start of the next preemption; `None` when there are no more.
    pub fn next(&self) -> Option<f64> {
        match (self.next_fixed, self.next_random) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Consumes every preemption due by `elapsed_s`; returns how many there were.
    pub fn take_due(&mut self, elapsed_s: f64) -> usize {
        let mut n = 0;
        while self.next_fixed.is_some_and(|t| t <= elapsed_s) {
            self.next_fixed = self.fixed.next();
            n += 1;
        }
        while let (Some(t), Some((rng, rate))) = (self.next_random, self.random.as_mut()) {
            if t > elapsed_s {
                break;
            }
            self.next_random = Some(t + gap(rng, *rate));
            n += 1;
        }
        n
    }
}

/// An exponential gap (seconds) at `rate` per second.
fn gap(rng: &mut ChaCha8Rng, rate: f64) -> f64 {
    // 1 - U is in (0, 1]: its logarithm is finite.
    let u: f64 = rng.random();
    -(1.0 - u).ln() / rate
}

impl FaultsFile {
    /// Validates a pool's faults; `at` names a field of the pool, `executor` and `spot` say
    /// what the pool is.
    pub(super) fn validate(
        self,
        at: &dyn Fn(&str) -> String,
        pool: &str,
        executor: &str,
        spot: bool,
    ) -> Result<PoolFaults, ConfigError> {
        if executor != "local" {
            return Err(field(
                at("faults"),
                format!(
                    "only a local pool takes injected faults; pool '{pool}' runs on {executor}, whose own failures Spillway reports as they happen"
                ),
            ));
        }
        let mut stockouts = Vec::new();
        for (i, w) in self.stockouts.iter().enumerate() {
            let here = |f: &str| at(&format!("faults.stockouts[{i}].{f}"));
            if !(w.start_s >= 0.0 && w.start_s.is_finite()) {
                return Err(field(
                    here("start_s"),
                    format!(
                        "must be zero or more seconds since the service started, found {}",
                        w.start_s
                    ),
                ));
            }
            if w.end_s.is_nan() || w.end_s <= w.start_s {
                return Err(field(
                    here("end_s"),
                    format!(
                        "a window must end after it starts: start_s = {}, end_s = {}",
                        w.start_s, w.end_s
                    ),
                ));
            }
            stockouts.push(Stockout {
                start_s: w.start_s,
                end_s: w.end_s,
                kind: w.kind,
            });
        }
        stockouts.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        if (!self.preempt_at_s.is_empty() || self.preempt_rate_per_hour.is_some()) && !spot {
            let key = if self.preempt_at_s.is_empty() {
                "faults.preempt_rate_per_hour"
            } else {
                "faults.preempt_at_s"
            };
            return Err(field(
                at(key),
                format!(
                    "only a spot pool is preempted: give pool '{pool}' price = {{ plan = \"spot\", ... }}, or use stockouts"
                ),
            ));
        }
        for (i, t) in self.preempt_at_s.iter().enumerate() {
            if !(*t >= 0.0 && t.is_finite()) {
                return Err(field(
                    at(&format!("faults.preempt_at_s[{i}]")),
                    format!("must be zero or more seconds since the service started, found {t}"),
                ));
            }
        }
        if let Some(r) = self.preempt_rate_per_hour {
            if !(r > 0.0 && r.is_finite()) {
                return Err(field(
                    at("faults.preempt_rate_per_hour"),
                    format!("must be more than 0 preemptions per hour, found {r}"),
                ));
            }
        }
        let mut preempt_at_s = self.preempt_at_s;
        preempt_at_s.sort_by(f64::total_cmp);
        Ok(PoolFaults {
            stockouts,
            preempt_at_s,
            preempt_rate_per_hour: self.preempt_rate_per_hour,
            seed: self.seed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const SPOT: &str = "[[pool]]\nname = \"spot\"\naccelerator = \"H100\"\ncount = 1\nprice = { plan = \"spot\", usd_per_chip_hour = 1.0 }\n";

    fn error(config: &str) -> String {
        Config::parse(config, "t").unwrap_err().to_string()
    }

    #[test]
    fn parses_stockouts_and_preemptions() {
        let c = Config::parse(
            &format!(
                "{SPOT}zone = \"a\"\n[pool.faults]\nstockouts = [{{ start_s = 30, end_s = 60 }}, {{ start_s = 0, end_s = 10, kind = \"provider\" }}]\npreempt_at_s = [90, 30]\npreempt_rate_per_hour = 4\nseed = 3\n"
            ),
            "t",
        )
        .unwrap();
        let f = c.pools[0].faults.as_ref().unwrap();
        assert_eq!(f.stockouts[0].kind, StockoutKind::Provider);
        assert_eq!(f.stockouts[1].start_s, 30.0);
        assert_eq!(f.preempt_at_s, [30.0, 90.0]);
        assert_eq!((f.preempt_rate_per_hour, f.seed), (Some(4.0), 3));
        assert_eq!(
            c.pools[0].location.memory_key(),
            ("local", "spot", "a#spot")
        );
    }

    #[test]
    fn faults_go_only_on_local_pools_and_preemptions_only_on_spot_pools() {
        let e = error(
            "[[pool]]\nname = \"dgx\"\nexecutor = \"slurm\"\nslurm_conf = \"/etc/slurm.conf\"\naccelerator = \"H100\"\ncount = 2\n[pool.faults]\npreempt_at_s = [3]\n",
        );
        assert_eq!(
            e,
            "invalid config: pool[0].faults: only a local pool takes injected faults; pool 'dgx' runs on slurm, whose own failures Spillway reports as they happen"
        );
        let e = error(
            "[[pool]]\nname = \"od\"\naccelerator = \"H100\"\ncount = 2\n[pool.faults]\npreempt_at_s = [3]\n",
        );
        assert!(
            e.starts_with("invalid config: pool[0].faults.preempt_at_s: only a spot pool is preempted: give pool 'od' price"),
            "{e}"
        );
    }

    #[test]
    fn bad_windows_times_and_keys_are_named() {
        let e = error(&format!(
            "{SPOT}[pool.faults]\nstockouts = [{{ start_s = 60, end_s = 30 }}]\n"
        ));
        assert_eq!(
            e,
            "invalid config: pool[0].faults.stockouts[0].end_s: a window must end after it starts: start_s = 60, end_s = 30"
        );
        let e = error(&format!("{SPOT}[pool.faults]\npreempt_at_s = [5, -1]\n"));
        assert!(
            e.starts_with("invalid config: pool[0].faults.preempt_at_s[1]: must be zero or more"),
            "{e}"
        );
        let e = error(&format!("{SPOT}[pool.faults]\npreempt_rate_per_hour = 0\n"));
        assert!(
            e.contains("faults.preempt_rate_per_hour: must be more than 0"),
            "{e}"
        );
        // Unknown keys and kinds: the TOML parser names them with their line.
        let e = error(&format!("{SPOT}[pool.faults]\npreempt_at = [5]\n"));
        assert!(e.contains("line 7"), "{e}");
        assert!(e.contains("unknown field `preempt_at`"), "{e}");
        let e = error(&format!(
            "{SPOT}[pool.faults]\nstockouts = [{{ start_s = 0, end_s = 1, kind = \"rack\" }}]\n"
        ));
        assert!(
            e.contains("line 7") && e.contains("unknown variant `rack`"),
            "{e}"
        );
    }

    fn faults(at: &[f64], rate: Option<f64>) -> PoolFaults {
        PoolFaults {
            stockouts: vec![Stockout {
                start_s: 10.0,
                end_s: 20.0,
                kind: StockoutKind::Region,
            }],
            preempt_at_s: at.to_vec(),
            preempt_rate_per_hour: rate,
            seed: 7,
        }
    }

    #[test]
    fn windows_include_their_start_and_exclude_their_end() {
        let f = faults(&[], None);
        assert_eq!(f.stockout_at(9.9), None);
        assert_eq!(f.stockout_at(10.0).unwrap().kind, StockoutKind::Region);
        assert_eq!(f.stockout_at(20.0), None);
        assert!(!f.preempts());
    }

    #[test]
    fn fixed_preemptions_come_in_order_and_once() {
        let mut c = PreemptionClock::new(&faults(&[3.0, 5.0, 5.0, 9.0], None));
        assert_eq!(c.next(), Some(3.0));
        assert_eq!(c.take_due(2.0), 0);
        assert_eq!(c.take_due(5.0), 3);
        assert_eq!(c.next(), Some(9.0));
        assert_eq!(c.take_due(100.0), 1);
        assert_eq!(c.next(), None);
    }

    #[test]
    fn a_seeded_rate_repeats_and_averages_its_rate() {
        let times = |seed| {
            let mut f = faults(&[], Some(60.0));
            f.seed = seed;
            let mut c = PreemptionClock::new(&f);
            let mut out = Vec::new();
            while let Some(t) = c.next().filter(|t| *t < 3600.0) {
                out.push(t);
                c.take_due(t);
            }
            out
        };
        let a = times(7);
        assert_eq!(a, times(7), "same seed, same times");
        assert_ne!(a, times(8));
        // About 60 in an hour (Poisson: 60 +- 3 sigma).
        assert!((37..=83).contains(&a.len()), "{}", a.len());
        assert!(a.windows(2).all(|w| w[0] < w[1]));
    }
}
