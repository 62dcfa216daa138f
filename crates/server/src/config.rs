//! The service configuration: pools, tenants, tokens, listen address and data directory,
//! read from TOML (`--config spillway.toml`) and validated once, or discovered from this
//! machine when there is no file.

mod contract;
mod engine;
mod faults;
mod shape;

pub use engine::{PoolEngine, RaySettings, SlurmSettings};
pub use faults::{PoolFaults, PreemptionClock, Stockout, StockoutKind};

use crate::accelerators::{from_nvidia_product, known_accelerators};
use serde::Deserialize;
use shape::{pool_block, pool_nodes, slice_pool};
use spillway_core::econ::Contract;
use spillway_core::live::LivePolicy;
use spillway_model::UsdPerHour;
use spillway_model::spec::tpu::SliceShape;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for a config.
    #[error("invalid config {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the TOML parser said (with line and column).
        message: String,
    },
    /// A field has a bad value.
    #[error("invalid config: {field}: {message}")]
    Field {
        /// Path of the field (`pool[1].accelerator`).
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

fn field(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field: field.into(),
        message: message.into(),
    }
}

/// The TOML file as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    data_dir: Option<PathBuf>,
    database: Option<String>,
    listen: Option<String>,
    #[serde(default)]
    admin_tokens: Vec<String>,
    #[serde(default)]
    public_metrics: bool,
    #[serde(default, rename = "pool")]
    pools: Vec<PoolFile>,
    #[serde(default, rename = "tenant")]
    tenants: Vec<TenantFile>,
    #[serde(default)]
    scheduler: SchedulerFile,
    #[serde(default, rename = "contract")]
    contracts: Vec<contract::ContractFile>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SchedulerFile {
    policy: Option<String>,
    failover_half_life_s: Option<f64>,
    restart_overhead_s: Option<f64>,
    round_s: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolFile {
    name: String,
    #[serde(default = "default_executor")]
    executor: String,
    accelerator: Option<String>,
    #[serde(default)]
    count: u32,
    slices: Option<u32>,
    topology: Option<String>,
    nodes: Option<u32>,
    block: Option<u32>,
    max_jobs: Option<u32>,
    price: Option<PriceFile>,
    provider: Option<String>,
    region: Option<String>,
    zone: Option<String>,
    contract: Option<String>,
    faults: Option<faults::FaultsFile>,
    // Engine settings, validated by `engine::EngineFile` (serde cannot flatten them into a
    // struct that denies unknown fields).
    slurm_conf: Option<PathBuf>,
    slurm_bin_dir: Option<PathBuf>,
    partition: Option<String>,
    gres: Option<String>,
    constraint: Option<String>,
    time_limit: Option<String>,
    address: Option<String>,
    ray_resource: Option<String>,
    admission_timeout: Option<String>,
    ray_python: Option<String>,
    ray_gang_spread: Option<String>,
    poll_interval: Option<String>,
}

fn default_executor() -> String {
    "local".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    plan: PricePlan,
    #[serde(default)]
    usd_per_chip_hour: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantFile {
    name: String,
    #[serde(default)]
    tokens: Vec<String>,
    #[serde(default)]
    max_accelerators: BTreeMap<String, u32>,
    max_usd_per_hour: Option<f64>,
}

/// How a pool's capacity is paid for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PricePlan {
    /// Owned hardware: amortized cost, marginal cost near zero.
    Owned,
    /// Capacity under a committed-spend contract.
    Committed,
    /// Pay as you go.
    OnDemand,
    /// Preemptible, cheaper.
    Spot,
}

/// Which engine runs a pool's jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecutorKind {
    /// Processes on this machine.
    Local,
    /// Batch jobs on a Slurm partition.
    Slurm,
    /// Jobs on a Ray cluster (Ray Jobs API).
    Ray,
}

impl ExecutorKind {
    /// The lowercase name, as in the config and a job's `infra`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorKind::Local => "local",
            ExecutorKind::Slurm => "slurm",
            ExecutorKind::Ray => "ray",
        }
    }
}

impl PoolEngine {
    /// Which kind of executor runs the pool.
    pub fn kind(&self) -> ExecutorKind {
        match self {
            PoolEngine::Local => ExecutorKind::Local,
            PoolEngine::Slurm(_) => ExecutorKind::Slurm,
            PoolEngine::Ray(_) => ExecutorKind::Ray,
        }
    }
}

