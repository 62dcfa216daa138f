//! The Ray executor: each attempt is one Ray job, submitted through the Jobs REST API of the
//! cluster's dashboard.
//!
//! - The submission id is `spillway-<instance>-<job>-<attempt>` (see
//!   [`super::instance_id`]): deterministic, so a submit retried
//!   after a crash finds the job it made instead of making another, and recovery finds it
//!   without a recorded id.
//! - A gang (`num_nodes` > 1) runs a driver that places one bundle per node in a placement
//!   group and the wrapper once in each, with its rank (see `ray_gang.rs`).
//! - Accelerators are asked as `entrypoint_num_gpus` (Ray sets `CUDA_VISIBLE_DEVICES`), or as
//!   the pool's custom resource; a TPU slice as Ray names it (`TPU-v5p-32-head` and `TPU`).
//! - A polling task reads each followed job's status once per interval, appends what it
//!   printed to the job's `stdout.log` (where `spillway logs` reads), and reports the start
//!   and the end. A job Ray keeps `PENDING` longer than the pool's admission timeout (Ray
//!   never refuses a job asking for resources no node has) is stopped and ends with that
//!   reason, so the service requeues it or fails it instead of waiting forever.

use super::script::{WRAPPER, attempt_env};
use super::{
    ExecError, ExecEvent, ExecReport, Executor, Handle, LaunchRequest, Recovered, job_dir,
};
use crate::config::RaySettings;
use crate::job::{Attempt, JobId};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use spillway_engines::ray::{
    Admission, AdmissionTimeout, RayAccelerator, RayClient, RayError, RayJobInfo, RayJobSpec,
    RayJobStatus,
};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// Reads of a finished job's logs until they stop growing, and the pause between.
const LOG_SETTLE_TRIES: u32 = 5;
const LOG_SETTLE_PAUSE: Duration = Duration::from_millis(300);

/// Runs attempts as jobs of one Ray cluster.
pub struct RayExecutor {
    client: RayClient,
    settings: RaySettings,
    data_dir: PathBuf,
    /// This installation's id, part of every submission id.
    instance: String,
    /// Followed jobs by submission id; shared with the polling task.
    followed: Arc<Mutex<BTreeMap<String, Followed>>>,
}

/// One followed attempt.
#[derive(Debug, Clone)]
struct Followed {
    job: JobId,
    attempt: u32,
    /// Since when it has been waiting to be admitted.
    since: Instant,
    running: bool,
    /// Bytes of its log already appended to `stdout.log`.
    logged: u64,
}

/// The entrypoint: decodes the job's code from the environment, then runs the wrapper. It
/// holds no spec field, so a retried submit always has the same one.
fn entrypoint() -> String {
    // The wrapper has no single quotes, so it can be quoted whole.
    debug_assert!(!WRAPPER.contains('\''));
    format!(
        "bash -c 'for v in SPILLWAY_RUN SPILLWAY_SETUP; do b=\"${{v}}_B64\"; \
         if [ -n \"${{!b:-}}\" ]; then export \"$v=$(printf %s \"${{!b}}\" | base64 -d)\"; fi; done\n{WRAPPER}'"
    )
}

/// The submission id of an attempt.
/// What one attempt submits to Ray (the directories it needs are made here).
fn job_spec(
    settings: &RaySettings,
    data_dir: &Path,
    instance: &str,
    req: &LaunchRequest,
) -> Result<RayJobSpec, ExecError> {
    let offsets = offset_file(data_dir, req.job, req.attempt);
    if let Some(dir) = offsets.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ExecError::Prepare {
            path: dir.display().to_string(),
            source,
        })?;
    }
    req.prepare_checkpoint_dir()?;
    let gang = req.spec.num_nodes > 1;
    let mut spec = RayJobSpec::new(
        req.job.to_string(),
        if gang {
            super::ray_gang::entrypoint(settings)
        } else {
            entrypoint()
        },
    );
    spec.submission_id = submission_id(instance, req.job, req.attempt);
    let workdir = req.spec.workdir.as_deref().map(Path::new);
    spec.env = attempt_env(req, workdir);
    spec.env.extend(super::secrets::extra_env(
        data_dir,
        req,
        super::secrets::SecretsBy::File,
    )?);
    // Ray substitutes `$NAME` in env_vars values with other variables of the job: code
    // travels base64-encoded and the entrypoint decodes it.
    for name in ["SPILLWAY_RUN", "SPILLWAY_SETUP"] {
        if let Some(text) = spec.env.remove(name) {
            spec.env.insert(format!("{name}_B64"), BASE64.encode(text));
        }
    }
    if gang {
        // The driver asks for nothing itself: its placement group's bundles hold the nodes.
        spec.env.extend(super::ray_gang::env(settings, req));
        return Ok(spec);
    }
    let count = req.accelerators.len() as u32;
    spec.accelerator = accelerator_request(settings, req.accelerator.is_some(), count);
    spec.num_cpus = req
        .spec
        .resources
        .cpus
        .as_deref()
        .and_then(|c| c.trim_end_matches('+').trim().parse().ok());
    Ok(spec)
}

