//! The plan file as written (TOML), before validation: every table and key, unknown keys
//! rejected with their line. [`crate::input`] turns it into a validated [`crate::PlanInput`].

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// `[plan]`: horizon, step, money and service level.
    pub plan: PlanSection,
    /// `[uncertainty]`: how demand scenarios are made.
    #[serde(default)]
    pub uncertainty: Option<UncertaintySection>,
    /// `[[class]]`: workload classes and their demand growth.
    #[serde(default, rename = "class")]
    pub classes: Vec<ClassSection>,
    /// `[[scenario]]`: named demand scenarios with probabilities.
    #[serde(default, rename = "scenario")]
    pub scenarios: Vec<ScenarioSection>,
    /// `[[owned]]`: the fleet already owned.
    #[serde(default, rename = "owned")]
    pub owned: Vec<OwnedSection>,
    /// `[[build]]`: options to build more.
    #[serde(default, rename = "build")]
    pub builds: Vec<BuildSection>,
    /// `[[commitment]]`: committed-spend offers.
    #[serde(default, rename = "commitment")]
    pub commitments: Vec<CommitmentSection>,
    /// `[[rent]]`: on-demand and spot rentals.
    #[serde(default, rename = "rent")]
    pub rents: Vec<RentSection>,
    /// `[evaluation]`: out-of-sample paths.
    #[serde(default)]
    pub evaluation: Option<EvaluationSection>,
}

/// `[plan]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSection {
    pub name: String,
    pub horizon_months: u32,
    /// `month` or `quarter`.
    #[serde(default = "default_step")]
    pub step: String,
    /// Annual discount rate (0.08 = 8%).
    pub discount_rate: f64,
    /// The reference accelerator demand is measured in (hours of one chip of it).
    #[serde(default = "default_reference")]
    pub reference: String,
    /// Share of each month's demand that must be served in that month.
    pub service_level: f64,
    /// What happens to the rest: `deferred` (to the next period) or `lost`.
    #[serde(default = "default_unserved")]
    pub unserved: String,
    /// Cost of one reference-hour of work deferred by one period, USD.
    #[serde(default)]
    pub deferral_cost_per_ref_hour: Option<f64>,
    /// Cost of one reference-hour of work lost, USD.
    #[serde(default)]
    pub lost_cost_per_ref_hour: Option<f64>,
    /// Multiplier on every TPU speed (sensitivity to the TPU-to-GPU ratio); 1 by default.
    #[serde(default)]
    pub tpu_speed_factor: Option<f64>,
    /// Seed of every random draw.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Solver time limit per solve, seconds.
    #[serde(default)]
    pub time_limit_s: Option<f64>,
}

fn default_step() -> String {
    "month".into()
}
fn default_reference() -> String {
    "H100".into()
}
fn default_unserved() -> String {
    "deferred".into()
}

/// `[uncertainty]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UncertaintySection {
    /// `sampled` (paths from the growth distribution) or `scenarios` (the `[[scenario]]` list).
    pub mode: String,
    /// Sampled paths to plan with.
    #[serde(default)]
    pub paths: Option<u32>,
    /// Standard deviation of each path's annual growth rate, absolute (0.2 = +-20 points).
    #[serde(default)]
    pub growth_sd: Option<f64>,
    /// Standard deviation of the month-to-month noise, relative (0.05 = 5%).
    #[serde(default)]
    pub monthly_noise_sd: Option<f64>,
    /// Correlation of the growth shocks of different classes in one path, 0..1.
    #[serde(default)]
    pub class_correlation: Option<f64>,
}

/// `[[class]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSection {
    pub name: String,
    /// `cuda`, `xla` or `any`.
    pub framework: String,
    /// `pretrain`, `finetune`, `inference` (or `eval`).
    pub kind: String,
    /// Work in the first month, reference-accelerator-hours.
    pub start_ref_hours_per_month: f64,
    /// Annual growth rate (0.6 = +60% a year).
    pub annual_growth: f64,
    /// Twelve monthly factors (January first, mean 1), or none.
    #[serde(default)]
    pub seasonality: Option<Vec<f64>>,
    /// Calendar month of the plan's first month (1-12), for the seasonality; 1 by default.
    #[serde(default)]
    pub first_calendar_month: Option<u32>,
}

