//! The Slurm executor: each attempt is one batch job on a partition of one cluster (chosen by
//! its `slurm.conf`).
//!
//! - Launch is one `sbatch` with `--job-name=spillway-<instance>-<job>-<attempt>`,
//!   `--comment=spillway:<job>`, the pool's partition, `--gres=<gres>:<count>` and the pool's
//!   `--constraint` (a pool of TPU slices: by default the slice name), `--nodes`,
//!   `--time`, `--requeue` (so that Slurm's own preemption requeues instead of killing), and
//!   output appended to the job's `stdout.log` / `stderr.log` under the data directory, which
//!   is where `spillway logs` reads (the cluster must see that directory: same host or a
//!   shared file system).
//! - Tracking is one `squeue --json` listing per poll interval for all of the pool's jobs,
//!   turned into events by [`SlurmWatcher`]: started, requeued by Slurm (preemption, node
//!   failure), finished with its exit code or Slurm's reason, lost.
//! - A job that Slurm requeued is released at once (`scontrol update StartTime=now`) instead
//!   of waiting out Slurm's two-minute hold: Spillway has already decided it runs here.
//! - Recovery adopts attempts by their Slurm id, or, when a crash came between `sbatch` and
//!   recording its id, by comment and job name: an attempt is never submitted twice.

use super::script::{WRAPPER, attempt_env};
use super::{
    ExecError, ExecEvent, ExecReport, Executor, Handle, LaunchRequest, Recovered, job_dir,
};
use crate::config::SlurmSettings;
use crate::job::{Attempt, JobId};
use async_trait::async_trait;
use spillway_engines::slurm::{
    ExitStatus, GresRequest, SlurmClient, SlurmError, SlurmEvent, SlurmJobId, SlurmJobSpec,
    SlurmJobState, SlurmJobStatus, SlurmWatcher,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// The pause between two listings is at least this many times the last listing's duration.
const LISTING_SHARE: u32 = 2;
/// How long a listing taken for recovery is reused for the next attempt recovered.
const RECOVERY_SNAPSHOT_AGE: Duration = Duration::from_secs(2);
/// Listings tried during recovery while slurmctld does not answer, and the pause between.
const RECOVERY_TRIES: u32 = 10;
const RECOVERY_PAUSE: Duration = Duration::from_secs(2);

/// Runs attempts as batch jobs on one Slurm partition.
pub struct SlurmExecutor {
    /// The pool's name, for messages.
    pool: String,
    client: SlurmClient,
    settings: SlurmSettings,
    /// The data directory (logs under `jobs/<id>/`).
    data_dir: PathBuf,
    /// This installation's id, part of every job name.
    instance: String,
    /// The jobs being followed; shared with the polling task.
    watch: Arc<Mutex<Watch>>,
    /// A recent listing, reused while recovery adopts many attempts.
    recovery_snapshot: tokio::sync::Mutex<Option<(Instant, Arc<Vec<SlurmJobStatus>>)>>,
}

/// What the polling task follows.
#[derive(Default)]
struct Watch {
    watcher: SlurmWatcher,
    /// Submitted or adopted since the last listing began: given to the watcher only before
    /// the next listing, so that a job is never judged lost by a listing taken before it
    /// existed.
    fresh: Vec<(SlurmJobId, JobId)>,
    attempts: BTreeMap<SlurmJobId, Tracked>,
}

/// One followed attempt.
#[derive(Debug, Clone, PartialEq)]
struct Tracked {
    job: JobId,
    attempt: u32,
    /// It holds an allocation now.
    running: bool,
    /// It has run at some point (a lost job that never ran is safe to submit again).
    ran: bool,
    /// Requeues already reported.
    restarts: u32,
}

impl Watch {
    fn follow(&mut self, id: SlurmJobId, tracked: Tracked) {
        self.fresh.push((id, tracked.job));
        self.attempts.insert(id, tracked);
    }
}

impl SlurmExecutor {
    /// An executor for the pool `pool`, reporting on `reports`; starts its polling task.
    pub fn new(
        pool: &str,
        settings: SlurmSettings,
        data_dir: PathBuf,
        reports: UnboundedSender<ExecReport>,
    ) -> std::io::Result<SlurmExecutor> {
        let instance = super::instance_id(&data_dir)?;
        let mut client = SlurmClient::new(&settings.slurm_conf);
        if let Some(dir) = &settings.bin_dir {
            client = client.with_bin_dir(dir);
        }
        let watch = Arc::new(Mutex::new(Watch::default()));
        tokio::spawn(poll(
            pool.to_string(),
            client.clone(),
            Arc::clone(&watch),
            reports,
            settings.poll_interval,
        ));
        Ok(SlurmExecutor {
            pool: pool.to_string(),
            client,
            settings,
            data_dir,
            instance,
            watch,
            recovery_snapshot: tokio::sync::Mutex::new(None),
        })
    }

    fn job_spec(&self, req: &LaunchRequest) -> Result<SlurmJobSpec, ExecError> {
        job_spec(&self.settings, &self.data_dir, &self.instance, req)
    }

    /// The attempt's job as slurmctld lists it now, by id or by comment and name.
    fn find<'a>(
        &self,
        snapshot: &'a [SlurmJobStatus],
        attempt: &Attempt,
        id: Option<SlurmJobId>,
    ) -> Option<&'a SlurmJobStatus> {
        let comment = format!("spillway:{}", attempt.job);
        let name = job_name(&self.instance, attempt.job, attempt.number);
        snapshot
            .iter()
            .filter(|s| s.comment == comment && s.name == name)
            .filter(|s| id.is_none_or(|id| s.job_id == id))
            .max_by_key(|s| s.job_id)
    }

    /// A listing for recovery, reused for a moment; retried while slurmctld is down.
    async fn snapshot(&self) -> Option<Arc<Vec<SlurmJobStatus>>> {
        let mut cached = self.recovery_snapshot.lock().await;
        if let Some((at, jobs)) = cached.as_ref() {
            if at.elapsed() < RECOVERY_SNAPSHOT_AGE {
                return Some(Arc::clone(jobs));
            }
        }
        for try_ in 1..=RECOVERY_TRIES {
            match self.client.jobs().await {
                Ok(jobs) => {
                    let jobs = Arc::new(jobs);
                    *cached = Some((Instant::now(), Arc::clone(&jobs)));
                    return Some(jobs);
                }
                Err(e) => {
                    tracing::warn!(pool = %self.pool, error = %e, try_, "failed to list Slurm jobs for recovery");
                    tokio::time::sleep(RECOVERY_PAUSE).await;
                }
            }
        }
        None
    }

    fn adopt(&self, status: &SlurmJobStatus, attempt: &Attempt) -> Recovered {
        if status.state.is_terminal() {
            return Recovered::Exited(exit_code(status.exit));
        }
        let running = status.state.is_running();
        self.watch.lock().unwrap_or_else(|p| p.into_inner()).follow(
            status.job_id,
            Tracked {
                job: attempt.job,
                attempt: attempt.number,
                running,
                ran: running || status.restarts > 0,
                restarts: status.restarts,
            },
        );
        Recovered::Running(Handle::External(status.job_id.to_string()))
    }
}

