//! Benchmarks (ignored).
