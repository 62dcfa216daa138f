//! Measured mode: time and cost of a number of training steps from a measured throughput
//! (steps/s of one job type at one scale factor on one accelerator, as a Gavel throughput
//! matrix gives it), instead of the roofline.
//!
//! The job runs on `scale_factor` chips at the measured rate; the chips are rented with the same
//! rule as the roofline estimate ([`crate::placement::place`]), so a 1-chip job on a
//! provider that only sells 8-chip VMs pays for the whole VM.

use crate::input::{ChipCount, StepCount};
use crate::placement::{Granularity, PlaceError, Placement, RentalShape, place};
use crate::roofline::TrainingTime;
use serde::Serialize;
use spillway_model::Usd;

/// How a measured estimate turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasuredStatus {
    /// Time and costs are known.
    Ok,
    /// The matrix has no positive throughput for the job here (Gavel writes 0.0 where the job
    /// does not run, e.g. out of memory): no time, no cost.
    NotMeasured,
    /// The accelerator is not in the catalog, or has no priced offer: time only.
    NoOffer,
    /// No slice or pool holds the job's chips (and there are no VMs): time only.
    NoOfferLargeEnough,
}

/// Time and cost of `steps` steps of one job on one accelerator.
#[derive(Debug, Clone)]
pub struct MeasuredEstimate<'o, O> {
    /// Measured steps per second of the whole job (all its chips), if positive.
    pub steps_per_second: Option<f64>,
    /// Steps to run.
    pub steps: StepCount,
    /// Chips the job uses at once.
    pub scale_factor: ChipCount,
    /// What is rented, when an offer could be chosen.
    pub placement: Option<Placement<'o, O>>,
    /// Time to run the steps.
    pub time: Option<TrainingTime>,
    /// Cost at on-demand prices.
    pub on_demand_cost: Option<Usd>,
    /// Cost at spot prices (ignoring preemptions).
    pub spot_cost: Option<Usd>,
    /// Cost at committed-use prices, where configured.
    pub committed_cost: Option<Usd>,
    /// How it turned out.
    pub status: MeasuredStatus,
}

/// Estimates `steps` steps at `steps_per_second` on `scale_factor` chips, renting from
/// `offers` (empty when the accelerator is not in the catalog).
pub fn measured<'o, O: RentalShape>(
    steps_per_second: Option<f64>,
    steps: StepCount,
    scale_factor: ChipCount,
    granularity: Granularity,
    offers: &[&'o O],
) -> MeasuredEstimate<'o, O> {
    let rate = steps_per_second.filter(|r| r.is_finite() && *r > 0.0);
    let mut est = MeasuredEstimate {
        steps_per_second: rate,
        steps,
        scale_factor,
        placement: None,
        time: None,
        on_demand_cost: None,
        spot_cost: None,
        committed_cost: None,
        status: MeasuredStatus::Ok,
    };
    let Some(rate) = rate else {
        est.status = MeasuredStatus::NotMeasured;
        return est;
    };
    // Steps are counted in u64 but stay far below 2^53, where f64 starts to round.
    #[allow(clippy::cast_precision_loss)]
    let time = TrainingTime::from_seconds(steps.get() as f64 / rate);
    est.time = Some(time);
    match place(offers, granularity, scale_factor.get()) {
        Ok(p) => {
            let cost = |rate| p.rate(rate).map(|r| r * time.hours());
            est.on_demand_cost = cost(p.offer.on_demand_per_hour());
            est.spot_cost = cost(p.offer.spot_per_hour());
            est.committed_cost = cost(p.offer.committed_per_hour());
            est.placement = Some(p);
        }
        Err(PlaceError::NoPricedOffer) => est.status = MeasuredStatus::NoOffer,
        Err(PlaceError::NoneLargeEnough { .. }) => {
            est.status = MeasuredStatus::NoOfferLargeEnough;
        }
    }
    est
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_model::UsdPerHour;

    struct Vm {
        chips: u32,
        price: f64,
    }

    impl RentalShape for Vm {
        fn chips(&self) -> u32 {
            self.chips
        }
        fn on_demand_per_hour(&self) -> Option<UsdPerHour> {
            Some(UsdPerHour(self.price))
        }
        fn spot_per_hour(&self) -> Option<UsdPerHour> {
            None
        }
    }

    fn steps(n: u64) -> StepCount {
        StepCount::new(n).unwrap()
    }

    fn chips(n: u32) -> ChipCount {
        ChipCount::new(n).unwrap()
    }

    #[test]
    fn time_is_steps_over_rate_and_cost_is_the_rented_shape() {
        let vms = [
            Vm {
                chips: 1,
                price: 2.48,
            },
            Vm {
                chips: 8,
                price: 19.84,
            },
        ];
        let offers: Vec<&Vm> = vms.iter().collect();
        // 36,000 steps at 10 steps/s = 3,600 s = 1 h on one 1-chip VM: $2.48.
        let e = measured(
            Some(10.0),
            steps(36_000),
            chips(1),
            Granularity::Instances,
            &offers,
        );
        assert_eq!(e.status, MeasuredStatus::Ok);
        assert_eq!(e.time.unwrap().hours(), 1.0);
        assert_eq!(e.placement.unwrap().chips, 1);
        assert!((e.on_demand_cost.unwrap().0 - 2.48).abs() < 1e-9);
        assert_eq!(e.spot_cost, None);

        // A 4-chip job takes the 8-chip VM and pays for all of it.
        let e = measured(
            Some(10.0),
            steps(72_000),
            chips(4),
            Granularity::Instances,
            &offers,
        );
        assert_eq!(e.placement.unwrap().chips, 8);
        assert!((e.on_demand_cost.unwrap().0 - 2.0 * 19.84).abs() < 1e-9);
    }

    #[test]
    fn zero_or_missing_throughput_is_not_measured() {
        let offers: Vec<&Vm> = Vec::new();
        for rate in [None, Some(0.0), Some(-1.0), Some(f64::NAN)] {
            let e = measured(rate, steps(1), chips(1), Granularity::Instances, &offers);
            assert_eq!(e.status, MeasuredStatus::NotMeasured);
            assert!(e.time.is_none() && e.on_demand_cost.is_none());
        }
    }

    #[test]
    fn no_offer_still_gives_a_time_and_slices_must_hold_the_job() {
        let none: Vec<&Vm> = Vec::new();
        let e = measured(
            Some(2.0),
            steps(7_200),
            chips(2),
            Granularity::Instances,
            &none,
        );
        assert_eq!(e.status, MeasuredStatus::NoOffer);
        assert_eq!(e.time.unwrap().hours(), 1.0);

        let slices = [Vm {
            chips: 4,
            price: 16.8,
        }];
        let offers: Vec<&Vm> = slices.iter().collect();
        let e = measured(
            Some(2.0),
            steps(7_200),
            chips(8),
            Granularity::Slice,
            &offers,
        );
        assert_eq!(e.status, MeasuredStatus::NoOfferLargeEnough);
        assert!(e.on_demand_cost.is_none());
    }
}
