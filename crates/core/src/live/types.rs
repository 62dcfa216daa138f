//! What a live round decides on (pools, queued and running jobs, quotas, the policy) and what
//! it decides (actions, and why the others wait).

use super::load::RunningLoad;
use super::name_hash::BuildNameHasher;
use super::policy::LivePolicy;
use super::reason::{StartReason, WaitReason};
use crate::JobId;
use crate::econ::{Contract, ContractLedger, FailoverMemory, PlanKind};
use spillway_model::spec::tpu::SliceShape;
use spillway_model::spec::{AcceleratorChoice, AlternativeFields, ChoiceOrder};
use spillway_model::{Usd, UsdPerHour};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

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
    /// For a pool of TPU slices: their shape. Slice `k` is indices `k * chips .. (k + 1) *
    /// chips`; a job takes one whole slice of exactly this shape, never chips of two.
    pub slice: Option<&'a SliceShape>,
    /// Machines it is made of (at least 1), each with `capacity / nodes` accelerators: node
    /// `k` holds indices `k * per_node .. (k + 1) * per_node`. A job of `num_nodes` nodes
    /// needs that many of them, each with its accelerators free; no job spans two nodes for
    /// accelerators of one node (see `nodes.rs`).
    pub nodes: u32,
    /// Accelerators per rented block on a pool of one node (a VM of 8 GPUs rented whole while
    /// any job holds one of its chips; 1: none): block `k` is indices `k * block .. (k + 1) *
    /// block`. A job goes into the block with the fewest free indices that holds it (best fit;
    /// see `nodes.rs`), so rented blocks fill before new ones open and a job spans two blocks
    /// only when no single block holds it.
    pub block: u32,
    /// Indices not held by any running job, ascending: all of them, or (from the machine, on a
    /// pool of one node and loose accelerators) the lowest ones, as many as the queue could
    /// take at once.
    pub free: Vec<u32>,
    /// Free indices above those listed in `free` (the machine lists no more than the queue
    /// could take); the pool has `free.len() + free_unlisted` free accelerators.
    pub free_unlisted: u32,
    /// Most jobs at once.
    pub max_jobs: u32,
    /// Price of one accelerator-hour (owned: amortized; committed: after the discount).
    pub price: UsdPerHour,
    /// How it is paid for. Spot capacity is preemptible: only jobs with `use_spot` go there.
    pub plan: PlanKind,
    /// Work done per second on one of its accelerators, in reference units (1.0 = the
    /// reference accelerator; from the catalog or a roofline estimate, 1.0 where unknown).
    /// Heterogeneity-aware policies prefer faster pools.
    pub throughput: f64,
    /// Where its capacity is, as the failover memory scopes it: (provider, region, zone).
    pub location: (&'a str, &'a str, &'a str),
    /// For committed capacity: its contract, an index into [`RoundInput::contracts`]. The
    /// commitment-aware policy paces the contract's spending with it; without one, committed
    /// capacity is priced like on-demand capacity.
    pub contract: Option<usize>,
    /// Expected preemptions per hour (spot): what the commitment-aware policy prices as rework.
    pub preemptions_per_hour: f64,
}

impl PoolView<'_> {
    /// Free accelerators, listed or not.
    pub fn free_count(&self) -> u32 {
        self.free.len() as u32 + self.free_unlisted
    }

    /// Whether its capacity is preemptible (only jobs with `use_spot` go there).
    pub fn is_spot(&self) -> bool {
        self.plan == PlanKind::Spot
    }
}

/// A committed-spend contract and what it has been charged so far.
#[derive(Debug, Clone)]
pub struct ContractView<'a> {
    /// The contract.
    pub contract: &'a Contract,
    /// What it has been charged up to now (running capacity included).
    pub ledger: ContractLedger,
}

