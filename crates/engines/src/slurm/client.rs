//! [`SlurmClient`]: submit, observe and cancel jobs on the cluster of one `SLURM_CONF`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::process::{Invocation, Output, RunError};

use super::error::SlurmError;
use super::json::{JobsDocument, SacctJob, SqueueJob};
use super::spec::{COMMENT_PREFIX, SlurmJobSpec};
use super::state::{SlurmJobId, SlurmJobStatus};

/// Variables of the broker's own environment that Slurm's tools and the jobs get; nothing
/// else is passed on (no tokens, no stray `SBATCH_*` or `SLURM_*` settings).
const PASSED_THROUGH: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR",
];

/// How `scancel` left a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Slurm accepted the cancellation; the job ends as `CANCELLED` shortly.
    Requested,
    /// The job had already ended (or was ending); nothing was changed.
    AlreadyFinished,
}

/// A client for one Slurm cluster, chosen by its configuration file. Cheap to clone; many
/// clients for different clusters can be used at once.
#[derive(Clone, Debug)]
pub struct SlurmClient {
    conf: PathBuf,
    bin_dir: Option<PathBuf>,
    command_timeout: Duration,
}

impl SlurmClient {
    /// A client for the cluster whose `slurm.conf` is at `conf`.
    pub fn new(conf: impl Into<PathBuf>) -> Self {
        Self {
            conf: conf.into(),
            bin_dir: None,
            command_timeout: Duration::from_secs(60),
        }
    }

