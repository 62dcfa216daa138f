//! Failover memory: a launch that fails for lack of capacity blocks its zone, region or provider
//! (by the kind of failure) for every job, not just the one that failed, and the block fades.
//!
//! Each scope keeps a score: a failure adds 1, and the score halves every `half_life`. The scope
//! is blocked while its score is at least 1/2, so one failure blocks it for one half-life, two
//! failures in a row for about two, and a scope that keeps failing stays blocked longer. Time
//! is passed in; there is no clock here.

use crate::SimTime;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Why a launch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The zone had no capacity of this shape (a stockout, or no spot capacity).
    ZoneCapacity,
    /// The region's quota for this accelerator is used up.
    RegionQuota,
    /// The provider refused or failed (outage, account limit).
    Provider,
}

impl FailureKind {
    /// The name of the scope it blocks, as configuration files write it: `zone`, `region` or
    /// `provider`.
    pub fn scope_name(self) -> &'static str {
        match self {
            FailureKind::ZoneCapacity => "zone",
            FailureKind::RegionQuota => "region",
            FailureKind::Provider => "provider",
        }
    }

    /// The kind of failure that blocks the scope named `name` (`zone`, `region`, `provider`).
    pub fn from_scope_name(name: &str) -> Option<FailureKind> {
        [
            FailureKind::ZoneCapacity,
            FailureKind::RegionQuota,
            FailureKind::Provider,
        ]
        .into_iter()
        .find(|k| k.scope_name().eq_ignore_ascii_case(name.trim()))
    }
}

/// What a failure blocks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockScope {
    /// One zone of a provider.
    Zone {
        /// Provider.
        provider: String,
        /// Zone.
        zone: String,
    },
    /// One region of a provider.
    Region {
        /// Provider.
        provider: String,
        /// Region.
        region: String,
    },
    /// A whole provider.
    Provider(String),
}

impl fmt::Display for BlockScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockScope::Zone { provider, zone } => write!(f, "zone {zone} of {provider}"),
            BlockScope::Region { provider, region } => {
                write!(f, "region {region} of {provider}")
            }
            BlockScope::Provider(p) => write!(f, "provider {p}"),
        }
    }
}

impl BlockScope {
    fn of(kind: FailureKind, provider: &str, region: &str, zone: &str) -> BlockScope {
        match kind {
            FailureKind::ZoneCapacity => BlockScope::Zone {
                provider: provider.to_string(),
                zone: zone.to_string(),
            },
            FailureKind::RegionQuota => BlockScope::Region {
                provider: provider.to_string(),
                region: region.to_string(),
            },
            FailureKind::Provider => BlockScope::Provider(provider.to_string()),
        }
    }
}

/// The shared memory of recent launch failures.
#[derive(Debug, Clone, PartialEq)]
pub struct FailoverMemory {
    half_life_s: f64,
    scores: BTreeMap<BlockScope, (f64, SimTime)>,
}

impl FailoverMemory {
    /// A memory whose blocks fade with this half-life (seconds).
    pub fn new(half_life_s: f64) -> FailoverMemory {
        FailoverMemory {
            half_life_s: half_life_s.max(1.0),
            scores: BTreeMap::new(),
        }
    }

    fn decayed(&self, score: f64, since: SimTime, now: SimTime) -> f64 {
        let dt = ((now.0 - since.0) as f64 / 1e6).max(0.0);
        score * 0.5f64.powf(dt / self.half_life_s)
    }

    /// Records a failed launch in `zone` of `region` of `provider` at `now`.
    pub fn record(
        &mut self,
        kind: FailureKind,
        (provider, region, zone): (&str, &str, &str),
        now: SimTime,
    ) {
        let scope = BlockScope::of(kind, provider, region, zone);
        let score = self
            .scores
            .get(&scope)
            .map_or(0.0, |&(s, t)| self.decayed(s, t, now));
        self.scores.insert(scope, (score + 1.0, now));
    }

    /// Whether a launch in `zone` of `region` of `provider` should be skipped at `now`.
    pub fn is_blocked(&self, (provider, region, zone): (&str, &str, &str), now: SimTime) -> bool {
        // The memory holds a handful of scopes: a scan without allocating beats keyed lookups.
        self.scores.iter().any(|(scope, &(s, t))| {
            let hit = match scope {
                BlockScope::Zone {
                    provider: p,
                    zone: z,
                } => p == provider && z == zone,
                BlockScope::Region {
                    provider: p,
                    region: r,
                } => p == provider && r == region,
                BlockScope::Provider(p) => p == provider,
            };
            hit && self.decayed(s, t, now) >= 0.5
        })
    }

