//! Serde models of `squeue --json` and `sacct --json`, tolerant of the shapes different Slurm
//! versions print: 22.05 (OpenAPI v0.0.38) writes `job_state` as a string and `exit_code` as
//! a raw wait status; 23.02 and later write state lists and `{set, infinite, number}` numbers
//! and an `exit_code` object. Only the fields a broker needs are read; every one of them may
//! be missing.

use serde::Deserialize;

use super::state::{ExitStatus, SlurmJobId, SlurmJobState, SlurmJobStatus};

/// The top level of both commands' output.
#[derive(Debug, Deserialize)]
pub(crate) struct JobsDocument<J> {
    #[serde(default = "Vec::new")]
    pub(crate) jobs: Vec<J>,
    #[serde(default)]
    pub(crate) errors: Vec<serde_json::Value>,
}

/// A state written as one name or as a list whose first entry is the base state.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum StateField {
    One(String),
    Many(Vec<String>),
}

impl StateField {
    fn base(&self) -> Option<&str> {
        match self {
            Self::One(name) => Some(name),
            Self::Many(names) => names.first().map(String::as_str),
        }
    }

    fn contains(&self, wanted: &str) -> bool {
        match self {
            Self::One(name) => name == wanted,
            Self::Many(names) => names.iter().any(|n| n == wanted),
        }
    }
}

/// A number written plainly or as `{ "set": true, "infinite": false, "number": 3 }`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum NumberField {
    Plain(i64),
    Float(f64),
    Wrapped {
        #[serde(default = "default_true")]
        set: bool,
        #[serde(default)]
        number: Option<i64>,
    },
}

fn default_true() -> bool {
    true
}

impl NumberField {
    fn value(&self) -> Option<i64> {
        match self {
            Self::Plain(n) => Some(*n),
            Self::Float(x) => Some(*x as i64),
            Self::Wrapped { set, number } => number.filter(|_| *set),
        }
    }
}

/// A signal in a detailed exit code: `{signal_id, name}` (v0.0.38) or `{id, name}` (later).
#[derive(Debug, Deserialize)]
pub(crate) struct SignalField {
    #[serde(default, alias = "signal_id")]
    id: Option<NumberField>,
}

/// `exit_code` as a raw wait status (22.05 squeue) or as an object (sacct, later squeue).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum ExitCodeField {
    Raw(i64),
    Detailed {
        #[serde(default)]
        status: Option<StateField>,
        #[serde(default)]
        return_code: Option<NumberField>,
        #[serde(default)]
        signal: Option<SignalField>,
    },
}

impl ExitCodeField {
    fn decode(&self) -> Option<ExitStatus> {
        match self {
            Self::Raw(raw) => Some(ExitStatus::from_wait_status(*raw)),
            Self::Detailed {
                status,
                return_code,
                signal,
            } => {
                let signal_id = signal
                    .as_ref()
                    .and_then(|s| s.id.as_ref())
                    .and_then(NumberField::value)
                    .filter(|id| *id != 0);
                let signaled = status.as_ref().is_some_and(|s| s.contains("SIGNALED"));
                match (signaled, signal_id) {
                    (_, Some(id)) if signaled || return_code.is_none() => {
                        Some(ExitStatus::Signal(id as i32))
                    }
                    _ => return_code
                        .as_ref()
                        .and_then(NumberField::value)
                        .map(|code| ExitStatus::Code(code as i32)),
                }
            }
        }
    }
}

/// A comment written as a string (squeue) or as `{job, administrator, system}` (sacct).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum CommentField {
    Plain(String),
    Parts {
        #[serde(default)]
        job: Option<String>,
    },
}

impl CommentField {
    fn text(&self) -> String {
        match self {
            Self::Plain(text) => text.clone(),
            Self::Parts { job } => job.clone().unwrap_or_default(),
        }
    }
}

