//! The scenario file (TOML): pools, contracts, workload and run settings; resolved against the
//! catalog so that every price is a catalog price (or an owned pool's stated amortized price).

use super::availability::Availability;
use super::workload::{self, EconSimJob, WorkloadSpec};
use serde::Deserialize;
use spillway_catalog::Catalog;
use spillway_core::SimTime;
use spillway_core::econ::{
    AcceleratorKind, CheckpointModel, Contract, ContractTerms, FailureKind, PlanKind,
    SECONDS_PER_MONTH,
};
use spillway_model::{AcceleratorFamily, AcceleratorSpec};
use std::path::{Path, PathBuf};

/// Why a scenario cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("read scenario {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("parse scenario {path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A value is wrong.
    #[error("check scenario {path}: {what}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        what: String,
    },
    /// The workload could not be read.
    #[error("read the workload of scenario {path}")]
    Trace {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::trace::TraceError,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    scenario: Settings,
    #[serde(default)]
    checkpoint: Option<CheckpointEntry>,
    workload: WorkloadSpec,
    #[serde(default)]
    accounting: AccountingEntry,
    #[serde(default)]
    contract: Vec<ContractEntry>,
    pool: Vec<PoolEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    name: String,
    #[serde(default = "default_reference")]
    reference_accelerator: String,
    #[serde(default = "default_launch_failure_s")]
    launch_failure_s: f64,
    #[serde(default = "default_half_life")]
    failover_half_life_s: f64,
    #[serde(default = "default_tick")]
    tick_s: f64,
    #[serde(default)]
    seed: u64,
}

fn default_reference() -> String {
    "H100".into()
}
fn default_launch_failure_s() -> f64 {
    120.0
}
fn default_half_life() -> f64 {
    1800.0
}
fn default_tick() -> f64 {
    300.0
}

/// `[accounting]`: the horizon the costs are counted over and the price of waiting.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountingEntry {
    horizon_months: Option<f64>,
    #[serde(default)]
    delay_usd_per_job_hour: f64,
    #[serde(default)]
    deadline_miss_usd: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointEntry {
    interval_s: f64,
    restart_overhead_s: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractEntry {
    name: String,
    provider: String,
    total_usd: f64,
    term_months: f64,
    discount_percent: f64,
    overage_discount_percent: Option<f64>,
    renewals: Option<u32>,
    #[serde(default)]
    start_offset_days: f64,
    #[serde(default)]
    accelerators: Vec<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    burn_points: Vec<(f64, f64)>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolEntry {
    name: String,
    plan: String,
    accelerator: String,
    provider: Option<String>,
    zone: Option<String>,
    region: Option<String>,
    instance: Option<String>,
    chips: Option<u32>,
    quota_chips: Option<u32>,
    price_per_chip_hour: Option<f64>,
    stockout_probability: Option<f64>,
    stockout_mean_hours: Option<f64>,
    stockout_scope: Option<String>,
    availability_trace: Option<String>,
}

/// One pool of the simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct SimPool {
    /// Its name.
    pub name: String,
    /// How it is paid for.
    pub plan: PlanKind,
    /// Provider, region, zone.
    pub provider: String,
    /// Region.
    pub region: String,
    /// Zone.
    pub zone: String,
    /// Canonical accelerator name.
    pub accelerator: String,
    /// What frameworks see.
    pub kind: AcceleratorKind,
    /// The accelerator's spec (roofline speed).
    pub spec: AcceleratorSpec,
    /// Most chips it may hold at once.
    pub quota_chips: u32,
    /// Shapes it rents, chips per unit, ascending (8-GPU VMs; TPU slices 1, 4, 8, ...).
    pub shapes: Vec<u32>,
    /// Whether a job may span several units (VMs: yes; TPU slices: one slice).
    pub multi_unit: bool,
    /// What the organization pays per chip-hour (owned: amortized; committed: discounted).
    pub price_per_chip_hour: f64,
    /// List (on-demand) price per chip-hour, for reference.
    pub list_price_per_chip_hour: Option<f64>,
    /// The contract it is bought under (committed pools).
    pub contract: Option<usize>,
    /// How much of the quota can be had over time.
    pub availability: Availability,
    /// What a launch that finds no capacity blocks in the failover memory: its zone (a
    /// stockout), its region (a regional quota) or its provider (an outage).
    pub failure: FailureKind,
}

impl SimPool {
    /// Chips rented to run a job of `chips` chips here, if it can be held at all.
    pub fn rented_chips(&self, chips: u32) -> Option<u32> {
        if let Some(&s) = self.shapes.iter().find(|&&s| s >= chips) {
            return (s <= self.quota_chips).then_some(s);
        }
        let largest = *self.shapes.last()?;
        if !self.multi_unit {
            return None;
        }
        let n = chips.div_ceil(largest) * largest;
        (n <= self.quota_chips).then_some(n)
    }
}

/// A resolved scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// The pools.
    pub pools: Vec<SimPool>,
    /// The contracts.
    pub contracts: Vec<Contract>,
    /// The jobs.
    pub jobs: Vec<EconSimJob>,
    /// Checkpointing and restarts.
    pub checkpoint: CheckpointModel,
    /// Seconds a failed launch costs before the next attempt.
    pub launch_failure_s: f64,
    /// Half-life of the failover memory's blocks.
    pub failover_half_life_s: f64,
    /// Seconds between ticks (availability changes, retries, accruals).
    pub tick_s: f64,
    /// The reference accelerator's spec.
    pub reference: AcceleratorSpec,
    /// Seed of the random parts (stockouts).
    pub seed: u64,
    /// What the costs are counted over, and the price of waiting.
    pub accounting: Accounting,
}

