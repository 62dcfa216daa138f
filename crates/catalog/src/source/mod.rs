//! The bundled catalog data (`crates/catalog/data/`, embedded in the binary) and its parsing
//! into accelerator specs, offers and left-out rows.
//!
//! Parsing never panics: a row that does not parse is left out with reason `Malformed`, and a
//! test checks that no shipped row is.

mod accelerators;
mod aws;
mod gcp_gpu;
mod gcp_tpu;
mod rows;

pub(crate) use accelerators::{chips_named_by, family};

use crate::left_out::LeftOutRow;
use crate::offer::{Offer, Pricing};
use rows::{Row, Table};
use spillway_model::{AcceleratorSpec, UsdPerHour};

/// Date of the bundled prices (see `data/PROVENANCE.md`).
pub const BUNDLED_DATA_DATE: &str = "2026-05-20";

/// The embedded files: (name, content).
pub(crate) const FILES: &[(&str, &str)] = &[
    (ACCELERATORS, include_str!("../../data/accelerators.csv")),
    (GCP_TPU, include_str!("../../data/gcp_tpu.csv")),
    (
        GCP_GPU_ACCEL,
        include_str!("../../data/gcp_gpu_accel_only.csv"),
    ),
    (
        GCP_GPU_HOSTS,
        include_str!("../../data/gcp_gpu_host_vms.csv"),
    ),
    (AWS, include_str!("../../data/aws_v8_gpu_trn_subset.csv")),
];
const ACCELERATORS: &str = "accelerators.csv";
const GCP_TPU: &str = "gcp_tpu.csv";
const GCP_GPU_ACCEL: &str = "gcp_gpu_accel_only.csv";
const GCP_GPU_HOSTS: &str = "gcp_gpu_host_vms.csv";
const AWS: &str = "aws_v8_gpu_trn_subset.csv";

fn table(name: &'static str) -> Table {
    let text = FILES
        .iter()
        .find(|(file, _)| *file == name)
        .map_or("", |(_, text)| text);
    Table::read(name, text)
}

/// What the bundled data parses into.
pub(crate) struct Bundled {
    pub(crate) specs: Vec<AcceleratorSpec>,
    pub(crate) offers: Vec<Offer>,
    pub(crate) left_out: Vec<LeftOutRow>,
}

/// Parses all bundled files.
pub(crate) fn bundled() -> Bundled {
    let (specs, mut left_out) = accelerators::parse(&table(ACCELERATORS));
    let index = SpecIndex { specs: &specs };
    let mut offers = Vec::new();
    for (more_offers, more_left_out) in [
        gcp_tpu::parse(&table(GCP_TPU), &index),
        gcp_gpu::parse(&table(GCP_GPU_HOSTS), &table(GCP_GPU_ACCEL), &index),
        aws::parse(&table(AWS), &index),
    ] {
        offers.extend(more_offers);
        left_out.extend(more_left_out);
    }
    Bundled {
        specs,
        offers,
        left_out,
    }
}

/// Looks accelerator names of the price data up in the spec table, case-insensitively.
pub(crate) struct SpecIndex<'a> {
    pub(crate) specs: &'a [AcceleratorSpec],
}

impl SpecIndex<'_> {
    /// The spec named `name`, if any.
    pub(crate) fn get(&self, name: &str) -> Option<&AcceleratorSpec> {
        self.specs
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The canonical spelling of `name`: the spec's when there is one, else as the data has it
    /// (`V100-32GB`, `B300`, `tpu-v3` have offers but no spec).
    pub(crate) fn canonical(&self, name: &str) -> String {
        self.get(name)
            .map_or_else(|| name.to_string(), |s| s.name.clone())
    }
}

/// A list-priced cloud offer for `row`, with the spec's figures attached when there is a spec
/// and the row's own memory figure otherwise.
#[allow(clippy::too_many_arguments)]
pub(crate) fn cloud_offer(
    specs: &SpecIndex<'_>,
    provider: &str,
    row: &Row<'_>,
    accelerator: &str,
    chips: u32,
    instance: &str,
    price: Option<UsdPerHour>,
    spot: Option<UsdPerHour>,
    row_memory_gib: Option<f64>,
) -> Result<Offer, String> {
    let mut offer = Offer {
        provider: provider.to_string(),
        region: row.get("Region")?.to_string(),
        zone: row.get("AvailabilityZone")?.to_string(),
        accelerator: specs.canonical(accelerator),
        chips,
        instance: instance.to_string(),
        price_per_hour: price,
        spot_price_per_hour: spot,
        list_price_per_hour: price,
        pricing: Pricing::List,
        discount_percent: None,
        memory_gib: row_memory_gib,
        bf16_dense_tflops: None,
        fp8_dense_tflops: None,
        has_spec: false,
    };
    if let Some(spec) = specs.get(accelerator) {
        offer.attach_spec(spec);
    }
    Ok(offer)
}
