//! Spot capacity: what a preemption costs (work since the last checkpoint, plus a restart), and
//! when a job with a deadline may still use spot.
//!
//! The deadline rule follows "Can't Be Late" (Wu et al., NSDI'24): run on spot while the slack
//! (time to the deadline minus the time the remaining work needs on on-demand capacity, restart
//! included) can absorb one more preemption; once it cannot, move to on-demand and stay there.
//! A preemption costs at most one checkpoint interval of work, one restart and the failed
//! launches on the way to on-demand capacity, so that is the margin.

use crate::SimTime;
use serde::Serialize;

/// How a job saves and resumes its work.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CheckpointModel {
    /// Seconds of running between two checkpoints.
    pub interval_s: f64,
    /// Seconds from a (re)start until work progresses again (provisioning, loading the
    /// checkpoint).
    pub restart_overhead_s: f64,
    /// Seconds a preempted job may lose to failed launches before it reaches on-demand capacity
    /// (the driver's launch-failure time x the spot places it may retry first).
    pub failover_allowance_s: f64,
}

impl CheckpointModel {
    /// Work (reference seconds) saved in checkpoints after running `ran_s` seconds from a start at
    /// `speed` (reference seconds of work per second): only whole checkpoint intervals after the
    /// restart overhead count.
    pub fn saved_work(&self, ran_s: f64, speed: f64) -> f64 {
        let productive = (ran_s - self.restart_overhead_s).max(0.0);
        let intervals = (productive / self.interval_s.max(1e-9)).floor();
        intervals * self.interval_s * speed
    }

    /// Work done (saved or not) after running `ran_s` seconds.
    pub fn done_work(&self, ran_s: f64, speed: f64) -> f64 {
        (ran_s - self.restart_overhead_s).max(0.0) * speed
    }

    /// Seconds of margin a job on spot must keep: one lost interval, one restart, and the failed
    /// launches before on-demand.
    pub fn margin_s(&self) -> f64 {
        self.interval_s + self.restart_overhead_s + self.failover_allowance_s
    }
}

/// Whether a job due at `deadline` with `remaining_work_s` reference seconds left may (still) use
/// spot at `now`, given the speed it would have on its best on-demand option: only while
/// `deadline - now - (restart + remaining / speed) >= margin`.
pub fn spot_allowed(
    now: SimTime,
    deadline: SimTime,
    remaining_work_s: f64,
    on_demand_speed: f64,
    model: &CheckpointModel,
) -> bool {
    if on_demand_speed <= 0.0 {
        return false;
    }
    let left_s = (deadline.0 - now.0) as f64 / 1e6;
    let needed_s = model.restart_overhead_s + remaining_work_s / on_demand_speed;
    left_s - needed_s >= model.margin_s()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: CheckpointModel = CheckpointModel {
        interval_s: 1800.0,
        restart_overhead_s: 300.0,
        failover_allowance_s: 0.0,
    };

    #[test]
    fn a_preemption_loses_the_work_since_the_last_checkpoint() {
        // 300 s restart, then 4,000 s of work: two whole 1,800 s intervals saved.
        assert_eq!(M.saved_work(4300.0, 1.0), 3600.0);
        assert_eq!(M.done_work(4300.0, 1.0), 4000.0);
        assert_eq!(M.saved_work(200.0, 2.0), 0.0);
        assert_eq!(M.saved_work(2100.0, 0.5), 900.0);
    }

    #[test]
    fn spot_while_slack_absorbs_a_preemption_then_on_demand() {
        let now = SimTime::ZERO;
        // 10 h of work, deadline in 12 h: slack 2 h - 300 s > 2,100 s margin.
        let deadline = SimTime::from_secs(12.0 * 3600.0);
        assert!(spot_allowed(now, deadline, 36_000.0, 1.0, &M));
        // Deadline in 10.5 h: slack 1,800 - 300 = 1,500 s < 2,100 s.
        let tight = SimTime::from_secs(10.5 * 3600.0);
        assert!(!spot_allowed(now, tight, 36_000.0, 1.0, &M));
        // A faster on-demand option leaves more slack.
        assert!(spot_allowed(now, tight, 36_000.0, 1.5, &M));
        assert!(!spot_allowed(now, deadline, 1.0, 0.0, &M));
    }
}
