//! Policies solved as linear programs over the job x pool time-fraction matrix `x`, with the
//! base constraints every allocation satisfies (Gavel's):
//! `x >= 0`, `sum_i sf_i x_ij <= capacity_j` for each pool, `sum_j x_ij <= 1` for each job.
//! Variable `x_ij` has index `i * m + j` (m pools); extra variables follow.

use super::{Allocation, PolicyInput};
use crate::solver::{Cmp, LinearProgram, LpSolver, MaxMinProblem, SolveError, solve_max_min};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

fn base_program(input: &PolicyInput<'_>, extra_vars: usize) -> LinearProgram {
    let n = input.jobs.len();
    let m = input.capacities.len();
    let mut lp = LinearProgram::new(n * m + extra_vars);
    for j in 0..m {
        let coeffs = (0..n)
            .map(|i| (i * m + j, f64::from(input.jobs[i].scale_factor)))
            .collect();
        lp.push(coeffs, Cmp::Le, f64::from(input.capacities[j]));
    }
    for i in 0..n {
        lp.push((0..m).map(|j| (i * m + j, 1.0)).collect(), Cmp::Le, 1.0);
    }
    lp
}

fn unflatten(input: &PolicyInput<'_>, x: &[f64]) -> Allocation {
    let m = input.capacities.len();
    input
        .jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let row = (0..m).map(|j| x[i * m + j].clamp(0.0, 1.0)).collect();
            (job.id, row)
        })
        .collect()
}

/// `maximize min_i sum_j coef_ij x_ij` under the base constraints.
///
/// With `aggregate`, jobs with the same gang size and coefficients are solved as one class
/// (`sum_k n_k sf_k x_kj <= capacity_j`): the problem is symmetric in such jobs, so some optimum
/// gives them equal rows and the optimal value is unchanged, while the LP shrinks from jobs to
/// classes (Gavel's 2,048 jobs are at most 83 classes). The interior point the solver returns on
/// a non-unique optimum can differ from the per-job LP's (the classes' barrier terms are not
/// weighted by their sizes); with equal pool capacities, as in Gavel's experiments, the two agree.
pub(crate) fn max_min(
    input: &PolicyInput<'_>,
    coef: impl Fn(usize, usize) -> f64,
    aggregate: bool,
    specialized: bool,
    solver: &dyn LpSolver,
    time_limit: Duration,
) -> Result<Vec<f64>, SolveError> {
    let n = input.jobs.len();
    let m = input.capacities.len();
    // Class of each job, and per class: (members, gang size, coefficient row).
    let mut class_of = Vec::with_capacity(n);
    let mut classes: Vec<(u32, u32, Vec<f64>)> = Vec::new();
    let mut index: std::collections::HashMap<(u32, Vec<u64>), usize> =
        std::collections::HashMap::new();
    for i in 0..n {
        let row: Vec<f64> = (0..m).map(|j| coef(i, j)).collect();
        let sf = input.jobs[i].scale_factor;
        let k = if aggregate {
            let key = (sf, row.iter().map(|c| c.to_bits()).collect());
            *index.entry(key).or_insert_with(|| {
                classes.push((0, sf, row.clone()));
                classes.len() - 1
            })
        } else {
            classes.push((0, sf, row));
            classes.len() - 1
        };
        classes[k].0 += 1;
        class_of.push(k);
    }
    let c = classes.len();
    let z = c * m;
    let expand = |x: &[f64], zval: f64| {
        let mut out = Vec::with_capacity(n * m + 1);
        for &k in &class_of {
            out.extend_from_slice(&x[k * m..(k + 1) * m]);
        }
        out.push(zval);
        out
    };
    if specialized {
        let problem = MaxMinProblem::new(
            classes
                .iter()
                .map(|(count, sf, _)| f64::from(*count) * f64::from(*sf))
                .collect(),
            classes
                .iter()
                .flat_map(|(_, _, row)| row.iter().copied())
                .collect(),
            input.capacities.iter().map(|&c| f64::from(c)).collect(),
        );
        // Fall back to the general solver should the specialized one not converge.
        if let Ok((x, zval)) = solve_max_min(&problem) {
            return Ok(expand(&x, zval));
        }
    }
    let mut lp = LinearProgram::new(c * m + 1);
    for j in 0..m {
        let coeffs = classes
            .iter()
            .enumerate()
            .map(|(k, (count, sf, _))| (k * m + j, f64::from(*count) * f64::from(*sf)))
            .collect();
        lp.push(coeffs, Cmp::Le, f64::from(input.capacities[j]));
    }
    for k in 0..c {
        lp.push((0..m).map(|j| (k * m + j, 1.0)).collect(), Cmp::Le, 1.0);
    }
    for (k, (_, _, row)) in classes.iter().enumerate() {
        let mut coeffs: Vec<(usize, f64)> = vec![(z, 1.0)];
        coeffs.extend((0..m).map(|j| (k * m + j, -row[j])));
        lp.push(coeffs, Cmp::Le, 0.0);
    }
    lp.objective = vec![(z, 1.0)];
    let x = solver.solve(&lp, time_limit)?;
    Ok(expand(&x[..z], x[z]))
}