/// How an attempt's accelerators are asked of Ray: GPUs (`entrypoint_num_gpus`), the pool's
/// custom resource, or on a pool of TPU slices the slice's head host (`TPU-v5p-32-head: 1`)
/// and that host's chips (`TPU: 4`, or the pool's `ray_resource`): the entrypoint runs on
/// the slice's first host, and a program spanning the slice's hosts starts its work on the
/// others through Ray, as on any Ray TPU cluster.
fn accelerator_request(
    settings: &RaySettings,
    has_accelerator: bool,
    count: u32,
) -> Option<RayAccelerator> {
    if !has_accelerator || count == 0 {
        return None;
    }
    Some(match (&settings.slice, &settings.resource) {
        (Some(shape), resource) => RayAccelerator::TpuSlice {
            accelerator_type: shape.accelerator_type().to_string(),
            chips_per_host: shape.chips_per_host(),
            chip_resource: resource.clone(),
        },
        (None, None) => RayAccelerator::Gpus(count),
        (None, Some(r)) => RayAccelerator::Custom {
            resource: r.clone(),
            amount: f64::from(count),
        },
    })
}

fn submission_id(instance: &str, job: JobId, attempt: u32) -> String {
    format!("spillway-{instance}-{job}-{attempt}")
}

/// Where the number of log bytes copied for an attempt is kept, so that a restarted server
/// copies on from there.
fn offset_file(data_dir: &Path, job: JobId, attempt: u32) -> PathBuf {
    job_dir(data_dir, job).join(format!("attempt-{attempt}/ray-log-offset"))
}

impl RayExecutor {
    /// An executor for the cluster of `settings`, reporting on `reports`; starts its polling
    /// task.
    pub fn new(
        pool: &str,
        settings: RaySettings,
        data_dir: PathBuf,
        reports: UnboundedSender<ExecReport>,
    ) -> Result<RayExecutor, String> {
        let client = RayClient::new(&settings.address).map_err(|e| e.to_string())?;
        let instance = super::instance_id(&data_dir).map_err(|e| {
            format!(
                "cannot keep the installation id under {}: {e}",
                data_dir.display()
            )
        })?;
        let followed = Arc::new(Mutex::new(BTreeMap::new()));
        tokio::spawn(poll(Poller {
            pool: pool.to_string(),
            client: client.clone(),
            admission: AdmissionTimeout(settings.admission_timeout),
            data_dir: data_dir.clone(),
            followed: Arc::clone(&followed),
            reports,
            interval: settings.poll_interval,
        }));
        Ok(RayExecutor {
            client,
            settings,
            data_dir,
            instance,
            followed,
        })
    }

    fn follow(&self, sid: String, followed: Followed) {
        self.followed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sid, followed);
    }
}

#[async_trait]
impl Executor for RayExecutor {
    async fn launch(&self, req: LaunchRequest) -> Result<Handle, ExecError> {
        let spec = job_spec(&self.settings, &self.data_dir, &self.instance, &req)?;
        let sid = spec.submission_id.clone();
        self.client.submit(&spec).await?;
        self.follow(
            sid.clone(),
            Followed {
                job: req.job,
                attempt: req.attempt,
                since: Instant::now(),
                running: false,
                logged: 0,
            },
        );
        Ok(Handle::External(sid))
    }