/// The `--job-name` of an attempt; with the comment it identifies the attempt in Slurm.
/// What one attempt submits to Slurm (the directories it needs are made here).
fn job_spec(
    settings: &SlurmSettings,
    data_dir: &std::path::Path,
    instance: &str,
    req: &LaunchRequest,
) -> Result<SlurmJobSpec, ExecError> {
    let jdir = job_dir(data_dir, req.job);
    let workdir = match &req.spec.workdir {
        Some(w) => spillway_model::spec::expand_workdir(
            w,
            std::env::var_os("HOME").map(PathBuf::from).as_deref(),
        ),
        None => jdir.join("work"),
    };
    req.prepare_checkpoint_dir()?;
    for dir in [&jdir, &workdir] {
        std::fs::create_dir_all(dir).map_err(|source| ExecError::Prepare {
            path: dir.display().to_string(),
            source,
        })?;
    }
    let nodes = req.spec.num_nodes.max(1);
    // sbatch reads #SBATCH lines before the first command: appending keeps the output of
    // earlier attempts and of a run before a Slurm requeue.
    let mut spec = SlurmJobSpec::new(
        req.job.to_string(),
        format!("#SBATCH --open-mode=append\n{}", batch_body(nodes)),
    );
    spec.name = Some(job_name(instance, req.job, req.attempt));
    spec.partition = settings.partition.clone();
    let count = req.accelerators.len() as u32;
    (spec.gres, spec.constraint) =
        accelerator_request(settings, req.accelerator.is_some(), count, nodes)?;
    spec.nodes = nodes;
    spec.cpus_per_task = req
        .spec
        .resources
        .cpus
        .as_deref()
        .and_then(|c| c.trim_end_matches('+').trim().parse().ok());
    spec.time_limit = settings.time_limit;
    spec.output = Some(jdir.join("stdout.log"));
    spec.error = Some(jdir.join("stderr.log"));
    spec.workdir = Some(workdir);
    spec.requeue = true;
    spec.env = attempt_env(req, None);
    if nodes > 1 {
        // Where each node of a gang writes its own exit code (see `batch_body`).
        spec.env.insert(
            "SPILLWAY_NODE_CODES".into(),
            jdir.join(format!("node-codes-{}", req.attempt))
                .display()
                .to_string(),
        );
    }
    spec.env.extend(super::secrets::extra_env(
        data_dir,
        req,
        super::secrets::SecretsBy::File,
    )?);
    Ok(spec)
}