/// Where a pool's capacity is: the scopes of the failover memory (a launch that fails for lack
/// of capacity blocks the zone, the region or the provider) and of contracts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The provider (default `local`).
    pub provider: String,
    /// The region (default: the pool's name).
    pub region: String,
    /// The zone (default: the pool's name).
    pub zone: String,
    /// The zone as the failover memory keys it: spot capacity is a zone of its own
    /// (`<zone>#spot`), since a spot stockout says nothing about on-demand capacity there.
    pub memory_zone: String,
}

impl Location {
    /// (provider, region, zone) as the failover memory takes it.
    pub fn memory_key(&self) -> (&str, &str, &str) {
        (&self.provider, &self.region, &self.memory_zone)
    }
}

/// A validated pool.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// Its name, unique.
    pub name: String,
    /// Which engine runs its jobs (always `engine.kind()`).
    pub executor: ExecutorKind,
    /// How to reach that engine.
    pub engine: PoolEngine,
    /// Its accelerator type; `None` for a CPU-only pool.
    pub accelerator: Option<String>,
    /// How many accelerators it has, handed out by index `0..count`.
    pub count: u32,
    /// For a pool of TPU slices (`accelerator = "tpu-v5p-32"`): their shape. `count` is then
    /// a whole number of slices, and each job placed there takes exactly one whole slice.
    pub slice: Option<SliceShape>,
    /// Machines it is made of (`nodes`, default 1), each with `count / nodes` accelerators:
    /// a job with `num_nodes` > 1 (a gang) runs only on a pool with that many nodes, one
    /// share of each (Slurm `--nodes`, a Ray placement group). Local pools are one node.
    pub nodes: u32,
    /// Accelerators rented together as one VM (`block`, default 1): an on-demand or spot pool
    /// whose VMs hold several accelerators (8 GPUs of a p5.48xlarge) pays for a whole VM while
    /// any job holds one of its accelerators. The scheduler then packs jobs into the VMs
    /// already rented (best fit, never two VMs where one does) and prices a start there by
    /// how long it keeps the VM rented; `/v1/usage` reports the VMs' rented time.
    pub block: u32,
    /// Most jobs running at once on it.
    pub max_jobs: u32,
    /// How it is paid for.
    pub plan: PricePlan,
    /// Price of one accelerator for one hour (for a committed pool: the committed price,
    /// charged to its contract).
    pub price: UsdPerHour,
    /// Where its capacity is.
    pub location: Location,
    /// The contract a committed pool is charged to (a name in `Config::contracts`).
    pub contract: Option<String>,
    /// Injected stockouts and preemptions (local pools only).
    pub faults: Option<PoolFaults>,
}

impl Pool {
    fn new(name: &str, engine: PoolEngine, accelerator: Option<String>, count: u32) -> Pool {
        Pool {
            name: name.to_string(),
            executor: engine.kind(),
            engine,
            accelerator,
            count,
            slice: None,
            nodes: 1,
            block: 1,
            max_jobs: 1,
            plan: PricePlan::Owned,
            price: UsdPerHour(0.0),
            location: location(name, None, None, None, false),
            contract: None,
            faults: None,
        }
    }
}

fn location(
    pool: &str,
    provider: Option<String>,
    region: Option<String>,
    zone: Option<String>,
    spot: bool,
) -> Location {
    let zone = zone.unwrap_or_else(|| pool.to_string());
    Location {
        provider: provider.unwrap_or_else(|| "local".into()),
        region: region.unwrap_or_else(|| pool.to_string()),
        memory_zone: if spot {
            format!("{zone}#spot")
        } else {
            zone.clone()
        },
        zone,
    }
}

