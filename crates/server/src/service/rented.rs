//! What a pool rented by VMs (`block` > 1) pays for: each VM is rented while any attempt holds
//! one of its accelerators, so the pool's bill is its VMs' rented time, not the accelerator
//! time its jobs used. `/v1/usage` reports both, and the difference: rented accelerators no
//! job held (what packing jobs into the VMs already rented keeps low).

use super::{Service, ServiceError};
use crate::api::RentedUsage;
use crate::job::{Attempt, now_ms};
use spillway_core::econ::block_rentals;

impl Service {
    /// Rented time and spend of every pool rented by VMs, in config order, with running
    /// attempts counted up to now.
    pub async fn rented(&self) -> Result<Vec<RentedUsage>, ServiceError> {
        let now = now_ms();
        let mut out = Vec::new();
        for pool in self.config.pools.iter().filter(|p| p.block > 1) {
            let attempts = self.store.attempts_on(&pool.name).await?;
            let (vm_ms, used_chip_ms) = rented_ms(&attempts, pool.block, now);
            let hours = |ms: i64| ms as f64 / 3_600_000.0;
            let rented_chip_hours = hours(vm_ms) * f64::from(pool.block);
            let idle_chip_hours = (rented_chip_hours - hours(used_chip_ms)).max(0.0);
            out.push(RentedUsage {
                pool: pool.name.clone(),
                block: pool.block,
                vm_hours: hours(vm_ms),
                usd: rented_chip_hours * pool.price.0,
                idle_chip_hours,
                idle_usd: idle_chip_hours * pool.price.0,
            });
        }
        Ok(out)
    }
}

/// The VMs' rented time in all, ms, and the accelerator time the attempts used (see
/// [`vm_spans`]).
pub(crate) fn rented_ms(attempts: &[Attempt], block: u32, now_ms: i64) -> (i64, i64) {
    let used = attempts
        .iter()
        .map(|a| (a.end_by(now_ms) - a.started_ms) * a.accelerators.len() as i64)
        .sum();
    let spans = vm_spans(attempts, block, now_ms);
    (spans.iter().map(|(from, to, _)| to - from).sum(), used)
}

/// The rented spans `(from_ms, to_ms, vm)` of a pool of VMs of `block` accelerators: VM `b`
/// holds accelerators `b * block .. (b + 1) * block` and is rented over the union of the times
/// of the attempts that hold any of them (running ones up to `now_ms`; the core's
/// [`block_rentals`], as the simulator's books bill VM pools). `/ui/history` spreads them over
/// its buckets.
pub(crate) fn vm_spans<'a>(
    attempts: impl IntoIterator<Item = &'a Attempt>,
    block: u32,
    now_ms: i64,
) -> Vec<(i64, i64, u32)> {
    block_rentals(
        attempts
            .into_iter()
            .map(|a| (a.started_ms, a.end_by(now_ms), a.accelerators.as_slice())),
        block,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vm_is_rented_while_any_attempt_holds_one_of_its_accelerators() {
        let attempts = [
            // VM 0 from 0 to 10 and again from 20 to 30 (still running); VM 1 from 5 to 12.
            Attempt::on_od(vec![0, 1], 0, Some(6)),
            Attempt::on_od(vec![2], 4, Some(10)),
            Attempt::on_od(vec![8, 9], 5, Some(12)),
            Attempt::on_od(vec![3], 20, None),
        ];
        assert_eq!(
            rented_ms(&attempts, 8, 30),
            (10 + 10 + 7, 2 * 6 + 6 + 2 * 7 + 10)
        );
        // By the accelerator, what the attempts used (none of them shares one).
        assert_eq!(rented_ms(&attempts, 1, 30), (42, 42));
        // An attempt over two VMs keeps both rented.
        assert_eq!(
            rented_ms(&[Attempt::on_od(vec![7, 8], 0, Some(5))], 8, 30),
            (10, 10)
        );
        assert_eq!(rented_ms(&[], 8, 30), (0, 0));
    }
}
