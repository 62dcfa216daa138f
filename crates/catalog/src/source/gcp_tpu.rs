//! `gcp_tpu.csv`: GCP TPU slices, each priced per whole slice per hour.
//!
//! A slice name is `tpu-<generation>-<n>`. For v4 and v5p (and the older v2 and v3) `n` counts
//! TensorCores, two per chip, so `tpu-v5p-8` is 4 chips; for v5litepod (v5e) and v6e it counts
//! chips, so `tpu-v5litepod-16` is 16 chips. The per-chip price divides the slice price by the
//! chips, never by `n`.

use super::rows::{Row, Table, left_out_row};
use super::{SpecIndex, cloud_offer};
use crate::left_out::{LeftOutReason, LeftOutRow};
use crate::offer::Offer;
use spillway_model::{ChipsNamedBy, UsdPerHour};

const PROVIDER: &str = "gcp";

/// SkyPilot's stand-in for "no published price": the same $700/h for every v6e slice size of
/// a zone (1 chip or 256), which no real price list does.
const PLACEHOLDER_PRICE: f64 = 700.0;

/// TPU generations that are offered but have no row in `accelerators.csv`. Cloud TPU docs:
/// v2 and v3 chips hold two TensorCores each and their slice names count TensorCores.
const UNSPECCED_GENERATIONS: &[(&str, ChipsNamedBy)] = &[
    ("tpu-v2", ChipsNamedBy::Tensorcores),
    ("tpu-v3", ChipsNamedBy::Tensorcores),
];

/// Turns the TPU rows into offers; the rest are returned as left out.
pub(crate) fn parse(table: &Table, specs: &SpecIndex<'_>) -> (Vec<Offer>, Vec<LeftOutRow>) {
    let mut offers = Vec::new();
    let mut left_out = table.left_out(PROVIDER);
    for row in table.duplicates() {
        let slice = row.get("AcceleratorName").unwrap_or("");
        let generation = split_slice(slice).map(|(g, _)| specs.canonical(g));
        let reason = LeftOutReason::DuplicateRow;
        left_out.push(left_out_row(
            table.file, PROVIDER, &row, generation, slice, reason, None,
        ));
    }
    for row in table.rows() {
        let slice = row.get("AcceleratorName").unwrap_or("").to_string();
        match slice_offer(&row, &slice, specs) {
            Ok(Ok(offer)) => offers.push(offer),
            Ok(Err(reason)) => left_out.push(left_out_row(
                table.file,
                PROVIDER,
                &row,
                split_slice(&slice).map(|(g, _)| specs.canonical(g)),
                &slice,
                reason,
                None,
            )),
            Err(detail) => left_out.push(left_out_row(
                table.file,
                PROVIDER,
                &row,
                None,
                &slice,
                LeftOutReason::Malformed,
                Some(detail),
            )),
        }
    }
    (offers, left_out)
}

/// `tpu-v5p-8` -> (`tpu-v5p`, 8).
fn split_slice(slice: &str) -> Option<(&str, u32)> {
    let (generation, count) = slice.rsplit_once('-')?;
    let count: u32 = count.parse().ok()?;
    (generation.starts_with("tpu-") && count > 0).then_some((generation, count))
}

/// The offer of one row, or why it has none; `Err` when the row does not parse.
fn slice_offer(
    row: &Row<'_>,
    slice: &str,
    specs: &SpecIndex<'_>,
) -> Result<Result<Offer, LeftOutReason>, String> {
    let (generation, count) = split_slice(slice)
        .ok_or_else(|| format!("'{slice}' is not a tpu-<generation>-<n> slice name"))?;
    let spec = specs.get(generation);
    let naming = match spec {
        Some(spec) => spec.chips_named_by,
        None => UNSPECCED_GENERATIONS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(generation))
            .map(|(_, naming)| *naming)
            .ok_or_else(|| {
                format!("TPU generation '{generation}' is unknown: cannot count chips")
            })?,
    };
    let chips = match naming {
        ChipsNamedBy::Tensorcores if count % 2 == 0 => count / 2,
        ChipsNamedBy::Tensorcores => {
            return Err(format!("'{slice}' names an odd number of TensorCores"));
        }
        ChipsNamedBy::Chips | ChipsNamedBy::Device => count,
    };
    let listed = row.opt_number("Price")?;
    if listed == Some(PLACEHOLDER_PRICE) {
        return Ok(Err(LeftOutReason::PlaceholderPrice));
    }
    let price = listed.map(UsdPerHour);
    // A placeholder spot price next to a real on-demand one means "no spot price".
    let spot = row
        .opt_number("SpotPrice")?
        .filter(|p| *p != PLACEHOLDER_PRICE)
        .map(UsdPerHour);
    if price.is_none() && spot.is_none() {
        return Ok(Err(LeftOutReason::NoPrice));
    }
    Ok(Ok(cloud_offer(
        specs, PROVIDER, row, generation, chips, slice, price, spot, None,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_names_split_into_generation_and_count() {
        assert_eq!(split_slice("tpu-v5p-8"), Some(("tpu-v5p", 8)));
        assert_eq!(split_slice("tpu-v5litepod-16"), Some(("tpu-v5litepod", 16)));
        assert_eq!(split_slice("v5p-8"), None);
        assert_eq!(split_slice("tpu-v5p-x"), None);
    }
}
