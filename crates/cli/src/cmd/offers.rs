//! `spillway offers`: where an accelerator can be rented and at what price, normalized per
//! chip-hour and per peak PFLOP-hour so that different shapes compare.

use crate::table::{Align, Table};
use anyhow::Context;
use serde::Serialize;
use spillway_catalog::{Catalog, LeftOutCount, Offer, OfferQuery, Pricing, SortKey};
use spillway_model::{Precision, UsdPerHour};
use std::path::PathBuf;

/// Flags of `spillway offers`.
#[derive(Debug, clap::Args)]
pub(crate) struct OffersArgs {
    /// Only this accelerator (case-insensitive: h100, tpu-v5p, v5e).
    #[arg(long, value_name = "NAME")]
    accelerator: Option<String>,
    /// Only this provider (gcp, aws, owned, or one added by overrides).
    #[arg(long, value_name = "NAME")]
    provider: Option<String>,
    /// Only this region (us-central1, us-east-1).
    #[arg(long, value_name = "NAME")]
    region: Option<String>,
    /// Only this zone (us-central1-a; AWS zone IDs such as use1-az6).
    #[arg(long, value_name = "NAME")]
    zone: Option<String>,
    /// Only offers with a spot price, sorted by spot prices.
    #[arg(long)]
    spot: bool,
    /// Only accelerators with at least this much memory per chip, GiB.
    #[arg(long, value_name = "GIB")]
    min_memory_gib: Option<f64>,
    /// Sort order, cheapest first.
    #[arg(long, value_enum, default_value_t = SortArg::PricePerChipHour)]
    sort: SortArg,
    /// Precision of the peak FLOPS used for $/PFLOP-hour.
    #[arg(long, value_enum, default_value_t = PrecisionArg::Bf16)]
    precision: PrecisionArg,
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
    /// Show at most this many offers (after sorting); the footer says how many more there are.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Skip this many offers first (with --limit: pages of N).
    #[arg(long, value_name = "N", default_value_t = 0)]
    offset: usize,
    /// Catalog overrides file (default: $SPILLWAY_CATALOG_OVERRIDES, else
    /// $XDG_CONFIG_HOME/spillway/catalog.toml or ~/.config/spillway/catalog.toml if it exists).
    #[arg(long, value_name = "FILE")]
    catalog_overrides: Option<PathBuf>,
    /// Show committed prices where a contract applies: the `[[contract]]` tables of a scenario
    /// or of a service config (`spillway serve --config`).
    #[arg(long, value_name = "FILE")]
    contracts: Option<PathBuf>,
}

/// `--sort` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SortArg {
    /// Price per chip-hour.
    PricePerChipHour,
    /// Price per hour of one peak PFLOP/s.
    PricePerPflopHour,
    /// Price of the whole VM or slice per hour.
    Price,
}

/// `--precision` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PrecisionArg {
    Bf16,
    Fp8,
}

pub(crate) fn run(args: OffersArgs) -> anyhow::Result<()> {
    if let Some(min) = args.min_memory_gib {
        anyhow::ensure!(
            min.is_finite() && min >= 0.0,
            "--min-memory-gib {min} is not a memory size: use a number of GiB >= 0"
        );
    }
    let mut catalog = Catalog::load(args.catalog_overrides.as_deref())?;
    if let Some(path) = &args.contracts {
        crate::cmd::contracts::apply_contracts(&mut catalog, path)?;
    }
    let precision = match args.precision {
        PrecisionArg::Bf16 => Precision::Bf16,
        PrecisionArg::Fp8 => Precision::Fp8,
    };
    let query = OfferQuery {
        accelerator: args.accelerator,
        provider: args.provider,
        region: args.region,
        zone: args.zone,
        spot: args.spot,
        min_memory_gib: args.min_memory_gib,
        sort: match args.sort {
            SortArg::PricePerChipHour => SortKey::PricePerChipHour,
            SortArg::PricePerPflopHour => SortKey::PricePerPflopHour,
            SortArg::Price => SortKey::Price,
        },
        precision: Some(precision),
    };
    let mut result = catalog.query(&query)?;
    let matched = result.offers.len();
    let end = args
        .limit
        .map_or(matched, |l| args.offset.saturating_add(l).min(matched));
    result.offers = result.offers.drain(args.offset.min(matched)..end).collect();
    let out = if args.json {
        let rows: Vec<JsonOffer<'_>> = result
            .offers
            .iter()
            .map(|o| JsonOffer::new(o, precision))
            .collect();
        let mut text = serde_json::to_string_pretty(&rows).context("encode offers as JSON")?;
        text.push('\n');
        text
    } else {
        let mut text = table(&result.offers, precision).render();
        text.push_str(&footer(matched, &result.left_out, catalog.data_date()));
        if result.offers.len() < matched {
            let shown_to = args.offset.min(matched) + result.offers.len();
            let next = if shown_to < matched {
                format!("--offset {shown_to} for the next page")
            } else {
                "the last page".to_string()
            };
            text.push_str(&format!(
                "showing offers {} to {shown_to} of {matched}: {next}\n",
                (args.offset + 1).min(matched),
            ));
        }
        text
    };
    crate::output::emit(&out)?;
    Ok(())
}

/// One offer as `--json` prints it. Prices are USD; `null` where there is none.
#[derive(Debug, Serialize)]
struct JsonOffer<'o> {
    provider: &'o str,
    region: &'o str,
    zone: &'o str,
    accelerator: &'o str,
    chips: u32,
    instance: &'o str,
    price_per_hour: Option<f64>,
    spot_price_per_hour: Option<f64>,
    price_per_chip_hour: Option<f64>,
    spot_price_per_chip_hour: Option<f64>,
    price_per_pflop_hour: Option<f64>,
    precision: Precision,
    memory_gib: Option<f64>,
    pricing: Pricing,
    list_price_per_hour: Option<f64>,
    discount_percent: Option<f64>,
}