/// A validated tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    /// Its name.
    pub name: String,
    /// Bearer tokens that act as it.
    pub tokens: Vec<String>,
    /// Most accelerators of each type it may hold at once.
    pub max_accelerators: BTreeMap<String, u32>,
    /// Most it may spend per hour across its running jobs.
    pub max_usd_per_hour: Option<UsdPerHour>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the database and job logs live.
    pub data_dir: PathBuf,
    /// A PostgreSQL URL to keep all state in instead of SQLite under `data_dir`; replicas
    /// sharing one elect a leader (see `service::leader`).
    pub database: Option<String>,
    /// Address to listen on (`127.0.0.1:7070`).
    pub listen: String,
    /// Tokens that act as administrator (see and cancel every job).
    pub admin_tokens: Vec<String>,
    /// The pools.
    pub pools: Vec<Pool>,
    /// The tenants.
    pub tenants: Vec<Tenant>,
    /// The decision core's policy (`[scheduler] policy`, default `priority_backfill`).
    pub policy: LivePolicy,
    /// Half-life of a block in the failover memory, seconds (`[scheduler]
    /// failover_half_life_s`, default 1800).
    pub failover_half_life_s: f64,
    /// Seconds a restart costs before a job's work progresses (`[scheduler]
    /// restart_overhead_s`, default 300): part of the margin of the spot deadline rule.
    pub restart_overhead_s: f64,
    /// Round length of time-sharing, seconds (`[scheduler] round_s`): under an allocation
    /// policy (a Gavel name), jobs with `checkpoint.resume` lease accelerators round by round
    /// as in the simulator; `None` (the default): every job runs to completion once started.
    pub round_s: Option<u64>,
    /// Committed-spend contracts (`[[contract]]`).
    pub contracts: Vec<Contract>,
    /// Whether `/metrics` answers without a token when tokens are configured
    /// (`public_metrics`, default false: any valid token reads them).
    pub public_metrics: bool,
}

/// Most accelerators one pool may declare (`count`): more than any single pool runs, and
/// small enough that the per-accelerator state of an idle server stays small.
pub const MAX_POOL_COUNT: u32 = 65_536;
/// Most jobs at once on one pool (`max_jobs`).
pub const MAX_POOL_JOBS: u32 = 4 * MAX_POOL_COUNT;

/// The default half-life of a failover block, seconds (as in scenarios).
pub const DEFAULT_FAILOVER_HALF_LIFE_S: f64 = 1800.0;
/// The default restart overhead of the spot deadline rule, seconds (as in scenarios).
pub const DEFAULT_RESTART_OVERHEAD_S: f64 = 300.0;

/// The longest time-sharing round, seconds (a day).
pub const MAX_ROUND_S: i64 = 86_400;

/// The default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7070";

/// The default data directory: `$XDG_DATA_HOME/spillway`, else `~/.local/share/spillway`,
/// else `./spillway-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("spillway");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join(".local/share/spillway");
    }
    PathBuf::from("spillway-data")
}

