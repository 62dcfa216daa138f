//! The validated plan: the file's tables checked and resolved against the catalog (names,
//! list prices) and the throughput model (each class's speed on each accelerator). Parse, then
//! validate, then act: nothing after this module sees a raw field.

use crate::demand::{Growth, NamedScenario, Periods, SamplingModel, Uncertainty};
use crate::error::PlanError;
use crate::file::{self, PlanFile};
use serde::Serialize;
use spillway_catalog::Catalog;
use spillway_core::econ::{AcceleratorKind, Framework, JobKind, roofline_speed};
use spillway_model::AcceleratorFamily;

/// Hours in a month (8,760 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;
/// The longest horizon a plan may have, months.
pub const MAX_HORIZON_MONTHS: u32 = 120;

/// A workload class: what it runs on, how fast, how much.
#[derive(Debug, Clone, Serialize)]
pub struct Class {
    pub name: String,
    pub framework: Framework,
    pub kind: JobKind,
    pub growth: Growth,
}

/// An accelerator some supply option offers, with each class's speed on it.
#[derive(Debug, Clone, Serialize)]
pub struct Accelerator {
    pub name: String,
    pub kind: AcceleratorKind,
    /// `speed[k]`: reference-hours of class `k`'s work per chip-hour (0: cannot run it).
    pub speed: Vec<f64>,
}

/// Part of the fleet already owned.
#[derive(Debug, Clone, Serialize)]
pub struct Owned {
    pub name: String,
    pub accelerator: usize,
    pub chips: f64,
    /// First month out of service, if within the horizon.
    pub retire_month: Option<usize>,
    pub opex_per_chip_hour: f64,
}

/// An option to build more.
#[derive(Debug, Clone, Serialize)]
pub struct Build {
    pub name: String,
    pub accelerator: usize,
    pub capex_per_chip: f64,
    pub chips_per_server: u32,
    pub lead_time_months: usize,
    pub lifetime_months: usize,
    pub opex_per_chip_hour: f64,
    pub max_chips_per_quarter: f64,
    pub first_order_month: usize,
}

/// One discount tier of a commitment offer.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tier {
    pub min_spend: f64,
    pub max_spend: f64,
    /// 0.3 = 30% off list.
    pub discount: f64,
}

/// A committed-spend offer.
#[derive(Debug, Clone, Serialize)]
pub struct Commitment {
    pub name: String,
    pub provider: String,
    pub term_months: usize,
    /// Covered accelerators with their list price per chip-hour at this provider.
    pub covered: Vec<(usize, f64)>,
    pub start_months: Vec<usize>,
    pub use_it_or_lose_it: bool,
    pub max_chips: Option<f64>,
    pub tiers: Vec<Tier>,
}

/// On demand or spot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RentKind {
    OnDemand,
    Spot,
}

/// One way to rent: provider, accelerator, on demand or spot.
#[derive(Debug, Clone, Serialize)]
pub struct Rental {
    pub provider: String,
    pub accelerator: usize,
    pub kind: RentKind,
    /// Price per chip-hour.
    pub price_per_chip_hour: f64,
    /// Chips obtainable on average (cap x availability), if capped.
    pub max_chips: Option<f64>,
    /// Share of a chip-hour that does work (1 - preemption overhead for spot).
    pub efficiency: f64,
    /// Share of the stated cap obtainable on average (1 - `stockout_rate`, spot: 1 -
    /// `spot_unavailable_rate`); `max_chips` already includes it. `--validate` replays it as
    /// stockouts of the stated cap.
    pub availability: f64,
}

/// The validated plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanInput {
    pub name: String,
    pub periods: Periods,
    pub discount_rate: f64,
    pub reference: String,
    pub service_level: f64,
    /// Cost of a reference-hour deferred by one period; `None`: nothing may be deferred.
    pub deferral_cost: Option<f64>,
    /// Cost of a reference-hour lost; `None`: nothing may be lost.
    pub lost_cost: Option<f64>,
    pub tpu_speed_factor: f64,
    pub classes: Vec<Class>,
    pub accelerators: Vec<Accelerator>,
    pub owned: Vec<Owned>,
    pub builds: Vec<Build>,
    pub commitments: Vec<Commitment>,
    pub rentals: Vec<Rental>,
    pub uncertainty: Uncertainty,
    pub seed: u64,
    pub time_limit_s: f64,
    pub eval_paths: usize,
    pub eval_seed: u64,
}