/// Gavel's max-min fairness. Agnostic (LAS): every throughput counts as 1, so the objective is
/// the weighted share of the cluster. Aware: throughputs are normalized by what the job would get
/// under the agnostic allocation, so each job's objective term is its speed-up over an equal share.
#[allow(clippy::too_many_arguments)]
pub(crate) fn max_min_fairness(
    input: &PolicyInput<'_>,
    aware: bool,
    aggregate: bool,
    specialized: bool,
    cache: Option<&mut AgnosticCache>,
    solver: &dyn LpSolver,
    time_limit: Duration,
) -> Result<Allocation, SolveError> {
    let m = input.capacities.len();
    let jobs = input.jobs;
    let class_of = |i: usize| (jobs[i].scale_factor, jobs[i].priority_weight.to_bits());
    let agnostic = match (symmetric_equal_share(input), cache) {
        (Some(x), _) if aggregate => x,
        (None, Some(cache)) if aggregate => {
            // The agnostic LP depends only on how many jobs of each (gang size, weight) there
            // are and on the capacities; the same mix recurs often in a simulation.
            let mut counts: BTreeMap<(u32, u64), u64> = BTreeMap::new();
            for i in 0..jobs.len() {
                *counts.entry(class_of(i)).or_default() += 1;
            }
            let mut key: Vec<u64> = counts
                .iter()
                .flat_map(|(&(sf, w), &c)| [u64::from(sf), w, c])
                .collect();
            key.extend(input.capacities.iter().map(|&c| u64::from(c)));
            if !cache.contains_key(&key) {
                let x = max_min(
                    input,
                    |i, _| f64::from(jobs[i].scale_factor) / jobs[i].priority_weight,
                    aggregate,
                    specialized,
                    solver,
                    time_limit,
                )?;
                let mut rows = BTreeMap::new();
                for i in 0..jobs.len() {
                    rows.entry(class_of(i))
                        .or_insert_with(|| x[i * m..(i + 1) * m].to_vec());
                }
                if cache.len() > 10_000 {
                    cache.clear();
                }
                cache.insert(key.clone(), rows);
            }
            let rows = &cache[&key];
            let mut x: Vec<f64> = (0..jobs.len())
                .flat_map(|i| rows[&class_of(i)].iter().copied())
                .collect();
            x.push(0.0);
            x
        }
        _ => max_min(
            input,
            |i, _| f64::from(jobs[i].scale_factor) / jobs[i].priority_weight,
            aggregate,
            specialized,
            solver,
            time_limit,
        )?,
    };
    if !aware {
        return Ok(unflatten(input, &agnostic));
    }
    let isolated: Vec<f64> = (0..jobs.len())
        .map(|i| {
            let t: f64 = (0..m)
                .map(|j| jobs[i].throughputs[j] * agnostic[i * m + j].clamp(0.0, 1.0))
                .sum();
            // A job the equal share cannot serve at all is normalized by its best speed.
            if t > 1e-12 {
                t
            } else {
                jobs[i].throughputs.iter().copied().fold(1e-12, f64::max)
            }
        })
        .collect();
    let x = max_min(
        input,
        |i, j| {
            jobs[i].throughputs[j] * f64::from(jobs[i].scale_factor)
                / (jobs[i].priority_weight * isolated[i])
        },
        aggregate,
        specialized,
        solver,
        time_limit,
    )?;
    Ok(unflatten(input, &x))
}

