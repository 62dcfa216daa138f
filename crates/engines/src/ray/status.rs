//! Ray job statuses and the job details the Jobs API returns.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// Ray's `JobStatus`. Unknown names are kept so a newer Ray cannot break parsing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RayJobStatus {
    /// Accepted but not started: waiting for the entrypoint's resources, or for its
    /// runtime environment to be set up. Ray never fails a job whose resources do not exist.
    Pending,
    Running,
    Stopped,
    Succeeded,
    Failed,
    Other(String),
}

impl RayJobStatus {
    pub fn parse(name: &str) -> Self {
        match name {
            "PENDING" => Self::Pending,
            "RUNNING" => Self::Running,
            "STOPPED" => Self::Stopped,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED" => Self::Failed,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Stopped | Self::Succeeded | Self::Failed)
    }
}

impl fmt::Display for RayJobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Stopped => "STOPPED",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Other(name) => name,
        })
    }
}

impl<'de> Deserialize<'de> for RayJobStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|name| Self::parse(&name))
    }
}

/// `GET /api/jobs/{submission_id}`: the fields a broker uses.
#[derive(Clone, Debug, Deserialize)]
pub struct RayJobInfo {
    #[serde(default)]
    pub submission_id: Option<String>,
    pub status: RayJobStatus,
    #[serde(default)]
    pub entrypoint: String,
    /// Ray's explanation of the status, e.g. why a job failed.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_type: Option<String>,
    /// Milliseconds since the Unix epoch.
    #[serde(default)]
    pub start_time: Option<u64>,
    #[serde(default)]
    pub end_time: Option<u64>,
    /// The entrypoint's exit code once it has ended.
    #[serde(default)]
    pub driver_exit_code: Option<i32>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ray_2_60_job_details_parse() {
        // Trimmed from a real answer of Ray 2.60.0.
        let info: RayJobInfo = serde_json::from_str(
            r#"{"type": "SUBMISSION", "job_id": null, "submission_id": "t-1", "driver_info": null,
                "status": "SUCCEEDED", "entrypoint": "echo hello", "message": "Job finished successfully.",
                "error_type": null, "start_time": 1795948824122, "end_time": 1795948826224,
                "metadata": {"spillway": "1"}, "runtime_env": {"env_vars": {"A": "1"}},
                "driver_exit_code": 0}"#,
        )
        .unwrap();
        assert_eq!(info.status, RayJobStatus::Succeeded);
        assert!(info.status.is_terminal());
        assert_eq!(info.driver_exit_code, Some(0));
        assert_eq!(info.submission_id.as_deref(), Some("t-1"));
        assert_eq!(
            RayJobStatus::parse("QUEUED"),
            RayJobStatus::Other("QUEUED".into())
        );
        assert!(!RayJobStatus::Pending.is_terminal());
    }
}
