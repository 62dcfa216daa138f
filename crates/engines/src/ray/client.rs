//! [`RayClient`]: the Ray Jobs REST API (`/api/jobs/`) of one Ray cluster.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::admission::{Admission, AdmissionTimeout};
use super::error::RayError;
use super::spec::RayJobSpec;
use super::status::RayJobInfo;

/// The outcome of a submit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaySubmission {
    pub submission_id: String,
    /// False when a job with this submission id and entrypoint already existed: the submit
    /// was a retry and nothing new was started.
    pub created: bool,
}

/// A client for one Ray cluster's Jobs API. Cheap to clone.
#[derive(Clone, Debug)]
pub struct RayClient {
    /// `http://host:port`, without a trailing slash.
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Logs {
    logs: String,
}

#[derive(Deserialize)]
struct Stopped {
    stopped: bool,
}

#[derive(Deserialize)]
struct Deleted {
    deleted: bool,
}

impl RayClient {
    /// A client for the dashboard at `address`, e.g. `http://127.0.0.1:8265`. Plain HTTP only:
    /// the build carries no TLS stack (reach a remote dashboard through a tunnel or proxy).
    pub fn new(address: &str) -> Result<Self, RayError> {
        let invalid = |problem: &str| RayError::InvalidAddress {
            address: address.to_owned(),
            problem: problem.to_owned(),
        };
        let rest = address
            .strip_prefix("http://")
            .ok_or_else(|| invalid("write it as http://HOST:PORT (https is not supported)"))?;
        let host_port = rest.trim_end_matches('/');
        if host_port.is_empty() || host_port.contains('/') {
            return Err(invalid("write it as http://HOST:PORT, without a path"));
        }
        let http = reqwest::Client::builder()
            // The dashboard is on a known address; a proxy from the environment would only
            // get in the way (and could see job environments).
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| invalid(&error.to_string()))?;
        Ok(Self {
            base: format!("http://{host_port}"),
            http,
        })
    }

    pub fn address(&self) -> &str {
        &self.base
    }

    /// Ray's version (`GET /api/version`), e.g. to check the head answers.
    pub async fn ray_version(&self) -> Result<String, RayError> {
        #[derive(Deserialize)]
        struct Version {
            ray_version: String,
        }
        let version: Version = self.call(Method::GET, "/api/version", None::<&()>).await?;
        Ok(version.ray_version)
    }

    /// Submits a job. Submitting again with the same submission id and entrypoint returns
    /// the existing job (`created: false`) instead of failing, so a retried submit is safe.
    pub async fn submit(&self, spec: &RayJobSpec) -> Result<RaySubmission, RayError> {
        spec.validate()?;
        // The trailing slash matters: Ray answers 404 (or redirects a POST) without it.
        let first = self
            .call::<serde_json::Value>(Method::POST, "/api/jobs/", Some(&spec.body()))
            .await;
        match first {
            Ok(_) => Ok(RaySubmission {
                submission_id: spec.submission_id.clone(),
                created: true,
            }),
            // Ray reports a duplicate submission id as an internal error (500), not 409, with
            // its Python traceback: look at the job it means.
            Err(RayError::Status { status: 500, .. })
            | Err(RayError::Status { status: 409, .. })
                if self.exists(&spec.submission_id).await =>
            {
                let existing = self.status(&spec.submission_id).await?;
                if existing.entrypoint == spec.entrypoint {
                    Ok(RaySubmission {
                        submission_id: spec.submission_id.clone(),
                        created: false,
                    })
                } else {
                    Err(RayError::SubmissionIdConflict {
                        submission_id: spec.submission_id.clone(),
                        existing: existing.entrypoint,
                        wanted: spec.entrypoint.clone(),
                    })
                }
            }
            Err(error) => Err(error),
        }
    }

    /// The job's details, status included.
    pub async fn status(&self, submission_id: &str) -> Result<RayJobInfo, RayError> {
        self.job_call(Method::GET, submission_id, "").await
    }

    /// Everything the job has printed so far.
    pub async fn logs(&self, submission_id: &str) -> Result<String, RayError> {
        let logs: Logs = self.job_call(Method::GET, submission_id, "/logs").await?;
        Ok(logs.logs)
    }

    /// Asks Ray to stop the job; false when it had already ended.
    pub async fn stop(&self, submission_id: &str) -> Result<bool, RayError> {
        let stopped: Stopped = self.job_call(Method::POST, submission_id, "/stop").await?;
        Ok(stopped.stopped)
    }

