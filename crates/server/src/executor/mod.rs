//! Executors carry out launch and stop actions on an engine and report what becomes of each
//! attempt back; they make no decisions. The local executor runs processes on this machine,
//! the Slurm executor submits batch jobs to a partition, the Ray executor submits to a Ray
//! cluster's Jobs API: all behind one trait, chosen per pool.
//!
//! Engines with their own queue (Slurm, Ray) are polled: one listing per cluster per poll
//! interval, never one request per job where the engine can list them all.

mod faulty;
mod local;
mod process;
mod ray;
mod ray_gang;
mod script;
mod secrets;
mod slurm;

pub use faulty::FaultyExecutor;
pub use local::{LocalExecutor, checkpoint_dir, job_dir};
pub use ray::RayExecutor;
pub use secrets::write_secrets;
pub use slurm::SlurmExecutor;

use crate::job::{Attempt, JobId};
use async_trait::async_trait;
use spillway_model::spec::JobSpec;
use std::sync::Arc;

/// The name of the file under the data directory that holds this installation's id.
pub const INSTANCE_FILE: &str = "instance-id";

/// This installation's id (8 hex digits), made on first use and kept in the data directory.
/// Engine executors put it in the names they give jobs (`spillway-<instance>-<job>-<attempt>`),
/// so that two installations sharing a cluster, or one whose database was reset (job ids
/// start again at 1), never take each other's jobs for their own.
pub fn instance_id(data_dir: &std::path::Path) -> std::io::Result<String> {
    use std::hash::{BuildHasher, Hasher};
    use std::io::Write;
    let path = data_dir.join(INSTANCE_FILE);
    std::fs::create_dir_all(data_dir)?;
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    let fresh = format!("{:08x}", hasher.finish() as u32);
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(fresh.as_bytes())?;
            return Ok(fresh);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    // Another executor of this server may be writing it right now: read until it is there.
    for _ in 0..100 {
        let id = std::fs::read_to_string(&path)?.trim().to_string();
        if id.len() == 8 {
            return Ok(id);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Err(std::io::Error::other(format!(
        "{} does not hold an 8-digit id: remove it to make a new one",
        path.display()
    )))
}

/// What to launch.
#[derive(Debug, Clone)]
pub struct LaunchRequest {
    /// The job.
    pub job: JobId,
    /// Its attempt number.
    pub attempt: u32,
    /// The spec.
    pub spec: Arc<JobSpec>,
    /// The pool's accelerator type, if any.
    pub accelerator: Option<String>,
    /// The accelerator indices handed to it.
    pub accelerators: Vec<u32>,
    /// Run the checkpoint's resume command instead of `run`.
    pub resume: bool,
    /// How many earlier attempts of the job ran (restarts after preemptions, failures and
    /// losses): `SPILLWAY_RESTART_COUNT`.
    pub restart_count: u32,
    /// The job's checkpoint directory, the same for every attempt and kept across server
    /// restarts: `SPILLWAY_CHECKPOINT_DIR`. The executor creates it.
    pub checkpoint_dir: std::path::PathBuf,
}

impl LaunchRequest {
    /// The variables SkyPilot gives a task that are the same on every node: its id, how many
    /// nodes it has and the accelerators on each (`SKYPILOT_NODE_RANK` and
    /// `SKYPILOT_NODE_IPS` depend on the node, and are set where it runs).
    pub(crate) fn skypilot_env(&self) -> Vec<(&'static str, String)> {
        let nodes = self.spec.num_nodes.max(1);
        let per_node = (self.accelerators.len() as u32).div_ceil(nodes);
        vec![
            ("SKYPILOT_TASK_ID", format!("spillway-job-{}", self.job)),
            ("SKYPILOT_NUM_NODES", nodes.to_string()),
            ("SKYPILOT_NUM_GPUS_PER_NODE", per_node.to_string()),
        ]
    }

    /// Creates the checkpoint directory.
    pub(crate) fn prepare_checkpoint_dir(&self) -> Result<(), ExecError> {
        std::fs::create_dir_all(&self.checkpoint_dir).map_err(|source| ExecError::Prepare {
            path: self.checkpoint_dir.display().to_string(),
            source,
        })
    }
}

/// What identifies a launched attempt on its engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handle {
    /// A local process group: its leader's pid and start time (clock ticks since boot), which
    /// together cannot be confused with a later process that reuses the pid.
    Process {
        /// Process id of the group leader.
        pid: u32,
        /// Its start time.
        start: u64,
    },
    /// The engine's own id for the attempt (a Slurm job id, a Ray submission id).
    External(String),
}

impl Handle {
    /// Records the handle on its attempt, so that a restarted server finds the attempt again.
    pub fn record(&self, attempt: &mut Attempt) {
        match self {
            Handle::Process { pid, start } => {
                attempt.pid = Some(*pid);
                attempt.pid_start = Some(*start);
            }
            Handle::External(id) => attempt.external_id = Some(id.clone()),
        }
    }
}

/// Something an executor observed about one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecReport {
    /// The job.
    pub job: JobId,
    /// The attempt.
    pub attempt: u32,
    /// What happened.
    pub event: ExecEvent,
}

