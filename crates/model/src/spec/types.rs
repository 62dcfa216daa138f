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

/// A git repository to check out as a job's working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitWorkdir {
    /// What `git clone` is given (`https://...`, `git@...`, `file://...` or a path on the
    /// machine that runs the job).
    pub url: String,
    /// What `git checkout` is given after the clone (a branch, tag or commit); the
    /// repository's default branch when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

/// The name of a job whose spec gives none.
pub const DEFAULT_JOB_NAME: &str = "job";

/// A validated job spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Human name (letters, digits, `.`, `_`, `-`); [`DEFAULT_JOB_NAME`] when the spec gives
    /// none.
    pub name: String,
    /// The tenant the job is for; the service checks it against the caller's token.
    pub tenant: Option<String>,
    /// Commands run once before `run`, under `bash -c`.
    pub setup: Option<String>,
    /// The job's commands, run under `bash -c`; exit code 0 means success.
    pub run: String,
    /// Working directory of the job.
    pub workdir: Option<String>,
    /// SkyPilot's git `workdir: {url, ref}`: a checkout made in the job's fresh directory
    /// before `setup` (then `workdir` is `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir_git: Option<GitWorkdir>,
    /// Extra environment variables.
    pub envs: BTreeMap<String, String>,
    /// Names of `envs` written without a value (`HF_TOKEN: null`): given at submit
    /// (`spillway submit --env NAME=VALUE`). A stored job has none left.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unset_envs: Vec<String>,
    /// Names of the job's secrets (`secrets:`), handed to its process as environment
    /// variables. Only the names live in the spec: values are given at submit
    /// (`--secret NAME=VALUE`) or in the file, and kept apart ([`ParsedSpec::secret_values`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
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
    /// The job this one runs after: it starts only once that job has succeeded, and is
    /// cancelled if that job fails or is cancelled. Not a field of the file: set at submit
    /// (`spillway submit --after ID`, or the task before it in a pipeline file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
}

/// The accelerators a job can use, as alternatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Resources {
    /// Acceptable accelerator alternatives; empty for a CPU-only job.
    pub accelerators: Vec<AcceleratorChoice>,
    /// Whether the alternatives are in order of preference or equally good.
    pub order: ChoiceOrder,
    /// `use_spot` of the section: true asks for spot (preemptible) capacity only, SkyPilot's
    /// rule. An alternative of `any_of`/`ordered` may set its own ([`Resources::use_spot_of`]);
    /// when every alternative sets the same value, this is it.
    pub use_spot: bool,
    /// CPUs per node, as SkyPilot writes it (`8`, `8+`); advisory for the local executor.
    pub cpus: Option<String>,
    /// Memory per node in GiB, as SkyPilot writes it (`32`, `32+`); advisory.
    pub memory: Option<String>,
    /// Restricts placement: a pool's name, an executor kind (`local`, `slurm`, `ray`), or
    /// SkyPilot's `cloud[/region[/zone]]` matched against pools' provider, region and zone
    /// ([`super::infra_matches`]). When every alternative names the same, this is it.
    pub infra: Option<String>,
    /// TPU slices named by the job (`tpu-v5p` -> `tpu-v5p-32`), by the accelerator of the
    /// choice they became. Such a choice is one gang of the slice's chips, never less.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tpu_slices: BTreeMap<String, String>,
    /// SkyPilot's `accelerator_args`, kept for the executors that can use them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accelerator_args: Option<AcceleratorArgs>,
    /// What each alternative of `any_of`/`ordered` sets for itself, by the index of its
    /// choice in `accelerators`; empty when no entry sets anything of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<AlternativeFields>,
}

/// The fields one entry of `any_of`/`ordered` sets for itself. SkyPilot reads each entry as a
/// whole resources section over the section's own fields, so an entry's value wins and a
/// missing one falls back to the section's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AlternativeFields {
    /// The entry's own `use_spot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_spot: Option<bool>,
    /// The entry's own `infra`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infra: Option<String>,
}

impl Resources {
    /// Whether the alternative at `index` of `accelerators` asks for spot capacity (only).
    pub fn use_spot_of(&self, index: usize) -> bool {
        self.alternatives
            .get(index)
            .and_then(|a| a.use_spot)
            .unwrap_or(self.use_spot)
    }

    /// The `infra` the alternative at `index` of `accelerators` is restricted to.
    pub fn infra_of(&self, index: usize) -> Option<&str> {
        self.alternatives
            .get(index)
            .and_then(|a| a.infra.as_deref())
            .or(self.infra.as_deref())
    }

    /// A choice as the user reads it back, in both forms for TPUs: `tpu-v5p-32 = 16 chips`
    /// when written as a slice, `tpu-v5p:16 = tpu-v5p-32` when written as chips.
    pub fn describe(&self, choice: &AcceleratorChoice) -> String {
        if let Some(slice) = self.tpu_slices.get(&choice.accelerator) {
            return format!("{slice} = {} chips", choice.count);
        }
        match super::tpu::slice_name(&choice.accelerator, choice.count) {
            Some(slice) => format!("{choice} = {slice}"),
            None => choice.to_string(),
        }
    }
}

/// SkyPilot's `resources.accelerator_args` for TPUs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AcceleratorArgs {
    /// The TPU software version (`tpu-ubuntu2204-base`, `v2-alpha-tpuv5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// TPU VM (true, SkyPilot's default) or the older TPU node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpu_vm: Option<bool>,
    /// Chips along each axis (`2x2x4`); its product is the slice's chip count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topology: Option<String>,
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
    /// Secret values written in the file itself (`secrets: {TOKEN: abc}`); never serialized.
    #[serde(skip)]
    pub secret_values: SecretValues,
}

/// Secret values by name. Its `Debug` shows names only, so that a value never reaches a log
/// line by accident; it is never serialized.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretValues(pub BTreeMap<String, String>);

impl fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}
