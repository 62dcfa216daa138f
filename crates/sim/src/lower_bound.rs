//! A lower bound on the average JCT that *any* schedule can reach on a cluster: a time-indexed
//! linear relaxation of preemptive, migratory scheduling on unrelated pools, solved by HiGHS.
//!
//! The no-queueing bound (every job alone on its fastest accelerator from its arrival) ignores
//! capacity, so under load it is far below what is reachable, and "the share of the gap to it
//! that a policy closes" cannot say how much of that gap can be closed at all. This bound keeps
//! the capacity. Time is cut into steps of $\Delta$ hours up to a horizon $H$, then one open
//! step $[H, \infty)$. Variables: $u_{ijt} \ge 0$, the hours job $i$ runs on pool $j$ in step
//! $t$ (from the step of its arrival on), and $c_i$, its completion. With $p_{ij} = R_i /
//! T_{ij}$ hours to run the whole job on $j$, $f_{ij} = 1 / p_{ij}$, $L_i = \min_j p_{ij}$,
//! $a_{it} = \max(\text{start of } t, r_i)$:
//!
//! - one place at a time: $\sum_j u_{ijt} \le$ the length of step $t$ after $r_i$;
//! - capacity (gangs as fluid): $\sum_i s_i u_{ijt} \le C_j \Delta$;
//! - the work is done: $\sum_{j,t} f_{ij} u_{ijt} = 1$;
//! - mean busy time: the work-weighted mean time $M_i$ at which job $i$ is processed is at
//!   least $\sum_{j,t} f_{ij} u_{ijt} a_{it}$, and since the job is processed at a rate of at
//!   most $1 / L_i$ of its work per hour, $c_i \ge M_i + L_i / 2$;
//! - running time: $c_i \ge r_i + \sum_{j,t} u_{ijt}$ (a job runs in one place at a time), and
//!   $c_i \ge r_i + L_i$.
//!
//! Every schedule of the round mechanism (of any policy) gives a feasible point with $c_i$ its
//! completion, so the LP's optimum of $\frac{1}{n} \sum_i (c_i - r_i)$ is at most any policy's
//! average JCT. It is a relaxation (gangs are fluid, preemption is free, the mean busy time is
//! counted from the start of each step), so it can be below the best schedule: a finer step
//! raises it. Source: the time-indexed and mean-busy-time relaxations of Schulz and Skutella
//! (*Scheduling unrelated machines by randomized rounding*, SIAM J. Discrete Math. 2002) and
//! Goemans et al. (*Single machine scheduling with release dates*, 2002).

use crate::workload::SimJob;
use spillway_core::Cluster;
use std::ops::Range;
use std::time::{Duration, Instant};

/// The most columns the LP may have (about 4 GB in HiGHS).
pub const MAX_COLUMNS: u64 = 4_000_000;

/// How to build and solve the bound.
#[derive(Debug, Clone)]
pub struct BoundOptions {
    /// Length of a time step, hours (finer is tighter and larger).
    pub step_h: f64,
    /// Steps of `step_h` cover `[0, horizon_h)`; after it one open step. Any horizon gives a
    /// valid bound; one near the makespan of a good schedule gives a tight one.
    pub horizon_h: f64,
    /// Average over the jobs at these trace positions only (all jobs still take capacity).
    pub window: Option<Range<u64>>,
    /// HiGHS's time limit.
    pub time_limit: Duration,
}

/// The bound and what solving it took.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LowerBound {
    /// No schedule's average JCT over the measured jobs is below this, in hours.
    pub avg_jct_hours: f64,
    /// The step and horizon it was built with, hours.
    pub step_h: f64,
    pub horizon_h: f64,
    /// The LP's size.
    pub columns: u64,
    pub rows: usize,
    /// Seconds HiGHS took.
    pub solve_s: f64,
    /// Where and when the LP's solution runs each job, in workload order (left out of JSON).
    #[serde(skip)]
    pub jobs: Vec<JobInBound>,
}

