//! One round of the decision: the policy and the mechanism that the state machine
//! ([`crate::machine::Machine`]) runs each time it decides, for the service and for the service
//! simulator alike (nothing else calls it). Pure and deterministic: the machine passes the time in
//! (`now_ms`), the pools' free accelerator indices, queued and running jobs and tenants'
//! quotas; the round returns actions (start job J on pool P with these accelerator indices,
//! preempt job K for job J) and, for every job that does not start, the reason as data.
//!
//! Split in two, like the simulator's: the policy ([`LivePolicy`], chosen by name;
//! `priority_backfill` by default, every Gavel name accepted, and `commitment_aware`, the
//! placement economics of [`crate::econ`] that the scenario simulator runs) ranks the queue and
//! each job's options (modules `order` and `cost`); the mechanism (module `round`) places jobs
//! in that order within the constraints that hold whatever the policy:
//! - tenant quotas (accelerators per type, $/hour at the pools' prices);
//! - pools' job limits and free indices (gang: all of a job's accelerators or none); on a
//!   pool of several nodes, a job of `num_nodes` nodes takes that many whole shares of one
//!   node each (module `nodes`);
//! - spot pools take only jobs with `use_spot`; alternatives whose estimated cost (`work` x
//!   accelerators x price) exceeds the job's budget are ruled out; `infra` restricts pools;
//! - EASY backfill: a job that does not fit reserves its preferred pool; later jobs use only
//!   accelerators beyond the reservation, or free ones if their `work` ends before the
//!   reserved job could start (a job without `work` is treated as long-running). On a pool
//!   of several nodes the reservation is whole nodes: the `num_nodes` nodes that get the
//!   job's share first (from running jobs' expected ends, node by node), and the reserved
//!   job's start time is when the last of them does; later jobs use the other nodes, or the
//!   reserved ones if they end before then;
//! - preemption: a job that does not fit and outranks running jobs (strictly higher priority)
//!   stops the fewest, lowest-priority, most recently started of them; equal priorities are
//!   never preempted. On a pool of several nodes, room means whole shares on nodes: victims
//!   are taken in that order until the freed indices make the job's nodes, and those that
//!   turn out not to be needed are spared.

mod blocks;
mod cost;
mod load;
mod name_hash;
pub(crate) mod nodes;
mod order;
mod policy;
mod reason;
mod round;
mod types;

pub(crate) use blocks::Blocks;
pub(crate) use cost::Economics;
pub use load::RunningLoad;
pub use name_hash::{BuildNameHasher, NameHasher};
pub use policy::LivePolicy;
pub use reason::{BlockedPool, Choice, StartReason, WaitReason};
pub use round::{can_ever_place, can_ever_place_under};
pub(crate) use round::{candidates, decide};
pub(crate) use types::job_speed;
pub use types::{
    Action, ContractView, Decision, PoolIndex, PoolView, PoolsByAccelerator, QueuedView, QuotaView,
    RoundInput, RunningView, pools_by_accelerator,
};

#[cfg(test)]
mod tests;
