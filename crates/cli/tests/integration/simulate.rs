//! `spillway simulate` end to end.
