//! How a pool reaches its engine: nothing for local processes, a `slurm.conf` (and partition,
//! GRES type, constraint) for a Slurm partition, a dashboard address (and resource mapping)
//! for a Ray cluster. Read from the pool's table in the TOML file and validated once here; a
//! pool of TPU slices then tells its engine the slice ([`PoolEngine::with_slice`]).

use super::{ConfigError, field};
use spillway_model::spec::parse_duration;
use spillway_model::spec::tpu::SliceShape;
use std::path::PathBuf;
use std::time::Duration;

/// The engine settings of a pool as written; which apply depends on `executor`.
#[derive(Debug, Default)]
pub(super) struct EngineFile {
    /// Slurm: the cluster's configuration file (chooses the cluster).
    pub(super) slurm_conf: Option<PathBuf>,
    /// Slurm: the directory of `sbatch`, `squeue`, `scancel` (default: `PATH`).
    pub(super) slurm_bin_dir: Option<PathBuf>,
    /// Slurm: the partition (default: the cluster's default partition).
    pub(super) partition: Option<String>,
    /// Slurm: the GRES name and type of the accelerator, e.g. `gpu:h100`.
    pub(super) gres: Option<String>,
    /// Slurm: `--constraint` of every job (node features, e.g. `tpu-v5p-32`).
    pub(super) constraint: Option<String>,
    /// Slurm: `--time` of every job, e.g. `4h` (default: the partition's).
    pub(super) time_limit: Option<String>,
    /// Ray: the dashboard, e.g. `http://127.0.0.1:8265`.
    pub(super) address: Option<String>,
    /// Ray: ask for the accelerators as this custom resource instead of GPUs.
    pub(super) ray_resource: Option<String>,
    /// Ray: how long a job may stay PENDING before it is taken back (default 5m).
    pub(super) admission_timeout: Option<String>,
    /// Ray: the Python (with `ray` installed) that runs a gang's driver on the cluster.
    pub(super) ray_python: Option<String>,
    /// Ray: how a gang's bundles are placed: `spread` (default) or `strict`.
    pub(super) ray_gang_spread: Option<String>,
    /// Slurm and Ray: how often the engine is polled (default 1s).
    pub(super) poll_interval: Option<String>,
}

/// A pool's engine, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum PoolEngine {
    /// Processes on this machine.
    Local,
    /// A partition of a Slurm cluster.
    Slurm(SlurmSettings),
    /// A Ray cluster.
    Ray(RaySettings),
}

/// How to reach a Slurm partition.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmSettings {
    /// `SLURM_CONF` of the cluster.
    pub slurm_conf: PathBuf,
    /// Where the Slurm tools are, if not on `PATH`.
    pub bin_dir: Option<PathBuf>,
    /// `--partition`.
    pub partition: Option<String>,
    /// GRES name and type (`gpu:h100`); the count comes from the job.
    pub gres: Option<String>,
    /// `--constraint` of every job: the node features that make up the pool (`tpu-v5p-32`).
    /// A pool of TPU slices without `gres` or `constraint` asks for its slice name.
    pub constraint: Option<String>,
    /// For a pool of TPU slices: the slice name (`tpu-v5p-32`). Without a `gres` such a pool
    /// asks for no GRES: the constraint picks the slice's nodes.
    pub slice: Option<String>,
    /// `--time` of every job.
    pub time_limit: Option<Duration>,
    /// Time between two `squeue` listings of the cluster.
    pub poll_interval: Duration,
}

