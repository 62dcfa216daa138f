//! Cloud economics in the simulator: priced pools (owned, committed, on-demand, spot) built from
//! catalog offers, their availability processes (spot traces, stockouts), contracts, and runs of
//! the placement policies of [`spillway_core::econ`] through the core's state machine. The scenario file
//! format is documented in `docs/economics.md` and `examples/scenarios/hybrid.toml`.

mod availability;
mod books;
#[cfg(test)]
mod contract_tests;
mod report;
mod run;
mod scenario;
mod sweep;
#[cfg(test)]
mod tests;
mod workload;
mod world;

pub use availability::Availability;
pub use report::{CostLine, EconSummary, SpendSample, write_spend_plot};
pub use run::{AtHorizon, EconOutcome, run_scenario};
pub use scenario::{Accounting, Scenario, ScenarioError, SimPool};
pub use sweep::{SweepRow, cheapest_sizes, sweep_commitment};
pub use workload::EconSimJob;
