//! A Slurm cluster reached through its command-line tools.
//!
//! [`SlurmClient`] submits with `sbatch --parsable`, reads job states with `squeue --json`
//! (falling back to `sacct --json` for jobs slurmctld has forgotten), cancels with `scancel`,
//! all against the cluster named by one `SLURM_CONF` file. [`SlurmWatcher`] turns successive
//! snapshots into events (started, requeued, finished) for the scheduling core.

mod client;
mod error;
mod events;
mod json;
mod spec;
mod state;

pub use client::{CancelOutcome, SlurmClient};
pub use error::SlurmError;
pub use events::{SlurmEvent, SlurmWatcher};
pub use spec::{GresRequest, SlurmJobSpec};
pub use state::{ExitStatus, SlurmJobId, SlurmJobState, SlurmJobStatus};
