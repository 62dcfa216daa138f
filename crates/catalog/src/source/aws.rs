//! `aws_v8_gpu_trn_subset.csv`: AWS GPU and Trainium instances, priced per whole instance.
//!
//! A blank `Price` means AWS sells no on-demand capacity of that type there (capacity blocks
//! only): the offer is kept with no on-demand price when it has a spot price, and left out when
//! it has neither.

use super::rows::{Row, Table, left_out_row};
use super::{SpecIndex, cloud_offer};
use crate::left_out::{LeftOutReason, LeftOutRow};
use crate::offer::Offer;
use spillway_model::UsdPerHour;

const PROVIDER: &str = "aws";

/// Turns the AWS rows into offers; the rest are returned as left out.
pub(crate) fn parse(table: &Table, specs: &SpecIndex<'_>) -> (Vec<Offer>, Vec<LeftOutRow>) {
    let mut offers = Vec::new();
    let mut left_out = table.left_out(PROVIDER);
    let accelerator_of = |row: &Row<'_>| {
        row.get("AcceleratorName")
            .ok()
            .filter(|a| !a.is_empty())
            .map(|a| specs.canonical(a))
    };
    for row in table.duplicates() {
        let instance = row.get("InstanceType").unwrap_or("");
        let reason = LeftOutReason::DuplicateRow;
        left_out.push(left_out_row(
            table.file,
            PROVIDER,
            &row,
            accelerator_of(&row),
            instance,
            reason,
            None,
        ));
    }
    for row in table.rows() {
        let instance = row.get("InstanceType").unwrap_or("").to_string();
        let accelerator = accelerator_of(&row);
        let leave = |reason, detail| {
            left_out_row(
                table.file,
                PROVIDER,
                &row,
                accelerator.clone(),
                &instance,
                reason,
                detail,
            )
        };
        match instance_offer(&row, &instance, specs) {
            Ok(Ok(offer)) => offers.push(offer),
            Ok(Err(reason)) => left_out.push(leave(reason, None)),
            Err(detail) => left_out.push(leave(LeftOutReason::Malformed, Some(detail))),
        }
    }
    (offers, left_out)
}

fn instance_offer(
    row: &Row<'_>,
    instance: &str,
    specs: &SpecIndex<'_>,
) -> Result<Result<Offer, LeftOutReason>, String> {
    if instance.is_empty() {
        return Err("column InstanceType is empty".into());
    }
    let accelerator = row.get("AcceleratorName")?;
    if accelerator.is_empty() {
        return Err("column AcceleratorName is empty".into());
    }
    let chips = row.count("AcceleratorCount")?;
    let price = row.opt_number("Price")?.map(UsdPerHour);
    let spot = row.opt_number("SpotPrice")?.map(UsdPerHour);
    if price.is_none() && spot.is_none() {
        return Ok(Err(LeftOutReason::NoPrice));
    }
    let memory = row
        .opt_number("GpuMemoryMiBPerDevice")?
        .map(|mib| mib / 1024.0);
    Ok(Ok(cloud_offer(
        specs,
        PROVIDER,
        row,
        accelerator,
        chips,
        instance,
        price,
        spot,
        memory,
    )?))
}