/// Agnostic max-min rows per (gang size, weight bits), keyed by the class counts and capacities.
pub(crate) type AgnosticCache = HashMap<Vec<u64>, BTreeMap<(u32, u64), Vec<f64>>>;

/// The agnostic max-min allocation in closed form when it is fully symmetric: every job has the
/// same gang size and weight and every pool the same capacity. Each job then gets the share
/// `X = min(1, total capacity / (n sf))` spread evenly over the pools, which is the unique point
/// of the optimal face that is invariant under permuting jobs and pools, hence the one an
/// interior-point solver converges to.
fn symmetric_equal_share(input: &PolicyInput<'_>) -> Option<Vec<f64>> {
    let first = input.jobs.first()?;
    let cap = *input.capacities.first()?;
    if input.capacities.iter().any(|&c| c != cap)
        || input.jobs.iter().any(|j| {
            j.scale_factor != first.scale_factor || j.priority_weight != first.priority_weight
        })
    {
        return None;
    }
    let m = input.capacities.len();
    let n = input.jobs.len();
    let total = f64::from(cap) * m as f64;
    let share = (total / (n as f64 * f64::from(first.scale_factor))).min(1.0);
    let mut x = vec![share / m as f64; n * m];
    x.push(share * f64::from(first.scale_factor) / first.priority_weight);
    Some(x)
}

/// The largest rate `s` such that every job can run `remaining_i * s` steps per second:
/// `1 / s` is the shortest time in which all active jobs can finish.
pub(crate) fn best_completion_time(
    input: &PolicyInput<'_>,
    solver: &dyn LpSolver,
    time_limit: Duration,
) -> Result<f64, SolveError> {
    let n = input.jobs.len();
    let m = input.capacities.len();
    let s = n * m;
    let mut lp = base_program(input, 1);
    for (i, job) in input.jobs.iter().enumerate() {
        let mut coeffs: Vec<(usize, f64)> =
            (0..m).map(|j| (i * m + j, job.throughputs[j])).collect();
        coeffs.push((s, -(job.remaining_steps as f64)));
        lp.push(coeffs, Cmp::Ge, 0.0);
    }
    lp.objective = vec![(s, 1.0)];
    let x = solver.solve(&lp, time_limit)?;
    Ok(if x[s] > 0.0 {
        1.0 / x[s]
    } else {
        f64::INFINITY
    })
}

/// The makespan problems for the specialized interior point: per job its gang size and its
/// throughputs scaled by `scale / remaining steps`.
fn makespan_problem(input: &PolicyInput<'_>, scale: f64) -> MaxMinProblem {
    let m = input.capacities.len();
    MaxMinProblem::new(
        input
            .jobs
            .iter()
            .map(|j| f64::from(j.scale_factor))
            .collect(),
        input
            .jobs
            .iter()
            .flat_map(|j| (0..m).map(move |p| j.throughputs[p] * scale / j.remaining_steps as f64))
            .collect(),
        input.capacities.iter().map(|&c| f64::from(c)).collect(),
    )
}