/// The accounting of a scenario: a fixed horizon and the price of waiting.
#[derive(Debug, Clone, PartialEq)]
pub struct Accounting {
    /// Costs are counted from t = 0 to here: owned capacity for the whole horizon, contracts
    /// what they owe by then, cloud bills up to then.
    pub horizon: SimTime,
    /// Where the horizon comes from: `stated`, `contracts` (the latest end of a contract's
    /// terms) or `workload` (the latest end of a job run at once on the reference accelerator).
    pub horizon_source: &'static str,
    /// Dollars per job-hour of delay (time to finish beyond the job's run time on the reference
    /// accelerator).
    pub delay_usd_per_job_hour: f64,
    /// Dollars per missed deadline.
    pub deadline_miss_usd: f64,
}

impl Accounting {
    /// The horizon in months.
    pub fn horizon_months(&self) -> f64 {
        self.horizon.as_secs() / SECONDS_PER_MONTH
    }
}

impl Scenario {
    /// Reads and resolves the scenario at `path` against `catalog`; relative paths in it are
    /// relative to the file.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file: File = toml::from_str(&text).map_err(|e| ScenarioError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim().to_string(),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let invalid = |what: String| ScenarioError::Invalid {
            path: path.to_path_buf(),
            what,
        };
        let spec_of = |name: &str, at: &str| {
            catalog
                .accelerator(name)
                .cloned()
                .map_err(|e| invalid(format!("{at}: {e}")))
        };
        let reference = spec_of(
            &file.scenario.reference_accelerator,
            "[scenario] reference_accelerator",
        )?;
        let mut contracts = Vec::new();
        for (i, c) in file.contract.iter().enumerate() {
            let at = format!("[[contract]] #{} `{}`", i + 1, c.name);
            let terms = ContractTerms {
                name: c.name.clone(),
                provider: c.provider.clone(),
                total_usd: c.total_usd,
                term_months: c.term_months,
                discount_percent: c.discount_percent,
                overage_discount_percent: c.overage_discount_percent,
                renewals: c.renewals,
                accelerators: c.accelerators.clone(),
                regions: c.regions.clone(),
                burn_points: c.burn_points.clone(),
            };
            let start = SimTime::from_secs(c.start_offset_days * 86_400.0);
            let contract = terms
                .into_contract(start, |a| {
                    catalog
                        .accelerator_name(a)
                        .map(str::to_string)
                        .map_err(|e| e.to_string())
                })
                .map_err(|e| invalid(format!("{at}: {}: {}", e.field, e.message)))?;
            contracts.push(contract);
        }
        let mut pools = Vec::new();
        for (i, p) in file.pool.iter().enumerate() {
            let at = format!("[[pool]] #{} `{}`", i + 1, p.name);
            pools.push(
                resolve_pool(
                    p,
                    &at,
                    catalog,
                    &contracts,
                    base,
                    file.scenario.seed + i as u64,
                )
                .map_err(invalid)?,
            );
        }
        // A preempted job may retry every spot place before on-demand: that time is part of the
        // margin its deadline must keep.
        let spot_places = pools.iter().filter(|p| p.plan == PlanKind::Spot).count() as f64;
        let failover_allowance_s = spot_places * file.scenario.launch_failure_s;
        let checkpoint = file.checkpoint.map_or(
            CheckpointModel {
                interval_s: 1800.0,
                restart_overhead_s: 300.0,
                failover_allowance_s,
            },
            |c| CheckpointModel {
                interval_s: c.interval_s,
                restart_overhead_s: c.restart_overhead_s,
                failover_allowance_s,
            },
        );
        let jobs = workload::build(&file.workload, base).map_err(|e| match e {
            workload::BuildError::Trace(source) => ScenarioError::Trace {
                path: path.to_path_buf(),
                source,
            },
            workload::BuildError::Invalid(what) => invalid(what),
        })?;
        let accounting = accounting(&file.accounting, &contracts, &jobs).map_err(invalid)?;
        let scenario = Scenario {
            accounting,
            name: file.scenario.name,
            pools,
            contracts,
            jobs,
            checkpoint,
            launch_failure_s: file.scenario.launch_failure_s,
            failover_half_life_s: file.scenario.failover_half_life_s,
            tick_s: file.scenario.tick_s.max(1.0),
            reference,
            seed: file.scenario.seed,
        };
        for job in &scenario.jobs {
            let fits = scenario
                .pools
                .iter()
                .any(|p| job.framework.runs_on(p.kind) && p.rented_chips(job.chips).is_some());
            if !fits {
                return Err(invalid(format!(
                    "workload job {} ({} chips, {}) fits no pool it can run on; add a pool or raise a quota",
                    job.trace_id, job.chips, job.framework
                )));
            }
        }
        Ok(scenario)
    }
}