/// How to reach a Ray cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct RaySettings {
    /// The dashboard (Jobs API) address.
    pub address: String,
    /// The custom resource standing for one accelerator; `None` asks for GPUs
    /// (`entrypoint_num_gpus`), or for `TPU` on a pool of TPU slices.
    pub resource: Option<String>,
    /// For a pool of TPU slices: their shape. A job asks for the slice's head host as Ray
    /// names it (`TPU-v5p-32-head`) and for that host's chips.
    pub slice: Option<SliceShape>,
    /// How long Ray may keep a job PENDING before Spillway stops it and requeues it; a gang
    /// whose placement group is not placed within it ends (see `executor/ray_gang.rs`).
    pub admission_timeout: Duration,
    /// The Python with `ray` installed that runs a gang's driver (`ray_python`, default
    /// `python3`): the Jobs API runs the entrypoint with the head's `PATH`, which need not
    /// lead to the Python that runs Ray.
    pub python: String,
    /// Whether a gang's bundles go `STRICT_SPREAD` (`ray_gang_spread = "strict"`: one node
    /// of the cluster each, or the gang waits) rather than `SPREAD` (apart where the cluster
    /// has the machines, packed where it has not).
    pub strict_spread: bool,
    /// Time between two status polls.
    pub poll_interval: Duration,
}

const DEFAULT_POLL: Duration = Duration::from_secs(1);
const DEFAULT_ADMISSION: Duration = Duration::from_secs(300);

fn duration(at: &str, text: Option<&str>, default: Duration) -> Result<Duration, ConfigError> {
    match text {
        None => Ok(default),
        Some(t) => {
            // Sub-second polls are useful in tests; parse_duration knows whole seconds only.
            if let Some(ms) = t.trim().strip_suffix("ms") {
                if let Ok(ms) = ms.trim().parse::<u64>() {
                    return Ok(Duration::from_millis(ms));
                }
            }
            let secs = parse_duration(t).map_err(|m| field(at, m))?;
            if secs == 0 {
                return Err(field(at, "must be longer than zero"));
            }
            Ok(Duration::from_secs(secs))
        }
    }
}

