//! `spillway offers` end to end.
