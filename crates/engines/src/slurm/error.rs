//! Errors of the Slurm client. Each names the command and cluster, and Slurm's own words.

use std::path::PathBuf;
use std::time::Duration;

use super::state::SlurmJobId;

#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    #[error("build a Slurm job: field `{field}`: {problem}")]
    InvalidSpec {
        field: &'static str,
        problem: String,
    },

    #[error(
        "run `{command}` (SLURM_CONF={conf}): {source}; install the Slurm client tools \
         (apt-get install slurm-client) or point the client at their directory"
    )]
    Spawn {
        command: String,
        conf: PathBuf,
        source: std::io::Error,
    },

    #[error("run `{command}` (SLURM_CONF={conf}): {source}")]
    Io {
        command: String,
        conf: PathBuf,
        source: std::io::Error,
    },

    #[error("run `{command}` (SLURM_CONF={conf}): no answer after {after:?}; is slurmctld up?")]
    Timeout {
        command: String,
        conf: PathBuf,
        after: Duration,
    },

    #[error("run `{command}` (SLURM_CONF={conf}): it ended with {status}: {stderr}")]
    CommandFailed {
        command: String,
        conf: PathBuf,
        status: String,
        stderr: String,
    },

    #[error("read the output of `{command}` (SLURM_CONF={conf}): {detail}; it began {head:?}")]
    Parse {
        command: String,
        conf: PathBuf,
        detail: String,
        head: String,
    },

    #[error(
        "find job {job} on the cluster of {conf}: slurmctld no longer knows it (it ended more \
         than MinJobAge seconds ago) and sacct could not tell either: {sacct}"
    )]
    UnknownJob {
        job: SlurmJobId,
        conf: PathBuf,
        sacct: String,
    },

    #[error("cancel job {job} on the cluster of {conf}: {message}")]
    Cancel {
        job: SlurmJobId,
        conf: PathBuf,
        message: String,
    },
}