/// What the batch script runs: the wrapper itself on a job of one node; on a gang of several,
/// the wrapper once on every node of the allocation through `srun` (one task per node), so
/// that each node runs `setup` and `run` with its own `SKYPILOT_NODE_RANK` (Slurm's
/// `SLURM_NODEID`) and all see the same `SKYPILOT_NODE_IPS`, as SkyPilot runs a task on
/// every node of its cluster.
///
/// The attempt fails when any node fails (`--kill-on-bad-exit` stops the others), and its
/// exit code is the worst node's own, not srun's: srun returns the highest of the tasks'
/// codes, which is most often 143, a sibling stopped with SIGTERM, where the failing node
/// said 4. So each node writes the code its wrapper ended with to
/// `$SPILLWAY_NODE_CODES/<SLURM_NODEID>` (the attempt's directory under the job's directory,
/// which the nodes share as they share the job's logs and workdir), and the batch script
/// exits with the worst of them: the highest code below 128 (a node's own failure) if any,
/// else the highest (a node killed by a signal); srun's code when no node wrote one (nodes
/// stopped before their wrapper ended, or no shared directory). The shell around each node's
/// wrapper outlives a SIGTERM (`scancel`, `--kill-on-bad-exit`) until the wrapper has ended,
/// so that the task stays alive while the wrapper removes its git checkout.
fn batch_body(nodes: u32) -> String {
    if nodes <= 1 {
        return WRAPPER.to_string();
    }
    debug_assert!(!WRAPPER.contains('\''));
    format!(
        "codes=\"$SPILLWAY_NODE_CODES\"\n\
         rm -rf \"$codes\" && mkdir -p \"$codes\"\n\
         srun --nodes={nodes} --ntasks={nodes} --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c 'trap : HUP INT TERM\n(\n{WRAPPER}\n)\n\
         c=$?; echo \"$c\" > \"$SPILLWAY_NODE_CODES/$SLURM_NODEID\"; exit \"$c\"'\n\
         rc=$?\n\
         own=0; any=0\n\
         for f in \"$codes\"/*; do\n\
         \x20 [ -f \"$f\" ] || continue; c=$(cat \"$f\"); case \"$c\" in ''|*[!0-9]*) continue ;; esac\n\
         \x20 [ \"$c\" -gt \"$any\" ] && any=$c\n\
         \x20 [ \"$c\" -lt 128 ] && [ \"$c\" -gt \"$own\" ] && own=$c\n\
         done\n\
         if [ \"$rc\" -ne 0 ]; then\n\
         \x20 if [ \"$own\" -ne 0 ]; then rc=$own; elif [ \"$any\" -ne 0 ]; then rc=$any; fi\n\
         fi\n\
         exit \"$rc\""
    )
}

/// How an attempt's accelerators are asked of Slurm: `--gres=<gres>:<count per node>` (GRES
/// `gpu` unless the pool names one), and the pool's `--constraint`. A pool of TPU slices
/// without a `gres` asks for no GRES: its constraint (by default the slice name,
/// `tpu-v5p-32`) picks the nodes of a slice.
fn accelerator_request(
    settings: &SlurmSettings,
    has_accelerator: bool,
    count: u32,
    nodes: u32,
) -> Result<(Option<GresRequest>, Option<String>), ExecError> {
    let gres = match (&settings.gres, &settings.slice) {
        _ if !has_accelerator || count == 0 => None,
        (Some(g), _) => Some(GresRequest::parse(g, count.div_ceil(nodes))?),
        (None, None) => Some(GresRequest::parse("gpu", count.div_ceil(nodes))?),
        (None, Some(_)) => None,
    };
    Ok((gres, settings.constraint.clone()))
}

