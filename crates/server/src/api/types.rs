//! Request and response bodies of the API, with their OpenAPI schemas.

use crate::job::{Attempt, AttemptOutcome, Job, JobEvent, JobState};
use crate::service::{ContractStanding, PoolStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A job to submit: the spec as YAML text (either dialect) or as a JSON object, with the
/// values of the envs and secrets it leaves without one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The spec as YAML text.
    pub yaml: Option<String>,
    /// The spec as a JSON object (same fields as the YAML).
    #[schema(value_type = Option<Object>)]
    pub spec: Option<serde_json::Value>,
    /// Values of `envs` (`NAME: value`): fill those the spec leaves null, override the others.
    #[serde(default)]
    pub envs: std::collections::BTreeMap<String, String>,
    /// Values of `secrets` (`NAME: value`). They reach the job's process as environment
    /// variables and are never stored with the spec nor shown by any endpoint.
    #[serde(default)]
    pub secrets: std::collections::BTreeMap<String, String>,
    /// The id of a job this one runs after: it starts once that job has succeeded and is
    /// cancelled if that job fails or is cancelled.
    pub after: Option<i64>,
}

// By hand, so that a secret's value never reaches a log line.
impl std::fmt::Debug for SubmitRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmitRequest")
            .field("yaml", &self.yaml)
            .field("spec", &self.spec)
            .field("envs", &self.envs)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("after", &self.after)
            .finish()
    }
}

/// A submitted job.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitResponse {
    /// Its id.
    pub id: i64,
    /// Its state now.
    pub state: JobState,
    /// False when an `Idempotency-Key` matched an earlier submit (this is that job).
    pub created: bool,
    /// `skypilot` or `spillway`.
    pub dialect: String,
    /// Fields accepted without effect (`path: ignored: why`).
    pub warnings: Vec<String>,
}

/// A job, as listed and shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its tenant.
    pub tenant: String,
    /// Where it is in its life.
    pub state: JobState,
    /// 0 to 1000.
    pub priority: u32,
    /// Accelerator alternatives (`H100:8`; TPUs in both forms, `tpu-v5p-32 = 16 chips`),
    /// empty for CPU-only.
    pub accelerators: Vec<String>,
    /// `ordered` or `any_of`.
    pub choice: String,
    /// Submit time, ms since the epoch.
    pub submitted_ms: i64,
    /// When it finished, ms since the epoch.
    pub finished_ms: Option<i64>,
    /// Absolute deadline, ms since the epoch.
    pub deadline_ms: Option<i64>,
    /// Attempts launched.
    pub attempts: u32,
    /// Restarts used.
    pub restarts: u32,
    /// Times it was preempted and requeued (spot reclaims, higher-priority jobs, engines).
    #[serde(default)]
    pub preemptions: u32,
    /// Exit code of the last finished attempt.
    pub exit_code: Option<i32>,
    /// The last thing that happened, in words.
    pub message: String,
    /// For a queued job that a scheduling round has considered: the short form of why it
    /// waits (`no_capacity`, `pool_full`, `accelerator_quota`, ...), as `squeue` shows REASON;
    /// `GET /v1/jobs/{id}/explain` gives it in words. Filled in by the job list only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The pool of its latest attempt (where it runs or last ran); absent before its first.
    /// Filled in by the job list and by show.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// The validated spec.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
}

impl From<&Job> for JobView {
    fn from(j: &Job) -> JobView {
        JobView {
            id: j.id.0,
            name: j.spec.name.clone(),
            tenant: j.tenant.clone(),
            state: j.state,
            priority: j.spec.priority,
            accelerators: j
                .spec
                .resources
                .accelerators
                .iter()
                .map(|c| j.spec.resources.describe(c))
                .collect(),
            choice: match j.spec.resources.order {
                spillway_model::spec::ChoiceOrder::Ordered => "ordered".into(),
                spillway_model::spec::ChoiceOrder::AnyOf => "any_of".into(),
            },
            submitted_ms: j.submitted_ms,
            finished_ms: j.finished_ms,
            deadline_ms: j.deadline_ms,
            attempts: j.attempts,
            restarts: j.restarts,
            preemptions: j.preemptions,
            exit_code: j.exit_code,
            message: j.message.clone(),
            reason: None,
            pool: None,
            spec: serde_json::to_value(&j.spec).unwrap_or_default(),
        }
    }
}

