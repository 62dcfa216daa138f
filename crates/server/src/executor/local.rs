//! The local executor: each attempt is a `bash` process group on this machine.
//!
//! Layout under the data directory, per job: `jobs/<id>/stdout.log`, `jobs/<id>/stderr.log`
//! (appended by every attempt), `jobs/<id>/work/` (the default working directory),
//! `jobs/<id>/checkpoint/` (`SPILLWAY_CHECKPOINT_DIR`, kept for every attempt) and
//! `jobs/<id>/attempt-<n>/{pid,exit}`.
//!
//! A small fixed wrapper script runs the job: the spec's `setup` and `run` reach it as
//! positional arguments and each runs under its own `bash -c`, so no spec field is ever
//! interpolated into a shell command line. The wrapper first claims the attempt's pid file
//! with an exclusive create (bash `noclobber`); recovery claims the same file when it finds
//! an attempt recorded without a pid. Whoever creates it first wins, so an attempt whose
//! launch was interrupted by a crash either runs (and is adopted) or never runs: nothing is
//! launched twice. The wrapper writes the exit code to `exit` atomically, which is how a
//! restarted server learns the outcome of a process that is no longer its child.

use super::process::{alive, signal_group, start_time};
use super::{ExecError, ExecReport, Executor, Handle, LaunchRequest, Recovered};
use crate::accelerators::visibility_vars;
use crate::job::{Attempt, JobId};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// The wrapper; `$1` pid file, `$2` exit file, `$3` setup (may be empty), `$4` run, then the
/// job's own environment as `NAME=value` arguments.
///
/// The wrapper runs in the server's environment plus Spillway's own variables, never the
/// job's: a job's `BASH_ENV` would otherwise run inside the wrapper before the pid-file fence,
/// and its `PATH` would decide which `mv` records the exit. The job's variables reach only the
/// shells that run its commands (`env NAME=value... "$BASH" -c`), the same bash as the
/// wrapper's, after the fence.
const WRAPPER: &str = r#"set -C
{ echo $$ > "$1"; } 2>/dev/null || exit 97
set +C
rc=0
if [ -n "${SPILLWAY_GIT_URL:-}" ] && [ ! -e .git ]; then git clone -q -- "$SPILLWAY_GIT_URL" . && { [ -z "${SPILLWAY_GIT_REF:-}" ] || git checkout -q "$SPILLWAY_GIT_REF" --; } || rc=$?; fi
if [ "$rc" -eq 0 ] && [ -n "$3" ]; then env -- "${@:5}" "$BASH" -c "$3" || rc=$?; fi
if [ "$rc" -eq 0 ]; then env -- "${@:5}" "$BASH" -c "$4"; rc=$?; fi
echo "$rc" > "$2.tmp" && mv -f "$2.tmp" "$2"
exit "$rc"
"#;

/// A git `workdir`'s repository and ref for the wrapper, which checks it out in the job's
/// fresh directory (`jobs/<id>/work`) before `setup`, once: a restarted job keeps it.
fn git_env(req: &LaunchRequest) -> Vec<(&'static str, String)> {
    let Some(git) = &req.spec.workdir_git else {
        return Vec::new();
    };
    let mut env = vec![("SPILLWAY_GIT_URL", git.url.clone())];
    if let Some(r) = &git.git_ref {
        env.push(("SPILLWAY_GIT_REF", r.clone()));
    }
    env
}

/// How long a stopped job gets between SIGTERM and SIGKILL.
/// Variables the wrapper's own shell acts on: never set on it from a job's secrets or extra
/// variables (a job's `envs` reach only the job's shells, as arguments).
const SHELL_CONTROL: &[&str] = &["BASH_ENV", "ENV", "BASHOPTS", "SHELLOPTS", "PS4", "IFS"];

const STOP_GRACE: Duration = Duration::from_secs(5);
/// How often an adopted process (not our child) is checked for exit.
const ADOPTED_POLL: Duration = Duration::from_millis(200);

/// Runs attempts as local process groups.
pub struct LocalExecutor {
    /// The data directory (logs and attempt files live under `jobs/`).
    data_dir: PathBuf,
    /// Where exits are reported.
    exits: UnboundedSender<ExecReport>,
}

/// Directory of a job's files.
pub fn job_dir(data_dir: &Path, job: JobId) -> PathBuf {
    data_dir.join("jobs").join(job.to_string())
}

