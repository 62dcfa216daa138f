//! Ray (placeholder)
