//! Every placement decision of the service, in one pure function: given the pools, the
//! queued and the running jobs, say which jobs start where, which are preempted, and why the
//! others wait.
//!
//! INTERIM: this is a simple priority-then-FIFO policy with EASY backfill, standing in until
//! the decision core (spillway-core: policies and the Gavel round mechanism) lands; then this
//! module becomes the adapter that feeds the core and turns its allocation into [`Action`]s.
//! Nothing else in the service decides anything: the HTTP handlers only record requests and
//! the executors only carry actions out.
//!
//! The policy, each round:
//! 1. Queued jobs in order of priority (high first), then submission (old first).
//! 2. A job takes the first of its alternatives (ordered), or the cheapest (any-of), that
//!    fits a pool now within its tenant's quotas; it gets the lowest free accelerator indices.
//! 3. A job that does not fit reserves its preferred pool (EASY backfill): later jobs may only
//!    use that pool's accelerators beyond the reservation, or any free ones if their work
//!    estimate says they end before the reserved job could start.
//! 4. Spot pools take only jobs with `use_spot`; alternatives whose estimated cost (work
//!    estimate x accelerators x price) exceeds the job's budget are not considered.
//! 5. A job that does not fit but outranks running jobs on a pool preempts the fewest,
//!    lowest-priority, most recently started of them that make room.

mod policy;
mod types;

pub use policy::{can_ever_place, decide};
pub use types::{
    Action, Decision, PoolView, QueuedView, QuotaView, RoundInput, RunningView, WaitReason,
};

#[cfg(test)]
mod tests;
