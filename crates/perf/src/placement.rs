//! Choosing what to rent for a job of `target` chips: the slice, the VMs or the part of an
//! owned pool, and the cheapest offer of it.
//!
//! Offers come in shapes. A TPU slice is rented whole, and one slice runs the job (multislice
//! is not modelled). GPU and Trainium VMs hold a fixed number of chips, and a job can span
//! several identical VMs. An owned pool can lend any number of its chips. The rule:
//!
//! 1. VMs and slices: the smallest offered shape that holds the target; when no VM is large
//!    enough, as many of the largest VM shape as it takes. Owned pools large enough lend
//!    exactly the target.
//! 2. Of those candidates, the cheapest per chip-hour: committed price where configured, else
//!    on-demand, then spot. All rented chips compute, so a run's cost is its price per
//!    chip-hour x a fixed number of chip-hours: the cheapest per chip-hour is the cheapest run.
//!    Ties go to the first offer in the caller's order.
//!
//! Offers without any price are passed over.

use serde::Serialize;
use spillway_model::{AcceleratorFamily, UsdPerHour};
use std::cmp::Ordering;

/// One way to rent a fixed number of chips of one accelerator at once.
pub trait RentalShape {
    /// Chips rented together (8 for an 8xH100 VM, 4 for a tpu-v5p-8 slice, a pool's size).
    fn chips(&self) -> u32;
    /// On-demand price of the whole shape, if sold on demand.
    fn on_demand_per_hour(&self) -> Option<UsdPerHour>;
    /// Spot (preemptible) price of the whole shape, if sold as spot.
    fn spot_per_hour(&self) -> Option<UsdPerHour>;
    /// Price under a negotiated or owned plan, where one is configured.
    fn committed_per_hour(&self) -> Option<UsdPerHour> {
        None
    }
    /// Whether a job can take part of it (an owned pool), paying pro rata for the chips used.
    fn divisible(&self) -> bool {
        false
    }
}

/// Whether a job can span several units of an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    /// One unit only: a TPU slice is one interconnect domain.
    Slice,
    /// Any number of identical units: GPU and Trainium VMs joined over the network.
    Instances,
}

impl Granularity {
    /// How offers of an accelerator family are combined.
    pub fn of(family: AcceleratorFamily) -> Granularity {
        match family {
            AcceleratorFamily::Tpu => Granularity::Slice,
            AcceleratorFamily::Gpu | AcceleratorFamily::Trainium => Granularity::Instances,
        }
    }
}

/// What is rented: `units` x one offer, or part of a divisible one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement<'o, O> {
    /// The offer rented.
    pub offer: &'o O,
    /// How many of it: 1 for a slice or a pool, the VM count for VMs.
    pub units: u32,
    /// Chips rented in all: `units` x the offer's chips, or the part of a pool used.
    pub chips: u32,
}

impl<O: RentalShape> Placement<'_, O> {
    /// The offer's hourly price `rate` for what is rented: `units` x the price, or the used
    /// fraction of a pool's price.
    pub fn rate(&self, rate: Option<UsdPerHour>) -> Option<UsdPerHour> {
        let factor = if self.offer.divisible() {
            f64::from(self.chips) / f64::from(self.offer.chips())
        } else {
            f64::from(self.units)
        };
        rate.map(|r| UsdPerHour(r.0 * factor))
    }
}

/// Why no offer could be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceError {
    /// No offer with an on-demand, spot or committed price.
    NoPricedOffer,
    /// Every slice and pool is smaller than the target (and there are no VMs).
    NoneLargeEnough {
        /// Chips in the largest slice or pool offered.
        largest: u32,
    },
}

/// Chooses what to rent for `target` chips from `offers` (see the module docs for the rule).
pub fn place<'o, O: RentalShape>(
    offers: &[&'o O],
    granularity: Granularity,
    target: u32,
) -> Result<Placement<'o, O>, PlaceError> {
    let priced: Vec<&'o O> = offers
        .iter()
        .copied()
        .filter(|o| o.chips() > 0)
        .filter(|o| {
            o.on_demand_per_hour().is_some()
                || o.spot_per_hour().is_some()
                || o.committed_per_hour().is_some()
        })
        .collect();
    let largest = priced
        .iter()
        .map(|o| o.chips())
        .max()
        .ok_or(PlaceError::NoPricedOffer)?;
    let (pools, shapes): (Vec<&'o O>, Vec<&'o O>) = priced.into_iter().partition(|o| o.divisible());

    let mut candidates: Vec<Placement<'o, O>> = pools
        .iter()
        .filter(|p| p.chips() >= target)
        .map(|&offer| Placement {
            offer,
            units: 1,
            chips: target,
        })
        .collect();
    let smallest_holding = shapes
        .iter()
        .map(|o| o.chips())
        .filter(|&c| c >= target)
        .min();
    let largest_shape = shapes.iter().map(|o| o.chips()).max();
    let shape_units = match (smallest_holding, largest_shape, granularity) {
        (Some(shape), _, _) => Some((shape, 1)),
        (None, Some(largest), Granularity::Instances) => Some((largest, target.div_ceil(largest))),
        (None, _, _) => None,
    };
    if let Some((shape, units)) = shape_units {
        candidates.extend(
            shapes
                .iter()
                .filter(|o| o.chips() == shape)
                .map(|&offer| Placement {
                    offer,
                    units,
                    chips: shape.saturating_mul(units),
                }),
        );
    }
    candidates
        .into_iter()
        .min_by(by_price_per_chip)
        .ok_or(PlaceError::NoneLargeEnough { largest })
}