/// A queued job.
#[derive(Debug, Clone)]
pub struct QueuedView<'a> {
    /// Its id; lower ids were submitted earlier.
    pub id: JobId,
    /// Its tenant.
    pub tenant: &'a str,
    /// When it was submitted, ms since the epoch (how long it has waited, for the
    /// commitment-aware policy's wait before renting).
    pub submitted_ms: i64,
    /// 0..=1000, higher first.
    pub priority: u32,
    /// Acceptable alternatives; empty for CPU-only.
    pub choices: &'a [AcceleratorChoice],
    /// The accelerator type of each of `choices` as an id into the round's
    /// [`PoolIndex::ById`] (by index of choice), when the driver gave its
    /// types ids (the machine does, when a job comes in); empty: the round looks the names up.
    pub accelerator_ids: &'a [u32],
    /// How the alternatives are weighed.
    pub order: ChoiceOrder,
    /// Accelerators of the choices written as TPU slice names (`tpu-v5p-32`): each of those
    /// needs one whole slice of a pool made of slices of that shape ([`PoolView::slice`]).
    pub slice_choices: &'a [String],
    /// The TPU topology the job states (`2x2x4`): only slices declared with it do.
    pub topology: Option<&'a str>,
    /// Nodes needed at once.
    pub num_nodes: u32,
    /// Restrict to pools within this infra: a pool's name, an executor kind, or SkyPilot's
    /// `cloud[/region[/zone]]` matched against the pools' location.
    pub infra: Option<&'a str>,
    /// Whether it asks for spot (preemptible) capacity: SkyPilot's rule, spot **only**
    /// (unless the spot deadline rule rules spot out, see `round.rs`).
    pub use_spot: bool,
    /// What each alternative of `choices` sets for itself (by index; empty: nothing): its
    /// own `use_spot`, and its own `infra` (SkyPilot's `cloud[/region[/zone]]`, a pool's
    /// name or an executor kind), which restrict that alternative only.
    pub alternatives: &'a [AlternativeFields],
    /// The most it may cost; with `work_secs` it rules out alternatives priced above it.
    pub budget: Option<Usd>,
    /// Estimated run time in reference hours' worth of seconds (`work: 6h`); `None` means
    /// unknown, which the round treats as long-running (it never backfills ahead of a
    /// reservation and never ends before a shadow time).
    pub work_secs: Option<u64>,
    /// When it should be done, ms since the epoch. With `work_secs` it decides whether the
    /// job may (still) use spot capacity ([`crate::econ::spot_allowed`]) and which pools
    /// meet it; the commitment-aware policy serves the queue earliest deadline first.
    pub deadline_ms: Option<i64>,
    /// How often it checkpoints, seconds: what a preemption loses at most. `None`: it does
    /// not, and a preemption loses all its work.
    pub checkpoint_interval_s: Option<u64>,
    /// Its own speed on each pool (units of `work_secs` per second, pool order), where it
    /// differs by job; `None`: each pool's `throughput`.
    pub speeds: Option<&'a [f64]>,
    /// Its own failover memory, used instead of the round's, under a policy whose jobs do not
    /// share what a refused launch taught (`baseline`: each request fails over on its own).
    pub failover: Option<&'a crate::econ::FailoverMemory>,
}

impl QueuedView<'_> {
    /// How long it runs on pool `index` (`pool`) once started, ms, when its work is known.
    pub fn run_ms_on(&self, index: usize, pool: &PoolView<'_>) -> Option<i64> {
        let work = self.work_secs?;
        let speed = job_speed(self.speeds, index, pool.throughput);
        Some((work as f64 / speed * 1000.0).ceil() as i64)
    }
}

/// A job's speed on pool `index`: its own (`speeds`, pool order) where it has one, else the
/// pool's `throughput`; 1.0 where neither is a positive number.
pub(crate) fn job_speed(speeds: Option<&[f64]>, index: usize, throughput: f64) -> f64 {
    let s = speeds
        .and_then(|s| s.get(index).copied())
        .unwrap_or(throughput);
    if s.is_finite() && s > 0.0 { s } else { 1.0 }
}

/// A running job.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningView {
    /// Its id.
    pub id: JobId,
    /// Its tenant.
    pub tenant: Arc<str>,
    /// Its priority.
    pub priority: u32,
    /// Index into the pools.
    pub pool: usize,
    /// Accelerator indices it holds.
    pub accelerators: Vec<u32>,
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
    /// Running jobs, any order.
    pub running: Cow<'a, [RunningView]>,
    /// What the running jobs hold per pool, kept up to date by the machine as jobs start and
    /// stop; `None`: the round computes it from `running`.
    pub load: Option<&'a RunningLoad>,
    /// `(smallest accelerator count, highest priority)` over the whole queue (listed in
    /// `queued` or not): with it, the round stops as soon as no remaining job could start or
    /// preempt anything ([`Decision::stuck`]), and the rest wait without a reason (the
    /// simulator of a long trace); before that, a job that could change nothing in the round
    /// is passed over without its reason too, unless that reason would be the first in the
    /// round that time alone lifts ([`WaitReason::lapses_with_time`]), which the driver
    /// needs to know. `None`: every queued job gets its reason.
    pub stop_when_stuck: Option<(u32, u32)>,
    /// Tenants' quotas; a tenant not listed has none.
    pub quotas: HashMap<&'a str, QuotaView>,
    /// The policy that orders the queue and chooses among alternatives.
    pub policy: LivePolicy,
    /// Recent launch failures for lack of capacity, shared by all jobs: pools whose zone,
    /// region or provider it blocks at `now_ms` are skipped. `None`: nothing is blocked.
    pub failover: Option<&'a FailoverMemory>,
    /// Seconds from a (re)start until a job's work progresses again (provisioning, loading a
    /// checkpoint): part of the margin the spot deadline rule keeps.
    pub restart_overhead_s: f64,
    /// Seconds a preempted spot job may lose to failed launches before it reaches reliable
    /// capacity (part of the spot rule's margin).
    pub failover_allowance_s: f64,
    /// Committed-spend contracts, which committed pools name ([`PoolView::contract`]).
    pub contracts: Vec<ContractView<'a>>,
    /// How the round finds the pools of a job's accelerator type: by the driver's index, or
    /// by matching every pool.
    pub pool_index: PoolIndex<'a>,
}

