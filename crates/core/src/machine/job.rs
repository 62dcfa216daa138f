//! What the machine knows of a job and of a pool: owned copies of what a round decides on.

use crate::econ::PlanKind;
use crate::live::{PoolView, QueuedView};
use crate::{JobId, Workers};
use spillway_model::spec::tpu::SliceShape;
use spillway_model::spec::{
    AcceleratorChoice, AlternativeFields, ChoiceOrder, JobSpec, WorkEstimate,
};
use spillway_model::{Usd, UsdPerHour};

/// A job's speeds per pool: up to four inline (read at every start and end of an attempt, where
/// a list on the heap costs one more cache miss), more on the heap.
pub type Speeds = smallvec::SmallVec<[f64; 4]>;

/// A job as the decision sees it (its spec, its tenant, when it came).
#[derive(Debug, Clone, PartialEq)]
pub struct MachineJob {
    /// Its id; lower ids were submitted earlier.
    pub id: JobId,
    /// Its tenant.
    pub tenant: String,
    /// When it was submitted, ms (since the epoch live, since the start of the run simulated).
    pub submitted_ms: i64,
    /// 0..=1000, higher first.
    pub priority: u32,
    /// Acceptable alternatives; empty for CPU-only.
    pub choices: Vec<AcceleratorChoice>,
    /// How the alternatives are weighed.
    pub order: ChoiceOrder,
    /// Accelerators of the choices written as TPU slice names (`tpu-v5p-32`): each of those
    /// needs one whole slice of a pool made of slices of that shape.
    pub slice_choices: Vec<String>,
    /// The TPU topology the job states (`accelerator_args.topology`, `2x2x4`): a slice of
    /// another or an undeclared topology does not do.
    pub topology: Option<String>,
    /// Nodes needed at once.
    pub num_nodes: u32,
    /// Restrict to pools with this name or executor.
    pub infra: Option<String>,
    /// Whether it asks for spot (preemptible) capacity (only, as in SkyPilot).
    pub use_spot: bool,
    /// What each alternative sets for itself (`use_spot`, `infra`), by the index of its
    /// choice; empty when none does.
    pub alternatives: Vec<AlternativeFields>,
    /// The most it may cost.
    pub budget: Option<Usd>,
    /// Estimated run time in reference seconds (`work: 6h`); `None`: unknown (long-running).
    pub work_secs: Option<u64>,
    /// When it should be done, ms.
    pub deadline_ms: Option<i64>,
    /// How often it checkpoints, seconds.
    pub checkpoint_interval_s: Option<u64>,
    /// Whether it can be stopped and resumed (`checkpoint.resume` set): under an allocation
    /// policy with a round length, such jobs time-share accelerators round by round.
    pub resumable: bool,
    /// Its own speed on each pool (units of `work_secs` per second, pool order), where it
    /// differs by job (a trace's throughput matrix); `None`: each pool's `throughput`.
    pub speeds: Option<Speeds>,
    /// Its weight in an allocation policy; `None`: from its priority, `(priority + 1) / 501`.
    pub weight: Option<f64>,
}

impl MachineJob {
    /// What the decision needs of a validated spec: its scheduling fields, with the tenant, the
    /// submission time and the absolute deadline the driver resolved.
    pub fn from_spec(
        id: JobId,
        tenant: &str,
        submitted_ms: i64,
        deadline_ms: Option<i64>,
        spec: &JobSpec,
    ) -> MachineJob {
        MachineJob {
            id,
            tenant: tenant.to_string(),
            submitted_ms,
            priority: spec.priority,
            choices: spec.resources.accelerators.clone(),
            order: spec.resources.order,
            slice_choices: spec.resources.tpu_slices.keys().cloned().collect(),
            topology: spec
                .resources
                .accelerator_args
                .as_ref()
                .and_then(|a| a.topology.clone()),
            num_nodes: spec.num_nodes,
            infra: spec.resources.infra.clone(),
            use_spot: spec.resources.use_spot,
            alternatives: spec.resources.alternatives.clone(),
            budget: spec.budget,
            work_secs: match spec.work {
                Some(WorkEstimate::Seconds(s)) => Some(s),
                _ => None,
            },
            deadline_ms,
            checkpoint_interval_s: spec.checkpoint.as_ref().and_then(|c| c.interval_secs),
            resumable: spec.checkpoint.as_ref().is_some_and(|c| c.resume.is_some()),
            speeds: None,
            weight: None,
        }
    }

