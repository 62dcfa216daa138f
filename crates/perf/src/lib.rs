//! Throughput models: measured throughput matrices (Gavel's format) and the roofline estimator.

pub mod catalog_offer;
pub mod estimate;
pub mod gavel;
pub mod input;
pub mod measured;
pub mod memory;
pub mod placement;
pub mod roofline;
