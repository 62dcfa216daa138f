//! Rows of `spillway estimate` (roofline mode), and their table and JSON forms. One `Row` feeds
//! both, so the table never shows a figure the JSON lacks.

use crate::table::{Align, Table};
use serde::Serialize;
use spillway_catalog::Offer;
use spillway_model::UsdPerHour;
use spillway_perf::estimate::{Estimate, EstimateStatus};
use spillway_perf::input::ChipCount;
use spillway_perf::memory::{MemoryModel, StateBytesPerParam};
use spillway_perf::placement::{Placement, RentalShape};
use spillway_perf::roofline::{PrecisionName, TrainingRun};

/// One accelerator's estimate, as printed. Money is rounded to cents and time to hundredths;
/// absent figures are `null` (a status says why).
#[derive(Debug, Serialize)]
pub(super) struct Row {
    pub(super) accelerator: String,
    pub(super) status: EstimateStatus,
    pub(super) note: Option<String>,
    precision: PrecisionName,
    mfu: f64,
    peak_tflops_per_chip: Option<f64>,
    training_flops: f64,
    memory_needed_gib: f64,
    memory_per_chip_gib: f64,
    chips_for_memory: u32,
    chips_requested: Option<u32>,
    chips: u32,
    offer: Option<OfferRow>,
    hours: Option<f64>,
    days: Option<f64>,
    chip_hours: Option<f64>,
    on_demand_price_per_hour: Option<f64>,
    spot_price_per_hour: Option<f64>,
    committed_price_per_hour: Option<f64>,
    on_demand_cost_usd: Option<f64>,
    spot_cost_usd: Option<f64>,
    committed_cost_usd: Option<f64>,
}

/// The offer rented: `units` x one unit of `chips_per_unit` chips.
#[derive(Debug, Serialize)]
pub(super) struct OfferRow {
    pub(super) provider: String,
    pub(super) region: String,
    pub(super) zone: String,
    pub(super) instance: String,
    pub(super) chips_per_unit: u32,
    pub(super) units: u32,
    /// Chips rented in all (fewer than `chips_per_unit` for part of an owned pool).
    pub(super) chips: u32,
}

impl OfferRow {
    pub(super) fn new(p: &Placement<'_, Offer>) -> OfferRow {
        OfferRow {
            provider: p.offer.provider.clone(),
            region: p.offer.region.clone(),
            zone: p.offer.zone.clone(),
            instance: p.offer.instance.clone(),
            chips_per_unit: p.offer.chips,
            units: p.units,
            chips: p.chips,
        }
    }

    /// `3 x a3-highgpu-8g`, `19 of slurm-h100` for part of a pool, or the instance alone.
    pub(super) fn rented(&self) -> String {
        if self.chips < self.chips_per_unit {
            format!("{} of {}", self.chips, self.instance)
        } else if self.units == 1 {
            self.instance.clone()
        } else {
            format!("{} x {}", self.units, self.instance)
        }
    }

    /// `gcp us-central1-a`.
    pub(super) fn location(&self) -> String {
        format!("{} {}", self.provider, self.zone)
    }
}

/// The hourly price of what is rented (`units` x the unit price, or part of a pool's).
pub(super) fn placement_rate(
    p: &Placement<'_, Offer>,
    rate: impl Fn(&Offer) -> Option<UsdPerHour>,
) -> Option<f64> {
    p.rate(rate(p.offer)).map(|r| round(r.0, 6))
}

impl Row {
    pub(super) fn new(
        run: &TrainingRun,
        e: &Estimate<'_, Offer>,
        requested: Option<ChipCount>,
    ) -> Row {
        let p = e.placement.as_ref();
        Row {
            accelerator: e.accelerator.name.clone(),
            status: e.status,
            note: e.note.clone(),
            precision: run.precision.into(),
            mfu: run.mfu.get(),
            peak_tflops_per_chip: e.accelerator.peak_tflops(run.precision),
            training_flops: run.flops().0,
            memory_needed_gib: round(e.memory.total_gib(), 2),
            memory_per_chip_gib: e.accelerator.memory_gib,
            chips_for_memory: e.chips_for_memory.get(),
            chips_requested: requested.map(ChipCount::get),
            chips: e.chips.get(),
            offer: p.map(OfferRow::new),
            hours: e.time.map(|t| round(t.hours(), 2)),
            days: e.time.map(|t| round(t.days(), 2)),
            chip_hours: e.chip_hours.map(|c| round(c.0, 1)),
            on_demand_price_per_hour: p.and_then(|p| placement_rate(p, Offer::on_demand_per_hour)),
            spot_price_per_hour: p.and_then(|p| placement_rate(p, Offer::spot_per_hour)),
            committed_price_per_hour: p.and_then(|p| placement_rate(p, Offer::committed_per_hour)),
            on_demand_cost_usd: e.on_demand_cost.map(|c| round(c.0, 2)),
            spot_cost_usd: e.spot_cost.map(|c| round(c.0, 2)),
            committed_cost_usd: e.committed_cost.map(|c| round(c.0, 2)),
        }
    }
}

