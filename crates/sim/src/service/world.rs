//! What simulated pools do that the machine does not decide: how much capacity can be had at
//! each instant. The driver asks the world before it carries out a launch (a cloud refuses one
//! when a zone is out of capacity: the machine hears [`Event::LaunchRefused`] and fails over, as
//! in the service) and, at the world's ticks, which running jobs lose their capacity (spot
//! reclaimed: the machine hears them stop and requeues them).
//!
//! The service's own pools are a world whose capacity is always there ([`Unlimited`]); the
//! scenarios' clouds ([`crate::cloud`]) are one with spot availability series, stockouts and
//! rentals in the catalog's shapes.
//!
//! [`Event::LaunchRefused`]: spillway_core::machine::Event::LaunchRefused

use spillway_core::econ::FailureKind;

/// What a tick of the world did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickOutcome {
    /// Jobs (workload indices) whose capacity was taken back, in the order they lose it.
    pub reclaimed: Vec<usize>,
    /// Whether some pool can now give more than at the tick before (a waiting job may start).
    pub grew: bool,
    /// Pools whose capacity changed, with the accelerators each can hold now.
    pub capacity: Vec<(usize, u32)>,
}

/// The capacity behind the pools, as the driver consults it.
pub trait World {
    /// Whether a launch of workload job `job` on `pool` holding `accelerators` gets its
    /// capacity at `now_ms`; what ran out if not. A launch that gets it holds it until
    /// [`World::ended`].
    fn launch(
        &mut self,
        now_ms: i64,
        pool: usize,
        job: usize,
        accelerators: &[u32],
    ) -> Result<(), FailureKind>;

    /// Job `job`'s attempt on `pool` ended: its capacity is given back.
    fn ended(&mut self, now_ms: i64, pool: usize, job: usize);

    /// How long a refused launch takes before the job can try elsewhere, ms.
    fn refusal_ms(&self) -> i64 {
        0
    }

    /// The first tick after `now_ms` (capacity may change only at ticks); `None`: never.
    fn next_tick_ms(&self, _now_ms: i64) -> Option<i64> {
        None
    }

    /// The tick at `now_ms`: which running jobs lose their capacity, and whether some pool grew.
    fn tick(&mut self, _now_ms: i64) -> TickOutcome {
        TickOutcome::default()
    }
}

/// Pools whose capacity is always all there (the service's own, as configured).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl World for Unlimited {
    fn launch(&mut self, _: i64, _: usize, _: usize, _: &[u32]) -> Result<(), FailureKind> {
        Ok(())
    }

    fn ended(&mut self, _: i64, _: usize, _: usize) {}
}
