//! Slurm job states and exit statuses as typed values.

use std::fmt;
use std::str::FromStr;

/// A job id assigned by one Slurm cluster (ids of two clusters overlap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SlurmJobId(pub u64);

impl fmt::Display for SlurmJobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for SlurmJobId {
    type Err = std::num::ParseIntError;

    /// Parses `123` and `sbatch --parsable`'s `123;cluster`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let id = s.trim().split(';').next().unwrap_or_default();
        id.parse().map(SlurmJobId)
    }
}

/// The base state of a Slurm job (`JOB_STATE_BASE` plus the requeue flags that matter to a
/// broker). Unknown names are kept, not dropped, so a newer Slurm cannot break parsing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SlurmJobState {
    Pending,
    Running,
    Suspended,
    /// The job ended and its processes are being cleaned up; treated as still running.
    Completing,
    Completed,
    Failed,
    Cancelled,
    Timeout,
    NodeFail,
    Preempted,
    /// Slurm is putting the job back in the queue (preemption with `PreemptMode=REQUEUE`,
    /// `scontrol requeue`, a node failure with `--requeue`).
    Requeued,
    RequeueHold,
    OutOfMemory,
    BootFail,
    Deadline,
    Other(String),
}

impl SlurmJobState {
    /// Parses a state name as Slurm prints it (`PENDING`, `NODE_FAIL`, `CANCELLED by 0`).
    pub fn parse(name: &str) -> Self {
        let base = name.split_whitespace().next().unwrap_or_default();
        match base.to_ascii_uppercase().as_str() {
            "PENDING" | "PD" => Self::Pending,
            "RUNNING" | "R" => Self::Running,
            "SUSPENDED" | "S" => Self::Suspended,
            "COMPLETING" | "CG" => Self::Completing,
            "COMPLETED" | "CD" => Self::Completed,
            "FAILED" | "F" => Self::Failed,
            "CANCELLED" | "CA" => Self::Cancelled,
            "TIMEOUT" | "TO" => Self::Timeout,
            "NODE_FAIL" | "NF" => Self::NodeFail,
            "PREEMPTED" | "PR" => Self::Preempted,
            "REQUEUED" | "RQ" => Self::Requeued,
            "REQUEUE_HOLD" | "RH" => Self::RequeueHold,
            "OUT_OF_MEMORY" | "OOM" => Self::OutOfMemory,
            "BOOT_FAIL" | "BF" => Self::BootFail,
            "DEADLINE" | "DL" => Self::Deadline,
            _ => Self::Other(name.to_owned()),
        }
    }

    /// The job will not run again without someone resubmitting it. `Preempted` is terminal
    /// only when the job was not requeued; a requeued job shows `Pending` with a higher
    /// restart count instead.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Completed
                | Self::Failed
                | Self::Cancelled
                | Self::Timeout
                | Self::NodeFail
                | Self::Preempted
                | Self::OutOfMemory
                | Self::BootFail
                | Self::Deadline
        )
    }

    /// The job holds its allocation.
    pub fn is_running(&self) -> bool {
        matches!(self, Self::Running | Self::Completing | Self::Suspended)
    }
}

impl fmt::Display for SlurmJobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Suspended => "SUSPENDED",
            Self::Completing => "COMPLETING",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
            Self::Timeout => "TIMEOUT",
            Self::NodeFail => "NODE_FAIL",
            Self::Preempted => "PREEMPTED",
            Self::Requeued => "REQUEUED",
            Self::RequeueHold => "REQUEUE_HOLD",
            Self::OutOfMemory => "OUT_OF_MEMORY",
            Self::BootFail => "BOOT_FAIL",
            Self::Deadline => "DEADLINE",
            Self::Other(name) => name,
        };
        f.write_str(name)
    }
}

/// How a job's batch script ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// The script exited with this code (0 is success).
    Code(i32),
    /// The script was killed by this signal (15 after `scancel`, 9 after a time limit).
    Signal(i32),
}

impl ExitStatus {
    /// Decodes a wait(2) status as Slurm 22.05's `squeue --json` reports it in `exit_code`
    /// (exit 3 is 768; killed by SIGTERM is 15).
    pub fn from_wait_status(raw: i64) -> Self {
        let signal = (raw & 0x7f) as i32;
        if signal != 0 {
            Self::Signal(signal)
        } else {
            Self::Code(((raw >> 8) & 0xff) as i32)
        }
    }

    pub fn success(self) -> bool {
        self == Self::Code(0)
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(code) => write!(f, "exit code {code}"),
            Self::Signal(signal) => write!(f, "signal {signal}"),
        }
    }
}

/// What one cluster says about one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlurmJobStatus {
    pub job_id: SlurmJobId,
    pub name: String,
    pub partition: String,
    pub state: SlurmJobState,
    /// Slurm's reason for the state (`BeginTime`, `Resources`, `NonZeroExitCode`, `None`).
    pub reason: String,
    /// Set once the job has ended (terminal state); `None` while it waits or runs.
    pub exit: Option<ExitStatus>,
    /// How many times Slurm requeued the job (preemption, node failure, `scontrol requeue`).
    pub restarts: u32,
    /// The nodes it runs or ran on, in Slurm's hostlist form (`node[1-4]`).
    pub nodes: String,
    /// Allocated generic resources while it runs, e.g. `gpu:h100:2(IDX:4-5)`.
    pub gres_detail: Vec<String>,
    /// The `--comment` given at submission; Spillway stores its own job id there.
    pub comment: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_decode_to_codes_and_signals() {
        assert_eq!(ExitStatus::from_wait_status(0), ExitStatus::Code(0));
        assert_eq!(ExitStatus::from_wait_status(768), ExitStatus::Code(3));
        assert_eq!(ExitStatus::from_wait_status(15), ExitStatus::Signal(15));
        assert_eq!(ExitStatus::from_wait_status(9), ExitStatus::Signal(9));
        assert!(ExitStatus::Code(0).success());
        assert!(!ExitStatus::Signal(15).success());
    }

    #[test]
    fn state_names_parse_in_long_short_and_decorated_forms() {
        assert_eq!(SlurmJobState::parse("NODE_FAIL"), SlurmJobState::NodeFail);
        assert_eq!(
            SlurmJobState::parse("CANCELLED by 0"),
            SlurmJobState::Cancelled
        );
        assert_eq!(SlurmJobState::parse("PD"), SlurmJobState::Pending);
        assert_eq!(
            SlurmJobState::parse("RESIZING"),
            SlurmJobState::Other("RESIZING".to_owned())
        );
        assert!(SlurmJobState::Timeout.is_terminal());
        assert!(!SlurmJobState::Requeued.is_terminal());
        assert!(SlurmJobState::Completing.is_running());
    }

    #[test]
    fn job_ids_parse_with_and_without_cluster_suffix() {
        assert_eq!("42".parse::<SlurmJobId>(), Ok(SlurmJobId(42)));
        assert_eq!("42;spillway-b\n".parse::<SlurmJobId>(), Ok(SlurmJobId(42)));
        assert!("x".parse::<SlurmJobId>().is_err());
    }
}
