//! `accelerators.csv`: per-chip specs of each accelerator type.

use super::rows::{Row, Table};
use crate::left_out::{LeftOutReason, LeftOutRow};
use spillway_model::{AcceleratorFamily, AcceleratorSpec, ChipsNamedBy};

/// Parses the spec table; rows that do not parse are returned as left out.
pub(crate) fn parse(table: &Table) -> (Vec<AcceleratorSpec>, Vec<LeftOutRow>) {
    let mut specs = Vec::new();
    let mut left_out = table.left_out("-");
    for row in table.duplicates() {
        left_out.push(LeftOutRow {
            file: table.file,
            line: row.line,
            provider: "-",
            region: String::new(),
            zone: String::new(),
            accelerator: row.get("accelerator").ok().map(str::to_string),
            instance: String::new(),
            reason: LeftOutReason::DuplicateRow,
            detail: None,
        });
    }
    for row in table.rows() {
        match spec(&row) {
            Ok(spec) => specs.push(spec),
            Err(detail) => left_out.push(LeftOutRow {
                file: table.file,
                line: row.line,
                provider: "-",
                region: String::new(),
                zone: String::new(),
                accelerator: row.get("accelerator").ok().map(str::to_string),
                instance: String::new(),
                reason: LeftOutReason::Malformed,
                detail: Some(detail),
            }),
        }
    }
    (specs, left_out)
}

fn spec(row: &Row<'_>) -> Result<AcceleratorSpec, String> {
    let name = row.get("accelerator")?;
    if name.is_empty() {
        return Err("column accelerator is empty".into());
    }
    let required = |column: &str| {
        row.opt_number(column)?
            .ok_or_else(|| format!("column {column} is empty"))
    };
    Ok(AcceleratorSpec {
        name: name.to_string(),
        vendor: row.get("vendor")?.to_string(),
        family: family(row.get("family")?)?,
        memory_gib: required("memory_gib")?,
        memory_tb_s: required("memory_tb_s")?,
        bf16_dense_tflops: row.opt_number("bf16_dense_tflops")?,
        fp8_dense_tflops: row.opt_number("fp8_dense_tflops")?,
        chips_named_by: chips_named_by(row.get("chips_named_by")?)?,
    })
}

/// Parses a family name as the CSV and the overrides file spell it.
pub(crate) fn family(text: &str) -> Result<AcceleratorFamily, String> {
    match text.to_lowercase().as_str() {
        "gpu" => Ok(AcceleratorFamily::Gpu),
        "tpu" => Ok(AcceleratorFamily::Tpu),
        "trainium" => Ok(AcceleratorFamily::Trainium),
        other => Err(format!("family '{other}' is not one of gpu, tpu, trainium")),
    }
}

/// Parses how slice names count chips.
pub(crate) fn chips_named_by(text: &str) -> Result<ChipsNamedBy, String> {
    match text.to_lowercase().as_str() {
        "device" => Ok(ChipsNamedBy::Device),
        "chips" => Ok(ChipsNamedBy::Chips),
        "tensorcores" => Ok(ChipsNamedBy::Tensorcores),
        other => Err(format!(
            "chips_named_by '{other}' is not one of device, chips, tensorcores"
        )),
    }
}