/// Checks `[accounting]` and fills in the default horizon: the latest end of a contract's terms,
/// else the workload's span (the latest arrival + run time on the reference accelerator).
fn accounting(
    a: &AccountingEntry,
    contracts: &[Contract],
    jobs: &[EconSimJob],
) -> Result<Accounting, String> {
    let (horizon, horizon_source) = match a.horizon_months {
        Some(m) if !(m > 0.0 && m <= 1200.0) => {
            return Err(format!(
                "[accounting] horizon_months must be in (0, 1200], found {m}"
            ));
        }
        Some(m) => (SimTime::from_secs(m * SECONDS_PER_MONTH), "stated"),
        None => match contracts.iter().map(Contract::end).max() {
            Some(end) => (end, "contracts"),
            None => (
                jobs.iter()
                    .map(|j| j.arrival.plus_secs_ceil(j.work_s))
                    .max()
                    .unwrap_or(SimTime::ZERO),
                "workload",
            ),
        },
    };
    for (key, v) in [
        ("delay_usd_per_job_hour", a.delay_usd_per_job_hour),
        ("deadline_miss_usd", a.deadline_miss_usd),
    ] {
        if !(v >= 0.0 && v.is_finite()) {
            return Err(format!(
                "[accounting] {key} must be a number of dollars >= 0, found {v}"
            ));
        }
    }
    Ok(Accounting {
        horizon,
        horizon_source,
        delay_usd_per_job_hour: a.delay_usd_per_job_hour,
        deadline_miss_usd: a.deadline_miss_usd,
    })
}

fn kind_of(spec: &AcceleratorSpec) -> AcceleratorKind {
    let family = match spec.family {
        AcceleratorFamily::Gpu => "gpu",
        AcceleratorFamily::Tpu => "tpu",
        AcceleratorFamily::Trainium => "trainium",
    };
    AcceleratorKind::of(&spec.vendor, family)
}

