//! Per-accelerator training estimates: chips to hold the state, the slice or VMs to rent, the
//! time to train and what it costs.
//!
//! The target chip count is the fewest chips that hold the training state, or the count the
//! user asks for; what is rented for it is chosen by [`crate::placement::place`]. All chips
//! rented compute, so the time is on the rented chips, and the cost is the rental's hourly
//! price x hours.
//!
//! The estimator is generic over [`RentalShape`], so it works on any offer type that can say
//! how many chips it rents and at what prices (the catalog's offers, or test doubles).

use crate::input::ChipCount;
use crate::memory::{MemoryModel, MemoryNeed};
use crate::placement::{Granularity, PlaceError, Placement, RentalShape, cmp_missing_last, place};
use crate::roofline::{PrecisionName, TrainingRun, TrainingTime};
use serde::Serialize;
use spillway_model::{AcceleratorSpec, ChipHours, Usd};

/// How an estimate turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimateStatus {
    /// Time and costs are known.
    Ok,
    /// The accelerator has no peak at the precision asked for: no time, no cost.
    UnsupportedPrecision,
    /// No priced offer of the accelerator: time on the target chips, no cost.
    NoOffer,
    /// The target is larger than every slice and pool offered (and there are no VMs): time
    /// on the target chips, no cost.
    NoOfferLargeEnough,
    /// The chips asked for (`--chips`) cannot hold the training state; time and cost are
    /// shown, but the run would not fit.
    InsufficientMemory,
}

/// The estimate for one accelerator.
#[derive(Debug, Clone)]
pub struct Estimate<'a, O> {
    /// The accelerator.
    pub accelerator: &'a AcceleratorSpec,
    /// Memory the run needs, summed over chips.
    pub memory: MemoryNeed,
    /// The fewest chips that hold it.
    pub chips_for_memory: ChipCount,
    /// The chip count the estimate aims for: `chips_for_memory`, or what the user asked for.
    pub target_chips: ChipCount,
    /// What is rented, when an offer could be chosen.
    pub placement: Option<Placement<'a, O>>,
    /// The chips the time is computed on: the rented chips, else the target.
    pub chips: ChipCount,
    /// Time to train, when the accelerator supports the precision.
    pub time: Option<TrainingTime>,
    /// Chip-hours on `chips` chips.
    pub chip_hours: Option<ChipHours>,
    /// Cost at on-demand prices.
    pub on_demand_cost: Option<Usd>,
    /// Cost at spot prices (ignoring preemptions and restarts).
    pub spot_cost: Option<Usd>,
    /// Cost at committed-use prices, where configured.
    pub committed_cost: Option<Usd>,
    /// How it turned out.
    pub status: EstimateStatus,
    /// Detail for a status other than `Ok`.
    pub note: Option<String>,
}

/// Estimates `run` on `spec`, renting from `offers` (the offers of this accelerator, in a
/// deterministic order: ties go to the first). `chips` overrides the target chip count.
pub fn estimate<'a, O: RentalShape>(
    run: &TrainingRun,
    memory: &MemoryModel,
    spec: &'a AcceleratorSpec,
    offers: &[&'a O],
    chips: Option<ChipCount>,
) -> Result<Estimate<'a, O>, crate::memory::MemoryError> {
    let need = memory.need(run.params, run.precision);
    let chips_for_memory = memory.chips_for(&need, spec)?;
    let target_chips = chips.unwrap_or(chips_for_memory);
    let mut est = Estimate {
        accelerator: spec,
        memory: need,
        chips_for_memory,
        target_chips,
        placement: None,
        chips: target_chips,
        time: None,
        chip_hours: None,
        on_demand_cost: None,
        spot_cost: None,
        committed_cost: None,
        status: EstimateStatus::Ok,
        note: None,
    };
    // Without a peak at this precision there is no time, so no offer is worth choosing.
    let Ok(flops_per_chip) = run.achieved_flops_per_chip(spec) else {
        est.status = EstimateStatus::UnsupportedPrecision;
        est.note = Some(format!(
            "not supported at {}: no {} peak in the catalog",
            PrecisionName::from(run.precision),
            PrecisionName::from(run.precision)
        ));
        return Ok(est);
    };

    match place(offers, Granularity::of(spec.family), target_chips.get()) {
        Ok(placement) => {
            est.chips = ChipCount::new(placement.chips).expect("a placement rents chips");
            est.placement = Some(placement);
        }
        Err(PlaceError::NoPricedOffer) => {
            est.status = EstimateStatus::NoOffer;
            est.note = Some(
                "no priced offer in the catalog (add one with [[offer]] in the catalog overrides)"
                    .to_string(),
            );
        }
        Err(PlaceError::NoneLargeEnough { largest }) => {
            est.status = EstimateStatus::NoOfferLargeEnough;
            est.note = Some(format!(
                "needs {} chips; the largest slice or pool offered has {largest}",
                target_chips.get()
            ));
        }
    }

    let time =
        TrainingTime::from_seconds(run.flops().0 / (flops_per_chip * f64::from(est.chips.get())));
    est.time = Some(time);
    est.chip_hours = Some(ChipHours(time.hours() * f64::from(est.chips.get())));
    if let Some(p) = &est.placement {
        let cost = |rate| p.rate(rate).map(|r| r * time.hours());
        est.on_demand_cost = cost(p.offer.on_demand_per_hour());
        est.spot_cost = cost(p.offer.spot_per_hour());
        est.committed_cost = cost(p.offer.committed_per_hour());
    }
    if est.chips < chips_for_memory {
        let too_few = format!(
            "{} chips cannot hold the {:.0} GiB of training state; it needs {}",
            est.chips.get(),
            need.total_gib(),
            chips_for_memory.get()
        );
        // A missing offer is the bigger news; the memory shortfall is added to its note.
        est.note = Some(match est.note.take() {
            None => {
                est.status = EstimateStatus::InsufficientMemory;
                too_few
            }
            Some(note) => format!("{note}; {too_few}"),
        });
    }
    Ok(est)
}

