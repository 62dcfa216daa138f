//! The capacity planner behind `spillway plan`: build, commit or rent.
//!
//! A plan file (TOML, [`mod@file`]) is parsed and validated into a [`PlanInput`] ([`input`]):
//! workload classes with demand growth and its uncertainty ([`demand`]), the owned fleet,
//! build options, commitment offers and rentals priced from the catalog, and each class's
//! speed on each accelerator from the throughput model. [`model`] builds the two-stage
//! stochastic MILP (first stage: builds and commitments; second stage per scenario: rentals
//! and deferral) and [`solve`] solves it with HiGHS ([`lp`]). [`mod@run`] adds the baselines, a
//! named contract ([`contract`]), sensitivity and the out-of-sample evaluation; [`plot`] draws
//! SVGs; [`mod@validate`] holds the plan's side of `--validate` (its first-year estimate and the
//! comparison with the simulator's replay). The model in math: docs/plan.md.

pub mod contract;
pub mod demand;
pub mod derive;
pub mod error;
pub mod file;
pub mod input;
pub mod lp;
pub mod model;
pub mod plot;
pub mod report;
pub mod run;
pub mod solve;
pub mod validate;

pub use contract::{ContractSpec, parse as parse_contract};
pub use error::PlanError;
pub use input::{PlanInput, load, parse, validate};
pub use report::PlanReport;
pub use run::{RunOptions, run};

#[cfg(test)]
mod tests;
