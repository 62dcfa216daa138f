//! Rows of the bundled data that do not become offers, and why.
//!
//! Anomalies are reported, not hidden: every source row either becomes (part of) an offer or
//! is recorded here with its reason, so `spillway offers` can say how many were left out.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Why a row of the bundled data is not an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOutReason {
    /// An exact copy of an earlier row of the same file.
    DuplicateRow,
    /// A GCP TPU row whose on-demand price is SkyPilot's `700.0` placeholder for "no published
    /// price" (it is the same for every slice size of a zone, from 1 to 256 chips).
    PlaceholderPrice,
    /// A GCP host VM whose host price is `0.0` (all `a4-highgpu-8g` rows): unknown, not free,
    /// so the VM's total price is unknown.
    UnknownHostPrice,
    /// A row with neither an on-demand nor a spot price (the AWS rows sold only as capacity
    /// blocks).
    NoPrice,
    /// A GCP GPU price row that no host VM in the data uses (T4, V100, P100, P4 attach to N1
    /// hosts whose prices are not in the data; some zones list GPUs but not their VM): the
    /// GPU's price alone is not the price of anything one can rent.
    AcceleratorWithoutHost,
    /// A GCP host VM row with no matching GPU price row in its zone.
    HostWithoutAccelerator,
    /// A row that does not parse (a malformed number, an unknown instance or slice name).
    Malformed,
}

impl LeftOutReason {
    /// A one-line explanation for users.
    pub fn describe(self) -> &'static str {
        match self {
            LeftOutReason::DuplicateRow => "duplicate rows",
            LeftOutReason::PlaceholderPrice => "GCP TPU rows priced at the $700/h placeholder",
            LeftOutReason::UnknownHostPrice => "GCP VMs whose host price is 0.0 (unknown)",
            LeftOutReason::NoPrice => "rows with no on-demand or spot price (AWS capacity blocks)",
            LeftOutReason::AcceleratorWithoutHost => {
                "GCP GPU price rows with no host VM in the data"
            }
            LeftOutReason::HostWithoutAccelerator => "GCP host VMs with no GPU price in their zone",
            LeftOutReason::Malformed => "malformed rows",
        }
    }
}

impl fmt::Display for LeftOutReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// One source row that is not an offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeftOutRow {
    /// Bundled file the row comes from (`gcp_tpu.csv`).
    pub file: &'static str,
    /// 1-based line in that file (the header is line 1).
    pub line: usize,
    /// Provider (`gcp`, `aws`).
    pub provider: &'static str,
    /// Region of the row.
    pub region: String,
    /// Zone of the row.
    pub zone: String,
    /// Canonical accelerator name, when the row names one that could be read.
    pub accelerator: Option<String>,
    /// VM type or slice name, when the row has one.
    pub instance: String,
    /// Why it is left out.
    pub reason: LeftOutReason,
    /// Detail for malformed rows (what failed to parse).
    pub detail: Option<String>,
}

/// How many rows were left out for one reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LeftOutCount {
    /// The reason.
    pub reason: LeftOutReason,
    /// How many rows.
    pub rows: usize,
}

/// Counts `rows` per reason, in a fixed order (the order of [`LeftOutReason`]).
pub fn count_by_reason<'a>(rows: impl IntoIterator<Item = &'a LeftOutRow>) -> Vec<LeftOutCount> {
    let mut counts: BTreeMap<LeftOutReason, usize> = BTreeMap::new();
    for row in rows {
        *counts.entry(row.reason).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(reason, rows)| LeftOutCount { reason, rows })
        .collect()
}