/// Rounds dollars to millionths, the resolution prices are compared at, so that JSON shows
/// 10.76654 rather than the float sum 10.766539999999999.
fn micro(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

impl<'o> JsonOffer<'o> {
    fn new(o: &'o Offer, precision: Precision) -> JsonOffer<'o> {
        let usd = |v: Option<UsdPerHour>| v.map(|p| micro(p.0));
        JsonOffer {
            provider: &o.provider,
            region: &o.region,
            zone: &o.zone,
            accelerator: &o.accelerator,
            chips: o.chips,
            instance: &o.instance,
            price_per_hour: usd(o.price_per_hour),
            spot_price_per_hour: usd(o.spot_price_per_hour),
            price_per_chip_hour: usd(o.price_per_chip_hour()),
            spot_price_per_chip_hour: usd(o.spot_price_per_chip_hour()),
            price_per_pflop_hour: o.price_per_pflop_hour(precision).map(|p| micro(p.0)),
            precision,
            memory_gib: o.memory_gib,
            pricing: o.pricing,
            list_price_per_hour: usd(o.list_price_per_hour),
            discount_percent: o.discount_percent,
        }
    }
}

/// Dollars with cents, or `-` when there is no price.
fn money(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.2}"))
}

/// GiB without a needless `.0` (80, 268.6), or `?` when unknown.
fn gib(value: Option<f64>) -> String {
    match value {
        Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
        Some(v) => format!("{v:.1}"),
        None => "?".to_string(),
    }
}

fn pricing(o: &Offer) -> String {
    match (o.pricing, o.discount_percent) {
        (Pricing::Discounted, Some(p)) => format!("-{p}%"),
        (Pricing::List, _) => "list".into(),
        (Pricing::Discounted, None) => "discounted".into(),
        (Pricing::Custom, _) => "custom".into(),
        (Pricing::Added, _) => "added".into(),
        (Pricing::Owned, _) => "owned".into(),
    }
}

fn table(offers: &[&Offer], precision: Precision) -> Table {
    let pflop_header = match precision {
        Precision::Bf16 => "$/PFLOP-H BF16",
        Precision::Fp8 => "$/PFLOP-H FP8",
    };
    let mut table = Table::new(&[
        ("PROVIDER", Align::Left),
        ("REGION", Align::Left),
        ("ZONE", Align::Left),
        ("INSTANCE", Align::Left),
        ("ACCELERATOR", Align::Left),
        ("CHIPS", Align::Right),
        ("GIB/CHIP", Align::Right),
        ("$/H", Align::Right),
        ("SPOT $/H", Align::Right),
        ("$/CHIP-H", Align::Right),
        ("SPOT $/CHIP-H", Align::Right),
        (pflop_header, Align::Right),
        ("PRICING", Align::Left),
    ]);
    for o in offers {
        table.push(vec![
            o.provider.clone(),
            o.region.clone(),
            o.zone.clone(),
            o.instance.clone(),
            o.accelerator.clone(),
            o.chips.to_string(),
            gib(o.memory_gib),
            money(o.price_per_hour.map(|p| p.0)),
            money(o.spot_price_per_hour.map(|p| p.0)),
            money(o.price_per_chip_hour().map(|p| p.0)),
            money(o.spot_price_per_chip_hour().map(|p| p.0)),
            money(o.price_per_pflop_hour(precision).map(|p| p.0)),
            pricing(o),
        ]);
    }
    table
}

/// The closing line: offers matched, rows left out and why, and the date of the prices.
fn footer(matched: usize, left_out: &[LeftOutCount], date: &str) -> String {
    let offers = if matched == 1 { "offer" } else { "offers" };
    let total: usize = left_out.iter().map(|c| c.rows).sum();
    let left = if total == 0 {
        "no bundled rows left out".to_string()
    } else {
        let reasons: Vec<String> = left_out
            .iter()
            .map(|c| format!("{} {}", c.rows, c.reason))
            .collect();
        let rows = if total == 1 { "row" } else { "rows" };
        format!("{total} bundled {rows} left out: {}", reasons.join(", "))
    };
    format!("{matched} {offers} matched; {left}; list prices of {date} (see docs/catalog.md).\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_catalog::LeftOutReason;

    #[test]
    fn footer_counts_and_explains() {
        let left_out = [
            LeftOutCount {
                reason: LeftOutReason::UnknownHostPrice,
                rows: 11,
            },
            LeftOutCount {
                reason: LeftOutReason::NoPrice,
                rows: 1,
            },
        ];
        assert_eq!(
            footer(1, &left_out, "2026-05-20"),
            "1 offer matched; 12 bundled rows left out: 11 GCP VMs whose host price is 0.0 \
             (unknown), 1 rows with no on-demand or spot price (AWS capacity blocks); list \
             prices of 2026-05-20 (see docs/catalog.md).\n"
        );
        assert!(footer(0, &[], "d").starts_with("0 offers matched; no bundled rows left out;"));
    }

    #[test]
    fn numbers_format_for_humans() {
        assert_eq!(money(Some(43.06615)), "43.07");
        assert_eq!(money(None), "-");
        assert_eq!(gib(Some(80.0)), "80");
        assert_eq!(gib(Some(268.59375)), "268.6");
        assert_eq!(gib(None), "?");
    }
}
