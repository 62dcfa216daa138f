//! Why a plan cannot be made: bad input (naming the field and how to fix it), an infeasible
//! service level (naming the binding constraint), or a solver failure.

use std::path::PathBuf;

/// Everything that can go wrong, typed. Messages are lowercase and read after "failed to ...".
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("read plan file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The TOML did not parse (unknown key, wrong type, missing key): the message has the line.
    #[error("parse plan file: {message}")]
    Parse { message: String },
    /// A field has a value that is out of range, unknown, or contradicts another field.
    #[error("plan field `{field}`: {message}")]
    Field { field: String, message: String },
    /// A workload class that no supply option can run.
    #[error(
        "plan field `class[{index}]` ({name}, framework {framework}): no supply option can run it; \
         the options offer {offered}; add a [[rent]], [[build]] or [[owned]] of an accelerator \
         that {framework} jobs run on"
    )]
    Unservable {
        index: usize,
        name: String,
        framework: String,
        offered: String,
    },
    /// The service level cannot be met with the capacity the options allow.
    #[error(
        "the service level {service_level} cannot be met: {binding}; raise the capacity limits \
         named there, or lower [plan] service_level"
    )]
    Infeasible { service_level: f64, binding: String },
    /// `--contract` did not parse.
    #[error("parse --contract '{text}': {message}")]
    Contract { text: String, message: String },
    /// The solver failed or ran out of time without a solution.
    #[error("solve the plan with HiGHS: {message}")]
    Solver { message: String },
}

impl PlanError {
    /// A field error.
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> PlanError {
        PlanError::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}