impl Config {
    /// Reads and validates a TOML config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim().to_string(),
        })?;
        Config::from_file(file)
    }

    /// The configuration used without a file: a local pool of this machine's accelerators.
    pub fn discovered() -> Config {
        let pool = match discover_gpus() {
            Some((name, count)) => Pool {
                max_jobs: count.max(1) * 4,
                ..Pool::new("local", PoolEngine::Local, Some(name.to_string()), count)
            },
            None => cpu_pool(),
        };
        Config {
            data_dir: default_data_dir(),
            database: None,
            listen: DEFAULT_LISTEN.into(),
            admin_tokens: Vec::new(),
            pools: vec![pool],
            tenants: Vec::new(),
            policy: LivePolicy::default(),
            failover_half_life_s: DEFAULT_FAILOVER_HALF_LIFE_S,
            restart_overhead_s: DEFAULT_RESTART_OVERHEAD_S,
            round_s: None,
            contracts: Vec::new(),
            public_metrics: false,
        }
    }

    /// Whether any bearer token is configured (if not, the API is open and loopback only).
    pub fn has_tokens(&self) -> bool {
        !self.admin_tokens.is_empty() || self.tenants.iter().any(|t| !t.tokens.is_empty())
    }

    /// The pool with this name.
    pub fn pool(&self, name: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.name == name)
    }

    /// The contract with this name.
    pub fn contract(&self, name: &str) -> Option<&Contract> {
        self.contracts.iter().find(|c| c.name == name)
    }

    fn from_file(file: ConfigFile) -> Result<Config, ConfigError> {
        let names = known_accelerators();
        let mut contracts: Vec<Contract> = Vec::new();
        for (i, c) in file.contracts.into_iter().enumerate() {
            let c = c.validate(i)?;
            if contracts.iter().any(|o| o.name == c.name) {
                return Err(field(
                    format!("contract[{i}].name"),
                    format!("contract '{}' is declared twice", c.name),
                ));
            }
            contracts.push(c);
        }
        let mut pools = Vec::new();
        for (i, p) in file.pools.into_iter().enumerate() {
            let at = |f: &str| format!("pool[{i}].{f}");
            if p.name.is_empty()
                || !p
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                return Err(field(
                    at("name"),
                    format!(
                        "invalid pool name '{}': use letters, digits, '.', '_' or '-'",
                        p.name
                    ),
                ));
            }
            if pools.iter().any(|q: &Pool| q.name == p.name) {
                return Err(field(
                    at("name"),
                    format!("pool '{}' is declared twice", p.name),
                ));
            }
            let engine = engine::EngineFile {
                slurm_conf: p.slurm_conf,
                slurm_bin_dir: p.slurm_bin_dir,
                partition: p.partition,
                gres: p.gres,
                constraint: p.constraint,
                time_limit: p.time_limit,
                address: p.address,
                ray_resource: p.ray_resource,
                admission_timeout: p.admission_timeout,
                ray_python: p.ray_python,
                ray_gang_spread: p.ray_gang_spread,
                poll_interval: p.poll_interval,
            }
            .validate(&p.executor, &at)?;
            let mut count = p.count;
            let mut slice = None;
            let accelerator = match p.accelerator.as_deref() {
                None | Some("cpu") | Some("none") => None,
                Some(a) => Some(match names.canonical(a) {
                    Some(canonical) => canonical.to_string(),
                    // A TPU slice (`tpu-v5p-32`): a pool of slices of that shape.
                    None => match spillway_model::spec::tpu::parse_slice(a) {
                        Some(Ok(s)) if names.canonical(s.generation).is_some() => {
                            let generation = s.generation.to_string();
                            let (shape, chips) =
                                slice_pool(&at, s, p.count, p.slices, p.topology.as_deref())?;
                            count = chips;
                            slice = Some(shape);
                            generation
                        }
                        Some(Err(e)) => return Err(field(at("accelerator"), e)),
                        _ => return Err(field(at("accelerator"), names.unknown_message(a))),
                    },
                }),
            };
            if slice.is_none() {
                for (key, set) in [
                    ("slices", p.slices.is_some()),
                    ("topology", p.topology.is_some()),
                ] {
                    if set {
                        return Err(field(
                            at(key),
                            "only a pool of TPU slices takes it: name the slice as the accelerator, e.g. accelerator = \"tpu-v5p-32\"",
                        ));
                    }
                }
            }
            let engine = engine.with_slice(slice.as_ref());
            if count > MAX_POOL_COUNT {
                return Err(field(
                    at("count"),
                    format!(
                        "{count} accelerators is over the limit of {MAX_POOL_COUNT} per pool: split it into several pools",
                    ),
                ));
            }
            if accelerator.is_some() && count == 0 {
                return Err(field(
                    at("count"),
                    "a pool with an accelerator needs count >= 1",
                ));
            }
            if accelerator.is_none() && count != 0 {
                return Err(field(
                    at("count"),
                    "a CPU-only pool has no accelerators: drop count or set accelerator",
                ));
            }
            let nodes = pool_nodes(&at, p.nodes, engine.kind(), slice.is_some(), count)?;
            let (plan, price) = match p.price {
                Some(pr) if !(pr.usd_per_chip_hour >= 0.0 && pr.usd_per_chip_hour.is_finite()) => {
                    return Err(field(at("price.usd_per_chip_hour"), "must be zero or more"));
                }
                Some(pr) => (pr.plan, UsdPerHour(pr.usd_per_chip_hour)),
                None => (PricePlan::Owned, UsdPerHour(0.0)),
            };
            let block = pool_block(&at, p.block, plan, nodes, slice.is_some(), count)?;
            let max_jobs = p.max_jobs.unwrap_or(if count > 0 {
                count * 4
            } else {
                default_cpu_slots()
            });
            if max_jobs == 0 {
                return Err(field(at("max_jobs"), "must be at least 1"));
            }
            if max_jobs > MAX_POOL_JOBS {
                return Err(field(
                    at("max_jobs"),
                    format!(
                        "{max_jobs} is over the limit of {MAX_POOL_JOBS} jobs at once per pool"
                    ),
                ));
            }
            for (key, value) in [
                ("provider", &p.provider),
                ("region", &p.region),
                ("zone", &p.zone),
            ] {
                if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                    return Err(field(at(key), "must not be empty: omit it for the default"));
                }
            }
            let location = location(
                &p.name,
                p.provider.map(|v| v.to_ascii_lowercase()),
                p.region,
                p.zone,
                plan == PricePlan::Spot,
            );
            let contract = pool_contract(
                &contracts,
                &at,
                plan,
                p.contract,
                &location,
                accelerator.as_deref(),
            )?;
            let faults = match p.faults {
                Some(f) => Some(f.validate(
                    &at,
                    &p.name,
                    engine.kind().as_str(),
                    plan == PricePlan::Spot,
                )?),
                None => None,
            };
            pools.push(Pool {
                name: p.name,
                executor: engine.kind(),
                engine,
                accelerator,
                count,
                slice,
                nodes,
                block,
                max_jobs,
                plan,
                price,
                location,
                contract,
                faults,
            });
        }
        if pools.is_empty() {
            pools = Config::discovered().pools;
        }
        let mut tenants: Vec<Tenant> = Vec::new();
        let mut seen_tokens: Vec<&str> = file.admin_tokens.iter().map(String::as_str).collect();
        for (i, t) in file.tenants.iter().enumerate() {
            let at = |f: &str| format!("tenant[{i}].{f}");
            if t.name.chars().any(char::is_control) {
                return Err(field(
                    at("name"),
                    format!(
                        "tenant name {:?} has control characters: use printable text",
                        t.name
                    ),
                ));
            }
            if t.name.is_empty() || tenants.iter().any(|o| o.name == t.name) {
                return Err(field(
                    at("name"),
                    format!("tenant name '{}' is empty or declared twice", t.name),
                ));
            }
            for tok in &t.tokens {
                if tok.len() < 8 {
                    return Err(field(at("tokens"), "tokens must be at least 8 characters"));
                }
                if seen_tokens.contains(&tok.as_str()) {
                    return Err(field(
                        at("tokens"),
                        "a token may belong to only one tenant or admin",
                    ));
                }
                seen_tokens.push(tok);
            }
            let mut max_accelerators = BTreeMap::new();
            for (acc, n) in &t.max_accelerators {
                let canonical = names.canonical(acc).ok_or_else(|| {
                    field(
                        format!("tenant[{i}].max_accelerators.{acc}"),
                        names.unknown_message(acc),
                    )
                })?;
                max_accelerators.insert(canonical.to_string(), *n);
            }
            tenants.push(Tenant {
                name: t.name.clone(),
                tokens: t.tokens.clone(),
                max_accelerators,
                max_usd_per_hour: t.max_usd_per_hour.map(UsdPerHour),
            });
        }
        let positive = |key: &str, v: Option<f64>, default: f64, zero_ok: bool| match v {
            None => Ok(default),
            Some(x) if x.is_finite() && (x > 0.0 || (zero_ok && x == 0.0)) => Ok(x),
            Some(x) => Err(field(
                format!("scheduler.{key}"),
                format!(
                    "must be {} seconds, found {x}",
                    if zero_ok {
                        "zero or more"
                    } else {
                        "more than 0"
                    }
                ),
            )),
        };
        let failover_half_life_s = positive(
            "failover_half_life_s",
            file.scheduler.failover_half_life_s,
            DEFAULT_FAILOVER_HALF_LIFE_S,
            false,
        )?;
        let restart_overhead_s = positive(
            "restart_overhead_s",
            file.scheduler.restart_overhead_s,
            DEFAULT_RESTART_OVERHEAD_S,
            true,
        )?;
        let policy = match &file.scheduler.policy {
            None => LivePolicy::default(),
            Some(name) => name.parse().map_err(|_| {
                field(
                    "scheduler.policy",
                    format!(
                        "unknown policy '{name}': use one of {}",
                        LivePolicy::all_names().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?,
        };
        let round_s = match file.scheduler.round_s {
            None => None,
            Some(r) if !(1..=MAX_ROUND_S).contains(&r) => {
                return Err(field(
                    "scheduler.round_s",
                    format!("must be a whole number of seconds from 1 to {MAX_ROUND_S}, found {r}"),
                ));
            }
            Some(_) if !policy.time_shares() => {
                return Err(field(
                    "scheduler.round_s",
                    format!(
                        "policy '{policy}' runs jobs to completion; only allocation policies (the Gavel names, such as max_min_fairness_perf) time-share in rounds"
                    ),
                ));
            }
            Some(r) => Some(r as u64),
        };
        Ok(Config {
            data_dir: file.data_dir.unwrap_or_else(default_data_dir),
            database: file.database,
            listen: file.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
            admin_tokens: file.admin_tokens,
            pools,
            tenants,
            policy,
            failover_half_life_s,
            restart_overhead_s,
            round_s,
            contracts,
            public_metrics: file.public_metrics,
        })
    }
}

/// The contract a pool is charged to: only committed pools are, each to exactly one, named
/// (`contract = "..."`) or else the first that covers its provider, accelerator and region.
fn pool_contract(
    contracts: &[Contract],
    at: &dyn Fn(&str) -> String,
    plan: PricePlan,
    named: Option<String>,
    location: &Location,
    accelerator: Option<&str>,
) -> Result<Option<String>, ConfigError> {
    let accelerator = accelerator.unwrap_or("");
    if plan != PricePlan::Committed {
        return match named {
            Some(_) => Err(field(
                at("contract"),
                "only a committed pool (price = { plan = \"committed\", ... }) is charged to a contract",
            )),
            None => Ok(None),
        };
    }
    let covers = |c: &Contract| c.covers(&location.provider, accelerator, &location.region);
    match named {
        Some(name) => {
            let Some(c) = contracts.iter().find(|c| c.name == name) else {
                let known: Vec<&str> = contracts.iter().map(|c| c.name.as_str()).collect();
                return Err(field(
                    at("contract"),
                    format!(
                        "no [[contract]] named '{name}' (declared: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            };
            if !covers(c) {
                return Err(field(
                    at("contract"),
                    format!(
                        "contract '{name}' ({}, accelerators [{}], regions [{}]) does not cover this pool ({}, {}, region {}): set the pool's provider and region, or the contract's accelerators and regions",
                        c.provider,
                        c.accelerators.join(", "),
                        c.regions.join(", "),
                        location.provider,
                        if accelerator.is_empty() { "no accelerator" } else { accelerator },
                        location.region
                    ),
                ));
            }
            Ok(Some(name))
        }
        None => contracts
            .iter()
            .find(|c| covers(c))
            .map(|c| Some(c.name.clone()))
            .ok_or_else(|| {
                field(
                    at("price.plan"),
                    format!(
                        "a committed pool is charged to a contract, and no [[contract]] covers provider {}, accelerator {}, region {}: declare one, or name it with contract = \"...\"",
                        location.provider,
                        if accelerator.is_empty() { "none" } else { accelerator },
                        location.region
                    ),
                )
            }),
    }
}

fn default_cpu_slots() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| n.get() as u32)
}

fn cpu_pool() -> Pool {
    Pool {
        max_jobs: default_cpu_slots(),
        ..Pool::new("local", PoolEngine::Local, None, 0)
    }
}

/// This machine's NVIDIA GPUs via `nvidia-smi`: the most common model and its count.
fn discover_gpus() -> Option<(&'static str, u32)> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut counts: BTreeMap<&'static str, u32> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(name) = from_nvidia_product(line) {
            *counts.entry(name).or_default() += 1;
        }
    }
    counts.into_iter().max_by_key(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::PolicyKind;

    #[test]
    fn round_s_time_shares_only_under_allocation_policies() {
        let c = Config::parse(
            "[scheduler]\npolicy = \"max_min_fairness_perf\"\nround_s = 120\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.round_s, Some(120));
        assert_eq!(
            crate::schedule::machine_config(&c).time_sharing,
            Some(spillway_core::machine::TimeSharing::rounds_of(120))
        );
        assert_eq!(Config::parse("", "t").unwrap().round_s, None);
        let e = Config::parse("[scheduler]\nround_s = 60\n", "t")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("scheduler.round_s") && e.contains("runs jobs to completion"),
            "{e}"
        );
        let e = Config::parse("[scheduler]\npolicy = \"gavel\"\nround_s = 0\n", "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("from 1 to 86400"), "{e}");
    }

    #[test]
    fn parses_pools_tenants_and_prices() {
        let c = Config::parse(
            r#"
admin_tokens = ["admin-secret"]
[[pool]]
name = "local"
executor = "local"
accelerator = "h100"
count = 8
price = { plan = "owned", usd_per_chip_hour = 1.5 }
[[tenant]]
name = "research"
tokens = ["research-token"]
max_accelerators = { H100 = 4 }
max_usd_per_hour = 20.0
"#,
            "test",
        )
        .unwrap();
        assert_eq!(c.pools[0].accelerator.as_deref(), Some("H100"));
        assert_eq!(c.pools[0].max_jobs, 32);
        assert_eq!(c.pools[0].price, UsdPerHour(1.5));
        assert_eq!(c.tenants[0].max_accelerators["H100"], 4);
        let tpu = Config::parse(
            "[[pool]]\nname = \"pod\"\naccelerator = \"tpu-v5p-32\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(tpu.pools[0].accelerator.as_deref(), Some("tpu-v5p"));
        assert_eq!(tpu.pools[0].count, 16);
        let e = Config::parse(
            "[[pool]]\nname = \"pod\"\naccelerator = \"tpu-v6e-8\"\ncount = 4\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("tpu-v6e-8 is 8 chips, and 4 chips are not a whole number"),
            "{e}"
        );
        assert!(c.has_tokens());
    }

    #[test]
    fn the_scheduler_policy_is_chosen_by_name() {
        let c = Config::parse("[scheduler]\npolicy = \"max_min_fairness_perf\"\n", "t").unwrap();
        assert_eq!(
            c.policy,
            LivePolicy::Scheduler(PolicyKind::MaxMinFairness { aware: true })
        );
        assert_eq!(
            Config::parse("", "t").unwrap().policy,
            LivePolicy::Scheduler(PolicyKind::PriorityBackfill)
        );
        for name in ["commitment_aware", "commitment-aware"] {
            let c = Config::parse(&format!("[scheduler]\npolicy = \"{name}\"\n"), "t").unwrap();
            assert_eq!(c.policy, LivePolicy::COMMITMENT_AWARE);
        }
        let e = Config::parse("[scheduler]\npolicy = \"fastest\"\n", "t").unwrap_err();
        assert!(
            e.to_string()
                .contains("scheduler.policy: unknown policy 'fastest': use one of fifo,"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = Config::parse(
            "[[pool]]\nname = \"p\"\naccelerator = \"h100_mega\"\ncount = 2\n",
            "t",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid config: pool[0].accelerator: unknown accelerator 'h100_mega': did you mean H100-MEGA?"
        );
        let e = Config::parse("[[pool]]\nname = \"p\"\nexecutor = \"slurm\"\n", "t").unwrap_err();
        assert!(e.to_string().contains("pool[0].slurm_conf"), "{e}");
        let e = Config::parse("[[pool]]\nname = \"p\"\nexecutor = \"k8s\"\n", "t").unwrap_err();
        assert!(e.to_string().contains("pool[0].executor"), "{e}");
        let e = Config::parse("[[pool]]\nname = \"p\"\npartition = \"batch\"\n", "t").unwrap_err();
        assert!(
            e.to_string()
                .contains("pool[0].partition: only a slurm pool"),
            "{e}"
        );
        let e = Config::parse("[[pool]]\nnam = \"p\"\n", "t").unwrap_err();
        assert!(e.to_string().contains("unknown field `nam`"), "{e}");
    }

    #[test]
    fn no_pools_means_a_discovered_local_pool() {
        let c = Config::parse("", "t").unwrap();
        assert_eq!(c.pools.len(), 1);
        assert_eq!(c.pools[0].name, "local");
        assert!(!c.has_tokens());
    }

    #[test]
    fn pool_sizes_are_bounded_with_the_limit_in_the_error() {
        let e = Config::parse(
            "[[pool]]\nname = \"p\"\naccelerator = \"H100\"\ncount = 100000000\n",
            "t",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid config: pool[0].count: 100000000 accelerators is over the limit of 65536 per pool: split it into several pools"
        );
        let e = Config::parse(
            "[[pool]]\nname = \"p\"\naccelerator = \"H100\"\ncount = 8\nmax_jobs = 4000000000\n",
            "t",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("pool[0].max_jobs: 4000000000 is over the limit of 262144"),
            "{e}"
        );
        let c = Config::parse(
            "[[pool]]\nname = \"p\"\naccelerator = \"H100\"\ncount = 65536\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.pools[0].max_jobs, 262_144);
        assert!(!c.public_metrics);
        let e = Config::parse("[[tenant]]\nname = \"a\\u001b[2J\"\n", "t").unwrap_err();
        assert!(e.to_string().contains("tenant[0].name"), "{e}");
    }
}