/// [`best_completion_time`] with the specialized interior point: rows scaled by the time
/// `tau` the longest job would take alone at full speed, so that the optimum `z = tau / T*` is
/// of order 1.
pub(crate) fn best_completion_time_specialized(input: &PolicyInput<'_>) -> Result<f64, SolveError> {
    let tau = input
        .jobs
        .iter()
        .map(|j| {
            let best = j.throughputs.iter().copied().fold(0.0, f64::max);
            j.remaining_steps as f64 / best.max(1e-12)
        })
        .fold(1.0, f64::max);
    let (_, z) = solve_max_min(&makespan_problem(input, tau))?;
    Ok(if z > 0.0 { tau / z } else { f64::INFINITY })
}

/// Feasibility of finishing every job within `t` seconds; returns an interior feasible point.
fn finish_within(
    input: &PolicyInput<'_>,
    t: f64,
    solver: &dyn LpSolver,
    time_limit: Duration,
) -> Result<Vec<f64>, SolveError> {
    let m = input.capacities.len();
    let mut lp = base_program(input, 0);
    for (i, job) in input.jobs.iter().enumerate() {
        let coeffs = (0..m).map(|j| (i * m + j, job.throughputs[j])).collect();
        lp.push(coeffs, Cmp::Ge, job.remaining_steps as f64 / t);
    }
    solver.solve(&lp, time_limit)
}

/// Minimum total duration (makespan). Gavel binary-searches the completion time `T` between
/// 100 s and 10^6 s (widening tenfold when needed) until the bracket is within 5%, and keeps the
/// feasible point found at the last feasible `T`. We compute the exact optimum `T*` with one LP,
/// replay the same bisection arithmetic against it (`T` is feasible iff `T >= T*`), and solve the
/// feasibility problem once at the `T` that bisection would end on, so the allocation keeps the
/// same slack as Gavel's.
pub(crate) fn min_total_duration(
    input: &PolicyInput<'_>,
    specialized: bool,
    solver: &dyn LpSolver,
    time_limit: Duration,
) -> Result<Allocation, SolveError> {
    let best = match specialized {
        true => best_completion_time_specialized(input)
            .or_else(|_| best_completion_time(input, solver, time_limit))?,
        false => best_completion_time(input, solver, time_limit)?,
    };
    if !best.is_finite() {
        return Err(SolveError::Infeasible);
    }
    let mut max_t = 1e6_f64;
    let mut min_t = 100.0_f64;
    let mut last_max_t = max_t;
    let mut feasible_t = None;
    while feasible_t.is_none() {
        while 1.05 * min_t < max_t {
            let t = (min_t + max_t) / 2.0;
            if t >= best {
                feasible_t = Some(t);
                max_t = t;
            } else {
                min_t = t;
            }
        }
        max_t = last_max_t * 10.0;
        min_t = last_max_t;
        last_max_t *= 10.0;
        if last_max_t > 1e30 {
            return Err(SolveError::Infeasible);
        }
    }
    let t = feasible_t.expect("loop ends with a feasible T");
    // The feasibility point stays with the general solver: with a zero objective an interior-point
    // solver stops at the first feasible iterate, and which one that is depends on its start and
    // steps; Clarabel's lands where ECOS's does (see the parity table), the analytic center that
    // the specialized method would return does not (+76% average JCT on Gavel's static trace).
    let x = finish_within(input, t, solver, time_limit)?;
    Ok(unflatten(input, &x))
}

/// Maximum total throughput, each job's throughput normalized by its fastest pool's.
pub(crate) fn max_sum_throughput(
    input: &PolicyInput<'_>,
    solver: &dyn LpSolver,
    time_limit: Duration,
) -> Result<Allocation, SolveError> {
    let m = input.capacities.len();
    let mut lp = base_program(input, 0);
    for (i, job) in input.jobs.iter().enumerate() {
        let best = job.throughputs.iter().copied().fold(0.0, f64::max);
        if best > 0.0 {
            for j in 0..m {
                lp.objective.push((
                    i * m + j,
                    job.throughputs[j] * f64::from(job.scale_factor) / best,
                ));
            }
        }
    }
    let x = solver.solve(&lp, time_limit)?;
    Ok(unflatten(input, &x))
}