/// One job in the LP's solution: where and when the relaxation runs it. The solution is the
/// interior point method's without crossover, so it can be a blend of optimal schedules rather
/// than one of them; a relaxed one either way (gangs fluid, work counted at its step's start).
#[derive(Debug, Clone, PartialEq)]
pub struct JobInBound {
    /// Its arrival, hours.
    pub arrival_h: f64,
    /// $c_i - r_i$, hours. For a job outside the window (`BoundOptions::window`) its completion
    /// costs nothing, so this is any value that its cuts allow.
    pub jct_hours: f64,
    /// When it first runs: the start of that step (or its arrival), hours on the clock.
    pub first_run_h: f64,
    /// When half of its work is done: the start of that step (or its arrival), hours on the
    /// clock. The LP does not tie it to $c_i$: a solution may finish a job's work after $c_i$
    /// as long as its mean busy time and running time allow.
    pub half_work_h: f64,
    /// Hours it runs on each pool of the cluster (0 where it cannot run).
    pub hours_per_pool: Vec<f64>,
}

/// Why the bound could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum BoundError {
    /// A bad step or horizon.
    #[error("lower bound: {0}")]
    Options(String),
    /// A job that can run nowhere, or has no work.
    #[error("lower bound: job {id} (trace id {trace_id}) {reason}")]
    Job {
        id: u64,
        trace_id: String,
        reason: &'static str,
    },
    /// HiGHS refused the problem or did not reach an optimum.
    #[error("lower bound: HiGHS {0}")]
    Solver(String),
}

/// Whether `step_h` can be a step of the bound (a positive number of hours), so that a caller
/// can refuse a bad one before the work that comes first.
pub fn check_step(step_h: f64) -> Result<(), BoundError> {
    if step_h.is_finite() && step_h > 0.0 {
        Ok(())
    } else {
        Err(BoundError::Options(format!(
            "the step must be a positive number of hours, found {step_h}"
        )))
    }
}