    /// The half-life of a block, seconds.
    pub fn half_life_s(&self) -> f64 {
        self.half_life_s
    }

    /// If a launch in `zone` of `region` of `provider` is blocked at `now`: the scope that
    /// blocks it for longest and when that block ends (its score decays below 1/2).
    pub fn blocked_until(
        &self,
        (provider, region, zone): (&str, &str, &str),
        now: SimTime,
    ) -> Option<(BlockScope, SimTime)> {
        self.scores
            .iter()
            .filter(|(scope, _)| match scope {
                BlockScope::Zone {
                    provider: p,
                    zone: z,
                } => p == provider && z == zone,
                BlockScope::Region {
                    provider: p,
                    region: r,
                } => p == provider && r == region,
                BlockScope::Provider(p) => p == provider,
            })
            .filter(|&(_, &(s, t))| self.decayed(s, t, now) >= 0.5)
            // s x 0.5^(dt / h) = 1/2 at dt = h x log2(2s).
            .map(|(scope, &(s, t))| {
                let until = t.plus_secs_ceil(self.half_life_s * (2.0 * s).log2());
                (scope.clone(), until)
            })
            .max_by_key(|(_, until)| *until)
    }

    /// Forgets scopes whose score has faded below 1% (keeps the memory small on long runs).
    pub fn prune(&mut self, now: SimTime) {
        let half_life = self.half_life_s;
        self.scores.retain(|_, &mut (s, t)| {
            let dt = ((now.0 - t.0) as f64 / 1e6).max(0.0);
            s * 0.5f64.powf(dt / half_life) >= 0.01
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: (&str, &str, &str) = ("aws", "us-east-1", "use1-az1");
    const B: (&str, &str, &str) = ("aws", "us-east-1", "use1-az2");
    const C: (&str, &str, &str) = ("gcp", "us-east5", "us-east5-a");

    #[test]
    fn a_zone_failure_blocks_that_zone_for_a_half_life_for_everyone() {
        let mut m = FailoverMemory::new(1800.0);
        let t0 = SimTime::from_secs(100.0);
        m.record(FailureKind::ZoneCapacity, A, t0);
        assert!(m.is_blocked(A, t0));
        assert!(!m.is_blocked(B, t0), "the next zone stays open");
        assert!(m.is_blocked(A, t0.plus_secs_ceil(1799.0)));
        assert!(!m.is_blocked(A, t0.plus_secs_ceil(1801.0)), "it fades");
        // Two failures: blocked for about two half-lives (score 2 -> 1/2 after 2 half-lives).
        m.record(FailureKind::ZoneCapacity, A, t0);
        assert!(m.is_blocked(A, t0.plus_secs_ceil(3500.0)));
        assert!(!m.is_blocked(A, t0.plus_secs_ceil(3700.0)));
        let (scope, until) = m.blocked_until(A, t0).unwrap();
        assert_eq!(scope.to_string(), "zone use1-az1 of aws");
        assert_eq!(until, t0.plus_secs_ceil(3600.0));
        assert_eq!(m.blocked_until(B, t0), None);
    }

    #[test]
    fn region_and_provider_failures_block_wider() {
        let mut m = FailoverMemory::new(600.0);
        let t = SimTime::ZERO;
        m.record(FailureKind::RegionQuota, A, t);
        assert!(m.is_blocked(B, t), "same region");
        assert!(!m.is_blocked(C, t));
        m.record(FailureKind::Provider, C, t);
        assert!(m.is_blocked(("gcp", "europe-west4", "europe-west4-a"), t));
        let (scope, until) = m
            .blocked_until(("gcp", "europe-west4", "europe-west4-a"), t)
            .unwrap();
        assert_eq!(scope.to_string(), "provider gcp");
        assert_eq!(until, SimTime::from_secs(600.0));
        assert_eq!(m.blocked_until(C, until.plus_secs_ceil(1.0)), None);
        m.prune(SimTime::from_secs(100_000.0));
        assert!(!m.is_blocked(B, SimTime::from_secs(100_000.0)));
    }
}