/// Parses the TOML text of a plan file.
pub fn parse(text: &str) -> Result<PlanFile, PlanError> {
    toml::from_str(text).map_err(|e| PlanError::Parse {
        message: e.to_string().trim().replace('\n', " "),
    })
}

/// Reads, parses and validates a plan file.
pub fn load(path: &std::path::Path, catalog: &Catalog) -> Result<PlanInput, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    validate(&parse(&text)?, catalog)
}

fn check(ok: bool, field: impl Into<String>, message: impl Into<String>) -> Result<(), PlanError> {
    if ok {
        Ok(())
    } else {
        Err(PlanError::field(field, message))
    }
}

fn finite_nonneg(v: f64, field: &str) -> Result<(), PlanError> {
    check(
        v.is_finite() && v >= 0.0,
        field,
        format!("{v} must be a number >= 0"),
    )
}

fn share(v: f64, field: &str) -> Result<(), PlanError> {
    check(
        (0.0..1.0).contains(&v),
        field,
        format!("{v} must be a share in [0, 1)"),
    )
}

/// Builds the accelerator table as options name accelerators.
struct Accelerators<'a> {
    catalog: &'a Catalog,
    reference: (Option<f64>, f64),
    classes: &'a [(Framework, JobKind)],
    tpu_factor: f64,
    list: Vec<Accelerator>,
}

impl Accelerators<'_> {
    fn index(&mut self, name: &str, field: &str) -> Result<usize, PlanError> {
        let spec = self
            .catalog
            .accelerator(name)
            .map_err(|e| PlanError::field(field, e.to_string()))?;
        if let Some(i) = self.list.iter().position(|a| a.name == spec.name) {
            return Ok(i);
        }
        let family = match spec.family {
            AcceleratorFamily::Gpu => "gpu",
            AcceleratorFamily::Tpu => "tpu",
            AcceleratorFamily::Trainium => "trainium",
        };
        let kind = AcceleratorKind::of(&spec.vendor, family);
        let factor = if kind == AcceleratorKind::Tpu {
            self.tpu_factor
        } else {
            1.0
        };
        let speed = self
            .classes
            .iter()
            .map(|&(fw, jk)| {
                if !fw.runs_on(kind) {
                    return 0.0;
                }
                roofline_speed(
                    jk,
                    (spec.bf16_dense_tflops, spec.memory_tb_s),
                    self.reference,
                )
                .unwrap_or(0.0)
                    * factor
            })
            .collect();
        self.list.push(Accelerator {
            name: spec.name.clone(),
            kind,
            speed,
        });
        Ok(self.list.len() - 1)
    }
}

fn job_kind(s: &str, field: &str) -> Result<JobKind, PlanError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "pretrain" => Ok(JobKind::Pretrain),
        "finetune" => Ok(JobKind::Finetune),
        "inference" | "eval" => Ok(JobKind::Eval),
        other => Err(PlanError::field(
            field,
            format!("unknown kind `{other}`; expected pretrain, finetune, inference or eval"),
        )),
    }
}

/// The cheapest catalog price per chip-hour of `accelerator` at `provider` in `regions`.
fn catalog_price(
    catalog: &Catalog,
    provider: &str,
    accelerator: &str,
    regions: Option<&[String]>,
    spot: bool,
) -> Option<f64> {
    catalog
        .offers()
        .iter()
        .filter(|o| o.provider == provider && o.accelerator == accelerator)
        .filter(|o| regions.is_none_or(|rs| rs.iter().any(|r| r.eq_ignore_ascii_case(&o.region))))
        .filter_map(|o| {
            if spot {
                o.spot_price_per_chip_hour()
            } else {
                o.price_per_chip_hour()
            }
        })
        .map(|p| p.0)
        .min_by(f64::total_cmp)
}

