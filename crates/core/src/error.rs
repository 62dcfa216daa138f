//! Errors of the decision core.

use crate::JobId;

/// Why the core refused an input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoreError {
    /// The cluster has no pool, or no accelerator at all.
    #[error("build cluster: it has no accelerators; give at least one pool a capacity > 0")]
    EmptyCluster,
    /// Two pools share a name.
    #[error("build cluster: pool `{0}` is named twice")]
    DuplicatePool(String),
    /// A job needs more accelerators at once than any pool it can run on holds.
    #[error(
        "submit job {job}: it needs {scale_factor} accelerators at once but the largest pool it can run on holds {largest}; \
         lower its scale factor or add capacity"
    )]
    JobTooLarge {
        /// The job.
        job: JobId,
        /// Its gang size.
        scale_factor: u32,
        /// The largest usable pool.
        largest: u32,
    },
    /// A job cannot run on any pool (throughput 0 everywhere).
    #[error("submit job {0}: its throughput is 0 on every pool, so it could never finish")]
    CannotRunAnywhere(JobId),
    /// A job's specification is inconsistent (wrong number of throughputs, bad weight).
    #[error("submit job {job}: {message}")]
    BadJob {
        /// The job.
        job: JobId,
        /// What is wrong.
        message: String,
    },
    /// The id is already in use.
    #[error("submit job {0}: a job with this id is already active")]
    DuplicateJob(JobId),
    /// An unknown policy name.
    #[error("parse policy `{name}`: unknown; known policies: {known}")]
    UnknownPolicy {
        /// What was asked for.
        name: String,
        /// The names accepted.
        known: String,
    },
    /// The LP solver failed.
    #[error("solve allocation for policy {policy}: {message}")]
    Solver {
        /// The policy.
        policy: String,
        /// What the solver said.
        message: String,
    },
}