fn job_name(instance: &str, job: JobId, attempt: u32) -> String {
    format!("spillway-{instance}-{job}-{attempt}")
}

fn exit_code(exit: Option<ExitStatus>) -> Option<i32> {
    match exit {
        Some(ExitStatus::Code(c)) => Some(c),
        _ => None,
    }
}

fn parse_handle(handle: &Handle) -> Option<SlurmJobId> {
    match handle {
        Handle::External(id) => id.parse().ok(),
        Handle::Process { .. } => None,
    }
}

#[async_trait]
impl Executor for SlurmExecutor {
    async fn launch(&self, req: LaunchRequest) -> Result<Handle, ExecError> {
        let spec = self.job_spec(&req)?;
        let id = match self.client.submit(&spec).await {
            Ok(id) => id,
            Err(SlurmError::InvalidSpec { field, problem }) => {
                return Err(SlurmError::InvalidSpec { field, problem }.into());
            }
            Err(error) => {
                // slurmctld may have taken the job and the answer been lost: look before
                // reporting a failure that would make the job be submitted again.
                let attempt = Attempt {
                    job: req.job,
                    number: req.attempt,
                    pool: self.pool.clone(),
                    accelerators: Vec::new(),
                    resumed: req.resume,
                    pid: None,
                    pid_start: None,
                    external_id: None,
                    started_ms: 0,
                    ended_ms: None,
                    outcome: crate::job::AttemptOutcome::Starting,
                    exit_code: None,
                };
                let jobs = self.client.jobs().await.unwrap_or_default();
                match self.find(&jobs, &attempt, None) {
                    Some(found) => found.job_id,
                    None => return Err(error.into()),
                }
            }
        };
        self.watch.lock().unwrap_or_else(|p| p.into_inner()).follow(
            id,
            Tracked {
                job: req.job,
                attempt: req.attempt,
                running: false,
                ran: false,
                restarts: 0,
            },
        );
        Ok(Handle::External(id.to_string()))
    }

    async fn stop(&self, _job: JobId, _attempt: u32, handle: Handle) -> Result<(), ExecError> {
        let Some(id) = parse_handle(&handle) else {
            return Err(ExecError::ForeignHandle(handle));
        };
        // A job that already ended is reported by the next listing as usual.
        self.client.cancel(id).await?;
        Ok(())
    }

    async fn recover(&self, attempt: &Attempt) -> Recovered {
        let id = attempt.external_id.as_deref().and_then(|i| i.parse().ok());
        let Some(jobs) = self.snapshot().await else {
            // slurmctld does not answer: keep a known job and let the watcher settle it
            // once it does; an attempt without an id is assumed never submitted.
            return match id {
                Some(id) => {
                    self.watch.lock().unwrap_or_else(|p| p.into_inner()).follow(
                        id,
                        Tracked {
                            job: attempt.job,
                            attempt: attempt.number,
                            running: false,
                            ran: true,
                            restarts: 0,
                        },
                    );
                    Recovered::Running(Handle::External(id.to_string()))
                }
                None => Recovered::NotStarted,
            };
        };
        match (self.find(&jobs, attempt, id), id) {
            (Some(status), _) => self.adopt(status, attempt),
            // Gone from slurmctld (ended more than MinJobAge ago, or lost in a crash).
            (None, Some(_)) => Recovered::Lost,
            (None, None) => Recovered::NotStarted,
        }
    }
}

/// The polling task: one listing per interval while anything is followed.
async fn poll(
    pool: String,
    client: SlurmClient,
    watch: Arc<Mutex<Watch>>,
    reports: UnboundedSender<ExecReport>,
    interval: Duration,
) {
    // The pause before the next listing: the interval, or more while listings are slow.
    let mut pause = interval;
    loop {
        tokio::time::sleep(pause).await;
        if reports.is_closed() {
            return;
        }
        let any = {
            let mut w = watch.lock().unwrap_or_else(|p| p.into_inner());
            let fresh = std::mem::take(&mut w.fresh);
            for (id, job) in fresh {
                w.watcher.watch(id, &job.to_string());
            }
            w.watcher.watched().next().is_some()
        };
        if !any {
            continue;
        }
        let listing = Instant::now();
        let result = client.jobs().await;
        // slurmctld serves a listing under its job lock, and Slurm 22.05 lists every job it
        // holds (1,800 finished jobs took 1.2 s here): keep listings to at most a third of
        // its time, or submissions queue behind them.
        pause = interval.max(listing.elapsed() * LISTING_SHARE);
        let snapshot = match result {
            Ok(s) => s,
            Err(e) => {
                // slurmctld restarting: its jobs carry on; look again next time.
                tracing::warn!(%pool, error = %e, "failed to list Slurm jobs");
                continue;
            }
        };
        let (out, release) = {
            let mut w = watch.lock().unwrap_or_else(|p| p.into_inner());
            let events = w.watcher.observe(&snapshot);
            translate(&mut w.attempts, &events, &snapshot)
        };
        for report in out {
            let _ = reports.send(report);
        }
        for id in release {
            if let Err(e) = client.release_requeued(id).await {
                tracing::warn!(%pool, job = %id, error = %e, "failed to release a requeued Slurm job");
            }
        }
    }
}