/// Sorts estimates cheapest first: by committed cost where configured, else on-demand cost,
/// then spot cost (unknown costs last, unsupported accelerators at the very end), then time,
/// then accelerator name.
pub fn sort_by_cost<O>(estimates: &mut [Estimate<'_, O>]) {
    let unsupported = |e: &Estimate<'_, O>| e.status == EstimateStatus::UnsupportedPrecision;
    let reserved = |e: &Estimate<'_, O>| e.committed_cost.or(e.on_demand_cost).map(|c| c.0);
    let spot = |e: &Estimate<'_, O>| e.spot_cost.map(|c| c.0);
    let seconds = |e: &Estimate<'_, O>| e.time.map(TrainingTime::seconds);
    estimates.sort_by(|a, b| {
        unsupported(a)
            .cmp(&unsupported(b))
            .then_with(|| cmp_missing_last(reserved(a), reserved(b)))
            .then_with(|| cmp_missing_last(spot(a), spot(b)))
            .then_with(|| cmp_missing_last(seconds(a), seconds(b)))
            .then_with(|| a.accelerator.name.cmp(&b.accelerator.name))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Mfu, ParamCount, TokenCount};
    use crate::placement::tests::{Shape, refs, shape};
    use crate::roofline::tests::{h100, run_70b, spec};
    use spillway_model::AcceleratorFamily;
    use spillway_model::Precision;

    fn tpu_v5p() -> AcceleratorSpec {
        let mut s = spec("tpu-v5p", 95.0, Some(459.0), Some(918.0));
        s.family = AcceleratorFamily::Tpu;
        s
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        ((a - b) / b).abs() <= rel
    }

    fn h100_offers() -> Vec<Shape> {
        vec![
            shape("gcp-1g", 1, Some(11.06), Some(2.5)),
            shape("aws-p5", 8, Some(55.04), Some(30.0)),
            shape("gcp-8g", 8, Some(43.07), Some(20.0)),
            shape("gcp-4g", 4, Some(22.0), None),
        ]
    }

    #[test]
    fn seventy_b_on_h100_rents_three_8gpu_vms_at_the_cheapest_price() {
        let offers = h100_offers();
        let spec = h100();
        let run = run_70b(Precision::Bf16);
        let est = estimate(&run, &MemoryModel::default(), &spec, &refs(&offers), None).unwrap();
        assert_eq!(est.status, EstimateStatus::Ok);
        assert_eq!(est.chips_for_memory.get(), 19);
        let p = est.placement.unwrap();
        assert_eq!((p.offer.name, p.units, p.chips), ("gcp-8g", 3, 24));
        assert_eq!(est.chips.get(), 24);
        // 412,874.96 chip-hours on 24 chips = 17,203.12 h.
        let hours = est.time.unwrap().hours();
        assert!(close(hours, 17_203.12, 1e-6), "{hours}");
        assert!(close(est.chip_hours.unwrap().0, 412_874.96, 1e-7));
        // 3 VMs x $43.07/h = $129.21/h; x 17,203.12 h = $2,222,815.6.
        let od = est.on_demand_cost.unwrap().0;
        assert!(close(od, 2_222_815.6, 1e-7), "{od}");
        assert!(close(est.spot_cost.unwrap().0, 60.0 * 17_203.123, 1e-6));
        assert_eq!(est.committed_cost, None);
    }

    #[test]
    fn the_smallest_vm_that_holds_the_state_is_used() {
        let offers = h100_offers();
        let spec = h100();
        // 10e9 params x 20 B = 186 GiB -> 3 H100s -> the 4-GPU VM.
        let mut run = run_70b(Precision::Bf16);
        run.params = ParamCount::new(10e9).unwrap();
        let est = estimate(&run, &MemoryModel::default(), &spec, &refs(&offers), None).unwrap();
        assert_eq!(est.chips_for_memory.get(), 3);
        let p = est.placement.unwrap();
        assert_eq!((p.offer.name, p.units, p.chips), ("gcp-4g", 1, 4));
        assert_eq!(est.spot_cost, None, "the 4-GPU VM has no spot price");
    }

    #[test]
    fn chips_flag_rounds_up_to_whole_vms_and_flags_too_few() {
        let offers = h100_offers();
        let spec = h100();
        let run = run_70b(Precision::Bf16);
        let m = MemoryModel::default();
        let want = |n| ChipCount::new(n).ok();
        let est = estimate(&run, &m, &spec, &refs(&offers), want(20)).unwrap();
        assert_eq!(est.target_chips.get(), 20);
        assert_eq!(est.chips.get(), 24);
        assert_eq!(est.status, EstimateStatus::Ok);

        let est = estimate(&run, &m, &spec, &refs(&offers), want(64)).unwrap();
        assert_eq!((est.placement.unwrap().units, est.chips.get()), (8, 64));
        // The same chip-hours spread over 64 chips.
        assert!(close(est.time.unwrap().hours(), 412_874.96 / 64.0, 1e-7));

        let est = estimate(&run, &m, &spec, &refs(&offers), want(8)).unwrap();
        assert_eq!(est.status, EstimateStatus::InsufficientMemory);
        assert!(est.on_demand_cost.is_some(), "costs are still shown");
        assert_eq!(
            est.note.as_deref(),
            Some("8 chips cannot hold the 1304 GiB of training state; it needs 19")
        );
    }

    #[test]
    fn tpu_slices_are_rented_whole_and_never_combined() {
        let spec = tpu_v5p();
        let offers = vec![
            shape("v5p-8", 4, Some(16.8), Some(8.0)),
            shape("v5p-32", 16, Some(67.2), None),
            shape("v5p-32-eu", 16, Some(70.0), None),
            shape("v5p-64", 32, Some(134.4), None),
        ];
        let run = run_70b(Precision::Bf16);
        let m = MemoryModel::default();
        // 1,303.85 GiB / (95 x 0.9 = 85.5 GiB) = 15.25 -> 16 chips -> tpu-v5p-32.
        let est = estimate(&run, &m, &spec, &refs(&offers), None).unwrap();
        assert_eq!(est.chips_for_memory.get(), 16);
        let p = est.placement.unwrap();
        assert_eq!((p.offer.name, p.units), ("v5p-32", 1));
        // 5.88e23 / (16 x 459e12 x 0.4 = 2.9376e15 FLOP/s) = 2.0016e8 s = 55,600.94 h.
        assert!(
            close(est.time.unwrap().hours(), 55_600.94, 1e-7),
            "{:?}",
            est.time
        );
        // $67.20/h x 55,600.94 h = $3,736,383.
        assert!(close(est.on_demand_cost.unwrap().0, 3_736_383.4, 1e-7));

        // 33 chips: larger than any slice offered here; no cost, but a time on 33 chips.
        let est = estimate(&run, &m, &spec, &refs(&offers), ChipCount::new(33).ok()).unwrap();
        assert_eq!(est.status, EstimateStatus::NoOfferLargeEnough);
        assert!(est.placement.is_none() && est.on_demand_cost.is_none());
        assert_eq!(est.chips.get(), 33);
        assert_eq!(
            est.note.as_deref(),
            Some("needs 33 chips; the largest slice or pool offered has 32")
        );
    }

    #[test]
    fn unsupported_precision_is_a_status_with_no_time_or_cost() {
        let v100 = spec("V100", 16.0, None, None);
        let offers = vec![shape("v100x8", 8, Some(20.0), None)];
        let run = run_70b(Precision::Bf16);
        let est = estimate(&run, &MemoryModel::default(), &v100, &refs(&offers), None).unwrap();
        assert_eq!(est.status, EstimateStatus::UnsupportedPrecision);
        assert_eq!(est.chips_for_memory.get(), 91, "1303.85 / 14.4 = 90.5");
        assert!(est.time.is_none() && est.on_demand_cost.is_none() && est.placement.is_none());
        assert_eq!(
            est.note.as_deref(),
            Some("not supported at bf16: no bf16 peak in the catalog")
        );
    }

    #[test]
    fn unpriced_offers_are_ignored_and_spot_only_offers_are_used() {
        let spec = h100();
        let run = run_70b(Precision::Bf16);
        let m = MemoryModel::default();
        let none: Vec<&Shape> = Vec::new();
        let est = estimate(&run, &m, &spec, &none, None).unwrap();
        assert_eq!(est.status, EstimateStatus::NoOffer);
        assert_eq!(est.chips.get(), 19, "time on the chips the state needs");
        let est = estimate(&run, &m, &spec, &none, ChipCount::new(4).ok()).unwrap();
        assert_eq!(est.status, EstimateStatus::NoOffer);
        assert!(
            est.note
                .as_deref()
                .unwrap()
                .ends_with("; 4 chips cannot hold the 1304 GiB of training state; it needs 19"),
            "{:?}",
            est.note
        );
        assert!(est.time.is_some() && est.on_demand_cost.is_none());

        let offers = vec![
            shape("unknown-price", 8, None, None),
            shape("capacity-block", 8, None, Some(30.0)),
        ];
        let est = estimate(&run, &m, &spec, &refs(&offers), None).unwrap();
        assert_eq!(est.placement.unwrap().offer.name, "capacity-block");
        assert_eq!(est.on_demand_cost, None);
        assert!(est.spot_cost.is_some());

        let offers = vec![shape("unknown-price", 8, None, None)];
        let est = estimate(&run, &m, &spec, &refs(&offers), None).unwrap();
        assert_eq!(est.status, EstimateStatus::NoOffer);
    }

    #[test]
    fn committed_prices_are_costed_when_present_and_ties_go_to_the_first() {
        let spec = h100();
        let mut a = shape("first", 8, Some(40.0), None);
        a.committed = Some(30.0);
        let b = shape("second", 8, Some(40.0), None);
        let offers = [a, b];
        let run = run_70b(Precision::Bf16);
        let est = estimate(&run, &MemoryModel::default(), &spec, &refs(&offers), None).unwrap();
        assert_eq!(est.placement.unwrap().offer.name, "first");
        let hours = est.time.unwrap().hours();
        assert!(close(
            est.committed_cost.unwrap().0,
            3.0 * 30.0 * hours,
            1e-12
        ));
    }

    #[test]
    fn a_negotiated_price_beats_a_lower_list_price_and_owned_pools_count() {
        let spec = h100();
        let run = run_70b(Precision::Bf16);
        let m = MemoryModel::default();
        let mut discounted = shape("discounted", 8, Some(40.0), None);
        discounted.committed = Some(30.0);
        let offers = [shape("list", 8, Some(35.0), Some(10.0)), discounted];
        let est = estimate(&run, &m, &spec, &refs(&offers), None).unwrap();
        assert_eq!(est.placement.unwrap().offer.name, "discounted");

        // An owned pool: only a committed (amortized) price.
        let mut owned = shape("owned", 8, None, None);
        owned.committed = Some(12.0);
        let offers = [owned];
        let est = estimate(&run, &m, &spec, &refs(&offers), None).unwrap();
        assert_eq!(est.status, EstimateStatus::Ok);
        assert!(est.on_demand_cost.is_none() && est.committed_cost.is_some());
    }

    #[test]
    fn estimates_sort_cheapest_first_with_unknowns_last() {
        let h = h100();
        let cheap = spec("Cheap", 80.0, Some(989.0), None);
        let v100 = spec("V100", 16.0, None, None);
        let nowhere = spec("Nowhere", 80.0, Some(100.0), None);
        let h_offers = vec![shape("h", 8, Some(43.07), None)];
        let c_offers = vec![shape("c", 8, Some(10.0), None)];
        let run = TrainingRun {
            params: ParamCount::new(1e9).unwrap(),
            tokens: TokenCount::new(1e9).unwrap(),
            precision: Precision::Bf16,
            mfu: Mfu::DEFAULT,
        };
        let m = MemoryModel::default();
        let mut all = vec![
            estimate(&run, &m, &v100, &[], None).unwrap(),
            estimate(&run, &m, &nowhere, &[], None).unwrap(),
            estimate(&run, &m, &h, &refs(&h_offers), None).unwrap(),
            estimate(&run, &m, &cheap, &refs(&c_offers), None).unwrap(),
        ];
        sort_by_cost(&mut all);
        let names: Vec<&str> = all.iter().map(|e| e.accelerator.name.as_str()).collect();
        assert_eq!(names, ["Cheap", "H100", "Nowhere", "V100"]);
    }
}