/// Maximum normalized throughput per dollar; with `slos`, each job with a deadline must be
/// allocated enough throughput to finish by it (when no allocation can meet every deadline, the
/// deadlines are dropped for this allocation rather than leaving the cluster idle).
pub(crate) fn throughput_per_cost(
    input: &PolicyInput<'_>,
    slos: bool,
    solver: &dyn LpSolver,
    time_limit: Duration,
) -> Result<Allocation, SolveError> {
    let m = input.capacities.len();
    let mut lp = base_program(input, 0);
    for (i, job) in input.jobs.iter().enumerate() {
        let best = job.throughputs.iter().copied().fold(0.0, f64::max);
        for j in 0..m {
            let price = input.prices[j].unwrap_or(0.0) * f64::from(job.scale_factor);
            if best > 0.0 && price > 0.0 {
                lp.objective
                    .push((i * m + j, job.throughputs[j] / best / price));
            }
        }
    }
    if slos {
        let mut with_slos = lp.clone();
        for (i, job) in input.jobs.iter().enumerate() {
            if let Some(left) = job.time_to_deadline_s {
                let need = job.remaining_steps as f64 / left.max(1.0);
                let coeffs = (0..m).map(|j| (i * m + j, job.throughputs[j])).collect();
                with_slos.push(coeffs, Cmp::Ge, need);
            }
        }
        match solver.solve(&with_slos, time_limit) {
            Ok(x) => return Ok(unflatten(input, &x)),
            Err(SolveError::Infeasible) => {}
            Err(e) => return Err(e),
        }
    }
    let x = solver.solve(&lp, time_limit)?;
    Ok(unflatten(input, &x))
}

