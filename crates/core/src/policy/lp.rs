//! Policies solved as linear programs over the job x pool time-fraction matrix `x`, with the
//! base constraints every allocation satisfies (Gavel's):
//! `x >= 0`, `sum_i sf_i x_ij <= capacity_j` for each pool, `sum_j x_ij <= 1` for each job.
//! Variable `x_ij` has index `i * m + j` (m pools); extra variables follow.

use super::{Allocation, PolicyInput};
use crate::live::BuildNameHasher;
use crate::solver::{
    Cmp, LinearProgram, LpSolver, MakespanLp, MaxMinProblem, SolveError, solve_finish_within,
    solve_max_min,
};
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
    // Classes by (gang size, coefficients' bits), one list: looked up with a key written into
    // the same buffer for every job, and copied only for a new class (an allocation is
    // recomputed for thousands of jobs, tens of thousands of times in a long simulation).
    let mut index: HashMap<Vec<u64>, usize, BuildNameHasher> = HashMap::default();
    let mut key: Vec<u64> = Vec::with_capacity(m + 1);
    for i in 0..n {
        let sf = input.jobs[i].scale_factor;
        let k = if aggregate {
            key.clear();
            key.push(u64::from(sf));
            key.extend((0..m).map(|j| coef(i, j).to_bits()));
            match index.get(key.as_slice()) {
                Some(&k) => k,
                None => {
                    let k = classes.len();
                    classes.push((0, sf, key[1..].iter().map(|&b| f64::from_bits(b)).collect()));
                    index.insert(key.clone(), k);
                    k
                }
            }
        } else {
            classes.push((0, sf, (0..m).map(|j| coef(i, j)).collect()));
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
                jobs[i].best_throughput().max(1e-12)
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

/// The minimum-makespan LPs' data for `input`.
fn makespan_lp(input: &PolicyInput<'_>) -> MakespanLp {
    let m = input.capacities.len();
    let jobs = input.jobs;
    MakespanLp {
        capacities: input.capacities.iter().map(|&c| f64::from(c)).collect(),
        gang: jobs.iter().map(|j| f64::from(j.scale_factor)).collect(),
        throughputs: jobs
            .iter()
            .flat_map(|j| j.throughputs[..m].iter().copied())
            .collect(),
        steps: jobs.iter().map(|j| j.remaining_steps as f64).collect(),
    }
}

/// The shortest time in which all active jobs can finish, `1 / s` for the largest rate `s`
/// such that every job can run `remaining_i * s` steps per second.
///
/// The LP is solved for `s` times [`longest_alone`], so that its optimum is of order 1 (it is
/// 1 when the longest job is what bounds the makespan): the solver's tolerances are absolute,
/// and unscaled rates are of order 1e-6.
pub(crate) fn best_completion_time(
    input: &PolicyInput<'_>,
    solver: &dyn LpSolver,
    time_limit: Duration,
) -> Result<f64, SolveError> {
    let floor = longest_alone(input);
    if !floor.is_finite() {
        // Some job runs nowhere.
        return Ok(f64::INFINITY);
    }
    let mut lp = makespan_lp(input);
    lp.steps.iter_mut().for_each(|s| *s /= floor);
    let lp = lp.max_rate();
    let rate = solver.solve(&lp, time_limit)?[lp.num_vars - 1];
    Ok(if rate > 0.0 {
        floor / rate
    } else {
        f64::INFINITY
    })
}

/// The time the longest job would take alone on its fastest pool, a lower bound on the time in
/// which all can finish (no job runs faster than on its fastest pool all the time); at least 1 s.
fn longest_alone(input: &PolicyInput<'_>) -> f64 {
    input
        .jobs
        .iter()
        .map(|j| j.remaining_steps as f64 / j.best_throughput())
        .fold(1.0, f64::max)
}

/// Gavel's bisection of the completion time `T`: from `[100, 10^6]` s (widening tenfold while no
/// `T` is feasible) until the bracket is within 5%; the last feasible `T`.
fn gavel_bisection(feasible: impl Fn(f64) -> bool) -> Result<f64, SolveError> {
    let mut max_t = 1e6_f64;
    let mut min_t = 100.0_f64;
    let mut last_max_t = max_t;
    let mut feasible_t = None;
    while feasible_t.is_none() {
        while 1.05 * min_t < max_t {
            let t = (min_t + max_t) / 2.0;
            if feasible(t) {
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
    Ok(feasible_t.expect("the loop ends with a feasible T"))
}

/// The largest time any job takes to finish under the allocation `x` made exactly feasible
/// (negative parts dropped, a job's shares over 1 and a pool's use over its capacity scaled
/// down): an upper bound on the optimal completion time.
fn completion_time_of(input: &PolicyInput<'_>, x: &[f64]) -> f64 {
    let m = input.capacities.len();
    let n = input.jobs.len();
    let mut x: Vec<f64> = x[..n * m].iter().map(|v| v.max(0.0)).collect();
    for row in x.chunks_exact_mut(m) {
        let sum: f64 = row.iter().sum();
        if sum > 1.0 {
            row.iter_mut().for_each(|v| *v /= sum);
        }
    }
    for j in 0..m {
        let used: f64 = (0..n)
            .map(|i| f64::from(input.jobs[i].scale_factor) * x[i * m + j])
            .sum();
        if used > f64::from(input.capacities[j]) {
            let f = f64::from(input.capacities[j]) / used;
            (0..n).for_each(|i| x[i * m + j] *= f);
        }
    }
    input
        .jobs
        .iter()
        .zip(x.chunks_exact(m))
        .map(|(job, row)| {
            let rate: f64 = row.iter().zip(&job.throughputs).map(|(x, t)| x * t).sum();
            job.remaining_steps as f64 / rate
        })
        .fold(0.0, f64::max)
}

/// Minimum total duration (makespan). Gavel binary-searches the completion time `T` between
/// 100 s and 10^6 s (widening tenfold when needed) until the bracket is within 5%, and keeps the
/// feasible point found at the last feasible `T`. We find the `T` that bisection ends on from the
/// optimum `T*` (`T` is feasible iff `T >= T*`) and solve the feasibility problem once, at that
/// `T`, so the allocation keeps the same slack as Gavel's.
///
/// The feasibility problem has no objective, so the allocation is wherever an interior-point
/// solver stops; Clarabel's point lands where ECOS's does (see the parity table), the analytic
/// center does not (+76% average JCT on Gavel's static trace). The specialized path runs
/// Clarabel's own method on the problem's structure ([`solve_finish_within`]), the general path
/// Clarabel itself.
///
/// The specialized path also mostly avoids solving for `T*`: the bisection only compares `T*`
/// with its midpoints, and `T*` is at least [`longest_alone`] (and equal to it in 93% of the
/// allocations of Gavel's three traces). So it first assumes `T* = longest_alone`, which gives
/// the `T` the bisection would end on, and solves the feasibility problem there. If the point
/// found proves that `T` feasible ([`completion_time_of`] at most `T`), every step of the
/// bisection has the answer it assumed (midpoints below the floor are infeasible, those at or
/// above `T` feasible, and it visits none in between), so that `T` and that point are Gavel's.
/// That holds for all 1,380 allocations of the three traces; otherwise Clarabel solves for `T*`.
pub(crate) fn min_total_duration(
    input: &PolicyInput<'_>,
    specialized: bool,
    solver: &dyn LpSolver,
    time_limit: Duration,
) -> Result<Allocation, SolveError> {
    let lp = makespan_lp(input);
    let general = |t: f64| solver.solve(&lp.finish_within(t), time_limit);
    if !specialized {
        let best = best_completion_time(input, solver, time_limit)?;
        let x = general(gavel_bisection(|t| t >= best)?)?;
        return Ok(unflatten(input, &x));
    }
    let floor = longest_alone(input);
    let guess = gavel_bisection(|t| t >= floor)?;
    let at_guess = solve_finish_within(&lp, guess, time_limit);
    if let Ok(x) = &at_guess
        && completion_time_of(input, x) <= guess
    {
        return Ok(unflatten(input, x));
    }
    let best = best_completion_time(input, solver, time_limit)?;
    let t = gavel_bisection(|t| t >= best)?;
    let x = match at_guess {
        Ok(x) if t == guess => x,
        _ => solve_finish_within(&lp, t, time_limit).or_else(|_| general(t))?,
    };
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
        let best = job.best_throughput();
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
        let best = job.best_throughput();
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

    /// The specialized path (the floor guess, or `T*` from Clarabel, and the point from the
    /// makespan interior point) and the general one (Clarabel for `T*` and for the point) end on
    /// the same `T` and the same point.
    fn assert_paths_agree(jobs: &[PolicyJob], capacities: &[u32]) {
        let names: Vec<String> = (0..capacities.len()).map(|j| format!("p{j}")).collect();
        let prices = vec![None; capacities.len()];
        let input = PolicyInput {
            jobs,
            capacities,
            pool_names: &names,
            prices: &prices,
        };
        let fast = min_total_duration(&input, true, &ClarabelSolver, LIMIT).unwrap();
        let general = min_total_duration(&input, false, &ClarabelSolver, LIMIT).unwrap();
        for (id, row) in &general {
            for (a, b) in row.iter().zip(&fast[id]) {
                assert!((a - b).abs() < 1e-5, "{id:?}: {row:?} vs {:?}", fast[id]);
            }
        }
    }

    #[test]
    fn the_floor_guess_ends_where_the_general_path_does() {
        // The longest job bounds the makespan: T* is the floor.
        let jobs: Vec<PolicyJob> = (0..12)
            .map(|i| {
                let thr = [[4.0, 2.0, 1.0], [3.0, 3.0, 0.0], [1.0, 0.5, 0.4]][i % 3];
                job(i as u64, [1, 2, 4][i % 3], &thr, 10_000 * (i as u64 + 1))
            })
            .collect();
        assert_paths_agree(&jobs, &[8, 8, 8]);
    }

    #[test]
    fn capacity_bound_makespans_take_the_slow_path_to_the_same_end() {
        // Four jobs that each finish in 1,000 s alone share two accelerators, so the guess at the
        // floor is infeasible.
        let jobs: Vec<PolicyJob> = (0..4).map(|i| job(i, 1, &[2.0, 1.0], 2000)).collect();
        let names = vec!["a".to_string(), "b".to_string()];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &[1, 1],
            pool_names: &names,
            prices: &[None, None],
        };
        // Together they run 3 steps/s on the two pools: T* = 8,000 / 3 s.
        let best = best_completion_time(&input, &ClarabelSolver, LIMIT).unwrap();
        assert!((best - 8000.0 / 3.0).abs() < 1e-3, "{best}");
        assert_paths_agree(&jobs, &[1, 1]);
    }
}
