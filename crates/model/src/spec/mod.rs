//! Job specifications: what a tenant asks Spillway to run, parsed from YAML (or JSON) and
//! validated into [`JobSpec`].
//!
//! One grammar serves two dialects. The SkyPilot task subset (`name, workdir, num_nodes, envs,
//! setup, run, resources`) is accepted as people already write it; Spillway's own dialect is
//! that subset plus the fields a broker needs (`tenant, priority, work, deadline, budget,
//! checkpoint, max_restarts`). SkyPilot fields that Spillway does not use are reported as
//! warnings, never silently dropped; anything else unknown is an error. Every error names the
//! path of the field at fault (`resources.accelerators[1]`).
//!
//! Accelerator names are checked against a list the caller passes in ([`AcceleratorNames`]),
//! so this crate does no I/O.

mod duration;
mod error;
mod infra;
mod limits;
mod names;
mod parse;
mod resources;
mod submit;
pub mod tpu;
mod types;

pub use duration::{format_duration, parse_duration};
pub use error::{SpecError, SpecErrors, SpecWarning};
pub use infra::{PoolPlace, infra_matches, is_skypilot_infra};
pub use limits::{MAX_DURATION_SECS, MAX_TEXT_BYTES, MAX_TOTAL_BYTES};
pub use names::{ACCELERATOR_ALIASES, AcceleratorNames, skypilot_only};
pub use parse::{expand_workdir, parse_spec, parse_spec_value, parse_specs, task_documents};
pub use submit::{SubmitValues, fill_at_submit};
pub use types::{
    AcceleratorArgs, AcceleratorChoice, AlternativeFields, Checkpoint, ChoiceOrder,
    DEFAULT_JOB_NAME, Deadline, Dialect, GitWorkdir, JobSpec, ParsedSpec, Resources, SecretValues,
    WorkEstimate,
};

#[cfg(test)]
mod tests;
