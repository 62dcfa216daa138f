//! The validated job spec and its parts.

use crate::Usd;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Which dialect a spec was written in; both share one grammar, this only says whether any
/// Spillway-only field was used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// Only fields of the SkyPilot task subset.
    Skypilot,
    /// At least one Spillway-only field (tenant, priority, work, deadline, budget, checkpoint,
    /// max_restarts).
    Spillway,
}

/// A validated job spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Human name (letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// The tenant the job is for; the service checks it against the caller's token.
    pub tenant: Option<String>,
    /// Commands run once before `run`, under `bash -c`.
    pub setup: Option<String>,
    /// The job's commands, run under `bash -c`; exit code 0 means success.
    pub run: String,
    /// Working directory of the job.
    pub workdir: Option<String>,
    /// Extra environment variables.
    pub envs: BTreeMap<String, String>,
    /// What the job needs to run.
    pub resources: Resources,
    /// Nodes used at once (gang).
    pub num_nodes: u32,
    /// 0 (lowest) to 1000 (highest); higher priority is placed first and may preempt lower.
    pub priority: u32,
    /// How long the job runs, as its author estimates it.
    pub work: Option<WorkEstimate>,
    /// When the job should be done.
    pub deadline: Option<Deadline>,
    /// The most the job may cost.
    pub budget: Option<Usd>,
    /// How the job saves and resumes its progress.
    pub checkpoint: Option<Checkpoint>,
    /// How many times a failed or lost job is started again.
    pub max_restarts: u32,
}

/// The accelerators a job can use, as alternatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Resources {
    /// Acceptable accelerator alternatives; empty for a CPU-only job.
    pub accelerators: Vec<AcceleratorChoice>,
    /// Whether the alternatives are in order of preference or equally good.
    pub order: ChoiceOrder,
    /// Whether spot (preemptible) capacity is acceptable.
    pub use_spot: bool,
    /// CPUs per node, as SkyPilot writes it (`8`, `8+`); advisory for the local executor.
    pub cpus: Option<String>,
    /// Memory per node in GiB, as SkyPilot writes it (`32`, `32+`); advisory.
    pub memory: Option<String>,
    /// Restricts placement to pools with this name or executor (`local`, `slurm`).
    pub infra: Option<String>,
}

/// How a job's accelerator alternatives are weighed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceOrder {
    /// First alternative preferred, then the next (a YAML list, or `ordered:`).
    #[default]
    Ordered,
    /// Any alternative is as good as another (a YAML map or set, or `any_of:`).
    AnyOf,
}

/// One acceptable accelerator type and how many of it the job uses per node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceleratorChoice {
    /// Canonical accelerator name (`H100`).
    pub accelerator: String,
    /// Chips per node.
    pub count: u32,
}

impl fmt::Display for AcceleratorChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.accelerator, self.count)
    }
}

/// The author's estimate of a job's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkEstimate {
    /// Run time on the preferred alternative, seconds.
    Seconds(u64),
    /// Training steps.
    Steps(u64),
}

/// When a job should be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// An absolute time, milliseconds since the Unix epoch.
    AtUnixMs(i64),
    /// Seconds after submission; the service turns it into an absolute time at submit.
    AfterSecs(u64),
}

/// Checkpointing: how often the job saves itself and how it resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// How often the job checkpoints, seconds.
    pub interval_secs: Option<u64>,
    /// Command run instead of `run` when a preempted or lost job starts again.
    pub resume: Option<String>,
}

/// A spec as parsed, with the dialect it used and what was ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParsedSpec {
    /// The validated spec.
    pub spec: JobSpec,
    /// Which dialect it was written in.
    pub dialect: Dialect,
    /// Fields accepted but without effect.
    pub warnings: Vec<super::SpecWarning>,
}
