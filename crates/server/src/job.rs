//! The service's records of jobs and their attempts, as stored and as the API shows them.

use serde::{Deserialize, Serialize};
use spillway_model::spec::JobSpec;
use std::fmt;
use std::str::FromStr;

/// A job's id: assigned by the store at submit, increasing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for JobId {
    type Err = String;
    fn from_str(s: &str) -> Result<JobId, String> {
        s.trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(JobId)
            .ok_or_else(|| format!("invalid job id '{s}': job ids are positive whole numbers"))
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for a place.
    Queued,
    /// An attempt has been launched.
    Running,
    /// The last attempt exited 0.
    Succeeded,
    /// The last attempt failed (or was lost) and no restarts were left.
    Failed,
    /// Cancelled by its tenant or an admin.
    Cancelled,
}

impl JobState {
    /// Every state, in life order.
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Whether the job will change no more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<JobState, String> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown state '{s}': expected one of queued, running, succeeded, failed, cancelled"
                )
            })
    }
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// The tenant it belongs to.
    pub tenant: String,
    /// The validated spec.
    pub spec: JobSpec,
    /// Where it is in its life.
    pub state: JobState,
    /// When it was submitted, ms since the epoch.
    pub submitted_ms: i64,
    /// Its deadline as an absolute time, if it has one.
    pub deadline_ms: Option<i64>,
    /// Attempts launched so far.
    pub attempts: u32,
    /// Restarts used after failures or losses (preemptions do not count).
    pub restarts: u32,
    /// Times it was preempted and requeued: for a higher-priority job, or because its spot
    /// pool reclaimed the capacity.
    pub preemptions: u32,
    /// Exit code of the last finished attempt.
    pub exit_code: Option<i32>,
    /// The last thing that happened to it, in words.
    pub message: String,
    /// When it reached a final state.
    pub finished_ms: Option<i64>,
}

/// How an attempt ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttemptOutcome {
    /// Recorded before launch; the process may or may not exist yet.
    Starting,
    /// The process runs.
    Running,
    /// Exited 0.
    Succeeded,
    /// Exited non-zero (or was killed by a signal).
    Failed,
    /// Killed because its job was cancelled.
    Cancelled,
    /// Stopped to make room for higher-priority work, or because its spot pool reclaimed
    /// the capacity; the job is requeued.
    Preempted,
    /// The process vanished without an exit status (machine restart, external kill).
    Lost,
    /// Recorded but, as recovery proved, never launched.
    NotStarted,
    /// The launch failed for lack of capacity on its pool (a stockout): nothing ran, and the
    /// job went on to another pool.
    NoCapacity,
}

impl AttemptOutcome {
    /// The lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Starting => "starting",
            AttemptOutcome::Running => "running",
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Cancelled => "cancelled",
            AttemptOutcome::Preempted => "preempted",
            AttemptOutcome::Lost => "lost",
            AttemptOutcome::NotStarted => "notstarted",
            AttemptOutcome::NoCapacity => "nocapacity",
        }
    }

    /// Parses [`AttemptOutcome::as_str`]'s output.
    pub fn parse(s: &str) -> Option<AttemptOutcome> {
        [
            AttemptOutcome::Starting,
            AttemptOutcome::Running,
            AttemptOutcome::Succeeded,
            AttemptOutcome::Failed,
            AttemptOutcome::Cancelled,
            AttemptOutcome::Preempted,
            AttemptOutcome::Lost,
            AttemptOutcome::NotStarted,
            AttemptOutcome::NoCapacity,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }

    /// Whether the attempt may still hold a live process.
    pub fn is_live(self) -> bool {
        matches!(self, AttemptOutcome::Starting | AttemptOutcome::Running)
    }
}

/// One launch of a job on a pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The job.
    pub job: JobId,
    /// 1 for the first launch, then 2, 3...
    pub number: u32,
    /// The pool it runs on.
    pub pool: String,
    /// Indices of the pool's accelerators it was handed.
    pub accelerators: Vec<u32>,
    /// Whether it ran the checkpoint's resume command instead of `run`.
    pub resumed: bool,
    /// The process id, once launched.
    pub pid: Option<u32>,
    /// The process start time (clock ticks since boot, /proc/PID/stat field 22): with the pid,
    /// it identifies the process across a server restart even if the pid is reused.
    pub pid_start: Option<u64>,
    /// The engine's own id for it (Slurm job id, Ray submission id), for other executors.
    pub external_id: Option<String>,
    /// When it was recorded.
    pub started_ms: i64,
    /// When it ended.
    pub ended_ms: Option<i64>,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The exit code, if the process exited by itself.
    pub exit_code: Option<i32>,
}

impl Attempt {
    /// When it ended, or `now_ms` while it runs, within `[started_ms, now_ms]`: the end every
    /// report of time held (usage, rented VMs, the dashboard's history) counts to.
    pub fn end_by(&self, now_ms: i64) -> i64 {
        self.ended_ms
            .unwrap_or(now_ms)
            .min(now_ms)
            .max(self.started_ms)
    }
}

#[cfg(test)]
impl Attempt {
    /// A succeeded (or, without an end, running) attempt of job 1 on pool `od` holding
    /// `accelerators`: what the billing tests need of one.
    pub(crate) fn on_od(accelerators: Vec<u32>, started_ms: i64, ended_ms: Option<i64>) -> Attempt {
        Attempt {
            job: JobId(1),
            number: 1,
            pool: "od".to_string(),
            accelerators,
            resumed: false,
            pid: None,
            pid_start: None,
            external_id: None,
            started_ms,
            ended_ms,
            outcome: AttemptOutcome::Succeeded,
            exit_code: None,
        }
    }
}

/// Something that happened to a job, for `show` and `explain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobEvent {
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// Short kind: submitted, started, succeeded, failed, preempt (asked to stop), preempted,
    /// launch_failed (refused for lack of capacity), blocked (what the failover memory blocks),
    /// cancel, cancelled, requeued, lost, adopted.
    pub kind: String,
    /// What happened, in words.
    pub message: String,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
