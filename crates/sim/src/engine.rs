//! `simulate --trace`: a trace's jobs through the machine ([`spillway_core::machine::Machine`]),
//! the one decision state machine the service runs, driven by the simulator's virtual clock
//! ([`crate::service::driver`]).
//!
//! Each job of the trace becomes a machine job whose alternatives are the pools it runs on,
//! fastest first, at its own throughput on each (Gavel's matrix), with the whole gang
//! (`scale_factor`) on one pool, resumable from where it stopped. Under an allocation policy
//! (every Gavel name) the machine time-shares in Gavel's rounds ([`TimeSharing`]): rounds of
//! `round_s` that end early once every job placed in them ended, the allocation recomputed at
//! most once every `min_reallocation_interval_s`, Gavel's time accounting; that is what gives
//! parity with Gavel's published numbers. Under `priority_backfill` jobs run to completion,
//! with backfill, as in the service. Everything is deterministic: integer milliseconds, events
//! ordered by time then sequence, seeded randomness inside the core.

use crate::SimJob;
use crate::service::driver::BusyTimeline;
use crate::service::{ServiceJob, ServiceOutcome, ServiceSimConfig, driver};
use spillway_core::econ::PlanKind;
use spillway_core::live::LivePolicy;
use spillway_core::machine::{MachineConfig, MachineJob, MachinePool, Speeds, TimeSharing};
use spillway_core::{
    Cluster, CoreError, JobId, PolicyKind, SchedulerConfig, SimTime, validate_job,
};
use spillway_model::UsdPerHour;
use spillway_model::spec::{AcceleratorChoice, ChoiceOrder};

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