    /// Its speed on pool `index` (units of work per second): its own, or the pool's.
    pub fn speed_on(&self, index: usize, pool: &MachinePool) -> f64 {
        crate::live::job_speed(self.speeds.as_deref(), index, pool.throughput)
    }

    /// How long it runs on pool `index` from a start, ms, when its work is known.
    pub(crate) fn expected_run_ms(&self, index: usize, pool: &MachinePool) -> Option<i64> {
        let work = self.work_secs?;
        Some((work as f64 / self.speed_on(index, pool) * 1000.0).ceil() as i64)
    }

    pub(crate) fn queued_view(&self) -> QueuedView<'_> {
        QueuedView {
            id: self.id,
            tenant: &self.tenant,
            submitted_ms: self.submitted_ms,
            priority: self.priority,
            choices: &self.choices,
            accelerator_ids: &[],
            order: self.order,
            slice_choices: &self.slice_choices,
            topology: self.topology.as_deref(),
            num_nodes: self.num_nodes,
            infra: self.infra.as_deref(),
            use_spot: self.use_spot,
            alternatives: &self.alternatives,
            budget: self.budget,
            work_secs: self.work_secs,
            deadline_ms: self.deadline_ms,
            checkpoint_interval_s: self.checkpoint_interval_s,
            speeds: self.speeds.as_deref(),
            failover: None,
        }
    }
}

/// A pool as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct MachinePool {
    /// Its name.
    pub name: String,
    /// Its executor kind (`local`, `slurm`, `ray`, `simulated`), matched by a job's `infra`.
    pub executor: String,
    /// Its accelerator type; `None` for CPU-only.
    pub accelerator: Option<String>,
    /// Accelerators it has.
    pub capacity: u32,
    /// For a pool of TPU slices: their shape. Its capacity is whole slices, and a job placed
    /// on it takes exactly one of them. `None`: accelerators are handed out one by one.
    pub slice: Option<SliceShape>,
    /// Machines it is made of (1 unless declared), each with `capacity / nodes` accelerators:
    /// a job of `num_nodes` nodes takes that many of them ([`PoolView::nodes`]).
    pub nodes: u32,
    /// Accelerators per rented block (a VM rented whole; 1: none), as [`PoolView::block`].
    pub block: u32,
    /// Most jobs at once.
    pub max_jobs: u32,
    /// Price of one accelerator-hour.
    pub price: UsdPerHour,
    /// How it is paid for.
    pub plan: PlanKind,
    /// Work done per second on one of its accelerators, in reference units.
    pub throughput: f64,
    /// (provider, region, zone), as the failover memory scopes it.
    pub location: (String, String, String),
    /// For committed capacity: its contract, an index into [`super::MachineConfig::contracts`].
    pub contract: Option<usize>,
    /// Expected preemptions per hour (spot).
    pub preemptions_per_hour: f64,
}

impl MachinePool {
    pub(crate) fn view(&self, free: Vec<u32>) -> PoolView<'_> {
        PoolView {
            name: &self.name,
            executor: &self.executor,
            accelerator: self.accelerator.as_deref(),
            capacity: self.capacity,
            slice: self.slice.as_ref(),
            nodes: self.nodes,
            block: self.block,
            free,
            free_unlisted: 0,
            max_jobs: self.max_jobs,
            price: self.price,
            plan: self.plan,
            throughput: self.throughput,
            location: (&self.location.0, &self.location.1, &self.location.2),
            contract: self.contract,
            preemptions_per_hour: self.preemptions_per_hour,
        }
    }
}

/// Where a job is in its life, as the machine tracks it.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Waiting for its first or next attempt.
    Queued,
    /// An attempt holds accelerators (starting or running).
    Running {
        /// Index of its pool.
        pool: usize,
        /// Accelerator indices it holds (inline up to eight: every round reads those of every
        /// running job).
        accelerators: Workers,
        /// When the attempt started, ms.
        started_ms: i64,
        /// Asked to stop (preempted, reclaimed or cancelled): its accelerators free up when its
        /// attempt ends.
        stopping: bool,
    },
}
