//! Money and time quantities.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Mul};

/// An amount of US dollars.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Usd(pub f64);

/// A rate of spending, US dollars per hour.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UsdPerHour(pub f64);

/// Accelerator time: one chip (GPU, TPU chip, Trainium device) for one hour.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChipHours(pub f64);

impl UsdPerHour {
    /// The rate per chip when `chips` chips are rented together at this rate.
    pub fn per_chip(self, chips: u32) -> UsdPerHour {
        UsdPerHour(self.0 / f64::from(chips.max(1)))
    }
}

impl Mul<f64> for UsdPerHour {
    type Output = Usd;
    /// Spending over a number of hours.
    fn mul(self, hours: f64) -> Usd {
        Usd(self.0 * hours)
    }
}

impl Add for Usd {
    type Output = Usd;
    fn add(self, rhs: Usd) -> Usd {
        Usd(self.0 + rhs.0)
    }
}

impl AddAssign for Usd {
    fn add_assign(&mut self, rhs: Usd) {
        self.0 += rhs.0;
    }
}

impl Add for ChipHours {
    type Output = ChipHours;
    fn add(self, rhs: ChipHours) -> ChipHours {
        ChipHours(self.0 + rhs.0)
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.2}", self.0)
    }
}

impl fmt::Display for UsdPerHour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.2}/h", self.0)
    }
}

impl fmt::Display for ChipHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} chip-h", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_chip_divides_by_chip_count() {
        assert_eq!(UsdPerHour(16.80).per_chip(4), UsdPerHour(4.20));
    }

    #[test]
    fn rate_times_hours_is_money() {
        assert_eq!(UsdPerHour(2.0) * 3.5, Usd(7.0));
    }
}