/// The provider's canonical name if the catalog knows it, else the name as given (lowercase).
fn provider_name(catalog: &Catalog, name: &str) -> (String, bool) {
    match catalog.provider(name) {
        Ok(p) => (p.to_string(), true),
        Err(_) => (name.trim().to_ascii_lowercase(), false),
    }
}

/// Validates a parsed file against the catalog.
pub fn validate(file: &PlanFile, catalog: &Catalog) -> Result<PlanInput, PlanError> {
    let p = &file.plan;
    check(!p.name.trim().is_empty(), "plan.name", "must not be empty")?;
    let months = match p.step.as_str() {
        "month" | "monthly" => 1,
        "quarter" | "quarterly" => 3,
        other => {
            return Err(PlanError::field(
                "plan.step",
                format!("unknown step `{other}`; expected month or quarter"),
            ));
        }
    };
    check(
        (1..=MAX_HORIZON_MONTHS).contains(&p.horizon_months),
        "plan.horizon_months",
        format!(
            "{} must be 1 to {MAX_HORIZON_MONTHS} (10 years)",
            p.horizon_months
        ),
    )?;
    check(
        p.horizon_months.is_multiple_of(months as u32),
        "plan.horizon_months",
        format!(
            "{} is not a whole number of quarters (step = \"quarter\")",
            p.horizon_months
        ),
    )?;
    let periods = Periods {
        count: p.horizon_months as usize / months,
        months,
    };
    check(
        p.discount_rate.is_finite() && (0.0..1.0).contains(&p.discount_rate),
        "plan.discount_rate",
        format!("{} must be an annual rate in [0, 1)", p.discount_rate),
    )?;
    check(
        p.service_level > 0.0 && p.service_level <= 1.0,
        "plan.service_level",
        format!("{} must be a share in (0, 1]", p.service_level),
    )?;
    let (deferral_cost, lost_cost) = match p.unserved.as_str() {
        _ if p.service_level >= 1.0 => (None, None),
        "deferred" => {
            let c = p.deferral_cost_per_ref_hour.ok_or_else(|| {
                PlanError::field(
                    "plan.deferral_cost_per_ref_hour",
                    "missing: unserved = \"deferred\" with a service level below 1 needs the \
                     cost of deferring a reference-hour by one period",
                )
            })?;
            finite_nonneg(c, "plan.deferral_cost_per_ref_hour")?;
            (Some(c), None)
        }
        "lost" => {
            let c = p.lost_cost_per_ref_hour.ok_or_else(|| {
                PlanError::field(
                    "plan.lost_cost_per_ref_hour",
                    "missing: unserved = \"lost\" with a service level below 1 needs the cost \
                     of a lost reference-hour",
                )
            })?;
            finite_nonneg(c, "plan.lost_cost_per_ref_hour")?;
            (None, Some(c))
        }
        other => {
            return Err(PlanError::field(
                "plan.unserved",
                format!("unknown value `{other}`; expected deferred or lost"),
            ));
        }
    };
    if p.unserved == "lost" && p.deferral_cost_per_ref_hour.is_some() {
        return Err(PlanError::field(
            "plan.deferral_cost_per_ref_hour",
            "contradicts unserved = \"lost\": lost work is not deferred; remove one of them",
        ));
    }
    let tpu_speed_factor = p.tpu_speed_factor.unwrap_or(1.0);
    check(
        tpu_speed_factor.is_finite() && tpu_speed_factor > 0.0,
        "plan.tpu_speed_factor",
        format!("{tpu_speed_factor} must be > 0"),
    )?;
    let time_limit_s = p.time_limit_s.unwrap_or(120.0);
    check(
        time_limit_s.is_finite() && time_limit_s > 0.0,
        "plan.time_limit_s",
        "must be > 0",
    )?;
    let reference_spec = catalog
        .accelerator(&p.reference)
        .map_err(|e| PlanError::field("plan.reference", e.to_string()))?;
    let reference = (reference_spec.bf16_dense_tflops, reference_spec.memory_tb_s);
    check(
        reference.0.is_some(),
        "plan.reference",
        format!(
            "{} has no bf16 peak to measure speeds against",
            reference_spec.name
        ),
    )?;

    let uncertainty = uncertainty(file)?;

    // Classes.
    check(
        !file.classes.is_empty(),
        "class",
        "no [[class]]: a plan needs at least one workload class",
    )?;
    let mut classes = Vec::new();
    for (i, c) in file.classes.iter().enumerate() {
        let f = |name: &str| format!("class[{i}].{name}");
        check(!c.name.trim().is_empty(), f("name"), "must not be empty")?;
        if let Some(j) = file.classes[..i].iter().position(|o| o.name == c.name) {
            return Err(PlanError::field(
                f("name"),
                format!("`{}` is also the name of class[{j}]", c.name),
            ));
        }
        let framework: Framework = c
            .framework
            .parse()
            .map_err(|e: String| PlanError::field(f("framework"), e))?;
        let kind = job_kind(&c.kind, &f("kind"))?;
        finite_nonneg(c.start_ref_hours_per_month, &f("start_ref_hours_per_month"))?;
        check(
            c.annual_growth.is_finite() && c.annual_growth > -1.0,
            f("annual_growth"),
            format!("{} must be > -1", c.annual_growth),
        )?;
        let seasonality = match &c.seasonality {
            None => [1.0; 12],
            Some(v) => {
                check(
                    v.len() == 12,
                    f("seasonality"),
                    format!("has {} values; give 12, January first", v.len()),
                )?;
                check(
                    v.iter().all(|x| x.is_finite() && *x > 0.0),
                    f("seasonality"),
                    "every factor must be > 0",
                )?;
                let mean = v.iter().sum::<f64>() / 12.0;
                let mut s = [0.0; 12];
                for (o, x) in s.iter_mut().zip(v) {
                    *o = x / mean;
                }
                s
            }
        };
        let first = c.first_calendar_month.unwrap_or(1);
        check(
            (1..=12).contains(&first),
            f("first_calendar_month"),
            format!("{first} must be 1 to 12"),
        )?;
        classes.push(Class {
            name: c.name.clone(),
            framework,
            kind,
            growth: Growth {
                start_ref_hours_per_month: c.start_ref_hours_per_month,
                annual_growth: c.annual_growth,
                seasonality,
                first_calendar_month: first as usize - 1,
            },
        });
    }
    let class_keys: Vec<(Framework, JobKind)> =
        classes.iter().map(|c| (c.framework, c.kind)).collect();
    let mut accs = Accelerators {
        catalog,
        reference,
        classes: &class_keys,
        tpu_factor: tpu_speed_factor,
        list: Vec::new(),
    };
    let horizon = p.horizon_months as usize;

    let mut owned = Vec::new();
    for (i, o) in file.owned.iter().enumerate() {
        let f = |name: &str| format!("owned[{i}].{name}");
        let accelerator = accs.index(&o.accelerator, &f("accelerator"))?;
        finite_nonneg(o.chips, &f("chips"))?;
        finite_nonneg(o.opex_per_chip_hour, &f("opex_per_chip_hour"))?;
        owned.push(Owned {
            name: o.name.clone(),
            accelerator,
            chips: o.chips,
            retire_month: o.retire_month.map(|m| m as usize).filter(|&m| m < horizon),
            opex_per_chip_hour: o.opex_per_chip_hour,
        });
    }

    let mut builds = Vec::new();
    for (i, b) in file.builds.iter().enumerate() {
        let f = |name: &str| format!("build[{i}].{name}");
        let accelerator = accs.index(&b.accelerator, &f("accelerator"))?;
        check(b.chips_per_server > 0, f("chips_per_server"), "must be > 0")?;
        let capex_per_chip = match (b.capex_per_chip, b.capex_per_server) {
            (Some(c), None) => c,
            (None, Some(s)) => s / f64::from(b.chips_per_server),
            (Some(_), Some(_)) => {
                return Err(PlanError::field(
                    f("capex_per_server"),
                    "contradicts capex_per_chip: give one of them",
                ));
            }
            (None, None) => {
                return Err(PlanError::field(
                    f("capex_per_chip"),
                    "missing: give capex_per_chip or capex_per_server",
                ));
            }
        };
        finite_nonneg(capex_per_chip, &f("capex_per_chip"))?;
        finite_nonneg(b.opex_per_chip_hour, &f("opex_per_chip_hour"))?;
        finite_nonneg(b.max_chips_per_quarter, &f("max_chips_per_quarter"))?;
        check(b.lifetime_months > 0, f("lifetime_months"), "must be > 0")?;
        check(
            (b.first_order_month + b.lead_time_months) < p.horizon_months,
            f("lead_time_months"),
            format!(
                "first_order_month {} + lead time {} reaches past the horizon ({} months): \
                 nothing built would arrive in time",
                b.first_order_month, b.lead_time_months, p.horizon_months
            ),
        )?;
        builds.push(Build {
            name: b.name.clone(),
            accelerator,
            capex_per_chip,
            chips_per_server: b.chips_per_server,
            lead_time_months: b.lead_time_months as usize,
            lifetime_months: b.lifetime_months as usize,
            opex_per_chip_hour: b.opex_per_chip_hour,
            max_chips_per_quarter: b.max_chips_per_quarter,
            first_order_month: b.first_order_month as usize,
        });
    }

    let mut commitments = Vec::new();
    for (i, c) in file.commitments.iter().enumerate() {
        commitments.push(commitment(c, i, catalog, &mut accs, periods)?);
    }

    let mut rentals = Vec::new();
    for (i, r) in file.rents.iter().enumerate() {
        let f = |name: &str| format!("rent[{i}].{name}");
        let accelerator = accs.index(&r.accelerator, &f("accelerator"))?;
        let acc_name = accs.list[accelerator].name.clone();
        let (provider, known) = provider_name(catalog, &r.provider);
        check(
            r.on_demand || r.spot,
            f("on_demand"),
            "on_demand = false and spot = false: the rental offers nothing",
        )?;
        for (v, name) in [
            (r.stockout_rate, "stockout_rate"),
            (r.spot_unavailable_rate, "spot_unavailable_rate"),
            (r.spot_preemption_overhead, "spot_preemption_overhead"),
        ] {
            share(v, &f(name))?;
        }
        for (on, spot) in [(r.on_demand, false), (r.spot, true)] {
            if !on {
                continue;
            }
            let (given, field) = if spot {
                (r.spot_price_per_chip_hour, "spot_price_per_chip_hour")
            } else {
                (r.price_per_chip_hour, "price_per_chip_hour")
            };
            let price = match given {
                Some(x) => x,
                None => catalog_price(catalog, &provider, &acc_name, r.regions.as_deref(), spot)
                    .ok_or_else(|| {
                        PlanError::field(
                            f(field),
                            format!(
                                "missing, and the catalog has no {} price for {acc_name} at \
                                 {provider}{}{}; give the price",
                                if spot { "spot" } else { "on-demand" },
                                if known {
                                    ""
                                } else {
                                    " (a provider it does not know)"
                                },
                                match &r.regions {
                                    Some(rs) => format!(" in {}", rs.join(", ")),
                                    None => String::new(),
                                }
                            ),
                        )
                    })?,
            };
            finite_nonneg(price, &f(field))?;
            let (cap, avail, field_cap) = if spot {
                (
                    r.spot_max_chips,
                    1.0 - r.spot_unavailable_rate,
                    "spot_max_chips",
                )
            } else {
                (r.max_chips, 1.0 - r.stockout_rate, "max_chips")
            };
            if let Some(c) = cap {
                finite_nonneg(c, &f(field_cap))?;
            }
            rentals.push(Rental {
                provider: provider.clone(),
                accelerator,
                kind: if spot {
                    RentKind::Spot
                } else {
                    RentKind::OnDemand
                },
                price_per_chip_hour: price,
                max_chips: cap.map(|c| c * avail),
                availability: avail,
                efficiency: if spot {
                    1.0 - r.spot_preemption_overhead
                } else {
                    1.0
                },
            });
        }
    }

    // Every class must have somewhere to run.
    let accelerators = accs.list;
    for (k, c) in classes.iter().enumerate() {
        if !accelerators.iter().any(|a| a.speed[k] > 0.0) {
            let offered: Vec<&str> = accelerators.iter().map(|a| a.name.as_str()).collect();
            return Err(PlanError::Unservable {
                index: k,
                name: c.name.clone(),
                framework: c.framework.to_string(),
                offered: if offered.is_empty() {
                    "nothing".into()
                } else {
                    offered.join(", ")
                },
            });
        }
    }

    let seed = p.seed.unwrap_or(1);
    let eval = file.evaluation.as_ref();
    let eval_paths = eval.and_then(|e| e.paths).unwrap_or(100) as usize;
    check(eval_paths > 0, "evaluation.paths", "must be > 0")?;
    Ok(PlanInput {
        name: p.name.clone(),
        periods,
        discount_rate: p.discount_rate,
        reference: reference_spec.name.clone(),
        service_level: p.service_level,
        deferral_cost,
        lost_cost,
        tpu_speed_factor,
        classes,
        accelerators,
        owned,
        builds,
        commitments,
        rentals,
        uncertainty,
        seed,
        time_limit_s,
        eval_paths,
        eval_seed: eval
            .and_then(|e| e.seed)
            .unwrap_or(seed.wrapping_add(0x5eed)),
    })
}

