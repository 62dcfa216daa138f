//! Errors of the Ray client. Each names the request or job and Ray's own answer.

use std::time::Duration;

use super::status::RayJobStatus;

#[derive(Debug, thiserror::Error)]
pub enum RayError {
    #[error("use Ray address {address:?}: {problem}")]
    InvalidAddress { address: String, problem: String },

    #[error("build a Ray job: field `{field}`: {problem}")]
    InvalidSpec {
        field: &'static str,
        problem: String,
    },

    #[error("reach the Ray Jobs API with {method} {url}: {source}; is the Ray head running?")]
    Request {
        method: &'static str,
        url: String,
        source: reqwest::Error,
    },

    #[error("{method} {url}: Ray answered HTTP {status}: {body}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        body: String,
    },

    #[error("read Ray's answer to {method} {url}: {detail}; it began {head:?}")]
    Decode {
        method: &'static str,
        url: String,
        detail: String,
        head: String,
    },

    #[error("find Ray job {submission_id:?} at {address}: Ray does not know it")]
    NotFound {
        submission_id: String,
        address: String,
    },

    #[error(
        "submit Ray job {submission_id:?}: a job with this submission id already exists with \
         another entrypoint ({existing:?}, not {wanted:?}); use a new submission id"
    )]
    SubmissionIdConflict {
        submission_id: String,
        existing: String,
        wanted: String,
    },

    #[error(
        "delete Ray job {submission_id:?}: it is {status}, not settled in a terminal status; \
         stop it and wait for STOPPED, SUCCEEDED or FAILED first"
    )]
    NotSettled {
        submission_id: String,
        status: RayJobStatus,
    },

    #[error(
        "get Ray job {submission_id:?} admitted: still PENDING after {waited:?} (Ray keeps a job \
         pending while no node has the resources it asks for){}",
        message.as_deref().map(|m| format!("; Ray says: {m}")).unwrap_or_default()
    )]
    AdmissionTimeout {
        submission_id: String,
        waited: Duration,
        message: Option<String>,
    },

    #[error("see Ray job {submission_id:?} end: still {status} after {waited:?}")]
    NotFinished {
        submission_id: String,
        status: RayJobStatus,
        waited: Duration,
    },
}