/// A list of jobs, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    /// The jobs.
    pub jobs: Vec<JobView>,
    /// When the page is full: pass it as `before` for the next page (older jobs); absent on
    /// the last page.
    #[serde(default)]
    pub next_before: Option<i64>,
}

/// One launch of a job.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    /// 1, 2, ...
    pub number: u32,
    /// Pool it ran on.
    pub pool: String,
    /// Accelerator indices it was handed.
    pub accelerators: Vec<u32>,
    /// Whether it ran the checkpoint's resume command.
    pub resumed: bool,
    /// Process id.
    pub pid: Option<u32>,
    /// The engine's id for it: a Slurm job id, a Ray submission id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Start, ms since the epoch.
    pub started_ms: i64,
    /// End, ms since the epoch.
    pub ended_ms: Option<i64>,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// Exit code.
    pub exit_code: Option<i32>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> AttemptView {
        AttemptView {
            number: a.number,
            pool: a.pool,
            accelerators: a.accelerators,
            resumed: a.resumed,
            pid: a.pid,
            external_id: a.external_id,
            started_ms: a.started_ms,
            ended_ms: a.ended_ms,
            outcome: a.outcome,
            exit_code: a.exit_code,
        }
    }
}

/// A job with its attempts and events.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobDetail {
    /// The job.
    pub job: JobView,
    /// Its attempts, first first.
    pub attempts: Vec<AttemptView>,
    /// What happened to it, oldest first.
    pub events: Vec<JobEvent>,
}

/// Why a job waits, or runs where it runs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    /// The job.
    pub id: i64,
    /// Its state.
    pub state: JobState,
    /// The scheduler's reason, in words.
    pub reason: String,
    /// The decision core's policy that gave the reason (`[scheduler] policy`).
    pub policy: String,
    /// Where the scheduler's estimate of its work comes from, for a job not finished:
    /// `2.0 h from the spec`, `1.5 h estimated from 7 earlier runs of "train" (tenant
    /// acme)`, `unknown (no earlier successful run of "train")`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<String>,
    /// What happened to it, oldest first.
    pub events: Vec<JobEvent>,
}

/// A piece of a job's log.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LogChunk {
    /// The text from `offset` (invalid UTF-8 replaced).
    pub data: String,
    /// Byte offset to ask for next.
    pub next_offset: u64,
    /// The job's state.
    pub state: JobState,
    /// True when the job is finished and the log fully read.
    pub eof: bool,
}

/// The pools.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PoolList {
    /// The decision core's policy (`[scheduler] policy`).
    pub policy: String,
    /// The pools, as declared.
    pub pools: Vec<PoolStatus>,
}

/// Accelerator time and spend of one tenant on one pool.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PoolUsage {
    /// The pool.
    pub pool: String,
    /// Accelerator-hours used (running attempts counted up to now).
    pub chip_hours: f64,
    /// Spend at the pool's price, USD.
    pub usd: f64,
    /// Attempts counted.
    pub attempts: u64,
}

/// One tenant's usage.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TenantUsage {
    /// The tenant.
    pub tenant: String,
    /// Per pool.
    pub pools: Vec<PoolUsage>,
    /// Total accelerator-hours.
    pub chip_hours: f64,
    /// Total spend, USD.
    pub usd: f64,
}

/// The committed-spend contracts, from real usage.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContractList {
    /// When the report was made, ms since the epoch.
    pub at_ms: i64,
    /// One per configured contract, in config order.
    pub contracts: Vec<ContractStanding>,
}

/// Usage of the tenants the caller may see.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UsageReport {
    /// Per tenant.
    pub tenants: Vec<TenantUsage>,
    /// Every pool rented by VMs (`block` > 1): what its VMs were rented for, which is what it
    /// is billed, against the accelerator time the tenants used.
    #[serde(default)]
    pub rented: Vec<RentedUsage>,
}

/// A pool rented by VMs: each VM is paid for while any job holds one of its accelerators.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RentedUsage {
    /// The pool.
    pub pool: String,
    /// Accelerators per VM.
    pub block: u32,
    /// VM-hours rented (running attempts counted up to now).
    pub vm_hours: f64,
    /// What they cost at the pool's price, USD: VM-hours x block x price per accelerator-hour.
    pub usd: f64,
    /// Accelerator-hours rented that no job held.
    pub idle_chip_hours: f64,
    /// What those cost, USD (included in `usd`, charged to no tenant).
    pub idle_usd: f64,
}
