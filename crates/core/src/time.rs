//! Simulated (or observed) time as whole microseconds, so that every comparison is exact and a
//! replay is bit-for-bit repeatable.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An instant, in microseconds since the start of the workload (or any fixed epoch the driver
/// picks).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub i64);

const MICROS_PER_SECOND: f64 = 1e6;

impl SimTime {
    /// The epoch.
    pub const ZERO: SimTime = SimTime(0);

    /// From seconds, rounded up to the next microsecond (so a job never finishes early).
    pub fn from_secs_ceil(seconds: f64) -> SimTime {
        SimTime((seconds * MICROS_PER_SECOND).ceil() as i64)
    }

    /// From seconds, rounded to the nearest microsecond.
    pub fn from_secs(seconds: f64) -> SimTime {
        SimTime((seconds * MICROS_PER_SECOND).round() as i64)
    }

    /// As seconds.
    pub fn as_secs(self) -> f64 {
        self.0 as f64 / MICROS_PER_SECOND
    }

    /// As hours.
    pub fn as_hours(self) -> f64 {
        self.as_secs() / 3600.0
    }

    /// `self + seconds`, rounding the duration up to a whole microsecond.
    pub fn plus_secs_ceil(self, seconds: f64) -> SimTime {
        SimTime(self.0 + SimTime::from_secs_ceil(seconds).0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs())
    }
}
