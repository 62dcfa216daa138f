//! What the order-based policies (`srpt_perf`, `tiresias_perf`) remember of their last
//! allocation's standby jobs (those that were not placed) until the next one: where each
//! ranks, so that a job that arrives meanwhile can be given a standby share among them at once
//! instead of none. With none it could not use an idle accelerator until the next
//! recomputation (Gavel's 32 minutes).

use super::ordered::{STANDBY_FLOOR, STANDBY_RATIO, STANDBY_SHARE};
use super::{Allocation, PolicyInput, PolicyJob};

/// A job's place in an order-based policy's ranking (class, then key; lower first), without the
/// job id that breaks ties.
pub(crate) type RankKey = (u8, f64);

/// Whether `a` ranks at or before `b`.
fn at_or_before(a: RankKey, b: RankKey) -> bool {
    a.0 < b.0 || (a.0 == b.0 && a.1 <= b.1)
}

/// The standby ranking of the last allocation, with the jobs that arrived since.
#[derive(Debug, Default)]
pub(crate) struct Standby {
    /// Each standby job's rank key and share, in rank order.
    ranked: Vec<(RankKey, f64)>,
}

impl Standby {
    /// Remembers the standby jobs of `allocation` (shares below 1) in the order `ranked` gives
    /// (rank key and index into `input.jobs`, first first).
    pub(crate) fn record(
        &mut self,
        input: &PolicyInput<'_>,
        allocation: &Allocation,
        ranked: &[(RankKey, usize)],
    ) {
        self.ranked = ranked
            .iter()
            .filter_map(|&(key, i)| {
                let share = allocation
                    .get(&input.jobs[i].id)?
                    .iter()
                    .copied()
                    .fold(0.0, f64::max);
                (share > 0.0 && share < 1.0).then_some((key, share))
            })
            .collect();
    }

    /// The share, on each pool where `job` runs, of a job ranked at `key` that arrived since
    /// the last allocation: between the shares of the standby jobs (and earlier arrivals) that
    /// rank just before and just after it (their geometric mean), [`STANDBY_SHARE`] standing
    /// above the first. It is below every placed job's, so the job only takes accelerators
    /// that placed jobs leave idle; the next allocation ranks it properly. The job is then
    /// ranked among the standby jobs, so that later arrivals rank against it too.
    pub(crate) fn share_for(&mut self, job: &PolicyJob, key: RankKey) -> Vec<f64> {
        let r = self.ranked.partition_point(|&(k, _)| at_or_before(k, key));
        let above = r.checked_sub(1).map_or(STANDBY_SHARE, |a| self.ranked[a].1);
        let below = self
            .ranked
            .get(r)
            .map_or(above / STANDBY_RATIO, |&(_, s)| s);
        let share = (above * below).sqrt().max(STANDBY_FLOOR);
        self.ranked.insert(r, (key, share));
        job.throughputs
            .iter()
            .map(|&t| if t > 0.0 { share } else { 0.0 })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ordered::fixtures::job;

    #[test]
    fn arrivals_rank_among_the_standby_jobs_and_each_other() {
        let mut standby = Standby {
            ranked: vec![((2, 100.0), 1e-10), ((2, 300.0), 1e-11)],
        };
        let thr = [2.0, 0.0];
        let first = standby.share_for(&job(7, 1, 10, &thr, 0.0), (2, 50.0))[0];
        let middle = standby.share_for(&job(8, 1, 10, &thr, 0.0), (2, 200.0))[0];
        let last = standby.share_for(&job(9, 1, 10, &thr, 0.0), (2, 400.0))[0];
        assert!(first <= STANDBY_SHARE && first > 1e-10, "{first}");
        assert!(middle < 1e-10 && middle > 1e-11, "{middle}");
        assert!(last < 1e-11 && last > 0.0, "{last}");
        // An arrival between two earlier ones ranks between them; equal keys go in turn.
        let between = standby.share_for(&job(10, 1, 10, &thr, 0.0), (2, 60.0))[0];
        assert!(between < first && between > 1e-10, "{between}");
        let equal = standby.share_for(&job(11, 1, 10, &thr, 0.0), (2, 60.0))[0];
        assert!(equal < between && equal > 1e-10, "{equal}");
        // No share where it cannot run.
        assert_eq!(
            standby.share_for(&job(12, 1, 10, &thr, 0.0), (2, 1.0))[1],
            0.0
        );
    }

    /// A one-pool cluster of `capacity` and a job of `steps` steps at 1 step/s arriving at
    /// `at_s`.
    fn cluster(capacity: u32) -> crate::Cluster {
        let pool = crate::Pool {
            name: "v100".to_string(),
            capacity,
            price_per_hour: None,
        };
        crate::Cluster::new(vec![pool]).unwrap()
    }

    fn spec(id: u64, steps: u64, at_s: f64) -> crate::JobSpec {
        crate::JobSpec {
            id: crate::JobId(id),
            scale_factor: 1,
            total_steps: steps,
            throughputs: vec![1.0],
            priority_weight: 1.0,
            arrival: crate::SimTime::from_secs(at_s),
            deadline: None,
        }
    }

    /// Which of `arrivals` (id, steps) run in the first round after they arrive, before the
    /// allocation is recomputed: one long job runs alone on `capacity` accelerators from 360 s
    /// (the first allocation at a positive time, so that the next is not due at once), then
    /// `arrivals` come at 720 s.
    fn placed_on_arrival(
        kind: crate::PolicyKind,
        capacity: u32,
        arrivals: &[(u64, u64)],
    ) -> Vec<u64> {
        use crate::{RoundReport, Scheduler, SchedulerConfig, SimTime};
        let mut s = Scheduler::new(cluster(capacity), kind, SchedulerConfig::default());
        s.submit(spec(0, 1_000_000, 0.0)).unwrap();
        let first = s.plan_round(SimTime::from_secs(360.0)).unwrap();
        let reports: Vec<RoundReport> = first.reports_as_planned();
        s.record_round(&reports);
        for &(id, steps) in arrivals {
            s.submit(spec(id, steps, 720.0)).unwrap();
        }
        let next = s.plan_round(SimTime::from_secs(720.0)).unwrap();
        assert_eq!(s.allocations_computed(), 1, "not recomputed yet");
        assert!(next.placements.iter().any(|p| p.job.0 == 0));
        next.placements
            .iter()
            .map(|p| p.job.0)
            .filter(|&j| j != 0)
            .collect()
    }

    #[test]
    fn order_based_policies_let_arrivals_take_idle_accelerators_before_the_recomputation() {
        use crate::PolicyKind;
        let arrivals = [(1, 3600), (2, 100)];
        for kind in [PolicyKind::ShortestRemaining, PolicyKind::LeastAttained] {
            // One idle accelerator: the arrival that ranks first takes it (the shorter one
            // under srpt_perf, the older, here the first submitted, under tiresias_perf).
            let first = if kind == PolicyKind::ShortestRemaining {
                2
            } else {
                1
            };
            assert_eq!(placed_on_arrival(kind, 2, &arrivals), [first], "{kind}");
            // No idle accelerator: a placed job is never preempted for an arrival.
            assert!(placed_on_arrival(kind, 1, &arrivals).is_empty(), "{kind}");
        }
        // Gavel's policies keep Gavel's behaviour: an arrival waits for the recomputation.
        let gavel = PolicyKind::MaxMinFairness { aware: true };
        assert!(placed_on_arrival(gavel, 2, &arrivals).is_empty());
    }
}