/// How a round finds the pools of each of a job's accelerator types ([`RoundInput::pool_index`]).
#[derive(Debug, Clone, Default)]
pub enum PoolIndex<'a> {
    /// No index: every pool is matched against the job's choices.
    #[default]
    None,
    /// The pools of each type by name ([`pools_by_accelerator`]).
    ByName(PoolsByAccelerator<'a>),
    /// The pools of each type by id: those of type `id` are `by_id[id]` (none where `id` is
    /// out of range), for jobs whose choices carry ids ([`QueuedView::accelerator_ids`]: the
    /// machine numbers them when a job comes in, so a round finds a job's pools without
    /// hashing, or even reading, their names; that was most of the cost of passing over a long
    /// queue). A job without ids is matched against every pool.
    ById(&'a [Vec<usize>]),
}

impl PoolIndex<'_> {
    /// Whether the index gives the pools of every one of `job`'s accelerator types
    /// ([`RoundInput::pools_of_type`] is `Some` for each of its choices).
    pub(crate) fn covers(&self, job: &QueuedView<'_>) -> bool {
        match self {
            PoolIndex::None => false,
            PoolIndex::ByName(_) => true,
            PoolIndex::ById(_) => job.accelerator_ids.len() == job.choices.len(),
        }
    }
}

impl RoundInput<'_> {
    /// The pools of the accelerator type of `job`'s alternative `index`, ascending, from the
    /// driver's index; `None` where the index does not cover the job
    /// ([`PoolIndex::covers`]): then every pool is a candidate, by name.
    pub(crate) fn pools_of_type(&self, job: &QueuedView<'_>, index: usize) -> Option<&[usize]> {
        match &self.pool_index {
            PoolIndex::None => None,
            PoolIndex::ByName(by_name) => {
                let name = job.choices[index].accelerator.as_str();
                Some(by_name.get(name).map_or(&[], Vec::as_slice))
            }
            PoolIndex::ById(by_id) => job
                .accelerator_ids
                .get(index)
                .map(|&id| by_id.get(id as usize).map_or(&[][..], Vec::as_slice)),
        }
    }
}

/// The pools of each accelerator type, indexes into [`RoundInput::pools`] (see
/// [`PoolIndex::ByName`]), hashed with [`NameHasher`](super::NameHasher): a
/// round looks a job's types up several times, and the names come from the configuration.
pub type PoolsByAccelerator<'a> = HashMap<&'a str, Vec<usize>, BuildNameHasher>;

/// Indexes `pools` by accelerator type (for [`PoolIndex::ByName`]).
pub fn pools_by_accelerator<'a>(pools: &[PoolView<'a>]) -> PoolsByAccelerator<'a> {
    let mut index = PoolsByAccelerator::default();
    for (i, p) in pools.iter().enumerate() {
        if let Some(a) = p.accelerator {
            index.entry(a).or_default().push(i);
        }
    }
    index
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
        /// Why here (as data; `to_string()` gives the words).
        reason: StartReason,
    },
    /// Stop a running job and requeue it.
    Preempt {
        /// The job to stop.
        job: JobId,
        /// The job it makes room for.
        for_job: JobId,
        /// Whether it stops because its round lease ended (time-sharing: `for_job` is owed
        /// more of the allocation) rather than for a higher priority.
        lease_ended: bool,
    },
}

/// The round's result.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    /// Actions, in the order to carry them out.
    pub actions: Vec<Action>,
    /// Why each queued job that is not starting waits.
    pub waiting: Vec<(JobId, WaitReason)>,
    /// The policy could not compute an allocation (a solver failure); the round fell back to
    /// priority order for this round.
    pub policy_error: Option<String>,
    /// The round stopped before the end of the queue because no remaining job could act
    /// ([`RoundInput::stop_when_stuck`]); those jobs have no reason in `waiting`.
    pub stuck: bool,
}