/// Turns the watcher's events into reports, updating what is known of each attempt. Returns
/// the reports and the requeued jobs to release.
fn translate(
    attempts: &mut BTreeMap<SlurmJobId, Tracked>,
    events: &[SlurmEvent],
    snapshot: &[SlurmJobStatus],
) -> (Vec<ExecReport>, Vec<SlurmJobId>) {
    let mut out = Vec::new();
    let mut release = Vec::new();
    for event in events {
        let id = match event {
            SlurmEvent::Started { job, .. }
            | SlurmEvent::Requeued { job, .. }
            | SlurmEvent::Finished { job, .. }
            | SlurmEvent::Lost { job } => *job,
        };
        let Some(t) = attempts.get_mut(&id) else {
            continue;
        };
        let (job, attempt) = (t.job, t.attempt);
        let report = |event| ExecReport {
            job,
            attempt,
            event,
        };
        match event {
            SlurmEvent::Started { nodes, .. } => {
                if t.running {
                    continue;
                }
                t.running = true;
                t.ran = true;
                let gres = snapshot
                    .iter()
                    .find(|s| s.job_id == id)
                    .map(|s| s.gres_detail.join(","))
                    .filter(|g| !g.is_empty())
                    .map(|g| format!(" with {g}"))
                    .unwrap_or_default();
                out.push(report(ExecEvent::Running {
                    detail: format!("Slurm job {id} running on {nodes}{gres}"),
                }));
            }
            SlurmEvent::Requeued {
                restarts, reason, ..
            } => {
                if *restarts <= t.restarts {
                    // Already known (an adopted job's past requeues).
                    continue;
                }
                t.running = false;
                t.restarts = *restarts;
                release.push(id);
                out.push(report(ExecEvent::Requeued {
                    detail: format!(
                        "Slurm requeued job {id} (requeue {restarts}, reason {reason}): preempted \
                         by higher-priority work or its node failed; it runs again under the \
                         same Slurm id"
                    ),
                }));
            }
            SlurmEvent::Finished { state, exit, .. } => {
                // A short job can start and end between two listings: its start is news too.
                let ran_unseen = !t.ran
                    && matches!(
                        state,
                        SlurmJobState::Completed
                            | SlurmJobState::Failed
                            | SlurmJobState::Timeout
                            | SlurmJobState::OutOfMemory
                    );
                if ran_unseen {
                    let nodes = snapshot
                        .iter()
                        .find(|s| s.job_id == id)
                        .map_or("its node", |s| s.nodes.as_str());
                    out.push(report(ExecEvent::Running {
                        detail: format!("Slurm job {id} ran on {nodes} (between two listings)"),
                    }));
                }
                let detail = match state {
                    SlurmJobState::Completed | SlurmJobState::Failed => None,
                    SlurmJobState::NodeFail => Some(format!(
                        "its node failed: Slurm ended job {id} as NODE_FAIL"
                    )),
                    other => Some(format!("Slurm ended job {id} as {other}")),
                };
                out.push(report(ExecEvent::Exited {
                    exit_code: exit_code(*exit),
                    detail,
                }));
                attempts.remove(&id);
            }
            SlurmEvent::Lost { .. } => {
                let event = if t.ran {
                    ExecEvent::Exited {
                        exit_code: None,
                        detail: Some(format!(
                            "lost: slurmctld no longer knows Slurm job {id}, which had started"
                        )),
                    }
                } else {
                    ExecEvent::Vanished {
                        detail: format!(
                            "slurmctld lost Slurm job {id} before it ran (it restarted before \
                             saving the submission)"
                        ),
                    }
                };
                out.push(report(event));
                attempts.remove(&id);
            }
        }
    }
    (out, release)
}

#[cfg(test)]
mod tests;