/// Cheaper per chip-hour first: committed where configured, else on-demand (neither: last),
/// then spot. `min_by` keeps the first of equals.
fn by_price_per_chip<O: RentalShape>(a: &Placement<'_, O>, b: &Placement<'_, O>) -> Ordering {
    let per_chip = |o: &O, r: Option<UsdPerHour>| r.map(|r| r.0 / f64::from(o.chips()));
    let reserved = |p: &Placement<'_, O>| {
        per_chip(
            p.offer,
            p.offer
                .committed_per_hour()
                .or(p.offer.on_demand_per_hour()),
        )
    };
    let spot = |p: &Placement<'_, O>| per_chip(p.offer, p.offer.spot_per_hour());
    cmp_missing_last(reserved(a), reserved(b)).then_with(|| cmp_missing_last(spot(a), spot(b)))
}

/// Orders known numbers ascending, unknown ones after all of them.
pub(crate) fn cmp_missing_last(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A test offer: `chips` chips at these hourly prices.
    #[derive(Debug, PartialEq)]
    pub(crate) struct Shape {
        pub(crate) name: &'static str,
        pub(crate) chips: u32,
        pub(crate) on_demand: Option<f64>,
        pub(crate) spot: Option<f64>,
        pub(crate) committed: Option<f64>,
        pub(crate) pool: bool,
    }

    pub(crate) fn shape(
        name: &'static str,
        chips: u32,
        on_demand: Option<f64>,
        spot: Option<f64>,
    ) -> Shape {
        Shape {
            name,
            chips,
            on_demand,
            spot,
            committed: None,
            pool: false,
        }
    }

    impl RentalShape for Shape {
        fn chips(&self) -> u32 {
            self.chips
        }
        fn on_demand_per_hour(&self) -> Option<UsdPerHour> {
            self.on_demand.map(UsdPerHour)
        }
        fn spot_per_hour(&self) -> Option<UsdPerHour> {
            self.spot.map(UsdPerHour)
        }
        fn committed_per_hour(&self) -> Option<UsdPerHour> {
            self.committed.map(UsdPerHour)
        }
        fn divisible(&self) -> bool {
            self.pool
        }
    }

    pub(crate) fn refs(offers: &[Shape]) -> Vec<&Shape> {
        offers.iter().collect()
    }

    fn picked(offers: &[Shape], g: Granularity, target: u32) -> (&'static str, u32, u32) {
        let p = place(&refs(offers), g, target).unwrap();
        (p.offer.name, p.units, p.chips)
    }

    #[test]
    fn smallest_vm_holding_the_target_else_many_of_the_largest() {
        let vms = [
            shape("1g", 1, Some(5.0), None),
            shape("4g", 4, Some(20.0), None),
            shape("8g", 8, Some(40.0), None),
        ];
        assert_eq!(picked(&vms, Granularity::Instances, 1), ("1g", 1, 1));
        assert_eq!(picked(&vms, Granularity::Instances, 3), ("4g", 1, 4));
        assert_eq!(picked(&vms, Granularity::Instances, 8), ("8g", 1, 8));
        assert_eq!(picked(&vms, Granularity::Instances, 19), ("8g", 3, 24));
    }

    #[test]
    fn slices_are_never_combined() {
        let slices = [
            shape("s4", 4, Some(16.8), None),
            shape("s16", 16, Some(67.2), None),
        ];
        assert_eq!(picked(&slices, Granularity::Slice, 5), ("s16", 1, 16));
        assert_eq!(
            place(&refs(&slices), Granularity::Slice, 17),
            Err(PlaceError::NoneLargeEnough { largest: 16 })
        );
    }

    #[test]
    fn the_cheapest_per_chip_wins_and_ties_go_to_the_first() {
        let vms = [
            shape("aws", 8, Some(55.04), Some(30.0)),
            shape("gcp-a", 8, Some(43.07), Some(20.0)),
            shape("gcp-b", 8, Some(43.07), Some(20.0)),
        ];
        assert_eq!(picked(&vms, Granularity::Instances, 8).0, "gcp-a");
        // Spot breaks a tie of the reserved price; a missing price loses.
        let vms = [
            shape("no-spot", 8, Some(40.0), None),
            shape("spot", 8, Some(40.0), Some(20.0)),
            shape("no-on-demand", 8, None, Some(1.0)),
        ];
        assert_eq!(picked(&vms, Granularity::Instances, 8).0, "spot");
    }

    #[test]
    fn an_owned_pool_lends_exactly_the_target_at_its_per_chip_price() {
        let mut pool = shape("pool", 64, None, None);
        pool.committed = Some(64.0 * 2.0);
        pool.pool = true;
        let offers = [shape("8g", 8, Some(43.07), None), pool];
        let p = place(&refs(&offers), Granularity::Instances, 19).unwrap();
        assert_eq!((p.offer.name, p.units, p.chips), ("pool", 1, 19));
        // 19 of its 64 chips: 19 x $2/chip-hour.
        assert_eq!(p.rate(p.offer.committed_per_hour()), Some(UsdPerHour(38.0)));
        // Too small a pool is passed over for the VMs.
        assert_eq!(picked(&offers, Granularity::Instances, 65), ("8g", 9, 72));
        // A pool dearer per chip than the VMs loses to them.
        let mut dear = shape("dear", 64, None, None);
        dear.committed = Some(64.0 * 9.0);
        dear.pool = true;
        let offers = [dear, shape("8g", 8, Some(43.07), None)];
        assert_eq!(picked(&offers, Granularity::Instances, 19), ("8g", 3, 24));
    }

    #[test]
    fn unpriced_offers_are_passed_over() {
        let none: Vec<&Shape> = Vec::new();
        assert_eq!(
            place(&none, Granularity::Instances, 1),
            Err(PlaceError::NoPricedOffer)
        );
        let offers = [shape("unknown", 8, None, None)];
        assert_eq!(
            place(&refs(&offers), Granularity::Instances, 1),
            Err(PlaceError::NoPricedOffer)
        );
        let offers = [
            shape("unknown", 8, None, None),
            shape("spot-only", 8, None, Some(30.0)),
        ];
        assert_eq!(picked(&offers, Granularity::Instances, 8).0, "spot-only");
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Up to 6 offers with 1-256 chips and on-demand prices of $1-100 per chip-hour.
        fn offers() -> impl Strategy<Value = Vec<Shape>> {
            prop::collection::vec((1u32..=256, 1u32..=100), 1..6).prop_map(|v| {
                v.into_iter()
                    .map(|(chips, per_chip)| {
                        shape("o", chips, Some(f64::from(chips * per_chip)), None)
                    })
                    .collect()
            })
        }

        proptest! {
            // A fixed seed: the same cases on every run and every machine.
            #![proptest_config(ProptestConfig {
                rng_seed: proptest::test_runner::RngSeed::Fixed(20_261_129),
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            #[test]
            fn vms_always_hold_the_target_with_less_than_one_vm_to_spare(
                offers in offers(),
                target in 1u32..=2048,
            ) {
                let p = place(&refs(&offers), Granularity::Instances, target).unwrap();
                prop_assert!(p.chips >= target);
                prop_assert_eq!(p.chips, p.units * p.offer.chips);
                prop_assert!(p.chips - target < p.offer.chips);
                if p.units > 1 {
                    // Several VMs only when no single VM holds the target, and then the largest.
                    prop_assert!(offers.iter().all(|o| o.chips < target));
                    prop_assert!(offers.iter().all(|o| o.chips <= p.offer.chips));
                }
            }

            #[test]
            fn a_slice_is_the_smallest_that_holds_the_target_and_the_cheapest_of_its_size(
                offers in offers(),
                target in 1u32..=300,
            ) {
                let fits: Vec<&Shape> = offers.iter().filter(|o| o.chips >= target).collect();
                match place(&refs(&offers), Granularity::Slice, target) {
                    Ok(p) => {
                        prop_assert_eq!(p.units, 1);
                        prop_assert_eq!(Some(p.chips), fits.iter().map(|o| o.chips).min());
                        let price = p.offer.on_demand.unwrap();
                        prop_assert!(fits
                            .iter()
                            .filter(|o| o.chips == p.chips)
                            .all(|o| o.on_demand.unwrap() >= price));
                    }
                    Err(e) => {
                        prop_assert!(fits.is_empty());
                        let largest = offers.iter().map(|o| o.chips).max().unwrap();
                        prop_assert_eq!(e, PlaceError::NoneLargeEnough { largest });
                    }
                }
            }
        }
    }
}
