//! The catalog's offers as rental shapes for the estimators.
//!
//! Which price goes in which column: an offer whose price the user set in the catalog overrides
//! (a negotiated discount, a custom price, or an owned pool's amortized price) has that price
//! as its committed price, and keeps the bundled list price, if any, as its on-demand price
//! (an owned pool has none).
//! Offers at list price, and offers the overrides add with a plain price, have no committed
//! price.

use crate::placement::RentalShape;
use spillway_catalog::{OWNED_PROVIDER, Offer, Pricing};
use spillway_model::UsdPerHour;

/// Whether the offer's `price_per_hour` is a price the user negotiated or owns.
fn is_committed(offer: &Offer) -> bool {
    match offer.pricing {
        Pricing::Discounted | Pricing::Custom | Pricing::Owned => true,
        Pricing::List | Pricing::Added => false,
    }
}

impl RentalShape for Offer {
    fn chips(&self) -> u32 {
        self.chips
    }

    fn on_demand_per_hour(&self) -> Option<UsdPerHour> {
        match self.pricing {
            // An owned pool is not for rent: its amortized price is its only price.
            Pricing::Owned => None,
            Pricing::Discounted | Pricing::Custom => self.list_price_per_hour,
            Pricing::List | Pricing::Added => self.price_per_hour,
        }
    }

    fn spot_per_hour(&self) -> Option<UsdPerHour> {
        self.spot_price_per_hour
    }

    fn committed_per_hour(&self) -> Option<UsdPerHour> {
        if is_committed(self) {
            self.price_per_hour
        } else {
            None
        }
    }

    /// Owned pools lend any number of their chips; cloud VMs and slices are rented whole.
    fn divisible(&self) -> bool {
        self.pricing == Pricing::Owned || self.provider == OWNED_PROVIDER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(pricing: Pricing, price: Option<f64>, list: Option<f64>) -> Offer {
        Offer {
            provider: "gcp".into(),
            region: "us-central1".into(),
            zone: "us-central1-a".into(),
            accelerator: "H100".into(),
            chips: 8,
            instance: "a3-highgpu-8g".into(),
            price_per_hour: price.map(UsdPerHour),
            spot_price_per_hour: Some(UsdPerHour(20.0)),
            list_price_per_hour: list.map(UsdPerHour),
            pricing,
            discount_percent: None,
            memory_gib: Some(80.0),
            bf16_dense_tflops: Some(989.0),
            fp8_dense_tflops: Some(1979.0),
            has_spec: true,
        }
    }

    #[test]
    fn list_prices_are_on_demand_only() {
        let o = offer(Pricing::List, Some(43.07), Some(43.07));
        assert_eq!(o.on_demand_per_hour(), Some(UsdPerHour(43.07)));
        assert_eq!(o.committed_per_hour(), None);
        assert_eq!(o.spot_per_hour(), Some(UsdPerHour(20.0)));
        assert_eq!(RentalShape::chips(&o), 8);
    }

    #[test]
    fn negotiated_prices_are_committed_and_list_stays_on_demand() {
        let o = offer(Pricing::Discounted, Some(30.0), Some(43.07));
        assert_eq!(o.on_demand_per_hour(), Some(UsdPerHour(43.07)));
        assert_eq!(o.committed_per_hour(), Some(UsdPerHour(30.0)));
        let owned = offer(Pricing::Owned, Some(16.0), Some(16.0));
        assert_eq!(owned.on_demand_per_hour(), None);
        assert_eq!(owned.committed_per_hour(), Some(UsdPerHour(16.0)));
        assert!(owned.divisible());
        assert!(!o.divisible());
        let added = offer(Pricing::Added, Some(25.0), None);
        assert_eq!(added.on_demand_per_hour(), Some(UsdPerHour(25.0)));
        assert_eq!(added.committed_per_hour(), None);
    }
}
