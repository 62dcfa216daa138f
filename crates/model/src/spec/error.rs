//! Errors and warnings of spec validation, each tied to the path of its field.

use std::fmt;

/// One problem with a spec: the path of the field (`resources.accelerators[1]`; empty for the
/// document itself) and what is wrong with it, including how to fix it where that is known.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpecError {
    /// Dotted path of the field at fault, with `[i]` for list items.
    pub path: String,
    /// What is wrong, in lowercase words.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one spec (validation goes on after the first, so a user fixes them
/// all in one pass). Displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Something in a spec that is accepted but has no effect (a SkyPilot field Spillway does not
/// use). Reported to the user so that nothing is dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpecWarning {
    /// Dotted path of the field.
    pub path: String,
    /// Why it has no effect.
    pub message: String,
}

impl fmt::Display for SpecWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