    /// Deletes a job's record and logs, once the job has settled in a terminal status. A
    /// delete racing a stop can leave Ray's job manager in an odd state, hence the check.
    pub async fn delete(&self, submission_id: &str) -> Result<bool, RayError> {
        let info = self.status(submission_id).await?;
        if !info.status.is_terminal() {
            return Err(RayError::NotSettled {
                submission_id: submission_id.to_owned(),
                status: info.status,
            });
        }
        let deleted: Deleted = self.job_call(Method::DELETE, submission_id, "").await?;
        Ok(deleted.deleted)
    }

    /// Polls until Ray starts (or ends) the job, or `timeout` passes with the job still
    /// `PENDING`: then [`RayError::AdmissionTimeout`]. The job is left as it is; the caller
    /// decides whether to stop it and place it elsewhere.
    pub async fn wait_for_admission(
        &self,
        submission_id: &str,
        timeout: AdmissionTimeout,
        poll: Duration,
    ) -> Result<RayJobInfo, RayError> {
        let since = Instant::now();
        loop {
            let info = self.status(submission_id).await?;
            match timeout.check(&info.status, since.elapsed()) {
                Admission::Admitted => return Ok(info),
                Admission::TimedOut { waited } => {
                    return Err(RayError::AdmissionTimeout {
                        submission_id: submission_id.to_owned(),
                        waited,
                        message: info.message,
                    });
                }
                Admission::Waiting { left } => tokio::time::sleep(poll.min(left)).await,
            }
        }
    }

    /// Polls until the job reaches a terminal status, for at most `timeout`.
    pub async fn wait_for_end(
        &self,
        submission_id: &str,
        timeout: Duration,
        poll: Duration,
    ) -> Result<RayJobInfo, RayError> {
        let since = Instant::now();
        loop {
            let info = self.status(submission_id).await?;
            if info.status.is_terminal() {
                return Ok(info);
            }
            if since.elapsed() >= timeout {
                return Err(RayError::NotFinished {
                    submission_id: submission_id.to_owned(),
                    status: info.status,
                    waited: since.elapsed(),
                });
            }
            tokio::time::sleep(poll).await;
        }
    }

    async fn exists(&self, submission_id: &str) -> bool {
        self.status(submission_id).await.is_ok()
    }

    async fn job_call<T: DeserializeOwned>(
        &self,
        method: Method,
        submission_id: &str,
        suffix: &str,
    ) -> Result<T, RayError> {
        if submission_id.is_empty() || submission_id.contains(['/', '?', '#', '%', ' ']) {
            return Err(RayError::InvalidSpec {
                field: "submission_id",
                problem: format!("{submission_id:?} cannot be part of a URL path"),
            });
        }
        let path = format!("/api/jobs/{submission_id}{suffix}");
        match self.call(method, &path, None::<&()>).await {
            Err(RayError::Status { status: 404, .. }) => Err(RayError::NotFound {
                submission_id: submission_id.to_owned(),
                address: self.base.clone(),
            }),
            other => other,
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&impl serde::Serialize>,
    ) -> Result<T, RayError> {
        let url = format!("{}{path}", self.base);
        let method_name = method_name(&method);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let request_error = |source| RayError::Request {
            method: method_name,
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(request_error)?;
        let status = response.status();
        let text = response.text().await.map_err(request_error)?;
        if status != StatusCode::OK {
            return Err(RayError::Status {
                method: method_name,
                url,
                status: status.as_u16(),
                body: last_line(&text),
            });
        }
        serde_json::from_str(&text).map_err(|error| RayError::Decode {
            method: method_name,
            url,
            detail: error.to_string(),
            head: text.chars().take(200).collect(),
        })
    }
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        _ => "GET",
    }
}

/// The informative part of an error body: Ray's 500 answers are Python tracebacks whose
/// last non-empty line names the exception.
fn last_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty() && *line != ".")
        .unwrap_or_default();
    line.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_must_be_plain_http_host_and_port() {
        assert_eq!(
            RayClient::new("http://127.0.0.1:8265/").unwrap().address(),
            "http://127.0.0.1:8265"
        );
        assert!(RayClient::new("https://ray:8265").is_err());
        assert!(RayClient::new("127.0.0.1:8265").is_err());
        let err = RayClient::new("http://h:1/api").unwrap_err().to_string();
        assert!(err.contains("without a path"), "{err}");
    }

    #[test]
    fn tracebacks_shrink_to_their_exception_line() {
        let body = "Traceback (most recent call last):\n  File \"x\"\nValueError: Job with \
                    submission_id t-1 already exists.\n.\n";
        assert_eq!(
            last_line(body),
            "ValueError: Job with submission_id t-1 already exists."
        );
    }
}
