//! Jobs as the core sees them: a gang size, an amount of work, and a speed on each pool.

use crate::SimTime;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A job's id; also its arrival rank (lower ids arrived first, FIFO order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What the core needs to know about a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Its id.
    pub id: JobId,
    /// Accelerators used at once, gang-scheduled (all or nothing).
    pub scale_factor: u32,
    /// Steps to run in total.
    pub total_steps: u64,
    /// Steps per second of the whole gang on each pool, in the cluster's pool order; 0 means the
    /// job cannot run there.
    pub throughputs: Vec<f64>,
    /// Fairness weight (1.0 = normal; higher gets more).
    pub priority_weight: f64,
    /// When it arrived.
    pub arrival: SimTime,
    /// When it should be done, if it has a deadline (SLO).
    pub deadline: Option<SimTime>,
}