/// One job of `squeue --json`.
#[derive(Debug, Deserialize)]
pub(crate) struct SqueueJob {
    job_id: NumberField,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    partition: Option<String>,
    #[serde(default)]
    job_state: Option<StateField>,
    #[serde(default)]
    state_reason: Option<String>,
    #[serde(default)]
    exit_code: Option<ExitCodeField>,
    #[serde(default)]
    restart_cnt: Option<NumberField>,
    #[serde(default)]
    nodes: Option<String>,
    #[serde(default)]
    gres_detail: Option<Vec<String>>,
    #[serde(default)]
    comment: Option<CommentField>,
}

/// The `state` object of one `sacct --json` job.
#[derive(Debug, Deserialize)]
pub(crate) struct SacctState {
    #[serde(default)]
    current: Option<StateField>,
    #[serde(default)]
    reason: Option<String>,
}

/// One job of `sacct --json`.
#[derive(Debug, Deserialize)]
pub(crate) struct SacctJob {
    job_id: NumberField,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    partition: Option<String>,
    #[serde(default)]
    state: Option<SacctState>,
    #[serde(default)]
    exit_code: Option<ExitCodeField>,
    #[serde(default)]
    restart_cnt: Option<NumberField>,
    #[serde(default)]
    nodes: Option<String>,
    #[serde(default)]
    comment: Option<CommentField>,
}

fn job_id(field: &NumberField) -> Option<SlurmJobId> {
    field
        .value()
        .and_then(|id| u64::try_from(id).ok())
        .map(SlurmJobId)
}

fn count(field: Option<&NumberField>) -> u32 {
    field
        .and_then(NumberField::value)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0)
}

fn state_of(field: Option<&StateField>) -> SlurmJobState {
    field
        .and_then(StateField::base)
        .map_or_else(|| SlurmJobState::Other(String::new()), SlurmJobState::parse)
}

impl SqueueJob {
    /// `None` for an entry without a usable job id.
    pub(crate) fn into_status(self) -> Option<SlurmJobStatus> {
        let state = state_of(self.job_state.as_ref());
        // squeue reports exit_code 0 for jobs that have not ended: only a terminal state
        // makes it meaningful.
        let exit = if state.is_terminal() {
            self.exit_code.as_ref().and_then(ExitCodeField::decode)
        } else {
            None
        };
        Some(SlurmJobStatus {
            job_id: job_id(&self.job_id)?,
            name: self.name.unwrap_or_default(),
            partition: self.partition.unwrap_or_default(),
            state,
            reason: self.state_reason.unwrap_or_default(),
            exit,
            restarts: count(self.restart_cnt.as_ref()),
            nodes: self.nodes.unwrap_or_default(),
            gres_detail: self.gres_detail.unwrap_or_default(),
            comment: self
                .comment
                .as_ref()
                .map(CommentField::text)
                .unwrap_or_default(),
        })
    }
}

