//! What a round decides on (pools, queued and running jobs, quotas) and what it decides
//! (actions, and why the others wait).

use crate::job::JobId;
use spillway_model::spec::{AcceleratorChoice, ChoiceOrder};
use spillway_model::{Usd, UsdPerHour};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// A pool as the round sees it.
#[derive(Debug, Clone)]
pub struct PoolView<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its executor kind (`local`), matched by a job's `infra`.
    pub executor: &'a str,
    /// Its accelerator type; `None` for CPU-only.
    pub accelerator: Option<&'a str>,
    /// Accelerators it has.
    pub capacity: u32,
    /// Indices not held by any running job, ascending.
    pub free: Vec<u32>,
    /// Most jobs at once.
    pub max_jobs: u32,
    /// Price of one accelerator-hour.
    pub price: UsdPerHour,
    /// Preemptible capacity: only jobs with `use_spot` go there.
    pub spot: bool,
}

/// A queued job.
#[derive(Debug, Clone)]
pub struct QueuedView<'a> {
    /// Its id; lower ids were submitted earlier.
    pub id: JobId,
    /// Its tenant.
    pub tenant: &'a str,
    /// 0..=1000, higher first.
    pub priority: u32,
    /// Acceptable alternatives; empty for CPU-only.
    pub choices: &'a [AcceleratorChoice],
    /// How the alternatives are weighed.
    pub order: ChoiceOrder,
    /// Nodes needed at once.
    pub num_nodes: u32,
    /// Restrict to pools with this name or executor.
    pub infra: Option<&'a str>,
    /// Whether it accepts spot (preemptible) capacity.
    pub use_spot: bool,
    /// The most it may cost; with `work_secs` it rules out alternatives priced above it.
    pub budget: Option<Usd>,
    /// Estimated run time, seconds.
    pub work_secs: Option<u64>,
}

/// A running job.
#[derive(Debug, Clone)]
pub struct RunningView<'a> {
    /// Its id.
    pub id: JobId,
    /// Its tenant.
    pub tenant: &'a str,
    /// Its priority.
    pub priority: u32,
    /// Index into the pools.
    pub pool: usize,
    /// Accelerator indices it holds.
    pub accelerators: &'a [u32],
    /// When it started, ms.
    pub started_ms: i64,
    /// When it is expected to end (start + work estimate), ms.
    pub expected_end_ms: Option<i64>,
    /// Already asked to stop (preempted or cancelled); its accelerators free up soon.
    pub stopping: bool,
}

/// A tenant's limits.
#[derive(Debug, Clone, Default)]
pub struct QuotaView {
    /// Most accelerators per type at once.
    pub max_accelerators: BTreeMap<String, u32>,
    /// Most spend per hour at once.
    pub max_usd_per_hour: Option<UsdPerHour>,
}

/// Everything one round decides on.
#[derive(Debug, Clone)]
pub struct RoundInput<'a> {
    /// Now, ms since the epoch.
    pub now_ms: i64,
    /// The pools.
    pub pools: Vec<PoolView<'a>>,
    /// Queued jobs, any order.
    pub queued: Vec<QueuedView<'a>>,
    /// Running jobs.
    pub running: Vec<RunningView<'a>>,
    /// Tenants' quotas; a tenant not listed has none.
    pub quotas: HashMap<&'a str, QuotaView>,
}

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Launch a job.
    Start {
        /// The job.
        job: JobId,
        /// Index into the pools.
        pool: usize,
        /// Accelerator indices to hand it.
        accelerators: Vec<u32>,
        /// Why here, in words.
        reason: String,
    },
    /// Stop a running job and requeue it.
    Preempt {
        /// The job to stop.
        job: JobId,
        /// The job it makes room for.
        for_job: JobId,
    },
}

/// Why a queued job is not starting this round.
#[derive(Debug, Clone, PartialEq)]
pub enum WaitReason {
    /// Starting it would exceed its tenant's accelerator quota.
    AcceleratorQuota {
        /// Tenant.
        tenant: String,
        /// Accelerator type.
        accelerator: String,
        /// The quota.
        limit: u32,
        /// Held now.
        in_use: u32,
    },
    /// Starting it would exceed its tenant's spend quota.
    SpendQuota {
        /// Tenant.
        tenant: String,
        /// The quota.
        limit: UsdPerHour,
        /// Spent per hour now.
        in_use: UsdPerHour,
    },
    /// Not enough free accelerators on any acceptable pool.
    NoCapacity {
        /// What it asked for (`H100:8`).
        wanted: String,
        /// The pool it waits for.
        pool: String,
        /// Free there now.
        free: u32,
        /// The job holding a reservation there, if not this one.
        behind: Option<JobId>,
    },
    /// The pool runs as many jobs as it may.
    PoolFull {
        /// The pool.
        pool: String,
        /// Its `max_jobs`.
        max_jobs: u32,
    },
    /// Lower-priority jobs are being stopped to make room for it.
    Preempting {
        /// The pool.
        pool: String,
        /// The jobs being stopped.
        jobs: Vec<JobId>,
    },
    /// No declared pool can ever run it.
    NoPool {
        /// Why.
        detail: String,
    },
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitReason::AcceleratorQuota {
                tenant,
                accelerator,
                limit,
                in_use,
            } => write!(
                f,
                "tenant {tenant} holds {in_use} of its quota of {limit} {accelerator}; it waits until some of its jobs finish"
            ),
            WaitReason::SpendQuota {
                tenant,
                limit,
                in_use,
            } => write!(
                f,
                "tenant {tenant} spends {in_use} of its quota of {limit}; it waits until some of its jobs finish"
            ),
            WaitReason::NoCapacity {
                wanted,
                pool,
                free,
                behind: None,
            } => write!(
                f,
                "waiting for {wanted} on pool {pool} ({free} free now); capacity is reserved for it, so it starts first when running jobs end"
            ),
            WaitReason::NoCapacity {
                wanted,
                pool,
                free,
                behind: Some(j),
            } => write!(
                f,
                "waiting for {wanted} on pool {pool} ({free} free now), behind job {j} which holds the reservation there"
            ),
            WaitReason::PoolFull { pool, max_jobs } => {
                write!(f, "pool {pool} already runs its limit of {max_jobs} jobs")
            }
            WaitReason::Preempting { pool, jobs } => {
                let ids: Vec<String> = jobs.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "preempting lower-priority job(s) {} on pool {pool} to make room",
                    ids.join(", ")
                )
            }
            WaitReason::NoPool { detail } => write!(f, "no pool can run it: {detail}"),
        }
    }
}

/// The round's result.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// Actions, in the order to carry them out.
    pub actions: Vec<Action>,
    /// Why each queued job that is not starting waits.
    pub waiting: Vec<(JobId, WaitReason)>,
}