fn commitment(
    c: &file::CommitmentSection,
    i: usize,
    catalog: &Catalog,
    accs: &mut Accelerators<'_>,
    periods: Periods,
) -> Result<Commitment, PlanError> {
    let f = |name: &str| format!("commitment[{i}].{name}");
    let horizon = periods.horizon_months();
    let (provider, _) = provider_name(catalog, &c.provider);
    check(c.term_months > 0, f("term_months"), "must be > 0")?;
    check(
        !c.accelerators.is_empty(),
        f("accelerators"),
        "is empty: name the accelerators the commitment covers",
    )?;
    let mut covered = Vec::new();
    for (j, name) in c.accelerators.iter().enumerate() {
        let field = format!("commitment[{i}].accelerators[{j}]");
        let a = accs.index(name, &field)?;
        let acc_name = accs.list[a].name.clone();
        let price = catalog_price(catalog, &provider, &acc_name, c.regions.as_deref(), false)
            .ok_or_else(|| {
                PlanError::field(
                    &field,
                    format!(
                        "the commitment covers no known accelerator here: the catalog has no \
                         on-demand price for {acc_name} at {provider}{}, so its committed price \
                         is unknown",
                        c.regions
                            .as_ref()
                            .map(|r| format!(" in {}", r.join(", ")))
                            .unwrap_or_default()
                    ),
                )
            })?;
        covered.push((a, price));
    }
    let starts: Vec<usize> = c
        .start_months
        .clone()
        .unwrap_or_else(|| vec![0])
        .into_iter()
        .map(|m| m as usize)
        .collect();
    check(!starts.is_empty(), f("start_months"), "is empty")?;
    for &s in &starts {
        check(
            s < horizon,
            f("start_months"),
            format!("{s} is past the horizon ({horizon} months)"),
        )?;
        check(
            s % periods.months == 0,
            f("start_months"),
            format!("{s} does not start a quarter (step = \"quarter\")"),
        )?;
    }
    if let Some(m) = c.max_chips {
        finite_nonneg(m, &f("max_chips"))?;
    }
    check(
        !c.tiers.is_empty(),
        f("tier"),
        "no [[commitment.tier]]: give at least one (min_spend, discount_percent)",
    )?;
    for (j, pair) in c.tiers.windows(2).enumerate() {
        check(
            pair[1].min_spend > pair[0].min_spend,
            format!("commitment[{i}].tier[{}].min_spend", j + 1),
            format!(
                "{} is not above tier[{j}]'s {}: list tiers from the smallest",
                pair[1].min_spend, pair[0].min_spend
            ),
        )?;
    }
    let mut tiers = Vec::new();
    for (j, t) in c.tiers.iter().enumerate() {
        let g = |name: &str| format!("commitment[{i}].tier[{j}].{name}");
        finite_nonneg(t.min_spend, &g("min_spend"))?;
        check(
            t.discount_percent.is_finite() && (0.0..100.0).contains(&t.discount_percent),
            g("discount_percent"),
            format!("{} must be in [0, 100)", t.discount_percent),
        )?;
        let next = c.tiers.get(j + 1).map(|n| n.min_spend);
        let max_spend = t.max_spend.or(next).unwrap_or(f64::INFINITY);
        check(
            max_spend >= t.min_spend,
            g("max_spend"),
            format!("{max_spend} is below min_spend {}", t.min_spend),
        )?;
        if let (Some(m), Some(n)) = (t.max_spend, next) {
            check(
                m <= n,
                g("max_spend"),
                format!("{m} overlaps the next tier, which starts at {n}"),
            )?;
        }
        tiers.push(Tier {
            min_spend: t.min_spend,
            max_spend,
            discount: t.discount_percent / 100.0,
        });
    }
    Ok(Commitment {
        name: c.name.clone(),
        provider,
        term_months: c.term_months as usize,
        covered,
        start_months: starts,
        use_it_or_lose_it: c.use_it_or_lose_it,
        max_chips: c.max_chips,
        tiers,
    })
}

