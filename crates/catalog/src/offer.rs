//! Offers: one way to rent a unit of accelerators (a VM type or a TPU slice in one zone, or an
//! owned pool), with its prices normalized per chip and per peak PFLOP/s.

use serde::{Deserialize, Serialize};
use spillway_model::{AcceleratorSpec, Precision, UsdPerHour};
use std::fmt;

/// A rate of spending per unit of peak compute: US dollars per hour of one PFLOP/s of peak
/// dense throughput. It compares shapes of different speed: a cheap slow chip may cost more per
/// PFLOP-hour than an expensive fast one.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UsdPerPflopHour(pub f64);

impl fmt::Display for UsdPerPflopHour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.2}/PFLOP-h", self.0)
    }
}

/// Where an offer's `price_per_hour` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pricing {
    /// The bundled list price, unchanged.
    List,
    /// The list price less a negotiated discount from the overrides file.
    Discounted,
    /// A price set for this offer in the overrides file (`[[price]]`).
    Custom,
    /// An offer added by the overrides file (`[[offer]]`).
    Added,
    /// An owned pool (`[[owned]]`): an amortized price per chip-hour.
    Owned,
}

/// The provider name under which owned pools appear.
pub const OWNED_PROVIDER: &str = "owned";

/// One way to rent a unit of accelerators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// Who sells it, lowercase (`gcp`, `aws`, `owned` for owned pools).
    pub provider: String,
    /// Region (`us-central1`, `us-east-1`; owned pools: their location).
    pub region: String,
    /// Zone (`us-central1-a`; AWS gives zone IDs such as `use1-az6`).
    pub zone: String,
    /// Canonical accelerator name (`H100`, `tpu-v5p`).
    pub accelerator: String,
    /// Chips (GPUs, TPU chips, Trainium devices) in one unit of this offer.
    pub chips: u32,
    /// VM type or slice name (`a3-highgpu-8g`, `tpu-v5p-8`), or the owned pool's name.
    pub instance: String,
    /// On-demand price of the whole unit after overrides; `None` when there is no on-demand
    /// price (e.g. AWS capacity-block-only instances that still have a spot price).
    pub price_per_hour: Option<UsdPerHour>,
    /// Spot / preemptible price of the whole unit; `None` when there is none.
    pub spot_price_per_hour: Option<UsdPerHour>,
    /// The bundled list on-demand price, before any discount or custom price.
    pub list_price_per_hour: Option<UsdPerHour>,
    /// Where `price_per_hour` comes from.
    pub pricing: Pricing,
    /// Discount applied to the list price, percent (only when `pricing` is `Discounted`).
    pub discount_percent: Option<f64>,
    /// Memory per chip, GiB: from the accelerator spec, else as the price row states it.
    pub memory_gib: Option<f64>,
    /// Peak dense bf16 TFLOPS per chip, from the spec (`None` when unknown or unsupported).
    pub bf16_dense_tflops: Option<f64>,
    /// Peak dense fp8 TFLOPS per chip, from the spec (`None` when unknown or unsupported).
    pub fp8_dense_tflops: Option<f64>,
    /// Whether the catalog has a spec for `accelerator`.
    pub has_spec: bool,
}

impl Offer {
    /// On-demand price per chip-hour (`price_per_hour / chips`).
    pub fn price_per_chip_hour(&self) -> Option<UsdPerHour> {
        self.price_per_hour.map(|p| p.per_chip(self.chips))
    }

    /// Spot price per chip-hour (`spot_price_per_hour / chips`).
    pub fn spot_price_per_chip_hour(&self) -> Option<UsdPerHour> {
        self.spot_price_per_hour.map(|p| p.per_chip(self.chips))
    }

    /// Peak dense PFLOP/s of the whole unit at `precision`, when the chip's peak is known.
    pub fn peak_pflops(&self, precision: Precision) -> Option<f64> {
        let tflops = match precision {
            Precision::Bf16 => self.bf16_dense_tflops,
            Precision::Fp8 => self.fp8_dense_tflops,
        }?;
        (tflops > 0.0).then(|| tflops * f64::from(self.chips) / 1000.0)
    }

    /// On-demand price per hour of one peak PFLOP/s at `precision`:
    /// `price_per_hour / (chips x peak TFLOPS per chip / 1000)`.
    pub fn price_per_pflop_hour(&self, precision: Precision) -> Option<UsdPerPflopHour> {
        let pflops = self.peak_pflops(precision)?;
        self.price_per_hour.map(|p| UsdPerPflopHour(p.0 / pflops))
    }

    /// Spot price per hour of one peak PFLOP/s at `precision`.
    pub fn spot_price_per_pflop_hour(&self, precision: Precision) -> Option<UsdPerPflopHour> {
        let pflops = self.peak_pflops(precision)?;
        self.spot_price_per_hour
            .map(|p| UsdPerPflopHour(p.0 / pflops))
    }

    /// Copies the per-chip figures of `spec` into the offer.
    pub(crate) fn attach_spec(&mut self, spec: &AcceleratorSpec) {
        self.memory_gib = Some(spec.memory_gib);
        self.bf16_dense_tflops = spec.bf16_dense_tflops;
        self.fp8_dense_tflops = spec.fp8_dense_tflops;
        self.has_spec = true;
    }

    /// The order offers are listed in when prices tie: provider, region, zone, then
    /// accelerator, chips and instance, so that slices of one zone run from small to large
    /// (`tpu-v5p-8` before `tpu-v5p-16`, which a plain name order would invert).
    pub(crate) fn identity_cmp(&self, other: &Offer) -> std::cmp::Ordering {
        let key = |o: &Offer| {
            (
                o.provider.clone(),
                o.region.clone(),
                o.zone.clone(),
                o.accelerator.clone(),
                o.chips,
                o.instance.clone(),
            )
        };
        key(self).cmp(&key(other))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An offer with only the fields a test sets; the rest empty.
    pub(crate) fn offer(accelerator: &str, chips: u32, price: Option<f64>) -> Offer {
        Offer {
            provider: "gcp".into(),
            region: "r".into(),
            zone: "r-a".into(),
            accelerator: accelerator.into(),
            chips,
            instance: "i".into(),
            price_per_hour: price.map(UsdPerHour),
            spot_price_per_hour: None,
            list_price_per_hour: price.map(UsdPerHour),
            pricing: Pricing::List,
            discount_percent: None,
            memory_gib: None,
            bf16_dense_tflops: None,
            fp8_dense_tflops: None,
            has_spec: false,
        }
    }

    #[test]
    fn per_chip_and_per_pflop_prices() {
        let mut o = offer("tpu-v5p", 4, Some(16.80));
        o.bf16_dense_tflops = Some(459.0);
        assert!((o.price_per_chip_hour().unwrap().0 - 4.20).abs() < 1e-12);
        // 4 chips x 459 TFLOPS = 1.836 PFLOP/s; 16.80 / 1.836 = 9.1503...
        let per_pflop = o.price_per_pflop_hour(Precision::Bf16).unwrap().0;
        assert!((per_pflop - 16.80 / 1.836).abs() < 1e-9);
        assert_eq!(o.price_per_pflop_hour(Precision::Fp8), None);
        assert_eq!(o.spot_price_per_chip_hour(), None);
    }
}