impl EngineFile {
    /// Validates the settings for `executor`; `at` names a field of this pool in errors.
    /// Settings of another engine are refused, so that a typo does not go unnoticed.
    pub(super) fn validate(
        self,
        executor: &str,
        at: &dyn Fn(&str) -> String,
    ) -> Result<PoolEngine, ConfigError> {
        let slurm_only = [
            ("slurm_conf", self.slurm_conf.is_some()),
            ("slurm_bin_dir", self.slurm_bin_dir.is_some()),
            ("partition", self.partition.is_some()),
            ("gres", self.gres.is_some()),
            ("constraint", self.constraint.is_some()),
            ("time_limit", self.time_limit.is_some()),
        ];
        let ray_only = [
            ("address", self.address.is_some()),
            ("ray_resource", self.ray_resource.is_some()),
            ("admission_timeout", self.admission_timeout.is_some()),
            ("ray_python", self.ray_python.is_some()),
            ("ray_gang_spread", self.ray_gang_spread.is_some()),
        ];
        let refuse = |fields: &[(&str, bool)], engine: &str| {
            fields.iter().find(|(_, set)| *set).map(|(name, _)| {
                field(
                    at(name),
                    format!("only a {engine} pool takes `{name}`; remove it or set executor = \"{engine}\""),
                )
            })
        };
        let poll = duration(
            &at("poll_interval"),
            self.poll_interval.as_deref(),
            DEFAULT_POLL,
        )?;
        match executor {
            "local" => {
                if let Some(e) = refuse(&slurm_only, "slurm").or_else(|| refuse(&ray_only, "ray")) {
                    return Err(e);
                }
                if self.poll_interval.is_some() {
                    return Err(field(
                        at("poll_interval"),
                        "a local pool is not polled; remove it",
                    ));
                }
                Ok(PoolEngine::Local)
            }
            "slurm" => {
                if let Some(e) = refuse(&ray_only, "ray") {
                    return Err(e);
                }
                let slurm_conf = self.slurm_conf.ok_or_else(|| {
                    field(
                        at("slurm_conf"),
                        "a slurm pool needs the cluster's slurm.conf, e.g. slurm_conf = \"/etc/slurm/slurm.conf\"",
                    )
                })?;
                if let Some(g) = &self.gres {
                    spillway_engines::slurm::GresRequest::parse(g, 1)
                        .map_err(|e| field(at("gres"), e.to_string()))?;
                }
                if let Some(c) = &self.constraint {
                    if c.is_empty() || c.chars().any(|ch| ch.is_whitespace() || ch.is_control()) {
                        return Err(field(
                            at("constraint"),
                            format!(
                                "{c:?} is not a Slurm constraint: write node features without spaces, e.g. tpu-v5p-32 or \"v5p&topo-2x2x4\""
                            ),
                        ));
                    }
                }
                if let Some(p) = &self.partition {
                    if p.is_empty() || p.contains([',', ' ', '\n']) {
                        return Err(field(
                            at("partition"),
                            format!("{p:?} is not one partition name"),
                        ));
                    }
                }
                let time_limit = match self.time_limit.as_deref() {
                    None => None,
                    Some(t) => Some(duration(&at("time_limit"), Some(t), DEFAULT_POLL)?),
                };
                Ok(PoolEngine::Slurm(SlurmSettings {
                    slurm_conf,
                    bin_dir: self.slurm_bin_dir,
                    partition: self.partition,
                    gres: self.gres,
                    constraint: self.constraint,
                    slice: None,
                    time_limit,
                    poll_interval: poll,
                }))
            }
            "ray" => {
                if let Some(e) = refuse(&slurm_only, "slurm") {
                    return Err(e);
                }
                let address = self.address.ok_or_else(|| {
                    field(
                        at("address"),
                        "a ray pool needs its dashboard address, e.g. address = \"http://127.0.0.1:8265\"",
                    )
                })?;
                spillway_engines::ray::RayClient::new(&address)
                    .map_err(|e| field(at("address"), e.to_string()))?;
                if let Some(r) = &self.ray_resource {
                    if r.is_empty() || matches!(r.as_str(), "CPU" | "GPU" | "memory") {
                        return Err(field(
                            at("ray_resource"),
                            format!("{r:?} is not a custom resource; leave it out to ask for GPUs"),
                        ));
                    }
                }
                let admission_timeout = duration(
                    &at("admission_timeout"),
                    self.admission_timeout.as_deref(),
                    DEFAULT_ADMISSION,
                )?;
                let python = self.ray_python.unwrap_or_else(|| "python3".into());
                if python.is_empty() || python.contains(['\'', '"', '\n']) {
                    return Err(field(
                        at("ray_python"),
                        format!("{python:?} is not a path to a Python: e.g. /opt/ray/bin/python"),
                    ));
                }
                let strict_spread = match self.ray_gang_spread.as_deref() {
                    None | Some("spread") => false,
                    Some("strict") => true,
                    Some(other) => {
                        return Err(field(
                            at("ray_gang_spread"),
                            format!(
                                "unknown placement '{other}': use \"spread\" (the default: apart where the cluster has the machines) or \"strict\" (one machine per node, else the gang waits)"
                            ),
                        ));
                    }
                };
                Ok(PoolEngine::Ray(RaySettings {
                    address,
                    resource: self.ray_resource,
                    slice: None,
                    admission_timeout,
                    python,
                    strict_spread,
                    poll_interval: poll,
                }))
            }
            other => Err(field(
                at("executor"),
                format!("unknown executor '{other}': use \"local\", \"slurm\" or \"ray\""),
            )),
        }
    }
}

