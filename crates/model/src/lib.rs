//! The vocabulary of Spillway: plain types shared by every other crate.
//!
//! Nothing here does I/O. Quantities that would otherwise be bare numbers (money, rates,
//! chip-hours) get their own types so that a price per hour is never added to a price per chip.

mod accelerator;
pub mod spec;
mod units;
mod workload;

pub use accelerator::{AcceleratorFamily, AcceleratorSpec, ChipsNamedBy, Precision};
pub use units::{ChipHours, Usd, UsdPerHour};
pub use workload::{JobRecord, WorkAmount};
