//! The decision core: policies, the round-based mechanism, failover and contract accounting.
//!
//! Pure and deterministic: no clock, no threads, no I/O. Time and events come in, actions go out.