impl SacctJob {
    pub(crate) fn into_status(self) -> Option<SlurmJobStatus> {
        let state = state_of(self.state.as_ref().and_then(|s| s.current.as_ref()));
        let exit = if state.is_terminal() {
            self.exit_code.as_ref().and_then(ExitCodeField::decode)
        } else {
            None
        };
        Some(SlurmJobStatus {
            job_id: job_id(&self.job_id)?,
            name: self.name.unwrap_or_default(),
            partition: self.partition.unwrap_or_default(),
            state,
            reason: self.state.and_then(|s| s.reason).unwrap_or_default(),
            exit,
            restarts: count(self.restart_cnt.as_ref()),
            nodes: self.nodes.unwrap_or_default(),
            gres_detail: Vec::new(),
            comment: self
                .comment
                .as_ref()
                .map(CommentField::text)
                .unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn squeue(text: &str) -> Vec<SlurmJobStatus> {
        let doc: JobsDocument<SqueueJob> = serde_json::from_str(text).unwrap();
        doc.jobs
            .into_iter()
            .filter_map(SqueueJob::into_status)
            .collect()
    }

    #[test]
    fn slurm_22_05_squeue_shapes_parse() {
        // Trimmed from real `squeue --json` output of Slurm 22.05.8 (Debian 12).
        let jobs = squeue(
            r#"{"meta": {"Slurm": {"release": "22.05.8"}}, "errors": [], "jobs": [
              {"job_id": 1, "job_state": "FAILED", "exit_code": 768, "restart_cnt": 0,
               "state_reason": "NonZeroExitCode", "name": "t1", "partition": "batch",
               "nodes": "vm", "gres_detail": [], "comment": "", "array_task_id": null},
              {"job_id": 2, "job_state": "PENDING", "exit_code": 0, "restart_cnt": 1,
               "state_reason": "BeginTime", "gres_detail": []},
              {"job_id": 3, "job_state": "RUNNING", "exit_code": 0,
               "gres_detail": ["gpu:h100:2(IDX:4-5)"], "comment": "spillway:job-7"},
              {"job_id": 4, "job_state": "CANCELLED", "exit_code": 15}]}"#,
        );
        assert_eq!(jobs.len(), 4);
        assert_eq!(jobs[0].state, SlurmJobState::Failed);
        assert_eq!(jobs[0].exit, Some(ExitStatus::Code(3)));
        assert_eq!(jobs[1].restarts, 1);
        assert_eq!(jobs[1].reason, "BeginTime");
        assert_eq!(jobs[1].exit, None);
        assert_eq!(jobs[2].gres_detail, ["gpu:h100:2(IDX:4-5)"]);
        assert_eq!(jobs[2].comment, "spillway:job-7");
        assert_eq!(jobs[3].exit, Some(ExitStatus::Signal(15)));
    }

    #[test]
    fn later_slurm_squeue_shapes_parse() {
        // The shapes of Slurm 23.02+ (data_parser v0.0.39 and later).
        let jobs = squeue(
            r#"{"jobs": [
              {"job_id": 9, "job_state": ["COMPLETED"],
               "exit_code": {"status": ["SUCCESS"], "return_code": {"set": true, "infinite": false, "number": 0},
                             "signal": {"id": {"set": false, "infinite": false, "number": 0}, "name": ""}},
               "restart_cnt": 2},
              {"job_id": 10, "job_state": ["CANCELLED"],
               "exit_code": {"status": ["SIGNALED"], "return_code": {"set": true, "number": 0},
                             "signal": {"id": {"set": true, "number": 15}, "name": "TERM"}}},
              {"job_id": 11, "job_state": ["PENDING", "REQUEUED"]}]}"#,
        );
        assert_eq!(jobs[0].state, SlurmJobState::Completed);
        assert_eq!(jobs[0].exit, Some(ExitStatus::Code(0)));
        assert_eq!(jobs[0].restarts, 2);
        assert_eq!(jobs[1].exit, Some(ExitStatus::Signal(15)));
        assert_eq!(jobs[2].state, SlurmJobState::Pending);
    }

    #[test]
    fn sacct_shapes_parse() {
        // v0.0.38 (22.05) writes state as {current, reason} and exit_code as an object.
        let doc: JobsDocument<SacctJob> = serde_json::from_str(
            r#"{"jobs": [
              {"job_id": 5, "name": "a", "state": {"current": "FAILED", "reason": "None"},
               "exit_code": {"status": "FAILED", "return_code": 2},
               "comment": {"job": "spillway:x", "administrator": null}},
              {"job_id": 6, "state": {"current": ["TIMEOUT"]},
               "exit_code": {"status": ["SIGNALED"], "signal": {"signal_id": 9, "name": "KILL"}}}]}"#,
        )
        .unwrap();
        let jobs: Vec<_> = doc
            .jobs
            .into_iter()
            .filter_map(SacctJob::into_status)
            .collect();
        assert_eq!(jobs[0].state, SlurmJobState::Failed);
        assert_eq!(jobs[0].exit, Some(ExitStatus::Code(2)));
        assert_eq!(jobs[0].comment, "spillway:x");
        assert_eq!(jobs[1].state, SlurmJobState::Timeout);
        assert_eq!(jobs[1].exit, Some(ExitStatus::Signal(9)));
    }
}
