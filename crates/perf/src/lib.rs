//! Throughput models: measured throughput matrices (Gavel's format) and the roofline estimator.

pub mod gavel;
pub mod roofline;