fn resolve_pool(
    p: &PoolEntry,
    at: &str,
    catalog: &Catalog,
    contracts: &[Contract],
    base: &Path,
    seed: u64,
) -> Result<SimPool, String> {
    let spec = catalog
        .accelerator(&p.accelerator)
        .map_err(|e| format!("{at}: {e}"))?
        .clone();
    let kind = kind_of(&spec);
    let plan = match p.plan.as_str() {
        "owned" => PlanKind::Owned,
        "committed" => PlanKind::Committed,
        "on-demand" => PlanKind::OnDemand,
        "spot" => PlanKind::Spot,
        other => {
            return Err(format!(
                "{at}: plan `{other}` is unknown; use owned, committed, on-demand or spot"
            ));
        }
    };
    let availability = match (&p.availability_trace, p.stockout_probability) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "{at}: give availability_trace or stockout_probability, not both"
            ));
        }
        (Some(trace), None) => {
            Availability::from_trace_file(&base.join(trace)).map_err(|e| format!("{at}: {e}"))?
        }
        (None, Some(prob)) => {
            if !(0.0..1.0).contains(&prob) {
                return Err(format!(
                    "{at}: stockout_probability must be in [0, 1), found {prob}"
                ));
            }
            Availability::stockouts(prob, p.stockout_mean_hours.unwrap_or(2.0) * 3600.0, seed)
        }
        (None, None) => Availability::Always,
    };
    let failure = match &p.stockout_scope {
        None => FailureKind::ZoneCapacity,
        Some(name) => FailureKind::from_scope_name(name).ok_or_else(|| {
            format!("{at}: stockout_scope `{name}` is unknown; use zone, region or provider")
        })?,
    };
    if plan == PlanKind::Owned {
        let chips = p
            .chips
            .ok_or_else(|| format!("{at}: an owned pool needs `chips`"))?;
        let price = p.price_per_chip_hour.ok_or_else(|| {
            format!("{at}: an owned pool needs `price_per_chip_hour` (amortized)")
        })?;
        return Ok(SimPool {
            name: p.name.clone(),
            plan,
            provider: "owned".into(),
            region: p.region.clone().unwrap_or_else(|| "on-prem".into()),
            zone: p
                .zone
                .clone()
                .or_else(|| p.region.clone())
                .unwrap_or_else(|| "on-prem".into()),
            accelerator: spec.name.clone(),
            kind,
            spec,
            quota_chips: chips,
            shapes: vec![1],
            multi_unit: true,
            price_per_chip_hour: price,
            list_price_per_chip_hour: None,
            contract: None,
            availability,
            failure,
        });
    }
    if p.price_per_chip_hour.is_some() || p.chips.is_some() {
        return Err(format!(
            "{at}: cloud pools take their prices from the catalog; drop `price_per_chip_hour` / `chips` (use `quota_chips`)"
        ));
    }
    let provider = p
        .provider
        .as_deref()
        .ok_or_else(|| format!("{at}: a cloud pool needs `provider`"))?;
    let zone = p
        .zone
        .as_deref()
        .ok_or_else(|| format!("{at}: a cloud pool needs `zone`"))?;
    let quota_chips = p
        .quota_chips
        .ok_or_else(|| format!("{at}: a cloud pool needs `quota_chips`"))?;
    let offers: Vec<_> = catalog
        .offers()
        .iter()
        .filter(|o| {
            o.provider.eq_ignore_ascii_case(provider)
                && o.zone.eq_ignore_ascii_case(zone)
                && o.accelerator == spec.name
                && p.instance.as_deref().is_none_or(|i| o.instance == i)
        })
        .collect();
    let price_of = |o: &&spillway_catalog::Offer| match plan {
        PlanKind::Spot => o.spot_price_per_chip_hour().map(|x| x.0),
        _ => o
            .list_price_per_hour
            .or(o.price_per_hour)
            .map(|x| x.0 / f64::from(o.chips)),
    };
    let priced: Vec<_> = offers.iter().filter(|o| price_of(o).is_some()).collect();
    if priced.is_empty() {
        return Err(format!(
            "{at}: the catalog has no {} {} offer with a {} price in zone {zone}{}; see `spillway offers --accelerator {} --zone {zone}`",
            provider,
            spec.name,
            plan,
            p.instance
                .as_deref()
                .map(|i| format!(" of {i}"))
                .unwrap_or_default(),
            spec.name
        ));
    }
    let list = priced
        .iter()
        .map(|o| price_of(o).unwrap_or(f64::MAX))
        .fold(f64::MAX, f64::min);
    let mut shapes: Vec<u32> = priced.iter().map(|o| o.chips).collect();
    shapes.sort_unstable();
    shapes.dedup();
    let region = priced[0].region.clone();
    let contract = contracts
        .iter()
        .position(|c| c.covers(provider, &spec.name, &region));
    let price = match plan {
        PlanKind::Committed => {
            let c = contract.ok_or_else(|| {
                format!(
                    "{at}: no [[contract]] covers {provider} {} in {region}",
                    spec.name
                )
            })?;
            contracts[c].price(list)
        }
        _ => list,
    };
    Ok(SimPool {
        name: p.name.clone(),
        plan,
        provider: provider.to_ascii_lowercase(),
        region,
        zone: priced[0].zone.clone(),
        accelerator: spec.name.clone(),
        kind,
        multi_unit: kind != AcceleratorKind::Tpu,
        spec,
        quota_chips,
        shapes,
        price_per_chip_hour: price,
        list_price_per_chip_hour: priced
            .iter()
            .filter_map(|o| o.list_price_per_hour.map(|x| x.0 / f64::from(o.chips)))
            .reduce(f64::min),
        contract: if plan == PlanKind::Committed {
            contract
        } else {
            None
        },
        availability,
        failure,
    })
}
