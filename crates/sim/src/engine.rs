//! The event loop: rounds on an integer clock, exactly as Gavel's simulator steps them.
//!
//! Each round starts when the last placement of the previous round ends (a placement runs
//! `min(round, time to finish)`); jobs that arrived meanwhile join at the round boundary; when
//! nothing runs, the clock jumps to the next arrival. Everything is deterministic: integer
//! microseconds, arrivals ordered by (time, id), seeded randomness inside the core.

use crate::SimJob;
use spillway_core::{
    Cluster, CoreError, JobId, PolicyKind, RoundReport, Scheduler, SchedulerConfig, SimTime,
};
use std::collections::VecDeque;

/// Simulation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The core's settings (round length, reallocation interval, seed).
    pub scheduler: SchedulerConfig,
    /// Count a round's run time from the end of the previous busy round, as Gavel does (it
    /// over-counts the first round after an idle gap); off counts from the round's real start.
    pub gavel_time_accounting: bool,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            scheduler: SchedulerConfig::default(),
            gavel_time_accounting: true,
        }
    }
}

/// What happened to one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOutcome {
    /// The job.
    pub id: JobId,
    /// When it arrived.
    pub arrival: SimTime,
    /// When its last step ran.
    pub finish: SimTime,
    /// Seconds it would take alone on its fastest pool.
    pub ideal_s: f64,
    /// Its deadline, if any.
    pub deadline: Option<SimTime>,
    /// Times it was preempted.
    pub preemptions: u32,
}

/// Busy accelerators per pool from one instant on.
#[derive(Debug, Clone, PartialEq)]
pub struct BusySample {
    /// From when.
    pub at: SimTime,
    /// Busy accelerators in each pool.
    pub busy: Vec<u32>,
}

/// The result of one simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOutcome {
    /// The policy.
    pub policy: PolicyKind,
    /// Per job, in id order (unfinished jobs are absent).
    pub jobs: Vec<JobOutcome>,
    /// Accelerator-seconds of work per pool.
    pub busy_s: Vec<f64>,
    /// When the last job finished.
    pub makespan: SimTime,
    /// Rounds planned.
    pub rounds: u64,
    /// Preemptions in all.
    pub preemptions: u64,
    /// Lease extensions (a job kept its accelerators).
    pub lease_extensions: u64,
    /// Allocations computed.
    pub allocations: u64,
    /// Busy accelerators over time (one sample per round).
    pub timeline: Vec<BusySample>,
}

/// Why a simulation stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The core refused a job or failed to allocate.
    #[error("simulate policy {policy}")]
    Core {
        /// The policy.
        policy: PolicyKind,
        /// The core's error.
        #[source]
        source: CoreError,
    },
    /// Jobs remain but none can be placed and none will arrive.
    #[error(
        "simulate policy {policy}: stuck at t={at} with {waiting} jobs waiting and none placeable"
    )]
    Stalled {
        /// The policy.
        policy: PolicyKind,
        /// When.
        at: SimTime,
        /// Jobs left.
        waiting: usize,
    },
}

struct Running {
    job: JobId,
    steps: u64,
    finish: SimTime,
}