/// The human form: a summary of the run and its memory need, the table, then notes.
/// `unestimated` are accelerators the catalog offers but has no spec for; they get a note.
pub(super) fn table(
    run: &TrainingRun,
    memory: &MemoryModel,
    rows: &[Row],
    unestimated: &[&str],
) -> String {
    let state = StateBytesPerParam::for_precision(run.precision);
    let need = memory.need(run.params, run.precision);
    let mut out = format!(
        "{} parameters x {} tokens = {} FLOPs at {}, MFU {}\n\
         training state: {} B/param (weights {} + gradients {} + fp32 master {} + Adam m {} + v {}) \
         + {}% for activations = {} GiB; {}% of each chip's memory is usable\n\n",
        short_count(run.params.get()),
        short_count(run.tokens.get()),
        sci(run.flops().0),
        PrecisionName::from(run.precision),
        run.mfu.get(),
        state.total(),
        state.weights,
        state.gradients,
        state.master_weights,
        state.adam_m,
        state.adam_v,
        memory.activation_fraction * 100.0,
        grouped(need.total_gib(), 1),
        memory.usable_fraction * 100.0,
    );
    let mut t = Table::new(&[
        ("ACCELERATOR", Align::Left),
        ("NEEDS", Align::Right),
        ("CHIPS", Align::Right),
        ("RENTED", Align::Left),
        ("WHERE", Align::Left),
        ("DAYS", Align::Right),
        ("CHIP-HOURS", Align::Right),
        ("ON-DEMAND", Align::Right),
        ("SPOT", Align::Right),
        ("COMMITTED", Align::Right),
    ]);
    for r in rows {
        let offer = r.offer.as_ref();
        t.push(vec![
            r.accelerator.clone(),
            r.chips_for_memory.to_string(),
            r.chips.to_string(),
            offer.map_or_else(dash, OfferRow::rented),
            offer.map_or_else(dash, OfferRow::location),
            r.days.map_or_else(dash, |d| grouped(d, 1)),
            r.chip_hours.map_or_else(dash, |c| grouped(c, 0)),
            money(r.on_demand_cost_usd),
            money(r.spot_cost_usd),
            money(r.committed_cost_usd),
        ]);
    }
    out.push_str(&t.render());
    let mut notes: Vec<String> = rows
        .iter()
        .filter_map(|r| r.note.as_ref().map(|n| format!("  {}: {n}", r.accelerator)))
        .collect();
    if !unestimated.is_empty() {
        notes.push(format!(
            "  not estimated, offered but with no spec (memory, peak FLOPS) in the catalog: {}; \
             add one with [[accelerator]] in the catalog overrides",
            unestimated.join(", ")
        ));
    }
    if !notes.is_empty() {
        out.push_str("\nnotes:\n");
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    out.push_str(&footer(
        "NEEDS: chips that hold the training state. CHIPS: chips rented (whole VMs, one slice \
         or part of an owned pool); the time is on these.",
        rows.iter().all(|r| r.committed_cost_usd.is_none()),
    ));
    out
}

/// A blank line, what the chip columns mean (`chips`), what the costs mean, and why COMMITTED
/// may be empty.
pub(super) fn footer(chips: &str, no_committed: bool) -> String {
    let mut s = format!(
        "\n{chips}\nCosts are at the cheapest offer per chip-hour; spot ignores preemptions.\n"
    );
    if no_committed {
        s.push_str(
            "COMMITTED is empty: no negotiated prices are configured (add a discount or a custom \
             price in --catalog-overrides).\n",
        );
    }
    s
}

fn dash() -> String {
    "-".to_string()
}

/// `$2,222,816`, or `-` when unknown.
pub(super) fn money(usd: Option<f64>) -> String {
    usd.map_or_else(dash, |u| format!("${}", grouped(u, 0)))
}

/// `x` rounded to `decimals` decimals.
pub(super) fn round(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round() / scale
}

/// `70e9` -> `70B`, `1.4e12` -> `1.4T`: counts the way model cards write them (three
/// significant digits at most), falling back to scientific notation beyond the suffixes.
fn short_count(x: f64) -> String {
    let (scaled, suffix) = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")]
        .into_iter()
        .find(|(unit, _)| x >= *unit)
        .map_or((x, ""), |(unit, s)| (x / unit, s));
    if scaled >= 1000.0 {
        return sci(x);
    }
    let text = format!("{scaled:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{suffix}")
}

/// `5.88e23` -> `5.88e23`, the way very large counts read best in one line.
fn sci(x: f64) -> String {
    format!("{x:.2e}")
}

/// `1234567.891` with 1 decimal -> `1,234,567.9`.
pub(super) fn grouped(x: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if x < 0.0 && out.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.insert(0, '-');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_by_thousands() {
        assert_eq!(grouped(2_222_815.55, 0), "2,222,816");
        assert_eq!(grouped(716.797, 1), "716.8");
        assert_eq!(grouped(1000.0, 1), "1,000.0");
        assert_eq!(grouped(999.96, 1), "1,000.0");
        assert_eq!(grouped(-1234.5, 1), "-1,234.5");
        assert_eq!(grouped(0.0, 0), "0");
        assert_eq!(money(Some(129.21)), "$129");
        assert_eq!(money(None), "-");
        assert_eq!(round(2.005_000_1, 2), 2.01);
        assert_eq!(sci(5.88e23), "5.88e23");
        assert_eq!(short_count(70e9), "70B");
        assert_eq!(short_count(1.4e12), "1.4T");
        assert_eq!(short_count(8.03e9), "8.03B");
        assert_eq!(short_count(125e6), "125M");
        assert_eq!(short_count(42.0), "42");
        assert_eq!(short_count(2e16), "2.00e16");
    }
}
