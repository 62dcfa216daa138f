//! Synthetic workloads generated like Gavel's: Poisson arrivals, Philly-like durations and scale factors.
