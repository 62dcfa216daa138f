//! Cloud economics in the simulator: priced pools (owned, committed, on-demand, spot) built from
//! catalog offers, their availability processes (spot traces, stockouts), contracts, and an
//! event-driven run of the placement policies of [`spillway_core::econ`]. The scenario file
//! format is documented in `docs/economics.md` and `examples/scenarios/hybrid.toml`.

mod availability;
mod books;
/// Runs each named scenario test (a function of the engine) through both engines: as
/// `name::through_the_loop` and `name::through_the_machine`.
#[cfg(test)]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn through_the_loop() {
                super::$name(super::Engine::Loop);
            }

            #[test]
            fn through_the_machine() {
                super::$name(super::Engine::Machine);
            }
        }
    )*};
}
#[cfg(test)]
mod contract_tests;
mod report;
mod run;
mod run_old;
mod scenario;
mod sweep;
#[cfg(test)]
mod tests;
mod workload;
mod world;

pub use availability::Availability;
pub use report::{CostLine, EconSummary, SpendSample, write_spend_plot};
pub use run::{AtHorizon, EconOutcome, Engine, run_scenario, run_scenario_with};
pub use scenario::{Accounting, Scenario, ScenarioError, SimPool};
pub use sweep::{SweepRow, cheapest_sizes, sweep_commitment};
pub use workload::EconSimJob;
