//! `spillway estimate` end to end.
