//! The one decision state machine. Every placement decision of Spillway, live or simulated, is
//! made here: the service (the reactor of `spillway-server`: real clock, store, executors) and the
//! simulator (`spillway_sim::service`, virtual clock, simulated pools) only drive it.
//!
//! Sans-IO: events and the time come in ([`Machine::handle`]), actions with their reasons as data
//! come out ([`Machine::decide`]). The machine owns the decision state that outlives a round:
//! - the jobs' lifecycle (queued, running, stopping; finished jobs leave);
//! - the pools' free accelerator indices and job counts;
//! - the failover memory (launches refused for lack of capacity block a zone, region or
//!   provider for every job, fading with time);
//! - what each contract has been charged (the commitment-aware policy paces it);
//! - tenants' quotas;
//! - under an allocation policy with time-sharing ([`TimeSharing`]), Gavel's rounds: the
//!   allocation, the time each job received, the leases (module `rounds`).
//!
//! Each round builds the mechanism's input from that state and runs the policy and the
//! mechanism of [`crate::live`] (queue order, placement options, quotas, EASY backfill, priority
//! preemption, the spot rule, failover, budgets); the resulting actions are applied to the state
//! before they are returned, so a driver only carries them out and reports back what happened
//! (an attempt ended, a launch was refused).

mod accelerator_ids;
mod index;
mod job;
mod migrate;
mod rounds;
mod state;

pub use index::{IdHasher, IdMap};
pub use job::{MachineJob, MachinePool, Phase, Speeds};
pub use rounds::{RoundStats, TimeSharing};
pub use state::{Event, Machine, MachineConfig, can_ever_place};

#[cfg(test)]
mod tests;