fn uncertainty(file: &PlanFile) -> Result<Uncertainty, PlanError> {
    let u = file.uncertainty.as_ref();
    let mode = u
        .map(|u| u.mode.as_str())
        .unwrap_or(if file.scenarios.is_empty() {
            "sampled"
        } else {
            "scenarios"
        });
    match mode {
        "scenarios" => {
            check(
                !file.scenarios.is_empty(),
                "scenario",
                "uncertainty.mode = \"scenarios\" but there is no [[scenario]]",
            )?;
            if let Some(u) = u {
                check(
                    u.paths.is_none() && u.growth_sd.is_none(),
                    "uncertainty.paths",
                    "contradicts mode = \"scenarios\": paths and growth_sd are for sampled paths",
                )?;
            }
            let mut out = Vec::new();
            for (i, s) in file.scenarios.iter().enumerate() {
                let f = |n: &str| format!("scenario[{i}].{n}");
                check(
                    s.probability.is_finite() && s.probability > 0.0 && s.probability <= 1.0,
                    f("probability"),
                    format!("{} must be in (0, 1]", s.probability),
                )?;
                let gm = s.growth_multiplier.unwrap_or(1.0);
                let lm = s.level_multiplier.unwrap_or(1.0);
                finite_nonneg(gm, &f("growth_multiplier"))?;
                finite_nonneg(lm, &f("level_multiplier"))?;
                out.push(NamedScenario {
                    name: s.name.clone(),
                    probability: s.probability,
                    growth_multiplier: gm,
                    level_multiplier: lm,
                });
            }
            let total: f64 = out.iter().map(|s| s.probability).sum();
            check(
                (total - 1.0).abs() < 1e-6,
                "scenario.probability",
                format!("the probabilities sum to {total}, not 1"),
            )?;
            Ok(Uncertainty::Scenarios(out))
        }
        "sampled" => {
            check(
                file.scenarios.is_empty(),
                "scenario",
                "[[scenario]] tables contradict uncertainty.mode = \"sampled\"; remove one",
            )?;
            let paths = u.and_then(|u| u.paths).unwrap_or(50) as usize;
            check(paths > 0, "uncertainty.paths", "must be > 0")?;
            let model = SamplingModel {
                paths,
                growth_sd: u.and_then(|u| u.growth_sd).unwrap_or(0.2),
                monthly_noise_sd: u.and_then(|u| u.monthly_noise_sd).unwrap_or(0.05),
                class_correlation: u.and_then(|u| u.class_correlation).unwrap_or(0.5),
            };
            finite_nonneg(model.growth_sd, "uncertainty.growth_sd")?;
            finite_nonneg(model.monthly_noise_sd, "uncertainty.monthly_noise_sd")?;
            check(
                (0.0..=1.0).contains(&model.class_correlation),
                "uncertainty.class_correlation",
                "must be in [0, 1]",
            )?;
            Ok(Uncertainty::Sampled(model))
        }
        other => Err(PlanError::field(
            "uncertainty.mode",
            format!("unknown mode `{other}`; expected sampled or scenarios"),
        )),
    }
}

