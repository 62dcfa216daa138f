//! Property tests: allocation invariants for every policy, two LP backends agreeing on optimal
//! values, and every job of a feasible workload finishing under the round mechanism.

use super::lp;
use super::{LpOptions, PolicyInput, PolicyJob, PolicyKind, allocate_once};
use crate::solver::{ClarabelSolver, DenseSimplex, LpSolver, MaxMinProblem, solve_max_min};
use crate::{Cluster, JobId, JobSpec, Pool, RoundReport, Scheduler, SchedulerConfig, SimTime};
use proptest::prelude::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
struct Case {
    caps: Vec<u32>,
    jobs: Vec<PolicyJob>,
    names: Vec<String>,
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..=3)
        .prop_flat_map(|m| {
            (
                prop::collection::vec(1u32..=8, m),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![1u32, 2, 4]),
                        prop::collection::vec(prop_oneof![Just(0.0), 0.5f64..10.0], m),
                        1u64..20_000,
                        prop::sample::select(vec![1.0, 2.0]),
                    ),
                    1..=8,
                ),
            )
        })
        .prop_map(|(caps, raw)| {
            let largest = (0..caps.len()).max_by_key(|&p| caps[p]).unwrap_or(0);
            let jobs = raw
                .into_iter()
                .enumerate()
                .map(|(i, (sf, mut thr, remaining, weight))| {
                    let sf = sf.min(caps[largest]);
                    let usable = (0..caps.len()).any(|p| thr[p] > 0.0 && caps[p] >= sf);
                    if !usable {
                        thr[largest] = 1.0;
                    }
                    PolicyJob {
                        id: JobId(i as u64),
                        scale_factor: sf,
                        throughputs: thr,
                        priority_weight: weight,
                        remaining_steps: remaining,
                        time_since_arrival_s: 0.0,
                        time_to_deadline_s: None,
                    }
                })
                .collect();
            let names = (0..caps.len()).map(|p| format!("t{p}")).collect();
            Case { caps, jobs, names }
        })
}

fn input(case: &Case) -> (PolicyInput<'_>, Vec<Option<f64>>) {
    let prices = vec![Some(1.0); case.caps.len()];
    (
        PolicyInput {
            jobs: &case.jobs,
            capacities: &case.caps,
            pool_names: &case.names,
            prices: &[],
        },
        prices,
    )
}

const ALL: [PolicyKind; 11] = [
    PolicyKind::Fifo { aware: false },
    PolicyKind::Fifo { aware: true },
    PolicyKind::MaxMinFairness { aware: false },
    PolicyKind::MaxMinFairness { aware: true },
    PolicyKind::MinTotalDuration,
    PolicyKind::FinishTimeFairness,
    PolicyKind::MaxSumThroughput,
    PolicyKind::ThroughputPerCost { slos: false },
    PolicyKind::PriorityBackfill,
    PolicyKind::ShortestRemaining,
    PolicyKind::LeastAttained,
];