    async fn stop(&self, _job: JobId, _attempt: u32, handle: Handle) -> Result<(), ExecError> {
        let Handle::External(sid) = &handle else {
            return Err(ExecError::ForeignHandle(handle));
        };
        // The end (STOPPED) is reported by the polling task.
        self.client.stop(sid).await?;
        Ok(())
    }

    async fn recover(&self, attempt: &Attempt) -> Recovered {
        let sid = attempt
            .external_id
            .clone()
            .unwrap_or_else(|| submission_id(&self.instance, attempt.job, attempt.number));
        let logged =
            std::fs::read_to_string(offset_file(&self.data_dir, attempt.job, attempt.number))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
        let followed = Followed {
            job: attempt.job,
            attempt: attempt.number,
            since: Instant::now(),
            running: false,
            logged,
        };
        match self.client.status(&sid).await {
            Err(RayError::NotFound { .. }) => Recovered::NotStarted,
            Ok(info) if info.status.is_terminal() => {
                // Copy what it printed while the server was down.
                let mut f = followed;
                copy_logs(&self.client, &self.data_dir, &sid, &mut f).await;
                Recovered::Exited(exit_code(&info))
            }
            Ok(info) => {
                let running = info.status == RayJobStatus::Running;
                self.follow(
                    sid.clone(),
                    Followed {
                        running,
                        ..followed
                    },
                );
                Recovered::Running(Handle::External(sid))
            }
            Err(e) => {
                // Ray does not answer: keep following; the polling task settles it later.
                tracing::warn!(error = %e, "failed to read a Ray job during recovery");
                self.follow(sid.clone(), followed);
                Recovered::Running(Handle::External(sid))
            }
        }
    }
}

/// The exit code of a finished Ray job: the entrypoint's, or 0 for a success Ray reports
/// without one.
fn exit_code(info: &RayJobInfo) -> Option<i32> {
    info.driver_exit_code
        .or((info.status == RayJobStatus::Succeeded).then_some(0))
}

/// Appends what the job printed since the last copy to its `stdout.log`.
async fn copy_logs(client: &RayClient, data_dir: &Path, sid: &str, f: &mut Followed) {
    let logs = match client.logs(sid).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(job = %f.job, error = %e, "failed to read a Ray job's logs");
            return;
        }
    };
    let bytes = logs.as_bytes();
    let Some(new) = bytes.get(f.logged as usize..).filter(|n| !n.is_empty()) else {
        return;
    };
    let path = job_dir(data_dir, f.job).join("stdout.log");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(new));
    match written {
        Ok(()) => {
            f.logged = bytes.len() as u64;
            let _ = std::fs::write(
                offset_file(data_dir, f.job, f.attempt),
                f.logged.to_string(),
            );
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "failed to append a Ray job's logs")
        }
    }
}

/// What the polling task needs.
struct Poller {
    pool: String,
    client: RayClient,
    admission: AdmissionTimeout,
    data_dir: PathBuf,
    followed: Arc<Mutex<BTreeMap<String, Followed>>>,
    reports: UnboundedSender<ExecReport>,
    interval: Duration,
}

async fn poll(p: Poller) {
    let mut tick = tokio::time::interval(p.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if p.reports.is_closed() {
            return;
        }
        let current: Vec<(String, Followed)> = p
            .followed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (sid, mut f) in current {
            let (event, done) = p.check(&sid, &mut f).await;
            let mut map = p.followed.lock().unwrap_or_else(|e| e.into_inner());
            if done {
                map.remove(&sid);
            } else if let Some(entry) = map.get_mut(&sid) {
                *entry = f.clone();
            }
            drop(map);
            if let Some(event) = event {
                let _ = p.reports.send(ExecReport {
                    job: f.job,
                    attempt: f.attempt,
                    event,
                });
            }
        }
    }
}