impl PlanInput {
    /// The planning scenarios: the named ones, or the sampled paths of the planning seed.
    pub fn scenarios(&self) -> Vec<crate::demand::Scenario> {
        let growth: Vec<Growth> = self.classes.iter().map(|c| c.growth.clone()).collect();
        match &self.uncertainty {
            Uncertainty::Scenarios(list) => list
                .iter()
                .map(|s| {
                    crate::demand::deterministic(
                        &growth,
                        self.periods,
                        &s.name,
                        s.probability,
                        s.growth_multiplier,
                        s.level_multiplier,
                    )
                })
                .collect(),
            Uncertainty::Sampled(m) => {
                crate::demand::sample(&growth, self.periods, m, m.paths, self.seed)
            }
        }
    }

    /// Fresh paths for out-of-sample evaluation (another seed). Named scenarios are turned into
    /// paths by drawing a scenario by its probability, then sampling noise around it.
    pub fn evaluation_paths(&self) -> Vec<crate::demand::Scenario> {
        let growth: Vec<Growth> = self.classes.iter().map(|c| c.growth.clone()).collect();
        match &self.uncertainty {
            Uncertainty::Sampled(m) => {
                crate::demand::sample(&growth, self.periods, m, self.eval_paths, self.eval_seed)
            }
            Uncertainty::Scenarios(list) => crate::demand::sample_from_scenarios(
                &growth,
                self.periods,
                list,
                self.eval_paths,
                self.eval_seed,
            ),
        }
    }