/// Directory a job keeps its checkpoints in (`SPILLWAY_CHECKPOINT_DIR`), the same for every
/// attempt: a restarted job finds what its earlier attempts saved.
pub fn checkpoint_dir(data_dir: &Path, job: JobId) -> PathBuf {
    job_dir(data_dir, job).join("checkpoint")
}

fn attempt_dir(data_dir: &Path, job: JobId, attempt: u32) -> PathBuf {
    job_dir(data_dir, job).join(format!("attempt-{attempt}"))
}

fn prepare(path: &Path) -> impl FnOnce(std::io::Error) -> ExecError + '_ {
    move |source| ExecError::Prepare {
        path: path.display().to_string(),
        source,
    }
}

impl LocalExecutor {
    /// An executor keeping its files under `data_dir` and reporting exits on `exits`.
    pub fn new(data_dir: PathBuf, exits: UnboundedSender<ExecReport>) -> LocalExecutor {
        LocalExecutor { data_dir, exits }
    }

    /// Reads the exit file of an attempt.
    fn exit_code(&self, job: JobId, attempt: u32) -> Option<i32> {
        let path = attempt_dir(&self.data_dir, job, attempt).join("exit");
        std::fs::read_to_string(path).ok()?.trim().parse().ok()
    }

    /// Watches a process that is not our child until it exits.
    fn watch_adopted(&self, job: JobId, attempt: u32, pid: u32, start: u64) {
        let exits = self.exits.clone();
        let exit_file = attempt_dir(&self.data_dir, job, attempt).join("exit");
        tokio::spawn(async move {
            while alive(pid, start) {
                tokio::time::sleep(ADOPTED_POLL).await;
            }
            let exit_code = std::fs::read_to_string(exit_file)
                .ok()
                .and_then(|s| s.trim().parse().ok());
            let _ = exits.send(ExecReport::exited(job, attempt, exit_code));
        });
    }

