//! `spillway estimate --throughputs FILE --job-type TYPE`: time and cost of N steps from a
//! measured (Gavel-format) throughput matrix, per accelerator of the matrix.

use super::offers_of;
use super::render::{OfferRow, footer, grouped, money, placement_rate, round};
use crate::table::{Align, Table};
use anyhow::Context as _;
use serde::Serialize;
use spillway_catalog::{Catalog, Offer};
use spillway_model::AcceleratorSpec;
use spillway_perf::gavel::ThroughputMatrix;
use spillway_perf::input::{ChipCount, StepCount};
use spillway_perf::measured::{MeasuredEstimate, MeasuredStatus, measured};
use spillway_perf::placement::{Granularity, RentalShape};
use std::path::Path;

/// Gavel measures multi-GPU jobs twice: packed on one server, and spread over servers
/// (`v100_unconsolidated`). Rentals here are whole VMs, so only the packed figures apply.
const UNCONSOLIDATED_SUFFIX: &str = "_unconsolidated";

/// What measured mode was asked for.
pub(super) struct MeasuredInputs<'a> {
    pub(super) path: &'a Path,
    pub(super) job_type: &'a str,
    pub(super) steps: StepCount,
    pub(super) scale_factor: ChipCount,
    /// Only these accelerators, when `--accelerator` was given.
    pub(super) only: Option<&'a [&'a AcceleratorSpec]>,
}

/// One accelerator's measured estimate, as printed.
#[derive(Debug, Serialize)]
struct Row {
    accelerator: String,
    matrix_accelerator: String,
    status: MeasuredStatus,
    note: Option<String>,
    job_type: String,
    scale_factor: u32,
    steps: u64,
    steps_per_second: Option<f64>,
    chips: Option<u32>,
    offer: Option<OfferRow>,
    hours: Option<f64>,
    days: Option<f64>,
    on_demand_price_per_hour: Option<f64>,
    spot_price_per_hour: Option<f64>,
    committed_price_per_hour: Option<f64>,
    on_demand_cost_usd: Option<f64>,
    spot_cost_usd: Option<f64>,
    committed_cost_usd: Option<f64>,
}

pub(super) fn run(
    catalog: &Catalog,
    inputs: &MeasuredInputs<'_>,
    json: bool,
) -> anyhow::Result<()> {
    let path = inputs.path;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("read throughput matrix {}", path.display()))?;
    let matrix = ThroughputMatrix::from_gavel_json(&text)
        .with_context(|| format!("read throughput matrix {}", path.display()))?;
    let job_type = resolve_job(&matrix, inputs.job_type, inputs.scale_factor)?;

    let mut rows = Vec::new();
    for name in matrix.accelerators() {
        if name.ends_with(UNCONSOLIDATED_SUFFIX) {
            continue;
        }
        let spec = catalog.accelerator(name).ok();
        if let Some(only) = inputs.only {
            if !spec.is_some_and(|s| only.iter().any(|o| o.name == s.name)) {
                continue;
            }
        }
        let offers: Vec<&Offer> = spec.map(|s| offers_of(catalog, s)).unwrap_or_default();
        let granularity = spec.map_or(Granularity::Instances, |s| Granularity::of(s.family));
        let rate = matrix.throughput(job_type, inputs.scale_factor.get(), name);
        let est = measured(
            rate,
            inputs.steps,
            inputs.scale_factor,
            granularity,
            &offers,
        );
        rows.push(Row::new(name, spec, job_type, &est));
    }
    if rows.is_empty() {
        anyhow::bail!(
            "none of the matrix's accelerators ({}) is among those given with --accelerator",
            matrix.accelerators().join(", ")
        );
    }
    // Cheapest first, as in roofline mode: committed cost where configured, else on-demand.
    let reserved = |r: &Row| key(r.committed_cost_usd.or(r.on_demand_cost_usd));
    rows.sort_by(|a, b| {
        reserved(a)
            .total_cmp(&reserved(b))
            .then_with(|| key(a.hours).total_cmp(&key(b.hours)))
            .then_with(|| a.accelerator.cmp(&b.accelerator))
    });
    let text = if json {
        serde_json::to_string_pretty(&rows)? + "\n"
    } else {
        table(inputs, job_type, &rows)
    };
    crate::output::emit(&text)?;
    Ok(())
}

/// Unknown figures sort after all known ones.
fn key(x: Option<f64>) -> f64 {
    x.unwrap_or(f64::INFINITY)
}