fn min_value(case: &Case, x: &[f64], coef: &dyn Fn(usize, usize) -> f64) -> f64 {
    let m = case.caps.len();
    (0..case.jobs.len())
        .map(|i| (0..m).map(|j| coef(i, j) * x[i * m + j]).sum::<f64>())
        .fold(f64::INFINITY, f64::min)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn allocations_respect_capacity_shares_and_zero_throughput(case in case()) {
        let (mut inp, prices) = input(&case);
        inp.prices = &prices;
        for kind in ALL {
            // FIFO-style policies may, like Gavel's agnostic FIFO, over-commit a pool on paper;
            // the mechanism still never runs more than a pool holds (checked below).
            let a = allocate_once(kind, &inp, &ClarabelSolver, &LpOptions::default()).unwrap();
            for (i, job) in case.jobs.iter().enumerate() {
                let row = &a[&JobId(i as u64)];
                prop_assert!(row.iter().sum::<f64>() <= 1.0 + 1e-6, "{kind}: {row:?}");
                for (x, t) in row.iter().zip(&job.throughputs) {
                    prop_assert!(*t > 0.0 || *x == 0.0, "{kind}: time where throughput is 0");
                }
            }
            if kind != (PolicyKind::Fifo { aware: false }) {
                for (p, &cap) in case.caps.iter().enumerate() {
                    let used: f64 = case.jobs.iter().enumerate()
                        .map(|(i, j)| f64::from(j.scale_factor) * a[&JobId(i as u64)][p])
                        .sum();
                    prop_assert!(used <= f64::from(cap) + 1e-5, "{kind}: pool {p} {used}");
                }
            }
        }
    }

    #[test]
    fn interior_point_and_simplex_agree_on_max_min_optimum(case in case()) {
        let (inp, _) = input(&case);
        let jobs = &case.jobs;
        let agnostic = |i: usize, _: usize| f64::from(jobs[i].scale_factor) / jobs[i].priority_weight;
        let aware = |i: usize, j: usize| jobs[i].throughputs[j] * f64::from(jobs[i].scale_factor);
        for coef in [&agnostic as &dyn Fn(usize, usize) -> f64, &aware] {
            let mut values = Vec::new();
            for solver in [&ClarabelSolver as &dyn LpSolver, &DenseSimplex] {
                for aggregate in [false, true] {
                    let x = lp::max_min(&inp, coef, aggregate, false, solver, LIMIT).unwrap();
                    values.push(min_value(&case, &x, coef));
                }
            }
            // The specialized interior point (per job and per class).
            for aggregate in [false, true] {
                let x = lp::max_min(&inp, coef, aggregate, true, &DenseSimplex, LIMIT).unwrap();
                values.push(min_value(&case, &x, coef));
            }
            // The specialized method on its own (no fallback to a general solver).
            let m = case.caps.len();
            let problem = MaxMinProblem::new(jobs.iter().map(|j| f64::from(j.scale_factor)).collect(), (0..jobs.len()).flat_map(|i| (0..m).map(move |j| (i, j))).map(|(i, j)| coef(i, j)).collect(), case.caps.iter().map(|&c| f64::from(c)).collect());
            // It may decline a degenerate problem (the policies then fall back to Clarabel, as
            // the `max_min(.., true, ..)` values above do); when it answers, it must agree.
            if let Ok((x, _)) = solve_max_min(&problem) {
                let mut with_z = x.clone();
                with_z.push(0.0);
                values.push(min_value(&case, &with_z, coef));
            }
            let scale = values[2].abs().max(1.0);
            // Clarabel and the simplex (first four) agree to 1e-5; the specialized method stops
            // earlier on degenerate problems (its normal equations lose accuracy first) and is
            // held to 1e-4.
            for (i, v) in values.iter().enumerate() {
                let tol = if i < 4 { 1e-5 } else { 1e-4 };
                prop_assert!((v - values[2]).abs() <= tol * scale, "{values:?}");
            }
        }
    }

    #[test]
    fn interior_point_and_simplex_agree_on_min_total_duration(case in case()) {
        let (inp, _) = input(&case);
        let a = lp::best_completion_time(&inp, &ClarabelSolver, LIMIT).unwrap();
        let b = lp::best_completion_time(&inp, &DenseSimplex, LIMIT).unwrap();
        prop_assert!((a - b).abs() <= 1e-4 * b.max(1.0), "{a} vs {b}");
    }

    #[test]
    fn every_job_of_a_feasible_workload_finishes(case in case(), policy in 0usize..ALL.len()) {
        let kind = ALL[policy];
        let pools = case.caps.iter().enumerate()
            .map(|(p, &c)| Pool { name: case.names[p].clone(), capacity: c, price_per_hour: Some(1.0) })
            .collect();
        let cluster = Cluster::new(pools).unwrap();
        let config = SchedulerConfig { min_reallocation_interval_s: 0.0, ..SchedulerConfig::default() };
        let mut s = Scheduler::new(cluster, kind, config);
        for job in &case.jobs {
            s.submit(JobSpec {
                id: job.id,
                scale_factor: job.scale_factor,
                total_steps: job.remaining_steps,
                throughputs: job.throughputs.clone(),
                priority_weight: job.priority_weight,
                arrival: SimTime::ZERO,
                deadline: None,
            }).unwrap();
        }
        let mut now = SimTime::ZERO;
        let mut finished = 0;
        for _ in 0..100_000 {
            let plan = s.plan_round(now).unwrap();
            let mut used = vec![0u32; case.caps.len()];
            for p in &plan.placements {
                used[p.pool.0] += p.workers.len() as u32;
                prop_assert!(case.jobs[p.job.0 as usize].throughputs[p.pool.0] > 0.0);
            }
            for (p, u) in used.iter().enumerate() {
                prop_assert!(*u <= case.caps[p], "pool {p} holds {} but runs {u}", case.caps[p]);
            }
            if plan.placements.is_empty() {
                s.force_reallocation();
            }
            let longest = plan.placements.iter().map(|p| p.expected_duration_s).fold(1.0, f64::max);
            let reports: Vec<RoundReport> = plan.reports_as_planned();
            finished += s.record_round(&reports).len();
            now = now.plus_secs_ceil(longest);
            if finished == case.jobs.len() {
                break;
            }
        }
        prop_assert_eq!(finished, case.jobs.len(), "{} left under {}", s.active_jobs(), kind);
    }
}
