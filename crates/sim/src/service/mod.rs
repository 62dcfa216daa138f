//! The simulated service: the core's state machine ([`spillway_core::machine::Machine`]) driven
//! by a virtual clock instead of the wall clock, with simulated pools whose jobs end when their
//! work is done at the speed of where they run. The machine, its policy, its quotas, backfill,
//! preemption, failover and spot rule are the service's own: `spillway simulate --config
//! spillway.toml --workload FILE` builds the machine from the service's configuration with the
//! very functions `spillway serve` uses, so the simulator predicts what the service does.
//!
//! [`workload`] reads a service workload (one job a line: its spec, tenant, arrival and the
//! run time observed where it ran); [`driver::run`] replays it; [`ServiceOutcome`] says when
//! each attempt started where and when each job finished.

mod charges;
pub mod driver;
mod event_loop;
mod job_index;
mod live;
mod outcome;
pub mod workload;
pub mod world;

pub use driver::{
    AttemptRecord, JobRecord, ServiceOutcome, ServiceSimConfig, ServiceSummary, run, run_in_world,
    run_with_progress,
};
pub use workload::{ServiceJob, WorkloadLineError, parse_workload};
pub use world::{TickOutcome, Unlimited, World};

#[cfg(test)]
mod start_tests;
#[cfg(test)]
mod tests;
