//! The trace-driven discrete-event simulator that drives the decision core on a virtual clock.
//!
//! [`workload::build`] turns trace records into core jobs (throughputs from a Gavel matrix),
//! [`engine::simulate`] replays them round by round through [`spillway_core::Scheduler`], and
//! [`metrics::Summary`] condenses the outcome. [`parity`] re-runs Gavel's published experiments.
//! [`lower_bound`] bounds from below the average JCT any schedule can reach.
//! [`service`] drives the core's state machine, the one the service runs, on a virtual clock.

pub mod accelerators;
pub mod cloud;
pub mod engine;
pub mod lower_bound;
pub mod metrics;
pub mod parallel;
pub mod parity;
pub mod plot;
pub mod service;
pub mod trace;
pub mod workload;

pub use engine::{JobOutcome, SimConfig, SimError, SimOutcome, simulate};
pub use metrics::Summary;
pub use workload::{SimJob, WorkloadError, WorkloadOptions};
