//! Validated inputs of the estimators: parameter and token counts, MFU and chip counts.
//!
//! Each type can only be built through `new`, which rejects values that would make an estimate
//! meaningless (zero or negative sizes, an MFU above 1). Each error names the input the way the
//! `spillway estimate` flag does (`params`, `tokens`, `mfu`, `chips`), so the CLI can pass the
//! message through unchanged.

use serde::Serialize;
use std::num::NonZeroU32;

/// Why an input of an estimate is out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// `params` is zero, negative or not a finite number.
    #[error("params must be a positive number of model parameters such as 70e9, got {0}")]
    Params(f64),
    /// `tokens` is zero, negative or not a finite number.
    #[error("tokens must be a positive number of training tokens such as 1.4e12, got {0}")]
    Tokens(f64),
    /// `mfu` is outside (0, 1].
    #[error(
        "mfu must be a fraction of peak in (0, 1] such as 0.4, got {0}; \
         typical training runs reach 0.2-0.55"
    )]
    Mfu(f64),
    /// `chips` is zero.
    #[error("chips must be at least 1, got 0")]
    Chips,
    /// `steps` is zero.
    #[error("steps must be at least 1, got 0")]
    Steps,
}

/// A positive, finite number of model parameters.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct ParamCount(f64);

impl ParamCount {
    /// Validates a parameter count.
    pub fn new(params: f64) -> Result<ParamCount, InputError> {
        positive(params)
            .map(ParamCount)
            .ok_or(InputError::Params(params))
    }

    /// The count.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// A positive, finite number of training tokens.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct TokenCount(f64);

impl TokenCount {
    /// Validates a token count.
    pub fn new(tokens: f64) -> Result<TokenCount, InputError> {
        positive(tokens)
            .map(TokenCount)
            .ok_or(InputError::Tokens(tokens))
    }

    /// The count.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// Model FLOPs utilization: the fraction of the chips' peak FLOP/s a run achieves, in (0, 1].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Mfu(f64);

impl Mfu {
    /// The default, 0.4: a well-tuned large dense transformer run on current GPUs or TPUs.
    pub const DEFAULT: Mfu = Mfu(0.4);

    /// Validates an MFU.
    pub fn new(mfu: f64) -> Result<Mfu, InputError> {
        if mfu > 0.0 && mfu <= 1.0 {
            Ok(Mfu(mfu))
        } else {
            Err(InputError::Mfu(mfu))
        }
    }

    /// The fraction.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Default for Mfu {
    fn default() -> Mfu {
        Mfu::DEFAULT
    }
}

/// A number of chips, at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ChipCount(NonZeroU32);

impl ChipCount {
    /// Validates a chip count.
    pub fn new(chips: u32) -> Result<ChipCount, InputError> {
        NonZeroU32::new(chips)
            .map(ChipCount)
            .ok_or(InputError::Chips)
    }

    /// The count.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

/// A number of training steps, at least one (measured mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct StepCount(u64);

impl StepCount {
    /// Validates a step count.
    pub fn new(steps: u64) -> Result<StepCount, InputError> {
        if steps == 0 {
            Err(InputError::Steps)
        } else {
            Ok(StepCount(steps))
        }
    }

    /// The count.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// `x` if it is a finite number above zero. NaN fails both comparisons, so it is rejected too.
fn positive(x: f64) -> Option<f64> {
    (x.is_finite() && x > 0.0).then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_tokens_must_be_positive_and_finite() {
        assert_eq!(ParamCount::new(70e9).unwrap().get(), 70e9);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(ParamCount::new(bad), Err(InputError::Params(_))));
            assert!(matches!(TokenCount::new(bad), Err(InputError::Tokens(_))));
        }
        let msg = ParamCount::new(-1.0).unwrap_err().to_string();
        assert_eq!(
            msg,
            "params must be a positive number of model parameters such as 70e9, got -1"
        );
    }

    #[test]
    fn mfu_is_a_fraction_in_the_half_open_unit_interval() {
        assert_eq!(Mfu::new(1.0).unwrap().get(), 1.0);
        assert_eq!(Mfu::new(1e-6).unwrap().get(), 1e-6);
        for bad in [0.0, -0.1, 1.5, 1.000_001, f64::NAN] {
            assert!(Mfu::new(bad).is_err(), "{bad}");
        }
        assert!(
            Mfu::new(1.5)
                .unwrap_err()
                .to_string()
                .starts_with("mfu must be")
        );
        assert_eq!(Mfu::default(), Mfu::new(0.4).unwrap());
    }

    #[test]
    fn chips_and_steps_must_be_nonzero() {
        assert_eq!(ChipCount::new(0), Err(InputError::Chips));
        assert_eq!(ChipCount::new(8).unwrap().get(), 8);
        assert_eq!(StepCount::new(0), Err(InputError::Steps));
        assert_eq!(StepCount::new(1).unwrap().get(), 1);
    }
}