impl PoolEngine {
    /// The engine of a pool made of TPU slices of `shape` (`None`: not made of slices): a
    /// Slurm pool without `gres` or `constraint` asks `--constraint=<slice name>`, a Ray pool
    /// asks for the slice's head host.
    pub(super) fn with_slice(mut self, shape: Option<&SliceShape>) -> PoolEngine {
        let Some(shape) = shape else { return self };
        match &mut self {
            PoolEngine::Local => {}
            PoolEngine::Slurm(s) => {
                s.slice = Some(shape.name.clone());
                if s.constraint.is_none() && s.gres.is_none() {
                    s.constraint = Some(shape.name.clone());
                }
            }
            PoolEngine::Ray(r) => r.slice = Some(shape.clone()),
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, PoolEngine};
    use std::time::Duration;

    fn err(toml: &str) -> String {
        Config::parse(toml, "t").unwrap_err().to_string()
    }

    #[test]
    fn engine_settings_are_checked_and_named() {
        let e = err("[[pool]]\nname = \"r\"\nexecutor = \"ray\"\naddress = \"https://h:1\"\n");
        assert!(e.contains("pool[0].address") && e.contains("https"), "{e}");
        let e = err(
            "[[pool]]\nname = \"r\"\nexecutor = \"ray\"\naddress = \"http://h:1\"\nray_resource = \"GPU\"\n",
        );
        assert!(e.contains("pool[0].ray_resource"), "{e}");
        let e = err(
            "[[pool]]\nname = \"s\"\nexecutor = \"slurm\"\nslurm_conf = \"/x\"\ngres = \"gpu:h100:2\"\n",
        );
        assert!(e.contains("pool[0].gres") && e.contains("too many"), "{e}");
        let e = err(
            "[[pool]]\nname = \"s\"\nexecutor = \"slurm\"\nslurm_conf = \"/x\"\naddress = \"http://h:1\"\n",
        );
        assert!(e.contains("pool[0].address: only a ray pool"), "{e}");
        let e = err(
            "[[pool]]\nname = \"s\"\nexecutor = \"slurm\"\nslurm_conf = \"/x\"\npoll_interval = \"0s\"\n",
        );
        assert!(e.contains("pool[0].poll_interval"), "{e}");
    }

    #[test]
    fn polls_may_be_given_in_milliseconds() {
        let c = Config::parse(
            "[[pool]]\nname = \"s\"\nexecutor = \"slurm\"\nslurm_conf = \"/x\"\npoll_interval = \"250ms\"\n",
            "t",
        )
        .unwrap();
        let PoolEngine::Slurm(s) = &c.pools[0].engine else {
            panic!("{:?}", c.pools[0].engine);
        };
        assert_eq!(s.poll_interval, Duration::from_millis(250));
        assert_eq!(s.partition, None);
    }

    #[test]
    fn pools_of_slices_tell_their_engine_the_slice() {
        let slurm = |extra: &str| {
            let c = Config::parse(
                &format!(
                    "[[pool]]\nname = \"s\"\nexecutor = \"slurm\"\nslurm_conf = \"/x\"\naccelerator = \"tpu-v5p-32\"\n{extra}"
                ),
                "t",
            )
            .unwrap();
            let PoolEngine::Slurm(s) = c.pools[0].engine.clone() else {
                panic!("{:?}", c.pools[0].engine);
            };
            (s.constraint, s.gres, s.slice)
        };
        let slice = Some("tpu-v5p-32".to_string());
        assert_eq!(slurm(""), (slice.clone(), None, slice.clone()));
        assert_eq!(
            slurm("gres = \"tpu\"\n"),
            (None, Some("tpu".into()), slice.clone()),
            "a GRES picks the slice instead"
        );
        assert_eq!(
            slurm("constraint = \"v5p&topo-2x2x4\"\n").0.as_deref(),
            Some("v5p&topo-2x2x4")
        );
        let e = err(
            "[[pool]]\nname = \"s\"\nexecutor = \"slurm\"\nslurm_conf = \"/x\"\nconstraint = \"a b\"\n",
        );
        assert!(
            e.contains("pool[0].constraint") && e.contains("without spaces"),
            "{e}"
        );
        let e = err("[[pool]]\nname = \"l\"\nconstraint = \"x\"\n");
        assert!(e.contains("pool[0].constraint: only a slurm pool"), "{e}");
        let c = Config::parse(
            "[[pool]]\nname = \"r\"\nexecutor = \"ray\"\naddress = \"http://h:1\"\naccelerator = \"tpu-v6e-8\"\nslices = 2\n",
            "t",
        )
        .unwrap();
        let PoolEngine::Ray(r) = &c.pools[0].engine else {
            panic!("{:?}", c.pools[0].engine);
        };
        assert_eq!(
            r.slice.as_ref().map(|s| s.accelerator_type()),
            Some("v6e-8")
        );
        assert_eq!(c.pools[0].count, 16);
    }
}
