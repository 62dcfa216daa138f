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
}