/// The matrix's spelling of `job_type` (matched case-insensitively), which must have
/// `scale` in the matrix; if not, the error says what the matrix has.
fn resolve_job<'m>(
    matrix: &'m ThroughputMatrix,
    job_type: &str,
    scale: ChipCount,
) -> anyhow::Result<&'m str> {
    let types = matrix.job_types();
    let found = types
        .iter()
        .find(|t| t.eq_ignore_ascii_case(job_type))
        .copied();
    let Some(job_type) = found else {
        let mut close: Vec<(f64, &str)> = types
            .iter()
            .map(|t| {
                (
                    strsim::normalized_levenshtein(&t.to_lowercase(), &job_type.to_lowercase()),
                    *t,
                )
            })
            .filter(|(score, _)| *score > 0.5)
            .collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let hint = if close.is_empty() {
            format!("the matrix has: {}", types.join(", "))
        } else {
            let names: Vec<String> = close
                .iter()
                .take(3)
                .map(|(_, t)| format!("\"{t}\""))
                .collect();
            format!("did you mean {}?", names.join(", "))
        };
        anyhow::bail!("unknown job type \"{job_type}\" in the throughput matrix: {hint}");
    };
    let scales = matrix.scale_factors(job_type);
    if !scales.contains(&scale.get()) {
        let known: Vec<String> = scales.iter().map(u32::to_string).collect();
        anyhow::bail!(
            "the throughput matrix has no scale factor {} for \"{job_type}\"; it has {}",
            scale.get(),
            known.join(", ")
        );
    }
    Ok(job_type)
}

impl Row {
    fn new(
        matrix_name: &str,
        spec: Option<&AcceleratorSpec>,
        job_type: &str,
        e: &MeasuredEstimate<'_, Offer>,
    ) -> Row {
        let p = e.placement.as_ref();
        Row {
            accelerator: spec.map_or_else(|| matrix_name.to_string(), |s| s.name.clone()),
            matrix_accelerator: matrix_name.to_string(),
            status: e.status,
            note: note(e.status, spec.is_some()),
            job_type: job_type.to_string(),
            scale_factor: e.scale_factor.get(),
            steps: e.steps.get(),
            steps_per_second: e.steps_per_second,
            chips: p.map(|p| p.chips),
            offer: p.map(OfferRow::new),
            hours: e.time.map(|t| round(t.hours(), 4)),
            days: e.time.map(|t| round(t.days(), 4)),
            on_demand_price_per_hour: p.and_then(|p| placement_rate(p, Offer::on_demand_per_hour)),
            spot_price_per_hour: p.and_then(|p| placement_rate(p, Offer::spot_per_hour)),
            committed_price_per_hour: p.and_then(|p| placement_rate(p, Offer::committed_per_hour)),
            on_demand_cost_usd: e.on_demand_cost.map(|c| round(c.0, 2)),
            spot_cost_usd: e.spot_cost.map(|c| round(c.0, 2)),
            committed_cost_usd: e.committed_cost.map(|c| round(c.0, 2)),
        }
    }
}

fn table(inputs: &MeasuredInputs<'_>, job_type: &str, rows: &[Row]) -> String {
    let mut out = format!(
        "{} steps of \"{}\" on {} chip(s) at the measured throughput ({})\n\n",
        grouped(inputs.steps.get() as f64, 0),
        job_type,
        inputs.scale_factor.get(),
        inputs
            .path
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
    );
    let mut t = Table::new(&[
        ("ACCELERATOR", Align::Left),
        ("STEPS/S", Align::Right),
        ("HOURS", Align::Right),
        ("CHIPS", Align::Right),
        ("RENTED", Align::Left),
        ("WHERE", Align::Left),
        ("ON-DEMAND", Align::Right),
        ("SPOT", Align::Right),
        ("COMMITTED", Align::Right),
    ]);
    let dash = || "-".to_string();
    for r in rows {
        let offer = r.offer.as_ref();
        t.push(vec![
            r.accelerator.clone(),
            r.steps_per_second.map_or_else(dash, |s| format!("{s:.3}")),
            r.hours.map_or_else(dash, |h| grouped(h, 2)),
            r.chips.map_or_else(dash, |c| c.to_string()),
            offer.map_or_else(dash, OfferRow::rented),
            offer.map_or_else(dash, OfferRow::location),
            cents(r.on_demand_cost_usd),
            cents(r.spot_cost_usd),
            cents(r.committed_cost_usd),
        ]);
    }
    out.push_str(&t.render());
    let notes: Vec<String> = rows
        .iter()
        .filter_map(|r| {
            r.note
                .as_ref()
                .map(|n| format!("  {}: {n}\n", r.accelerator))
        })
        .collect();
    if !notes.is_empty() {
        out.push_str("\nnotes:\n");
        out.push_str(&notes.concat());
    }
    out.push_str(&footer(
        "CHIPS: chips rented to run the job's scale factor (whole VMs, one slice or part of an \
         owned pool), all paid for.",
        rows.iter().all(|r| r.committed_cost_usd.is_none()),
    ));
    out
}

/// Why a row has no time or no cost.
fn note(status: MeasuredStatus, in_catalog: bool) -> Option<String> {
    let why = match status {
        MeasuredStatus::Ok => return None,
        MeasuredStatus::NotMeasured => "the matrix has no throughput for this job here",
        MeasuredStatus::NoOffer if !in_catalog => "not in the catalog",
        MeasuredStatus::NoOffer => {
            "no priced offer in the catalog (add one with [[offer]] in --catalog-overrides)"
        }
        MeasuredStatus::NoOfferLargeEnough => "no slice or pool holds the job's chips",
    };
    Some(why.to_string())
}

/// Small sums keep their cents: `$12.34`.
fn cents(usd: Option<f64>) -> String {
    match usd {
        Some(u) if u < 1000.0 => format!("${u:.2}"),
        other => money(other),
    }
}