/// Builds and solves the bound for `jobs` on `cluster`.
pub fn lower_bound(
    jobs: &[SimJob],
    cluster: &Cluster,
    options: &BoundOptions,
) -> Result<LowerBound, BoundError> {
    use highs::{ColProblem, HighsModelStatus, Sense};
    let step = options.step_h;
    check_step(step)?;
    if !(options.horizon_h.is_finite() && options.horizon_h > 0.0) {
        return Err(BoundError::Options(format!(
            "the horizon must be a positive number of hours, found {}",
            options.horizon_h
        )));
    }
    let capacities: Vec<f64> = cluster
        .pools()
        .iter()
        .map(|p| f64::from(p.capacity))
        .collect();
    // Steps [k step, (k + 1) step) for k < closed, then the open step [closed step, inf).
    let closed = (options.horizon_h / step).ceil() as usize;
    let step_start = |t: usize| t as f64 * step;
    let measured = |i: usize| {
        options
            .window
            .as_ref()
            .is_none_or(|w| w.contains(&(i as u64)))
    };
    let n_measured = (0..jobs.len()).filter(|&i| measured(i)).count();
    if n_measured == 0 {
        return Err(BoundError::Options("no job is measured".into()));
    }

    struct Job {
        release: f64,
        scale: f64,
        /// The pools it can run on (it runs there and its gang fits), each with the share of
        /// its work done per hour there.
        pools: Vec<(usize, f64)>,
        /// The largest of those shares.
        fastest: f64,
        first_step: usize,
    }
    let mut prepared = Vec::with_capacity(jobs.len());
    for job in jobs {
        let spec = &job.spec;
        let fail = |reason| BoundError::Job {
            id: spec.id.0,
            trace_id: job.trace_id.clone(),
            reason,
        };
        if spec.total_steps == 0 {
            return Err(fail("has no work"));
        }
        let runs_on: Vec<(usize, f64)> = spec
            .throughputs
            .iter()
            .take(capacities.len())
            .map(|&t| (t * 3600.0) / spec.total_steps as f64)
            .enumerate()
            .filter(|&(_, rate)| rate > 0.0 && rate.is_finite())
            .collect();
        if runs_on.is_empty() {
            return Err(fail("can run on no pool of the cluster"));
        }
        let scale = f64::from(spec.scale_factor);
        let pools: Vec<(usize, f64)> = runs_on
            .into_iter()
            .filter(|&(j, _)| scale <= capacities[j])
            .collect();
        if pools.is_empty() {
            return Err(fail("fits on no pool of the cluster"));
        }
        let fastest = pools.iter().map(|&(_, rate)| rate).fold(0.0, f64::max);
        let release = spec.arrival.as_secs() / 3600.0;
        let first_step = ((release / step).floor() as usize).min(closed);
        prepared.push(Job {
            release,
            scale,
            pools,
            fastest,
            first_step,
        });
    }

    // Refuse an LP too large to build before building it: a step of minutes over a long trace
    // would take all the memory (HiGHS's interior point method takes about a kilobyte a column).
    // A job's columns are its completion, then its hours by step and by pool it can run on (in
    // the order of `job.pools`): the index of its first is enough to read its solution back.
    let mut first_column = Vec::with_capacity(prepared.len());
    let mut columns: u64 = 0;
    for job in &prepared {
        first_column.push(columns as usize);
        columns += 1 + (closed - job.first_step + 1) as u64 * job.pools.len() as u64;
    }
    if columns > MAX_COLUMNS {
        return Err(BoundError::Options(format!(
            "the LP would have {columns} columns ({} jobs, {closed} steps of {step} h), more \
             than the {MAX_COLUMNS} it may have: use a longer step or fewer jobs",
            jobs.len()
        )));
    }
    let mut pb = ColProblem::new();
    // Capacity rows, by closed step and pool (the open step has none).
    let capacity_rows: Vec<Vec<highs::Row>> = (0..closed)
        .map(|_| {
            capacities
                .iter()
                .map(|&c| pb.add_row(..=c * step))
                .collect()
        })
        .collect();
    let mut rows = capacities.len() * closed;
    for (i, job) in prepared.iter().enumerate() {
        let work = pb.add_row(1.0..=1.0);
        let fastest_h = 1.0 / job.fastest;
        let busy = pb.add_row(..=-fastest_h / 2.0);
        let running = pb.add_row(..=-job.release);
        rows += 3;
        let cost = if measured(i) {
            1.0 / n_measured as f64
        } else {
            0.0
        };
        pb.add_column(
            cost,
            job.release + fastest_h..,
            [(busy, -1.0), (running, -1.0)],
        );
        for t in job.first_step..=closed {
            let from = step_start(t).max(job.release);
            let capacity = capacity_rows.get(t);
            let one_place = capacity.map(|_| {
                rows += 1;
                pb.add_row(..=(step_start(t + 1) - from).max(0.0))
            });
            for &(j, rate) in &job.pools {
                let mut entries = vec![(work, rate), (busy, rate * from), (running, 1.0)];
                if let (Some(row), Some(capacity)) = (one_place, capacity) {
                    entries.push((row, 1.0));
                    entries.push((capacity[j], job.scale));
                }
                pb.add_column(0.0, 0.0.., entries);
            }
        }
    }
    let mean_release = prepared
        .iter()
        .enumerate()
        .filter(|(i, _)| measured(*i))
        .map(|(_, j)| j.release)
        .sum::<f64>()
        / n_measured as f64;

    let mut model = pb
        .try_optimise(Sense::Minimise)
        .map_err(|e| BoundError::Solver(format!("refused the problem: {e:?}")))?;
    model.make_quiet();
    // The interior point method: the simplex method takes far longer on these LPs. The bound
    // needs only the optimal value, so no crossover to a vertex.
    model.set_option("solver", "ipm");
    model.set_option("run_crossover", "off");
    model.set_option("time_limit", options.time_limit.as_secs_f64());
    let started = Instant::now();
    let solved = model
        .try_solve()
        .map_err(|e| BoundError::Solver(format!("failed: {e:?}")))?;
    let solve_s = started.elapsed().as_secs_f64();
    match solved.status() {
        HighsModelStatus::Optimal => {}
        HighsModelStatus::ReachedTimeLimit => {
            return Err(BoundError::Solver(format!(
                "reached its time limit of {:.0} s ({columns} columns, {rows} rows): use a \
                 longer step or a shorter horizon",
                options.time_limit.as_secs_f64()
            )));
        }
        other => return Err(BoundError::Solver(format!("ended with status {other:?}"))),
    }
    let solution = solved.get_solution();
    let values = solution.columns();
    let jobs = prepared
        .iter()
        .zip(&first_column)
        .map(|(job, &first)| {
            let mut hours_per_pool = vec![0.0; capacities.len()];
            let (mut first_run_h, mut half_work_h) = (f64::NAN, f64::NAN);
            let mut done = 0.0;
            let mut column = first + 1;
            for t in job.first_step..=closed {
                for &(j, rate) in &job.pools {
                    let hours = values[column].max(0.0);
                    column += 1;
                    hours_per_pool[j] += hours;
                    done += hours * rate;
                    // The interior point leaves tiny positive values where a vertex has zeros,
                    // and sums within its tolerance.
                    if hours > 1e-6 && first_run_h.is_nan() {
                        first_run_h = step_start(t).max(job.release);
                    }
                    if done >= 0.5 - 1e-6 && half_work_h.is_nan() {
                        half_work_h = step_start(t).max(job.release);
                    }
                }
            }
            JobInBound {
                arrival_h: job.release,
                jct_hours: values[first] - job.release,
                first_run_h,
                half_work_h,
                hours_per_pool,
            }
        })
        .collect();
    Ok(LowerBound {
        jobs,
        avg_jct_hours: solved.objective_value() - mean_release,
        step_h: step,
        horizon_h: closed as f64 * step,
        columns,
        rows,
        solve_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::cluster;
    use spillway_core::{JobId, JobSpec, SimTime};

    fn job(id: u64, arrival_h: f64, hours: &[f64], scale: u32) -> SimJob {
        // 3600 steps: `hours` on a pool means a throughput of 1 / hours steps per second.
        SimJob {
            spec: JobSpec {
                id: JobId(id),
                scale_factor: scale,
                total_steps: 3600,
                throughputs: hours
                    .iter()
                    .map(|&h| if h > 0.0 { 1.0 / h } else { 0.0 })
                    .collect(),
                priority_weight: 1.0,
                arrival: SimTime::from_secs(arrival_h * 3600.0),
                deadline: None,
            },
            job_type: "t".into(),
            trace_id: id.to_string(),
        }
    }

    fn options(step_h: f64) -> BoundOptions {
        BoundOptions {
            step_h,
            horizon_h: 10.0,
            window: None,
            time_limit: Duration::from_secs(60),
        }
    }

    #[test]
    fn a_job_alone_is_bounded_by_its_time_on_its_fastest_pool() {
        let jobs = [job(0, 1.5, &[2.0, 0.5], 1)];
        let b = lower_bound(&jobs, &cluster(&[1, 1]), &options(0.25)).unwrap();
        assert!((b.avg_jct_hours - 0.5).abs() < 1e-6, "{b:?}");
        // Its solution: all of it on the fast pool, from its arrival.
        let [alone] = b.jobs.as_slice() else {
            panic!("{b:?}")
        };
        assert_eq!(alone.arrival_h, 1.5);
        assert!((alone.jct_hours - 0.5).abs() < 1e-6, "{alone:?}");
        assert!(alone.hours_per_pool[0].abs() < 1e-6, "{alone:?}");
        assert!((alone.hours_per_pool[1] - 0.5).abs() < 1e-6, "{alone:?}");
        // Optimal solutions may spread its half hour over the steps up to 2.0 h.
        assert_eq!(alone.first_run_h, 1.5);
        assert!((1.5..2.0).contains(&alone.half_work_h), "{alone:?}");
    }

    #[test]
    fn the_solution_of_each_job_does_its_work_and_averages_to_the_bound() {
        // Four jobs of 1-2.5 h on two pools of one accelerator, the second twice as slow.
        let jobs: Vec<SimJob> = (0..4)
            .map(|i| {
                let h = 1.0 + i as f64 / 2.0;
                job(i, 0.0, &[h, 2.0 * h], 1)
            })
            .collect();
        let b = lower_bound(&jobs, &cluster(&[1, 1]), &options(0.5)).unwrap();
        assert_eq!(b.jobs.len(), 4);
        for (i, j) in b.jobs.iter().enumerate() {
            let h = 1.0 + i as f64 / 2.0;
            let work = j.hours_per_pool[0] / h + j.hours_per_pool[1] / (2.0 * h);
            assert!((work - 1.0).abs() < 1e-5, "job {i}: {j:?}");
            assert!(
                j.first_run_h <= j.half_work_h && j.jct_hours >= h - 1e-6,
                "{j:?}"
            );
        }
        let mean = b.jobs.iter().map(|j| j.jct_hours).sum::<f64>() / 4.0;
        assert!((mean - b.avg_jct_hours).abs() < 1e-5, "{mean} vs {b:?}");
    }

    #[test]
    fn jobs_that_queue_for_one_accelerator_are_bounded_above_the_no_queueing_bound() {
        // Three one-hour jobs at t = 0 on one accelerator: the best schedule ends them at 1, 2
        // and 3 h (average 2 h); the no-queueing bound says 1 h.
        let jobs: Vec<SimJob> = (0..3).map(|i| job(i, 0.0, &[1.0], 1)).collect();
        let b = lower_bound(&jobs, &cluster(&[1]), &options(0.25)).unwrap();
        assert!(
            b.avg_jct_hours > 1.7 && b.avg_jct_hours <= 2.0 + 1e-6,
            "{b:?}"
        );
        // A finer step is at least as tight.
        let finer = lower_bound(&jobs, &cluster(&[1]), &options(0.05)).unwrap();
        assert!(finer.avg_jct_hours >= b.avg_jct_hours - 1e-6, "{finer:?}");
        assert!(finer.avg_jct_hours > 1.9, "{finer:?}");
    }

    #[test]
    fn a_job_that_can_only_run_slowly_is_bounded_by_its_running_time() {
        // Two jobs at t = 0: one runs 1 h on the fast pool or 4 h on the slow one, the other
        // only on the fast pool (1 h). At best the first takes 1 h after the second or 4 h
        // beside it: (1 + 2) / 2 = 1.5 h; the mean busy time alone would allow less.
        let jobs = [job(0, 0.0, &[1.0, 4.0], 1), job(1, 0.0, &[1.0, 0.0], 1)];
        let b = lower_bound(&jobs, &cluster(&[1, 1]), &options(0.1)).unwrap();
        assert!(
            b.avg_jct_hours > 1.3 && b.avg_jct_hours <= 1.5 + 1e-6,
            "{b:?}"
        );
    }

    #[test]
    fn the_window_averages_over_its_jobs_only() {
        let jobs: Vec<SimJob> = (0..3).map(|i| job(i, 0.0, &[1.0], 1)).collect();
        let all = lower_bound(&jobs, &cluster(&[1]), &options(0.05)).unwrap();
        let mut first = options(0.05);
        first.window = Some(0..1);
        let one = lower_bound(&jobs, &cluster(&[1]), &first).unwrap();
        // One job alone can be served first: 1 h.
        assert!((one.avg_jct_hours - 1.0).abs() < 1e-3, "{one:?}");
        assert!(all.avg_jct_hours > one.avg_jct_hours);
    }

    #[test]
    fn bad_options_and_jobs_that_cannot_run_are_named() {
        let jobs = [job(7, 0.0, &[1.0], 4)];
        let e = lower_bound(&jobs, &cluster(&[2]), &options(0.5)).unwrap_err();
        assert!(e.to_string().contains("job 7") && e.to_string().contains("fits on no pool"));
        let jobs = [job(3, 0.0, &[0.0], 1)];
        let e = lower_bound(&jobs, &cluster(&[2]), &options(0.5)).unwrap_err();
        assert!(e.to_string().contains("can run on no pool"), "{e}");
        let e = lower_bound(&[], &cluster(&[2]), &options(0.0)).unwrap_err();
        assert!(e.to_string().contains("step"), "{e}");
        // A step of a few seconds over the horizon: refused before anything is built.
        let jobs = [job(0, 0.0, &[1.0], 1)];
        let e = lower_bound(&jobs, &cluster(&[1]), &options(1e-6)).unwrap_err();
        assert!(e.to_string().contains("columns"), "{e}");
    }
}