/// `[[scenario]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSection {
    pub name: String,
    pub probability: f64,
    /// Multiplies every class's annual growth rate.
    #[serde(default)]
    pub growth_multiplier: Option<f64>,
    /// Multiplies every class's starting level.
    #[serde(default)]
    pub level_multiplier: Option<f64>,
}

/// `[[owned]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnedSection {
    pub name: String,
    pub accelerator: String,
    pub chips: f64,
    /// First month the fleet is no longer in service (beyond the horizon: never).
    #[serde(default)]
    pub retire_month: Option<u32>,
    /// Power and hosting per chip-hour, paid while in service.
    #[serde(default)]
    pub opex_per_chip_hour: f64,
}

/// `[[build]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildSection {
    pub name: String,
    pub accelerator: String,
    /// Capex per chip, USD; or give `capex_per_server`.
    #[serde(default)]
    pub capex_per_chip: Option<f64>,
    /// Capex per server of `chips_per_server` chips, USD.
    #[serde(default)]
    pub capex_per_server: Option<f64>,
    #[serde(default = "default_chips_per_server")]
    pub chips_per_server: u32,
    pub lead_time_months: u32,
    pub lifetime_months: u32,
    /// Power and hosting per chip-hour, paid while in service.
    #[serde(default)]
    pub opex_per_chip_hour: f64,
    /// Most chips ordered per quarter.
    pub max_chips_per_quarter: f64,
    /// First month an order can be placed; 0 by default.
    #[serde(default)]
    pub first_order_month: u32,
}

fn default_chips_per_server() -> u32 {
    8
}

/// `[[commitment]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitmentSection {
    pub name: String,
    pub provider: String,
    pub term_months: u32,
    /// Accelerators whose usage the commitment covers.
    pub accelerators: Vec<String>,
    /// Regions covered; all of the provider's when absent.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    /// Months in which the commitment may start; `[0]` by default.
    #[serde(default)]
    pub start_months: Option<Vec<u32>>,
    /// Unused committed spend is lost at the end of each period (true) or may be used later
    /// in the term (false).
    #[serde(default = "default_true")]
    pub use_it_or_lose_it: bool,
    /// Most chips of the covered accelerators obtainable under the commitment at once.
    #[serde(default)]
    pub max_chips: Option<f64>,
    /// Discount tiers by total committed spend.
    #[serde(rename = "tier")]
    pub tiers: Vec<TierSection>,
}

fn default_true() -> bool {
    true
}

/// `[[commitment.tier]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSection {
    /// Least total spend of this tier, USD over the term.
    pub min_spend: f64,
    /// Most total spend of this tier (the next tier's minimum by default; unbounded for the
    /// last).
    #[serde(default)]
    pub max_spend: Option<f64>,
    pub discount_percent: f64,
}

/// `[[rent]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RentSection {
    pub provider: String,
    pub accelerator: String,
    /// Regions to rent in; all of the provider's when absent.
    #[serde(default)]
    pub regions: Option<Vec<String>>,
    #[serde(default = "default_true")]
    pub on_demand: bool,
    #[serde(default)]
    pub spot: bool,
    /// On-demand price per chip-hour; the catalog's cheapest when absent.
    #[serde(default)]
    pub price_per_chip_hour: Option<f64>,
    /// Spot price per chip-hour; the catalog's cheapest when absent.
    #[serde(default)]
    pub spot_price_per_chip_hour: Option<f64>,
    /// Most on-demand chips obtainable at once.
    #[serde(default)]
    pub max_chips: Option<f64>,
    /// Share of the time on-demand capacity is out of stock (0..1).
    #[serde(default)]
    pub stockout_rate: f64,
    /// Most spot chips obtainable at once.
    #[serde(default)]
    pub spot_max_chips: Option<f64>,
    /// Share of the time spot capacity is not obtainable (0..1).
    #[serde(default)]
    pub spot_unavailable_rate: f64,
    /// Share of spot chip-hours lost to preemptions (rework and restarts), 0..1.
    #[serde(default)]
    pub spot_preemption_overhead: f64,
}

/// `[evaluation]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSection {
    /// Fresh demand paths to evaluate on.
    #[serde(default)]
    pub paths: Option<u32>,
    /// Seed of those paths (different from the planning seed by default).
    #[serde(default)]
    pub seed: Option<u64>,
}
