//! Clients for the external engines Spillway hands jobs to, independent of the service.
//!
//! - [`slurm`]: a Slurm cluster reached through its command-line tools (`sbatch`, `squeue
//!   --json`, `sacct --json`, `scancel`, `scontrol`) with the cluster chosen by its
//!   `SLURM_CONF`, so one process can address several clusters at once.
//! - [`ray`]: a Ray cluster reached through the Ray Jobs REST API of its dashboard.
//! - [`env_file`]: where the engines started by `scripts/engines/start-all.sh` can be found.
//!
//! The service adapts these clients to its executor trait; nothing here schedules.

pub mod env_file;
mod process;
pub mod ray;
pub mod slurm;