impl Poller {
    /// Looks at one job: what to report, and whether it is settled.
    async fn check(&self, sid: &str, f: &mut Followed) -> (Option<ExecEvent>, bool) {
        let info = match self.client.status(sid).await {
            Ok(info) => info,
            Err(RayError::NotFound { .. }) => {
                let event = if f.running {
                    ExecEvent::Exited {
                        exit_code: None,
                        detail: Some(format!("lost: Ray no longer knows job {sid}")),
                    }
                } else {
                    ExecEvent::Vanished {
                        detail: format!("Ray no longer knows job {sid}, which never ran"),
                    }
                };
                return (Some(event), true);
            }
            Err(e) => {
                tracing::warn!(pool = %self.pool, job = %f.job, error = %e, "failed to read a Ray job");
                return (None, false);
            }
        };
        if info.status == RayJobStatus::Pending {
            if let Admission::TimedOut { waited } =
                self.admission.check(&info.status, f.since.elapsed())
            {
                if let Err(e) = self.client.stop(sid).await {
                    tracing::warn!(job = %f.job, error = %e, "failed to stop a Ray job not admitted");
                }
                let says = info
                    .message
                    .map(|m| format!(" (Ray says: {m})"))
                    .unwrap_or_default();
                let detail = format!(
                    "not admitted: Ray kept job {sid} PENDING for {}s, longer than the pool's \
                     admission timeout of {}s{says}; no node has what it asks for: stopped it",
                    waited.as_secs(),
                    self.admission.0.as_secs()
                );
                return (
                    Some(ExecEvent::Exited {
                        exit_code: None,
                        detail: Some(detail),
                    }),
                    true,
                );
            }
            return (None, false);
        }
        copy_logs(&self.client, &self.data_dir, sid, f).await;
        if info.status.is_terminal() {
            // Ray's log reader may lag the job's end by a moment: copy until nothing new comes.
            for _ in 0..LOG_SETTLE_TRIES {
                let before = f.logged;
                tokio::time::sleep(LOG_SETTLE_PAUSE).await;
                copy_logs(&self.client, &self.data_dir, sid, f).await;
                if f.logged == before {
                    break;
                }
            }
            let detail = match &info.status {
                RayJobStatus::Succeeded => None,
                RayJobStatus::Failed if info.driver_exit_code.is_some() => None,
                other => Some(format!(
                    "Ray ended job {sid} as {other}{}",
                    info.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )),
            };
            return (
                Some(ExecEvent::Exited {
                    exit_code: exit_code(&info),
                    detail,
                }),
                true,
            );
        }
        if !f.running {
            f.running = true;
            return (
                Some(ExecEvent::Running {
                    detail: format!("Ray job {sid} running"),
                }),
                false,
            );
        }
        (None, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entrypoint_decodes_the_code_and_runs_it() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(entrypoint())
            .env("SPILLWAY_RUN_B64", BASE64.encode("echo \"run $X\"; exit 3"))
            .env("SPILLWAY_SETUP_B64", BASE64.encode("echo 'set up'"))
            .env("X", "1")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "set up\nrun 1\n");
        assert_eq!(out.status.code(), Some(3));
    }

    fn request(yaml: &str, accelerator: Option<&str>, chips: u32, dir: &Path) -> LaunchRequest {
        let names = crate::accelerators::known_accelerators();
        LaunchRequest {
            job: JobId(7),
            attempt: 1,
            spec: std::sync::Arc::new(spillway_model::spec::parse_spec(yaml, &names).unwrap().spec),
            accelerator: accelerator.map(str::to_string),
            accelerators: (0..chips).collect(),
            resume: false,
            restart_count: 0,
            checkpoint_dir: dir.join("ckpt"),
        }
    }

    fn settings(toml: &str) -> RaySettings {
        let c = crate::config::Config::parse(
            &format!("[[pool]]\nname = \"r\"\nexecutor = \"ray\"\naddress = \"http://127.0.0.1:1\"\n{toml}"),
            "t",
        )
        .unwrap();
        match &c.pools[0].engine {
            crate::config::PoolEngine::Ray(r) => r.clone(),
            other => panic!("{other:?}"),
        }
    }

