//! Pools of accelerators: each pool holds identical accelerators of one type, with a capacity.

use crate::CoreError;
use serde::{Deserialize, Serialize};

/// Index of a pool in its [`Cluster`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PoolId(pub usize);

/// One pool: accelerators of one type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    /// The accelerator type (`v100`), as the throughput matrix names it.
    pub name: String,
    /// How many accelerators it holds.
    pub capacity: u32,
    /// Price per accelerator-hour in dollars, when known (cost-aware policies and reports).
    pub price_per_hour: Option<f64>,
}

/// The pools jobs are placed on, in the order the operator listed them. That order is also the
/// order in which heterogeneity-aware policies fill pools (Gavel fills v100, p100, k80).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pools: Vec<Pool>,
}

impl Cluster {
    /// A cluster of these pools; at least one accelerator in all, names distinct.
    pub fn new(pools: Vec<Pool>) -> Result<Cluster, CoreError> {
        if pools.iter().map(|p| u64::from(p.capacity)).sum::<u64>() == 0 {
            return Err(CoreError::EmptyCluster);
        }
        for (i, p) in pools.iter().enumerate() {
            if pools[..i].iter().any(|q| q.name == p.name) {
                return Err(CoreError::DuplicatePool(p.name.clone()));
            }
        }
        Ok(Cluster { pools })
    }

    /// The pools.
    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }

    /// Number of pools.
    pub fn len(&self) -> usize {
        self.pools.len()
    }

    /// Whether there are no pools (never true for a built cluster).
    pub fn is_empty(&self) -> bool {
        self.pools.is_empty()
    }

    /// Capacity of each pool, in order.
    pub fn capacities(&self) -> Vec<u32> {
        self.pools.iter().map(|p| p.capacity).collect()
    }

    /// The pool named `name`.
    pub fn find(&self, name: &str) -> Option<PoolId> {
        self.pools.iter().position(|p| p.name == name).map(PoolId)
    }

    /// Total accelerators.
    pub fn total_capacity(&self) -> u32 {
        self.pools.iter().map(|p| p.capacity).sum()
    }
}