/// What happened to an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecEvent {
    /// The engine started it (it had waited in the engine's own queue).
    Running {
        /// Where, in words (`Slurm job 12 on node1`).
        detail: String,
    },
    /// The engine put it back in its own queue (Slurm preemption, or a node failure with
    /// `--requeue`): the attempt goes on under the same engine id, nothing is resubmitted.
    Requeued {
        /// Why, in words.
        detail: String,
    },
    /// It ended.
    Exited {
        /// Its exit code; `None` when it was killed or vanished without one.
        exit_code: Option<i32>,
        /// What the engine says beyond the exit code (`NODE_FAIL`, a time limit, an
        /// admission timeout); `None` for a plain exit.
        detail: Option<String>,
    },
    /// The engine has no trace of it and it never ran (slurmctld lost the submission): it is
    /// safe to launch again.
    Vanished {
        /// What was seen, in words.
        detail: String,
    },
}

impl ExecReport {
    /// A plain exit.
    pub fn exited(job: JobId, attempt: u32, exit_code: Option<i32>) -> ExecReport {
        ExecReport {
            job,
            attempt,
            event: ExecEvent::Exited {
                exit_code,
                detail: None,
            },
        }
    }

    /// The exit code of an `Exited` report.
    pub fn exit_code(&self) -> Option<i32> {
        match &self.event {
            ExecEvent::Exited { exit_code, .. } => *exit_code,
            _ => None,
        }
    }
}

/// What recovery found of an attempt recorded by an earlier server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// Its process still runs; the executor now watches it again.
    Running(Handle),
    /// It finished while the server was down.
    Exited(Option<i32>),
    /// Its process is gone without an exit status.
    Lost,
    /// It was recorded but never launched (and now never will be).
    NotStarted,
}

/// Why a launch or stop failed.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The working directory is unusable.
    #[error("cannot use workdir {path}: {source}")]
    Workdir {
        /// The directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Files under the data directory could not be created.
    #[error("cannot prepare {path}: {source}")]
    Prepare {
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The process could not be started.
    #[error("cannot start bash for the job: {0}")]
    Spawn(std::io::Error),
    /// The handle is not one this executor made.
    #[error("handle {0:?} does not belong to this executor")]
    ForeignHandle(Handle),
    /// The Slurm cluster refused or did not answer.
    #[error(transparent)]
    Slurm(#[from] spillway_engines::slurm::SlurmError),
    /// The Ray cluster refused or did not answer.
    #[error(transparent)]
    Ray(#[from] spillway_engines::ray::RayError),
    /// The pool has no capacity for it now (a stockout, a used-up quota, a provider
    /// refusing): nothing was started, and the job may go elsewhere.
    #[error("no capacity: {detail}")]
    NoCapacity {
        /// What the failure blocks in the failover memory: the zone, region or provider.
        kind: spillway_core::econ::FailureKind,
        /// What the engine said.
        detail: String,
    },
    /// Signalling the process failed.
    #[error("cannot signal process group {pid}: {source}")]
    Signal {
        /// The process group.
        pid: u32,
        /// The cause.
        source: std::io::Error,
    },
}

/// An engine that runs attempts.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// Launches an attempt and starts watching it; what becomes of it is reported on the
    /// executor's report channel.
    async fn launch(&self, req: LaunchRequest) -> Result<Handle, ExecError>;
    /// Asks an attempt to stop (gracefully, then by force); its end is reported as usual.
    async fn stop(&self, job: JobId, attempt: u32, handle: Handle) -> Result<(), ExecError>;
    /// Finds out what became of an attempt recorded by an earlier server, and watches it
    /// again if it still runs.
    async fn recover(&self, attempt: &Attempt) -> Recovered;
}