    /// Runs `sbatch` and friends from `dir` instead of looking them up on `PATH`.
    pub fn with_bin_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bin_dir = Some(dir.into());
        self
    }

    /// How long one command may take before it is killed (default 60 s).
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    pub fn conf(&self) -> &Path {
        &self.conf
    }

    /// Submits a batch job and returns its Slurm id once slurmctld has accepted it.
    ///
    /// After an error other than [`SlurmError::InvalidSpec`] or a refusal, the job may exist
    /// all the same (slurmctld accepted it, then the answer was lost or timed out): look it
    /// up with [`Self::find_by_spillway_id`] before submitting again. And slurmctld keeps an
    /// accepted job only in memory for a moment: watch it ([`super::SlurmWatcher`]) and
    /// submit again when it is reported lost.
    pub async fn submit(&self, spec: &SlurmJobSpec) -> Result<SlurmJobId, SlurmError> {
        spec.validate()?;
        let script = spec.script();
        let mut invocation = self.invocation("sbatch", spec.sbatch_args());
        invocation.env.extend(
            spec.job_env()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        );
        invocation.stdin = Some(script.as_bytes());
        let output = self.run_ok(&invocation).await?;
        output.stdout.parse().map_err(|_| SlurmError::Parse {
            command: invocation.display(),
            conf: self.conf.clone(),
            detail: "sbatch --parsable printed no job id".to_owned(),
            head: head(&output.stdout),
        })
    }

    /// Every job slurmctld currently knows, finished ones included for `MinJobAge` seconds.
    pub async fn jobs(&self) -> Result<Vec<SlurmJobStatus>, SlurmError> {
        // Slurm 22.05 ignores squeue's filters with --json and prints every job; later
        // versions honour them, hence --states=all to keep finished jobs in view.
        let invocation = self.invocation("squeue", vec!["--json".into(), "--states=all".into()]);
        let output = self.run_ok(&invocation).await?;
        let document: JobsDocument<SqueueJob> = self.parse_json(&invocation, &output)?;
        Ok(document
            .jobs
            .into_iter()
            .filter_map(SqueueJob::into_status)
            .collect())
    }

    /// The state of one job: from squeue while slurmctld knows it, else from sacct (which
    /// needs accounting through slurmdbd).
    pub async fn status(&self, job: SlurmJobId) -> Result<SlurmJobStatus, SlurmError> {
        if let Some(found) = self.jobs().await?.into_iter().find(|s| s.job_id == job) {
            return Ok(found);
        }
        let sacct = self.sacct(job).await;
        match sacct {
            Ok(Some(found)) => Ok(found),
            Ok(None) => Err(SlurmError::UnknownJob {
                job,
                conf: self.conf.clone(),
                sacct: "it has no record of the job".to_owned(),
            }),
            Err(error) => Err(SlurmError::UnknownJob {
                job,
                conf: self.conf.clone(),
                sacct: error.to_string(),
            }),
        }
    }

    /// The job Spillway submitted for `spillway_job_id`, if slurmctld still knows one (the
    /// newest when there are several). A restarted broker uses it to adopt its jobs instead
    /// of submitting them twice.
    pub async fn find_by_spillway_id(
        &self,
        spillway_job_id: &str,
    ) -> Result<Option<SlurmJobStatus>, SlurmError> {
        let comment = format!("{COMMENT_PREFIX}{spillway_job_id}");
        Ok(self
            .jobs()
            .await?
            .into_iter()
            .filter(|s| s.comment == comment)
            .max_by_key(|s| s.job_id))
    }

    /// Cancels a job; a job that already ended is not an error.
    pub async fn cancel(&self, job: SlurmJobId) -> Result<CancelOutcome, SlurmError> {
        // Without -v, scancel 22.05 says nothing and exits 0 even for an unknown job id.
        let invocation = self.invocation("scancel", vec!["-v".into(), job.to_string().into()]);
        let output = self.run(&invocation).await?;
        let error_line = output
            .stderr
            .lines()
            .find(|line| line.contains("error:"))
            .map(str::to_owned);
        match error_line {
            None if output.success => Ok(CancelOutcome::Requested),
            Some(line) if line.contains("already completing or completed") => {
                Ok(CancelOutcome::AlreadyFinished)
            }
            Some(line) => Err(SlurmError::Cancel {
                job,
                conf: self.conf.clone(),
                message: line.trim().to_owned(),
            }),
            None => Err(SlurmError::Cancel {
                job,
                conf: self.conf.clone(),
                message: format!("scancel ended with {}: {}", output.status, output.stderr),
            }),
        }
    }

    /// Lets a requeued job start as soon as resources allow. Slurm holds a job requeued by
    /// preemption for about two minutes (its begin time moves ahead); a broker that has
    /// decided where the job goes next does not need to wait for that.
    pub async fn release_requeued(&self, job: SlurmJobId) -> Result<(), SlurmError> {
        let invocation = self.invocation(
            "scontrol",
            vec![
                "update".into(),
                format!("JobId={job}").into(),
                "StartTime=now".into(),
            ],
        );
        self.run_ok(&invocation).await.map(drop)
    }

    /// Checks that slurmctld answers.
    pub async fn ping(&self) -> Result<(), SlurmError> {
        let invocation = self.invocation("scontrol", vec!["ping".into()]);
        let output = self.run_ok(&invocation).await?;
        if output.stdout.contains("is UP") {
            Ok(())
        } else {
            Err(SlurmError::CommandFailed {
                command: invocation.display(),
                conf: self.conf.clone(),
                status: output.status,
                stderr: output.stdout.trim().to_owned(),
            })
        }
    }

    async fn sacct(&self, job: SlurmJobId) -> Result<Option<SlurmJobStatus>, SlurmError> {
        let invocation = self.invocation(
            "sacct",
            vec!["--json".into(), "-j".into(), job.to_string().into()],
        );
        let output = self.run_ok(&invocation).await?;
        let document: JobsDocument<SacctJob> = self.parse_json(&invocation, &output)?;
        Ok(document
            .jobs
            .into_iter()
            .filter_map(SacctJob::into_status)
            .find(|s| s.job_id == job))
    }

    fn invocation(&self, tool: &str, args: Vec<OsString>) -> Invocation<'static> {
        let program = match &self.bin_dir {
            Some(dir) => dir.join(tool),
            None => PathBuf::from(tool),
        };
        let mut env: Vec<(OsString, OsString)> = PASSED_THROUGH
            .iter()
            .filter_map(|name| std::env::var_os(name).map(|value| (OsString::from(name), value)))
            .collect();
        env.push(("SLURM_CONF".into(), self.conf.clone().into_os_string()));
        Invocation {
            program,
            args,
            env,
            stdin: None,
            timeout: self.command_timeout,
        }
    }

    async fn run(&self, invocation: &Invocation<'_>) -> Result<Output, SlurmError> {
        let command = || invocation.display();
        invocation.run().await.map_err(|error| match error {
            RunError::Spawn(source) => SlurmError::Spawn {
                command: command(),
                conf: self.conf.clone(),
                source,
            },
            RunError::Io(source) => SlurmError::Io {
                command: command(),
                conf: self.conf.clone(),
                source,
            },
            RunError::Timeout(after) => SlurmError::Timeout {
                command: command(),
                conf: self.conf.clone(),
                after,
            },
        })
    }

    async fn run_ok(&self, invocation: &Invocation<'_>) -> Result<Output, SlurmError> {
        let output = self.run(invocation).await?;
        if output.success {
            Ok(output)
        } else {
            Err(SlurmError::CommandFailed {
                command: invocation.display(),
                conf: self.conf.clone(),
                status: output.status,
                stderr: output.stderr,
            })
        }
    }

    fn parse_json<T: serde::de::DeserializeOwned>(
        &self,
        invocation: &Invocation<'_>,
        output: &Output,
    ) -> Result<JobsDocument<T>, SlurmError> {
        let document: JobsDocument<T> =
            serde_json::from_str(&output.stdout).map_err(|error| SlurmError::Parse {
                command: invocation.display(),
                conf: self.conf.clone(),
                detail: error.to_string(),
                head: head(&output.stdout),
            })?;
        if let Some(first) = document.errors.first() {
            return Err(SlurmError::CommandFailed {
                command: invocation.display(),
                conf: self.conf.clone(),
                status: output.status.clone(),
                stderr: format!("Slurm reported errors: {first}"),
            });
        }
        Ok(document)
    }
}

/// The start of a command's output, for messages.
fn head(text: &str) -> String {
    text.chars().take(200).collect()
}