    /// Reads the pid the wrapper wrote, waiting briefly for a write in progress.
    async fn read_pid(path: &Path) -> Option<u32> {
        for _ in 0..50 {
            if let Ok(s) = std::fs::read_to_string(path) {
                if let Ok(pid) = s.trim().parse() {
                    return Some(pid);
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }
}

#[async_trait]
impl Executor for LocalExecutor {
    async fn launch(&self, req: LaunchRequest) -> Result<Handle, ExecError> {
        let jdir = job_dir(&self.data_dir, req.job);
        let adir = attempt_dir(&self.data_dir, req.job, req.attempt);
        std::fs::create_dir_all(&adir).map_err(prepare(&adir))?;
        req.prepare_checkpoint_dir()?;
        let workdir = match &req.spec.workdir {
            Some(w) => spillway_model::spec::expand_workdir(
                w,
                std::env::var_os("HOME").map(PathBuf::from).as_deref(),
            ),
            None => {
                let w = jdir.join("work");
                std::fs::create_dir_all(&w).map_err(prepare(&w))?;
                w
            }
        };
        if !workdir.is_dir() {
            return Err(ExecError::Workdir {
                path: workdir.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
        let open_log = |name: &str| {
            let p = jdir.join(name);
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .map_err(|source| ExecError::Prepare {
                    path: p.display().to_string(),
                    source,
                })
        };
        let stdout = open_log("stdout.log")?;
        let stderr = open_log("stderr.log")?;

        let run = match (&req.spec.checkpoint, req.resume) {
            (Some(c), true) => c.resume.clone().unwrap_or_else(|| req.spec.run.clone()),
            _ => req.spec.run.clone(),
        };
        // What Spillway sets itself wins over the job's variables of the same name, as when
        // the job's variables were set on the wrapper first.
        let mut ours: Vec<&str> = vec![
            "SPILLWAY_JOB_ID",
            "SPILLWAY_ATTEMPT",
            "SPILLWAY_RESUMED",
            "SPILLWAY_RESTART_COUNT",
            "SPILLWAY_CHECKPOINT_DIR",
            "CUDA_VISIBLE_DEVICES",
            "SKYPILOT_TASK_ID",
            "SKYPILOT_NUM_NODES",
            "SKYPILOT_NUM_GPUS_PER_NODE",
            "SKYPILOT_NODE_RANK",
            "SKYPILOT_NODE_IPS",
        ];
        if let Some(acc) = &req.accelerator {
            ours.extend(visibility_vars(acc).iter().copied());
        }
        let extra =
            super::secrets::extra_env(&self.data_dir, &req, super::secrets::SecretsBy::Value)?;
        // Secrets and TPU variables reach the wrapper's environment (not its arguments, which
        // any local user can read), except names the wrapper's own shell would act on.
        let extra: Vec<(String, String)> = extra
            .into_iter()
            .filter(|(k, _)| !SHELL_CONTROL.contains(&k.as_str()))
            .collect();
        let job_env = req
            .spec
            .envs
            .iter()
            .filter(|(k, _)| !ours.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"));
        let mut cmd = tokio::process::Command::new("bash");
        cmd.arg("-c")
            .arg(WRAPPER)
            .arg("spillway-job")
            .arg(adir.join("pid"))
            .arg(adir.join("exit"))
            .arg(req.spec.setup.as_deref().unwrap_or(""))
            .arg(run)
            .args(job_env)
            .current_dir(&workdir)
            .envs(extra)
            .env("SPILLWAY_JOB_ID", req.job.to_string())
            .env("SPILLWAY_ATTEMPT", req.attempt.to_string())
            .env("SPILLWAY_RESUMED", if req.resume { "1" } else { "0" })
            .env("SPILLWAY_RESTART_COUNT", req.restart_count.to_string())
            .env("SPILLWAY_CHECKPOINT_DIR", &req.checkpoint_dir)
            .envs(git_env(&req))
            .envs(req.skypilot_env())
            // One node, this machine: SkyPilot's single-node values.
            .env("SKYPILOT_NODE_RANK", "0")
            .env("SKYPILOT_NODE_IPS", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Its own process group, so that stop reaches every process the job started.
            .process_group(0)
            .kill_on_drop(false);
        if let Some(acc) = &req.accelerator {
            let list: Vec<String> = req.accelerators.iter().map(ToString::to_string).collect();
            for var in visibility_vars(acc) {
                cmd.env(var, list.join(","));
            }
        } else {
            // A CPU-only job sees no GPUs, even on a machine that has some.
            cmd.env("CUDA_VISIBLE_DEVICES", "");
        }
        let mut child = cmd.spawn().map_err(ExecError::Spawn)?;
        let pid = child
            .id()
            .ok_or_else(|| ExecError::Spawn(std::io::Error::other("exited at once")))?;
        let pid_start = start_time(pid).unwrap_or(0);
        let exits = self.exits.clone();
        let exit_file = adir.join("exit");
        let (job, attempt) = (req.job, req.attempt);
        tokio::spawn(async move {
            let status = child.wait().await;
            let from_file = std::fs::read_to_string(&exit_file)
                .ok()
                .and_then(|s| s.trim().parse().ok());
            // The wrapper's own status equals the job's unless it was killed by a signal.
            let exit_code = from_file.or_else(|| status.ok().and_then(|s| s.code()));
            let _ = exits.send(ExecReport::exited(job, attempt, exit_code));
        });
        Ok(Handle::Process {
            pid,
            start: pid_start,
        })
    }

    async fn stop(&self, _job: JobId, _attempt: u32, handle: Handle) -> Result<(), ExecError> {
        let Handle::Process { pid, .. } = handle else {
            return Err(ExecError::ForeignHandle(handle));
        };
        signal_group(pid, false).map_err(|source| ExecError::Signal { pid, source })?;
        tokio::spawn(async move {
            tokio::time::sleep(STOP_GRACE).await;
            // The group leader may be gone while children linger: kill the group regardless.
            let _ = signal_group(pid, true);
        });
        Ok(())
    }

    async fn recover(&self, attempt: &Attempt) -> Recovered {
        let adir = attempt_dir(&self.data_dir, attempt.job, attempt.number);
        let (pid, start) = match (attempt.pid, attempt.pid_start) {
            (Some(pid), Some(start)) => (pid, start),
            _ => {
                // Launch was interrupted before the pid was recorded: race the wrapper for
                // the pid file. If we create it, the wrapper (if it ever starts) will exit
                // without running anything.
                let pid_file = adir.join("pid");
                if std::fs::create_dir_all(&adir).is_ok()
                    && std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&pid_file)
                        .is_ok()
                {
                    return Recovered::NotStarted;
                }
                match Self::read_pid(&pid_file).await {
                    Some(pid) => (pid, start_time(pid).unwrap_or(0)),
                    None => return Recovered::NotStarted,
                }
            }
        };
        if start != 0 && alive(pid, start) {
            self.watch_adopted(attempt.job, attempt.number, pid, start);
            return Recovered::Running(Handle::Process { pid, start });
        }
        match self.exit_code(attempt.job, attempt.number) {
            Some(code) => Recovered::Exited(Some(code)),
            None => Recovered::Lost,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