/// Finish-time fairness (Themis): minimize the largest ratio `rho_i` of a job's finish time
/// under the allocation to its finish time on an equal (agnostic max-min) share of the cluster.
/// `rho_i <= rho` is linear in `x` for a fixed `rho`, so we bisect on `rho` (to 1%).
pub(crate) fn finish_time_fairness(
    input: &PolicyInput<'_>,
    solver: &dyn LpSolver,
    time_limit: Duration,
) -> Result<Allocation, SolveError> {
    let m = input.capacities.len();
    let jobs = input.jobs;
    let share = max_min_fairness(input, false, true, true, None, solver, time_limit)?;
    let isolated_finish: Vec<f64> = jobs
        .iter()
        .map(|job| {
            let rate: f64 = (0..m)
                .map(|j| job.throughputs[j] * share[&job.id][j])
                .sum::<f64>()
                .max(1e-12);
            job.time_since_arrival_s + job.remaining_steps as f64 / rate
        })
        .collect();
    let attempt = |rho: f64| {
        let mut lp = base_program(input, 0);
        for (i, job) in jobs.iter().enumerate() {
            let budget = rho * isolated_finish[i] - job.time_since_arrival_s;
            if budget <= 0.0 {
                return Err(SolveError::Infeasible);
            }
            let coeffs = (0..m).map(|j| (i * m + j, job.throughputs[j])).collect();
            lp.push(coeffs, Cmp::Ge, job.remaining_steps as f64 / budget);
        }
        solver.solve(&lp, time_limit)
    };
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    let mut best = None;
    while best.is_none() {
        match attempt(hi) {
            Ok(x) => best = Some(x),
            Err(SolveError::Infeasible) if hi < 1e9 => {
                lo = hi;
                hi *= 2.0;
            }
            Err(e) => return Err(e),
        }
    }
    while hi > lo * 1.01 + 1e-9 {
        let mid = (lo + hi) / 2.0;
        match attempt(mid) {
            Ok(x) => {
                best = Some(x);
                hi = mid;
            }
            Err(SolveError::Infeasible) => lo = mid,
            Err(e) => return Err(e),
        }
    }
    Ok(unflatten(input, &best.expect("found a feasible rho")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JobId;
    use crate::policy::PolicyJob;
    use crate::solver::ClarabelSolver;

    fn job(id: u64, sf: u32, thr: &[f64], remaining: u64) -> PolicyJob {
        PolicyJob {
            id: JobId(id),
            scale_factor: sf,
            throughputs: thr.to_vec(),
            priority_weight: 1.0,
            remaining_steps: remaining,
            time_since_arrival_s: 0.0,
            time_to_deadline_s: None,
        }
    }

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn agnostic_max_min_gives_equal_shares() {
        let jobs: Vec<PolicyJob> = (0..4).map(|i| job(i, 1, &[4.0, 1.0], 10)).collect();
        let names = vec!["a".to_string(), "b".to_string()];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[1, 1],
            pool_names: &names,
            prices: &[None, None],
        };
        let a = max_min_fairness(&input, false, true, true, None, &ClarabelSolver, LIMIT).unwrap();
        for row in a.values() {
            assert!((row.iter().sum::<f64>() - 0.5).abs() < 1e-4, "{row:?}");
        }
    }

    #[test]
    fn closed_form_equal_share_matches_the_lp() {
        for n in [2u64, 5, 9] {
            let jobs: Vec<PolicyJob> = (0..n).map(|i| job(i, 2, &[4.0, 1.0, 2.0], 10)).collect();
            let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
            let input = PolicyInput {
                jobs: &jobs,
                capacities: &[4, 4, 4],
                pool_names: &names,
                prices: &[None, None, None],
            };
            let closed = symmetric_equal_share(&input).unwrap();
            let coef = |i: usize, _: usize| f64::from(jobs[i].scale_factor);
            let lp = max_min(&input, coef, false, false, &ClarabelSolver, LIMIT).unwrap();
            for (a, b) in closed.iter().zip(&lp) {
                assert!((a - b).abs() < 1e-5, "n={n}: {closed:?} vs {lp:?}");
            }
        }
    }

    #[test]
    fn aware_max_min_moves_jobs_to_where_they_gain_most() {
        // Job 0 gains 10x on pool a, job 1 only 2x: a goes mostly to job 0.
        let jobs = vec![job(0, 1, &[10.0, 1.0], 10), job(1, 1, &[2.0, 1.0], 10)];
        let names = vec!["a".to_string(), "b".to_string()];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[1, 1],
            pool_names: &names,
            prices: &[None, None],
        };
        let a = max_min_fairness(&input, true, true, true, None, &ClarabelSolver, LIMIT).unwrap();
        assert!(a[&JobId(0)][0] > a[&JobId(1)][0], "{a:?}");
        assert!(a[&JobId(1)][1] > a[&JobId(0)][1], "{a:?}");
    }

    #[test]
    fn min_total_duration_can_finish_everything_in_time() {
        let jobs = vec![job(0, 1, &[2.0, 1.0], 7200), job(1, 1, &[1.0, 1.0], 3600)];
        let names = vec!["a".to_string(), "b".to_string()];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[1, 1],
            pool_names: &names,
            prices: &[None, None],
        };
        let best = best_completion_time(&input, &ClarabelSolver, LIMIT).unwrap();
        // Job 0 on a (3600 s), job 1 on b (3600 s).
        assert!((best - 3600.0).abs() < 1.0, "{best}");
        let a = min_total_duration(&input, true, &ClarabelSolver, LIMIT).unwrap();
        let rate0 = 2.0 * a[&JobId(0)][0] + a[&JobId(0)][1];
        assert!(rate0 * 3600.0 * 1.06 >= 7200.0, "{a:?}");
    }
}