    /// A gang's entrypoint is the driver, run by the pool's Python, asking nothing itself;
    /// each node's bundle holds its share of the accelerators.
    #[test]
    fn a_gang_is_submitted_as_a_driver_with_one_bundle_per_node() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = "run: x\nnum_nodes: 2\nresources:\n  accelerators: H100:4\n  cpus: 2\n";
        let req = request(yaml, Some("H100"), 8, dir.path());
        let s = settings(
            "accelerator = \"H100\"\ncount = 8\nnodes = 2\nray_python = \"/opt/ray/bin/python\"\n",
        );
        let body = job_spec(&s, dir.path(), "i", &req)
            .unwrap()
            .submission_json();
        assert!(
            body["entrypoint"]
                .as_str()
                .unwrap()
                .starts_with("/opt/ray/bin/python -c \"import base64, os; exec(base64.b64decode(os.environ['SPILLWAY_GANG_DRIVER_B64'])"),
            "{body:#}"
        );
        assert!(body.get("entrypoint_num_gpus").is_none(), "{body:#}");
        assert!(body.get("entrypoint_resources").is_none(), "{body:#}");
        let env = &body["runtime_env"]["env_vars"];
        assert_eq!(env["SPILLWAY_GANG_BUNDLE"], r#"{"CPU":2.0,"GPU":4}"#);
        assert_eq!(env["SKYPILOT_NUM_NODES"], "2");
        assert_eq!(env["SKYPILOT_NUM_GPUS_PER_NODE"], "4");
        assert_eq!(env["SPILLWAY_GANG_ADMISSION_S"], "300");
        assert_eq!(env["SPILLWAY_GANG_STRATEGY"], "SPREAD");
        // `ray_gang_spread = "strict"`: one machine per node, or the gang waits.
        let s = settings(
            "accelerator = \"H100\"\ncount = 8\nnodes = 2\nray_gang_spread = \"strict\"\n",
        );
        let body = job_spec(&s, dir.path(), "i", &req)
            .unwrap()
            .submission_json();
        assert_eq!(
            body["runtime_env"]["env_vars"]["SPILLWAY_GANG_STRATEGY"],
            "STRICT_SPREAD"
        );
        let e = crate::config::Config::parse(
            "[[pool]]\nname = \"r\"\nexecutor = \"ray\"\naddress = \"http://127.0.0.1:1\"\nray_gang_spread = \"pack\"\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("pool[0].ray_gang_spread: unknown placement 'pack'"),
            "{e}"
        );
    }

    /// The submission of a slice job asks for the slice's head host and its chips, and its
    /// process learns the slice type.
    #[test]
    fn a_slice_is_submitted_as_its_head_host_and_chips() {
        let dir = tempfile::tempdir().unwrap();
        let yaml = "run: python train.py\nresources:\n  accelerators: tpu-v5p-32\n  accelerator_args: {topology: 2x2x4}\n";
        let req = request(yaml, Some("tpu-v5p"), 16, dir.path());
        let s = settings("accelerator = \"tpu-v5p-32\"\ntopology = \"2x2x4\"\n");
        let body = job_spec(&s, dir.path(), "i", &req)
            .unwrap()
            .submission_json();
        assert_eq!(
            body["entrypoint_resources"],
            serde_json::json!({"TPU-v5p-32-head": 1.0, "TPU": 4.0})
        );
        assert!(body.get("entrypoint_num_gpus").is_none());
        assert_eq!(
            body["runtime_env"]["env_vars"]["TPU_ACCELERATOR_TYPE"],
            "v5p-32"
        );
        assert_eq!(body["runtime_env"]["env_vars"]["TPU_TOPOLOGY"], "2x2x4");
        assert_eq!(body["submission_id"], "spillway-i-7-1");
        // A single-host v6e slice: all 8 chips on the head host.
        let yaml = "run: x\nresources:\n  accelerators: tpu-v6e-8\n";
        let req = request(yaml, Some("tpu-v6e"), 8, dir.path());
        let s = settings("accelerator = \"tpu-v6e-8\"\nslices = 2\n");
        let body = job_spec(&s, dir.path(), "i", &req)
            .unwrap()
            .submission_json();
        assert_eq!(
            body["entrypoint_resources"],
            serde_json::json!({"TPU-v6e-8-head": 1.0, "TPU": 8.0})
        );
        // GPUs stay GPUs.
        let req = request(
            "run: x\nresources:\n  accelerators: H100:2\n",
            Some("H100"),
            2,
            dir.path(),
        );
        let s = settings("accelerator = \"H100\"\ncount = 8\n");
        let body = job_spec(&s, dir.path(), "i", &req)
            .unwrap()
            .submission_json();
        assert_eq!(body["entrypoint_num_gpus"], 2.0);
        assert!(body.get("entrypoint_resources").is_none());
    }
}
