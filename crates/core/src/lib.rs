//! The decision core: policies, the round-based mechanism, failover and contract accounting.
//!
//! Pure and deterministic: no clock, no threads, no I/O. Time and events come in, actions go out.
//!
//! A driver (the simulator, or the live service) owns a [`Scheduler`] and calls, in order, at each
//! round boundary:
//! 1. [`Scheduler::record_round`] with what each placement of the previous round achieved
//!    (steps done, seconds run); finished jobs come back;
//! 2. [`Scheduler::submit`] for each job that arrived since;
//! 3. [`Scheduler::plan_round`], which returns the [`RoundPlan`]: which job runs on which workers of
//!    which pool for the coming round, whether it keeps its workers (lease extension) or starts,
//!    and which running jobs are preempted.

mod cluster;
pub mod econ;
mod error;
mod id_list;
mod job;
pub mod live;
pub mod machine;
mod mechanism;
pub mod policy;
mod pyrandom;
mod scheduler;
pub mod solver;
mod time;

pub use cluster::{Cluster, Pool, PoolId};
pub use error::CoreError;
pub use job::{JobId, JobSpec};
pub use mechanism::{Placement, PlacementKind, RoundPlan, RoundReport, Workers};
pub use policy::{Allocation, LpOptions, PolicyKind};
pub use scheduler::{Scheduler, SchedulerConfig, validate_job};
pub use time::SimTime;
