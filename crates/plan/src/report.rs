//! What `spillway plan` reports: the portfolio, its cost next to the baselines', a named
//! contract's evaluation, sensitivity and the out-of-sample evaluation. Plain serializable
//! data; the CLI renders it as tables or JSON.

use crate::model::CostBreakdown;
use crate::solve::{PeriodRow, SolveStats};
use serde::Serialize;

/// Servers ordered from one build option in one quarter.
#[derive(Debug, Clone, Serialize)]
pub struct BuildRow {
    pub option: String,
    pub accelerator: String,
    pub quarter: usize,
    pub order_month: usize,
    pub arrival_month: usize,
    pub chips: f64,
}

/// A commitment signed.
#[derive(Debug, Clone, Serialize)]
pub struct CommitmentRow {
    pub offer: String,
    pub provider: String,
    pub start_month: usize,
    pub term_months: usize,
    pub spend_usd: f64,
    pub discount_percent: f64,
    pub accelerators: Vec<String>,
}

/// One scenario's cost.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioCost {
    pub name: String,
    pub probability: f64,
    pub cost_usd: f64,
}

/// A portfolio (the plan, a baseline, the mean-demand plan) and what it costs in-sample.
#[derive(Debug, Clone, Serialize)]
pub struct Portfolio {
    pub name: String,
    /// Expected present value of all costs, USD.
    pub expected_cost_usd: f64,
    pub breakdown: CostBreakdown,
    pub builds: Vec<BuildRow>,
    pub commitments: Vec<CommitmentRow>,
    pub scenarios: Vec<ScenarioCost>,
    pub timeline: Vec<PeriodRow>,
    pub solve: SolveStats,
}

/// A named contract against the best plan without it.
#[derive(Debug, Clone, Serialize)]
pub struct ContractReport {
    pub contract: String,
    /// Expected cost with the contract (other choices re-optimized), USD.
    pub cost_with_usd: f64,
    /// Expected cost of the best plan without it, USD.
    pub cost_without_usd: f64,
    /// `cost_without - cost_with`: positive when the contract saves money.
    pub npv_usd: f64,
    /// Expected share of the committed capacity used (present values).
    pub utilization: f64,
    /// The utilization at which the contract costs what the work it does would cost elsewhere.
    pub break_even_utilization: Option<f64>,
    /// The demand level (share of planned demand, mean path) below which it loses money;
    /// `None` when it loses money at every level tried or saves at every level tried.
    pub break_even_demand_share: Option<f64>,
    /// The same level as first-month demand, reference-hours.
    pub break_even_first_month_ref_hours: Option<f64>,
    pub note: String,
    pub portfolio: Portfolio,
}

/// One sensitivity run.
#[derive(Debug, Clone, Serialize)]
pub struct SensitivityRow {
    pub parameter: String,
    pub value: String,
    pub expected_cost_usd: f64,
    pub built_chips: f64,
    pub committed_usd: f64,
    pub on_demand_share: f64,
}

/// One portfolio evaluated on fresh paths.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluatedRow {
    pub name: String,
    /// Average realized cost over the evaluation paths, USD.
    pub average_cost_usd: f64,
    /// `average - plan's average`, USD (positive: dearer than the plan).
    pub gap_usd: f64,
    pub gap_percent: f64,
}

/// The out-of-sample evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub paths: usize,
    pub seed: u64,
    pub rows: Vec<EvaluatedRow>,
    /// Average cost when each path is known in advance (the same model told each path).
    pub perfect_information_cost_usd: f64,
    /// Plan's average minus the perfect-information average: what uncertainty costs.
    pub value_of_perfect_information_usd: f64,
    /// Whether the plan beats every baseline and the mean-demand plan.
    pub plan_is_cheapest: bool,
}

/// Everything.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    pub name: String,
    pub periods: usize,
    pub months_per_period: usize,
    pub reference: String,
    pub scenarios: usize,
    pub plan: Portfolio,
    pub baselines: Vec<Portfolio>,
    pub contract: Option<ContractReport>,
    pub sensitivity: Vec<SensitivityRow>,
    pub evaluation: Option<Evaluation>,
    /// Demand derived from a trace or the service's history (`--demand-from-trace`,
    /// `--demand-from-server`), which replaced the file's levels and growth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived_demand: Option<crate::derive::Derived>,
    /// The plan's own estimate of its first year (with `RunOptions::validate`), for the replay
    /// in the simulator; not printed.
    #[serde(skip)]
    pub year_one: Option<crate::validate::YearOne>,
    /// The first year replayed in the simulator against the plan's estimate (`--validate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<crate::validate::Validation>,
}
