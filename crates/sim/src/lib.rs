//! The trace-driven discrete-event simulator that drives the decision core on a virtual clock.

pub mod trace;