/// Replays `jobs` on `cluster` under `policy`; `progress(done, total)` is called as jobs finish.
pub fn simulate(
    jobs: &[SimJob],
    cluster: &Cluster,
    policy: PolicyKind,
    config: &SimConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<SimOutcome, SimError> {
    let core_err = |source| SimError::Core { policy, source };
    let mut scheduler = Scheduler::new(cluster.clone(), policy, config.scheduler.clone());
    for job in jobs {
        scheduler.validate(&job.spec).map_err(core_err)?;
    }
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| (jobs[i].spec.arrival, i));
    let mut queue: VecDeque<usize> = order.into();
    let m = cluster.len();
    let mut outcome = SimOutcome {
        policy,
        jobs: Vec::with_capacity(jobs.len()),
        busy_s: vec![0.0; m],
        makespan: SimTime::ZERO,
        rounds: 0,
        preemptions: 0,
        lease_extensions: 0,
        allocations: 0,
        timeline: Vec::new(),
    };
    let mut preemptions = vec![0u32; jobs.len()];
    let mut finish_of = vec![SimTime::ZERO; jobs.len()];
    let mut done = 0usize;
    let mut now = queue
        .front()
        .map_or(SimTime::ZERO, |&i| jobs[i].spec.arrival);
    let mut running: Vec<Running> = Vec::new();
    let mut pools_of: Vec<usize> = vec![0; jobs.len()];
    let mut round_start = SimTime::ZERO;
    let mut last_busy_round_end: Option<SimTime> = None;
    let mut forced = false;
    while done < jobs.len() {
        if let Some(end) = running.iter().map(|r| r.finish).max() {
            now = end;
            if config.gavel_time_accounting {
                if let Some(prev) = last_busy_round_end {
                    round_start = prev;
                }
                last_busy_round_end = Some(end);
            }
        } else if let Some(&next) = queue.front() {
            now = now.max(jobs[next].spec.arrival);
        }
        // Close the round: report what each placement did.
        let reports: Vec<RoundReport> = running
            .iter()
            .map(|r| RoundReport {
                job: r.job,
                steps: r.steps,
                elapsed_s: (r.finish.0 - round_start.0) as f64 / 1e6,
            })
            .collect();
        for r in &running {
            let i = r.job.0 as usize;
            finish_of[i] = r.finish;
            let sf = f64::from(jobs[i].spec.scale_factor);
            outcome.busy_s[pools_of[i]] += sf * (r.finish.0 - round_start.0) as f64 / 1e6;
        }
        running.clear();
        for id in scheduler.record_round(&reports) {
            let i = id.0 as usize;
            let spec = &jobs[i].spec;
            let best = spec.throughputs.iter().copied().fold(0.0, f64::max);
            outcome.jobs.push(JobOutcome {
                id,
                arrival: spec.arrival,
                finish: finish_of[i],
                ideal_s: spec.total_steps as f64 / best,
                deadline: spec.deadline,
                preemptions: preemptions[i],
            });
            outcome.makespan = outcome.makespan.max(finish_of[i]);
            done += 1;
            progress(done, jobs.len());
        }
        if done == jobs.len() {
            break;
        }
        while let Some(&next) = queue.front() {
            if jobs[next].spec.arrival > now {
                break;
            }
            queue.pop_front();
            scheduler
                .submit(jobs[next].spec.clone())
                .map_err(core_err)?;
        }
        let plan = scheduler.plan_round(now).map_err(core_err)?;
        outcome.rounds += 1;
        outcome.preemptions += plan.preempted.len() as u64;
        for j in &plan.preempted {
            preemptions[j.0 as usize] += 1;
        }
        let mut busy = vec![0u32; m];
        for p in &plan.placements {
            let i = p.job.0 as usize;
            pools_of[i] = p.pool.0;
            busy[p.pool.0] += jobs[i].spec.scale_factor;
            if p.kind == spillway_core::PlacementKind::Keep {
                outcome.lease_extensions += 1;
            }
            running.push(Running {
                job: p.job,
                steps: p.max_steps,
                finish: now.plus_secs_ceil(p.expected_duration_s),
            });
        }
        outcome.timeline.push(BusySample { at: now, busy });
        if !config.gavel_time_accounting {
            round_start = now;
        }
        if running.is_empty() && queue.is_empty() {
            if forced {
                // A fresh allocation was computed for this round and still nothing runs:
                // nothing ever will.
                return Err(SimError::Stalled {
                    policy,
                    at: now,
                    waiting: scheduler.active_jobs(),
                });
            }
            // Nothing runs and nothing will arrive: let the next round recompute the allocation
            // whatever the time since the last one (Gavel does the same).
            scheduler.force_reallocation();
            forced = true;
        } else {
            forced = false;
        }
    }
    outcome.jobs.sort_by_key(|j| j.id);
    outcome.allocations = scheduler.allocations_computed();
    outcome.timeline.push(BusySample {
        at: outcome.makespan,
        busy: vec![0; m],
    });
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::{JobSpec, Pool};

    fn cluster(caps: &[u32]) -> Cluster {
        Cluster::new(
            caps.iter()
                .enumerate()
                .map(|(i, &c)| Pool {
                    name: format!("p{i}"),
                    capacity: c,
                    price_per_hour: None,
                })
                .collect(),
        )
        .unwrap()
    }

    fn job(id: u64, arrival_s: f64, steps: u64, sf: u32, thr: &[f64]) -> SimJob {
        SimJob {
            spec: JobSpec {
                id: JobId(id),
                scale_factor: sf,
                total_steps: steps,
                throughputs: thr.to_vec(),
                priority_weight: 1.0,
                arrival: SimTime::from_secs(arrival_s),
                deadline: None,
            },
            job_type: "t".to_string(),
            trace_id: id.to_string(),
        }
    }

    #[test]
    fn a_lone_job_finishes_after_its_run_time_from_arrival() {
        // 1000 steps at 1 step/s on a pool of 1: rounds of 360 s, done after 1000 s.
        let jobs = vec![job(0, 50.0, 1000, 1, &[1.0])];
        let out = simulate(
            &jobs,
            &cluster(&[1]),
            PolicyKind::Fifo { aware: true },
            &SimConfig::default(),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(out.jobs.len(), 1);
        assert_eq!(out.jobs[0].finish, SimTime::from_secs(1050.0));
        assert_eq!(out.makespan, SimTime::from_secs(1050.0));
        assert_eq!(out.rounds, 3);
        assert_eq!(
            out.lease_extensions, 2,
            "it keeps its accelerator after the first round"
        );
    }

    #[test]
    fn every_job_finishes_and_busy_time_never_exceeds_capacity() {
        let jobs: Vec<SimJob> = (0..12)
            .map(|i| {
                let sf = [1, 2, 4][i as usize % 3];
                job(i, 500.0 * i as f64, 2000 + 300 * i, sf, &[2.0, 1.0])
            })
            .collect();
        let c = cluster(&[4, 4]);
        for policy in [
            "fifo",
            "fifo_perf",
            "max_min_fairness",
            "max_min_fairness_perf",
        ] {
            let policy: PolicyKind = policy.parse().unwrap();
            let out = simulate(&jobs, &c, policy, &SimConfig::default(), &mut |_, _| {}).unwrap();
            assert_eq!(out.jobs.len(), 12, "{policy}");
            let span = out.makespan.as_secs();
            for (p, busy) in out.busy_s.iter().enumerate() {
                assert!(
                    *busy <= 4.0 * span + 1e-6,
                    "{policy} pool {p}: {busy} > {}",
                    4.0 * span
                );
            }
            for s in &out.timeline {
                assert!(s.busy.iter().all(|b| *b <= 4), "{policy}: {:?}", s.busy);
            }
            let again = simulate(&jobs, &c, policy, &SimConfig::default(), &mut |_, _| {}).unwrap();
            assert_eq!(out, again, "{policy}: deterministic");
        }
    }

    #[test]
    fn refuses_a_job_that_cannot_fit_before_running() {
        let jobs = vec![job(0, 0.0, 10, 8, &[1.0, 1.0])];
        let err = simulate(
            &jobs,
            &cluster(&[4, 4]),
            PolicyKind::Fifo { aware: true },
            &SimConfig::default(),
            &mut |_, _| {},
        )
        .unwrap_err();
        assert!(format!("{:?}", err).contains("JobTooLarge"), "{err:?}");
    }
}
