//! Gavel throughput matrices: steps/s per (job type, scale factor) per accelerator type.