    /// Hours in one period.
    pub fn hours_per_period(&self) -> f64 {
        HOURS_PER_MONTH * self.periods.months as f64
    }
}

impl PlanInput {
    /// This plan with one more commitment offer (validated like a `[[commitment]]` table; the
    /// accelerators it covers join the accelerator table with their speeds).
    pub fn with_commitment(
        &self,
        catalog: &Catalog,
        section: &file::CommitmentSection,
    ) -> Result<PlanInput, PlanError> {
        let spec = catalog
            .accelerator(&self.reference)
            .map_err(|e| PlanError::field("plan.reference", e.to_string()))?;
        let keys: Vec<(Framework, JobKind)> =
            self.classes.iter().map(|c| (c.framework, c.kind)).collect();
        let mut accs = Accelerators {
            catalog,
            reference: (spec.bf16_dense_tflops, spec.memory_tb_s),
            classes: &keys,
            tpu_factor: self.tpu_speed_factor,
            list: self.accelerators.clone(),
        };
        let c = commitment(
            section,
            self.commitments.len(),
            catalog,
            &mut accs,
            self.periods,
        )?;
        let mut out = self.clone();
        out.accelerators = accs.list;
        out.commitments.push(c);
        Ok(out)
    }

    /// This plan with every TPU's speed multiplied by `factor`.
    pub fn with_tpu_factor(&self, factor: f64) -> PlanInput {
        let mut out = self.clone();
        for a in &mut out.accelerators {
            if a.kind == AcceleratorKind::Tpu {
                for v in &mut a.speed {
                    *v *= factor;
                }
            }
        }
        out.tpu_speed_factor *= factor;
        out
    }
}