/// Replays `jobs` on `cluster` under `policy`; `progress(done, total)` is called as jobs finish.
pub fn simulate(
    jobs: &[SimJob],
    cluster: &Cluster,
    policy: PolicyKind,
    config: &SimConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<SimOutcome, SimError> {
    for job in jobs {
        validate_job(cluster, &job.spec).map_err(|source| SimError::Core { policy, source })?;
    }
    let pools = machine_pools(cluster);
    let work: Vec<ServiceJob> = jobs.iter().map(|j| machine_job(j, cluster)).collect();
    let machine = MachineConfig {
        policy: LivePolicy::Scheduler(policy),
        time_sharing: Some(TimeSharing {
            scheduler: config.scheduler.clone(),
            gavel_compatible: config.gavel_time_accounting,
        }),
        ..MachineConfig::default()
    };
    let sim = ServiceSimConfig {
        tick_ms: 1_000,
        keep_reasons: false,
        ..ServiceSimConfig::default()
    };
    // The summary reads the attempts only as busy accelerators over time: the driver keeps
    // that instead of a record per attempt (millions under time-sharing).
    let out = driver::run_for_timeline(pools, machine, &work, &sim, progress);
    outcome(jobs, cluster, policy, &out)
}

/// The cluster's pools as the machine sees them: one accelerator type each (named after the
/// pool), owned, of speed 1 (each job brings its own speeds).
fn machine_pools(cluster: &Cluster) -> Vec<MachinePool> {
    cluster
        .pools()
        .iter()
        .map(|p| MachinePool {
            name: p.name.clone(),
            executor: "simulated".into(),
            accelerator: Some(p.name.clone()),
            capacity: p.capacity,
            slice: None,
            nodes: 1,
            block: 1,
            max_jobs: p.capacity.max(1),
            price: UsdPerHour(p.price_per_hour.unwrap_or(0.0)),
            plan: PlanKind::Owned,
            throughput: 1.0,
            location: ("simulated".into(), "simulated".into(), p.name.clone()),
            contract: None,
            preemptions_per_hour: 0.0,
        })
        .collect()
}

/// A trace job as the machine sees it: its pools fastest first, its whole gang on one, its
/// steps as work at its throughput there, resumable.
fn machine_job(job: &SimJob, cluster: &Cluster) -> ServiceJob {
    let spec = &job.spec;
    let mut usable: Vec<usize> = (0..cluster.len())
        .filter(|&p| spec.throughputs[p] > 0.0)
        .collect();
    usable.sort_by(|&a, &b| {
        spec.throughputs[b]
            .total_cmp(&spec.throughputs[a])
            .then(a.cmp(&b))
    });
    ServiceJob {
        job: MachineJob {
            id: spec.id,
            tenant: "trace".into(),
            submitted_ms: ceil_ms(spec.arrival),
            priority: 500,
            choices: usable
                .iter()
                .map(|&p| AcceleratorChoice {
                    accelerator: cluster.pools()[p].name.clone(),
                    count: spec.scale_factor,
                })
                .collect(),
            order: ChoiceOrder::Ordered,
            slice_choices: Vec::new(),
            topology: None,
            num_nodes: 1,
            infra: None,
            use_spot: false,
            alternatives: Vec::new(),
            budget: None,
            work_secs: Some(spec.total_steps),
            deadline_ms: spec.deadline.map(ceil_ms),
            checkpoint_interval_s: None,
            resumable: true,
            speeds: Some(Speeds::from_slice(&spec.throughputs)),
            weight: Some(spec.priority_weight),
        },
        work_s: spec.total_steps as f64,
    }
}

fn ceil_ms(t: SimTime) -> i64 {
    t.0.div_euclid(1000) + i64::from(t.0.rem_euclid(1000) > 0)
}

/// The driver's outcome in the trace simulator's terms.
fn outcome(
    jobs: &[SimJob],
    cluster: &Cluster,
    policy: PolicyKind,
    out: &ServiceOutcome,
) -> Result<SimOutcome, SimError> {
    let mut finished = Vec::with_capacity(jobs.len());
    let mut last = SimTime::ZERO;
    for (job, record) in jobs.iter().zip(&out.jobs) {
        let spec = &job.spec;
        let Some(finish_ms) = record.finished_ms else {
            continue;
        };
        let finish = SimTime(finish_ms.saturating_mul(1000));
        last = last.max(finish);
        let best = spec.throughputs.iter().copied().fold(0.0, f64::max);
        finished.push(JobOutcome {
            id: spec.id,
            arrival: spec.arrival,
            finish,
            ideal_s: spec.total_steps as f64 / best,
            deadline: spec.deadline,
            preemptions: record.preemptions,
        });
    }
    let names: Vec<&str> = cluster.pools().iter().map(|p| p.name.as_str()).collect();
    let from_attempts;
    let busy = match &out.busy_timeline {
        Some(t) => t,
        None => {
            from_attempts = BusyTimeline::from_attempts(&out.attempts, &names);
            &from_attempts
        }
    };
    if finished.len() < jobs.len() {
        let at = busy.last_end_ms.unwrap_or(0);
        return Err(SimError::Stalled {
            policy,
            at: SimTime(at.saturating_mul(1000)),
            waiting: jobs.len() - finished.len(),
        });
    }
    finished.sort_by_key(|j| j.id);
    Ok(SimOutcome {
        policy,
        jobs: finished,
        busy_s: out.busy_s.clone(),
        makespan: last,
        rounds: out.rounds,
        preemptions: out.preemptions,
        lease_extensions: out.lease_extensions,
        allocations: out.allocations,
        timeline: busy
            .samples
            .iter()
            .map(|(at, busy)| BusySample {
                at: SimTime(at.saturating_mul(1000)),
                busy: busy.clone(),
            })
            .collect(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use spillway_core::{JobSpec, Pool};

    /// Pools `p0`, `p1`, ... of these sizes, without prices.
    pub(crate) fn cluster(caps: &[u32]) -> Cluster {
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
    fn the_timeline_kept_as_the_replay_goes_is_the_one_of_every_attempt() {
        let jobs: Vec<SimJob> = (0..40)
            .map(|i| {
                let sf = [1, 2, 4, 1, 3][i as usize % 5];
                job(
                    i,
                    200.0 * i as f64,
                    1500 + 250 * (i % 7),
                    sf,
                    &[2.0, 1.0, 0.5],
                )
            })
            .collect();
        let c = cluster(&[4, 3, 2]);
        let names: Vec<&str> = c.pools().iter().map(|p| p.name.as_str()).collect();
        let mut preemptions = 0;
        for policy in ["fifo_perf", "max_min_fairness", "max_min_fairness_perf"] {
            let policy: PolicyKind = policy.parse().unwrap();
            let machine = MachineConfig {
                policy: LivePolicy::Scheduler(policy),
                time_sharing: Some(TimeSharing {
                    scheduler: SimConfig::default().scheduler,
                    gavel_compatible: true,
                }),
                ..MachineConfig::default()
            };
            let sim = ServiceSimConfig {
                keep_reasons: false,
                ..ServiceSimConfig::default()
            };
            let work: Vec<ServiceJob> = jobs.iter().map(|j| machine_job(j, &c)).collect();
            let every = driver::run_with_progress(
                machine_pools(&c),
                machine.clone(),
                &work,
                &sim,
                &mut |_, _| {},
            );
            let timeline =
                driver::run_for_timeline(machine_pools(&c), machine, &work, &sim, &mut |_, _| {});
            preemptions += every.preemptions;
            assert!(timeline.attempts.is_empty());
            let expected = BusyTimeline::from_attempts(&every.attempts, &names);
            assert!(expected.samples.len() > 10);
            assert_eq!(timeline.busy_timeline.as_ref(), Some(&expected), "{policy}");
            assert_eq!(
                expected.last_end_ms,
                every.attempts.iter().filter_map(|a| a.ended_ms).max()
            );
            assert_eq!(
                ServiceOutcome {
                    attempts: Vec::new(),
                    busy_timeline: None,
                    ..timeline
                },
                ServiceOutcome {
                    attempts: Vec::new(),
                    ..every
                },
                "{policy}: the same replay"
            );
        }
        assert!(preemptions > 0, "some jobs were preempted");
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
