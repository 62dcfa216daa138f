//! Clarabel's interior-point method, step for step, on the feasibility LP of the
//! minimum-makespan policy ("every job finishes within `t`"), with each Newton system solved from
//! its structure instead of by a sparse factorization.
//!
//! The LP: `x_ij >= 0` (job i, pool j), `sum_i g_i x_ij <= C_j` (pool rows), `sum_j x_ij <= 1`
//! (share rows) and `sum_j T_ij x_ij >= R_i / t` (demand rows), no objective.
//!
//! Why mimic Clarabel rather than solve it any correct way: with no objective, the point an
//! interior-point solver returns is wherever its iterates are when it stops, and the round
//! mechanism turns every value of that point into a priority. Gavel's results are matched with
//! Clarabel's point (ECOS's lands at the same place; the analytic center does not). So this
//! module runs the same algorithm on the same data: Ruiz equilibration (10 passes), the
//! homogeneous self-dual embedding started from Clarabel's least-squares point, the Mehrotra
//! predictor-corrector with one step length for primal and dual, the same static regularization
//! (1e-8) and the same termination tests. Only the linear algebra differs: the Newton matrix
//! `eps I + A' G A` is block diagonal (an m x m block per job) plus a rank-m term for the pool
//! rows, so the Woodbury identity solves it in O(jobs m^3), where Clarabel spends most of its
//! time ordering and factoring the sparse system. The iterates agree with Clarabel's to
//! rounding; see the cross-check tests.
//!
//! The normal equations are accurate here because a feasibility problem's dual iterates go to
//! zero (so `G` stays small). They are not for LPs with an objective whose constraints end up
//! tight, which is why the minimum-makespan optimum itself is left to Clarabel.
//!
//! Anything outside what the method is meant for (a Newton system that does not factor, slow
//! progress, infeasibility) returns an error: the caller then asks Clarabel itself.

use super::{Cmp, LinearProgram, SolveError};
use std::time::{Duration, Instant};

/// The data of the minimum-makespan LPs. Variable `x_ij` has index `i * m + j`.
#[derive(Debug, Clone, PartialEq)]
pub struct MakespanLp {
    /// `C_j`, accelerators in each pool.
    pub capacities: Vec<f64>,
    /// `g_i`, accelerators each job takes (its gang size).
    pub gang: Vec<f64>,
    /// `T_ij`, steps per second of job i on pool j, row-major.
    pub throughputs: Vec<f64>,
    /// `R_i`, steps each job has left.
    pub steps: Vec<f64>,
}

impl MakespanLp {
    fn jobs(&self) -> usize {
        self.gang.len()
    }

    fn pools(&self) -> usize {
        self.capacities.len()
    }

    /// The pool and share rows, in the order this module (and Clarabel) sees them.
    fn base(&self, extra_vars: usize) -> LinearProgram {
        let (n, m) = (self.jobs(), self.pools());
        let mut lp = LinearProgram::new(n * m + extra_vars);
        for j in 0..m {
            let coeffs = (0..n).map(|i| (i * m + j, self.gang[i])).collect();
            lp.push(coeffs, Cmp::Le, self.capacities[j]);
        }
        for i in 0..n {
            lp.push((0..m).map(|j| (i * m + j, 1.0)).collect(), Cmp::Le, 1.0);
        }
        lp
    }

    fn demand(&self, i: usize) -> Vec<(usize, f64)> {
        let m = self.pools();
        (0..m)
            .map(|j| (i * m + j, self.throughputs[i * m + j]))
            .collect()
    }

    /// "Every job finishes within `t` seconds" for a general backend: the LP that
    /// [`solve_finish_within`] solves.
    pub fn finish_within(&self, t: f64) -> LinearProgram {
        let mut lp = self.base(0);
        for i in 0..self.jobs() {
            lp.push(self.demand(i), Cmp::Ge, self.steps[i] / t);
        }
        lp
    }

    /// The largest rate `r` (the variable after the `x_ij`) such that every job runs
    /// `R_i r` steps per second: `1 / r` is the shortest time in which all can finish.
    pub fn max_rate(&self) -> LinearProgram {
        let rate = self.jobs() * self.pools();
        let mut lp = self.base(1);
        for i in 0..self.jobs() {
            let mut coeffs = self.demand(i);
            coeffs.push((rate, -self.steps[i]));
            lp.push(coeffs, Cmp::Ge, 0.0);
        }
        lp.objective = vec![(rate, 1.0)];
        lp
    }
}

/// Clarabel's default settings that the method depends on.
const EQUILIBRATE_PASSES: usize = 10;
const EQUILIBRATE_MIN: f64 = 1e-4;
const EQUILIBRATE_MAX: f64 = 1e4;
const STATIC_REGULARIZATION: f64 = 1e-8;
const TOL_GAP: f64 = 1e-8;
const TOL_FEAS: f64 = 1e-8;
const MAX_STEP_FRACTION: f64 = 0.99;
const MIN_STEP: f64 = 1e-4;
/// Clarabel's ratio `kappa / tau` above which it tests for infeasibility (`1e3 / tol_ktratio`).
const KT_INFEASIBLE: f64 = 1e9;
/// Fewer than Clarabel's 500 (set by our Clarabel backend): these LPs take 7 or 8 iterations,
/// and anything slower is handed to Clarabel.
const MAX_ITER: usize = 100;

/// Solves [`MakespanLp::finish_within`] as Clarabel would; returns the `x_ij`. Gives up after
/// `time_limit`.
pub fn solve_finish_within(
    p: &MakespanLp,
    t: f64,
    time_limit: Duration,
) -> Result<Vec<f64>, SolveError> {
    let (n, m) = (p.jobs(), p.pools());
    if n == 0 || m == 0 {
        return Ok(vec![0.0; n * m]);
    }
    // A copy for each common number of pools, so that the per-job loops are unrolled; 0 is the
    // copy for any number.
    match m {
        1 => Method::<1>::new(p, t).run(time_limit),
        2 => Method::<2>::new(p, t).run(time_limit),
        3 => Method::<3>::new(p, t).run(time_limit),
        4 => Method::<4>::new(p, t).run(time_limit),
        _ => Method::<0>::new(p, t).run(time_limit),
    }
}

fn stopped(why: &str) -> SolveError {
    SolveError::Stopped(format!("makespan interior point: {why}"))
}

#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The larger of two numbers that are not NaN (`f64::max` also handles NaN, at a cost in the
/// equilibration's inner loop).
#[inline(always)]
fn larger(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}

/// Clarabel's shift of a starting point into the non-negative cone.
fn shift_to_interior(v: &mut [f64]) {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let positive: f64 = v.iter().map(|a| a.max(0.0)).sum();
    let target = (0.1 * positive / v.len() as f64).max(1.0);
    if min <= 0.0 {
        // In two stages, as Clarabel does, so that large shifts round the same way.
        v.iter_mut().for_each(|a| *a += -min);
        v.iter_mut().for_each(|a| *a += target);
    } else if min < target {
        v.iter_mut().for_each(|a| *a += target - min);
    }
}

/// Completes a Newton direction and returns its step length: `dz = z1 + dtau z2`,
/// `ds = -H dz - offset`, and the longest step in `[0, limit]` keeping `z` and `s` non-negative
/// (Clarabel's ratio test; `limit` covers `tau` and `kappa`).
fn direction(
    (dz, ds): (&mut [f64], &mut [f64]),
    (z1, z2, dtau): (&[f64], &[f64], f64),
    (h, offset): (&[f64], &[f64]),
    (z, s): (&[f64], &[f64]),
    limit: f64,
) -> f64 {
    let n = dz.len();
    // Slices of one length, so that indexing needs no bounds checks.
    let (ds, z1, z2, h, offset, z, s) = (
        &mut ds[..n],
        &z1[..n],
        &z2[..n],
        &h[..n],
        &offset[..n],
        &z[..n],
        &s[..n],
    );
    let mut alpha = limit;
    for r in 0..n {
        dz[r] = z1[r] + dtau * z2[r];
        ds[r] = -(h[r] * dz[r]) - offset[r];
        if dz[r] < 0.0 {
            alpha = alpha.min(-z[r] / dz[r]);
        }
        if ds[r] < 0.0 {
            alpha = alpha.min(-s[r] / ds[r]);
        }
    }
    alpha
}

/// The step limit from `tau` and `kappa`: at most 1, and keeping both non-negative.
fn scalar_limit(tau: f64, kappa: f64, dtau: f64, dkappa: f64) -> f64 {
    let mut alpha = 1.0_f64;
    if dtau < 0.0 {
        alpha = alpha.min(-tau / dtau);
    }
    if dkappa < 0.0 {
        alpha = alpha.min(-kappa / dkappa);
    }
    alpha
}

/// Clarabel's convergence measures of one iterate.
#[derive(Debug, Clone, Copy)]
struct Progress {
    res_primal: f64,
    res_dual: f64,
    gap_abs: f64,
    gap_rel: f64,
    kt_ratio: f64,
}

impl Progress {
    fn is_solved(&self) -> bool {
        (self.gap_abs < TOL_GAP || self.gap_rel < TOL_GAP)
            && self.res_primal < TOL_FEAS
            && self.res_dual < TOL_FEAS
    }

    /// Clarabel's "insufficient progress" tests, which it checks when a residual grew.
    fn is_slower_than(&self, prev: &Progress) -> bool {
        if self.res_dual <= prev.res_dual && self.res_primal <= prev.res_primal {
            return false;
        }
        let stalled = self.kt_ratio < f64::EPSILON * 100.0
            && (prev.gap_abs < TOL_GAP || prev.gap_rel < TOL_GAP);
        let diverging = self.kt_ratio < 1.0
            && ((self.res_dual > TOL_FEAS * 100.0 && self.res_dual > prev.res_dual * 100.0)
                || (self.res_primal > TOL_FEAS * 100.0
                    && self.res_primal > prev.res_primal * 100.0));
        stalled || diverging
    }
}

/// The method on one problem, for `M` pools (`M = 0`: any number, read at run time).
///
/// The problem is equilibrated as Clarabel does it (Ruiz: `A <- E A D`, `b <- E b`). Rows are
/// kept job by job: the m pool rows, then per job its share row, its demand row and the bound
/// rows `-x_ij <= 0` of its m variables. (Clarabel orders them by kind; the order changes nothing
/// but the rounding of sums.) The objective is zero, which simplifies Clarabel's formulas.
struct Method<const M: usize> {
    pools: usize,
    nx: usize,
    nr: usize,
    /// Per job, its scaled coefficients in the pool rows, its share row, its demand row and its
    /// bound rows (4 m values).
    coef: Vec<f64>,
    b: Vec<f64>,
    d: Vec<f64>,
    d_inv: Vec<f64>,
    e: Vec<f64>,
    e_inv: Vec<f64>,
    /// Infinity norm of the unscaled `b`.
    norm_b: f64,
    kkt: Kkt,
}

/// The factored Newton matrix `eps I + A' G A` with `G = (H + eps I)^-1`: a block `B_i` per job
/// (its share, demand and bound rows) and the pool rows as a rank-m term (Woodbury).
struct Kkt {
    eps: f64,
    g: Vec<f64>,
    /// `B_i^-1`, m x m per job.
    binv: Vec<f64>,
    /// Cholesky factor of `G_pool^-1 + U' B^-1 U` (m x m).
    schur: Vec<f64>,
    /// Work space.
    block: Vec<f64>,
    inverse_work: Vec<f64>,
    pool_sum: Vec<f64>,
    pool_gz: Vec<f64>,
    column: Vec<f64>,
}

impl<const M: usize> Method<M> {
    /// The number of pools, a constant in the specialized copies.
    #[inline(always)]
    fn m(&self) -> usize {
        if M == 0 { self.pools } else { M }
    }

    fn new(p: &MakespanLp, t: f64) -> Method<M> {
        let (n, m) = (p.jobs(), p.pools());
        debug_assert!(M == 0 || M == m);
        let nx = n * m;
        let nr = m + n * (m + 2);
        let row = |i: usize| m + i * (m + 2);
        let mut b = vec![0.0_f64; nr];
        b[..m].copy_from_slice(&p.capacities);
        for i in 0..n {
            b[row(i)] = 1.0;
            b[row(i) + 1] = -(p.steps[i] / t);
        }
        let norm_b = b.iter().fold(0.0_f64, |a, v| a.max(v.abs()));

        // Ruiz: scale every column and row by the inverse square root of its largest entry, ten
        // times; Clarabel keeps each pass's factor such that the product stays in [1e-4, 1e4],
        // which is the same as clamping the product (up to rounding).
        let mut d = vec![1.0_f64; nx];
        let mut e = vec![1.0_f64; nr];
        let mut col_norm = vec![0.0_f64; nx];
        let mut row_norm = vec![0.0_f64; nr];
        let mut pool_norm = vec![0.0_f64; m];
        for _ in 0..EQUILIBRATE_PASSES {
            // Each column has four entries (pool, share, demand and bound rows), each job's
            // rows theirs in its own columns; the pool rows collect over all jobs.
            pool_norm.fill(0.0);
            for i in 0..n {
                let r = row(i);
                let (share_e, demand_e) = (e[r], e[r + 1]);
                let (mut share_norm, mut demand_norm) = (0.0_f64, 0.0_f64);
                for j in 0..m {
                    let k = i * m + j;
                    let dk = d[k];
                    let pool = (e[j] * p.gang[i] * dk).abs();
                    let share = (share_e * dk).abs();
                    let demand = (demand_e * p.throughputs[k] * dk).abs();
                    let bound = (e[r + 2 + j] * dk).abs();
                    col_norm[k] = larger(larger(pool, share), larger(demand, bound));
                    pool_norm[j] = larger(pool_norm[j], pool);
                    share_norm = larger(share_norm, share);
                    demand_norm = larger(demand_norm, demand);
                    row_norm[r + 2 + j] = bound;
                }
                row_norm[r] = share_norm;
                row_norm[r + 1] = demand_norm;
            }
            row_norm[..m].copy_from_slice(&pool_norm);
            for (norms, scale) in [(&col_norm, &mut d), (&row_norm, &mut e)] {
                for (v, s) in norms.iter().zip(scale.iter_mut()) {
                    let v = if *v == 0.0 { 1.0 } else { *v };
                    *s = (*s / v.sqrt()).clamp(EQUILIBRATE_MIN, EQUILIBRATE_MAX);
                }
            }
        }
        let mut coef = vec![0.0; n * 4 * m];
        for (i, c) in coef.chunks_exact_mut(4 * m).enumerate() {
            let r = row(i);
            for j in 0..m {
                let k = i * m + j;
                c[j] = e[j] * p.gang[i] * d[k];
                c[m + j] = e[r] * d[k];
                c[2 * m + j] = -(e[r + 1] * p.throughputs[k] * d[k]);
                c[3 * m + j] = -(e[r + 2 + j] * d[k]);
            }
        }
        for (v, s) in b.iter_mut().zip(&e) {
            *v *= s;
        }
        Method {
            pools: m,
            nx,
            nr,
            coef,
            b,
            d_inv: d.iter().map(|v| 1.0 / v).collect(),
            d,
            e_inv: e.iter().map(|v| 1.0 / v).collect(),
            e,
            norm_b,
            kkt: Kkt {
                eps: STATIC_REGULARIZATION,
                g: vec![0.0; nr],
                binv: vec![0.0; n * m * m],
                schur: vec![0.0; m * m],
                block: vec![0.0; m * m],
                inverse_work: vec![0.0; m * m],
                pool_sum: vec![0.0; m],
                pool_gz: vec![0.0; m],
                column: vec![0.0; m],
            },
        }
    }

    fn run(mut self, time_limit: Duration) -> Result<Vec<f64>, SolveError> {
        let start = Instant::now();
        let (nx, nr) = (self.nx, self.nr);
        let degree = nr as f64;

        // Start: identity scaling, x and s from the least-squares solve with [0; b]; z from
        // [-q; 0] = 0 (no objective). Both shifted into the cone.
        if !self.factor(&vec![1.0; nr]) {
            return Err(stopped("the first Newton system does not factor"));
        }
        let mut x = vec![0.0; nx];
        let mut s = vec![0.0; nr];
        let mut z = vec![0.0; nr];
        let b = std::mem::take(&mut self.b);
        self.solve(&vec![0.0; nx], &b, &mut x, &mut s);
        self.b = b;
        s.iter_mut().for_each(|v| *v = -*v);
        shift_to_interior(&mut s);
        shift_to_interior(&mut z);
        let (mut tau, mut kappa) = (1.0_f64, 1.0_f64);

        let mut rx = vec![0.0; nx];
        let mut rz = vec![0.0; nr];
        let mut work_x = vec![0.0; nx];
        let mut work_z = vec![0.0; nr];
        let (mut x1, mut z1) = (vec![0.0; nx], vec![0.0; nr]);
        let (mut x2, mut z2) = (vec![0.0; nx], vec![0.0; nr]);
        let mut dx = vec![0.0; nx];
        let mut ds = vec![0.0; nr];
        let mut dz = vec![0.0; nr];
        let mut h = vec![0.0; nr];
        let mut ds_const = vec![0.0; nr];
        let zero_x = vec![0.0; nx];
        let mut prev: Option<Progress> = None;
        let mut iter = 0;
        loop {
            // Residuals rx = -A'z, rz = Ax + s - b tau, r_tau = b'z + kappa, and Clarabel's
            // measures of them on the unscaled problem.
            self.at_mul(&z, &mut rx);
            let (mut norm_x, mut norm_rx) = (0.0, 0.0);
            {
                // Slices of the loop's length, so that indexing needs no bounds checks.
                let (rx, x) = (&mut rx[..nx], &x[..nx]);
                let (d, d_inv) = (&self.d[..nx], &self.d_inv[..nx]);
                for k in 0..nx {
                    rx[k] = -rx[k];
                    norm_x += (x[k] * d[k]) * (x[k] * d[k]);
                    norm_rx += (rx[k] * d_inv[k]) * (rx[k] * d_inv[k]);
                }
            }
            self.a_mul(&x, &mut rz);
            let (mut dot_bz, mut dot_sz, mut norm_z, mut norm_s, mut norm_rz) =
                (0.0, 0.0, 0.0, 0.0, 0.0);
            {
                let (rz, h, s, z) = (&mut rz[..nr], &mut h[..nr], &s[..nr], &z[..nr]);
                let (b, e, e_inv) = (&self.b[..nr], &self.e[..nr], &self.e_inv[..nr]);
                for r in 0..nr {
                    rz[r] += s[r] - b[r] * tau;
                    dot_bz += b[r] * z[r];
                    dot_sz += s[r] * z[r];
                    norm_z += (z[r] * e[r]) * (z[r] * e[r]);
                    norm_s += (s[r] * e_inv[r]) * (s[r] * e_inv[r]);
                    norm_rz += (rz[r] * e_inv[r]) * (rz[r] * e_inv[r]);
                    // The cone's scaling for the Newton step: H = W^2 = s / z (Clarabel
                    // squares sqrt(s / z), which differs in the last bit at most).
                    h[r] = s[r] / z[r];
                }
            }
            let r_tau = dot_bz + kappa;
            let mu = (dot_sz + tau * kappa) / (degree + 1.0);
            let (norm_x, norm_z, norm_s) = (
                norm_x.sqrt() / tau,
                norm_z.sqrt() / tau,
                norm_s.sqrt() / tau,
            );
            let cost_dual = -dot_bz / tau;
            let gap_abs = cost_dual.abs();
            let now = Progress {
                res_primal: norm_rz.sqrt() / tau / (self.norm_b + norm_x + norm_s).max(1.0),
                res_dual: norm_rx.sqrt() / tau / (norm_x + norm_z).max(1.0),
                gap_abs,
                // The primal cost is 0, so min(|primal|, |dual|) is 0.
                gap_rel: gap_abs,
                kt_ratio: kappa / tau,
            };
            if now.kt_ratio <= 1.0 && now.is_solved() {
                break;
            }
            if now.kt_ratio > KT_INFEASIBLE {
                return Err(stopped("the problem looks infeasible"));
            }
            if let Some(prev) = &prev
                && iter > 1
                && now.is_slower_than(prev)
            {
                return Err(stopped("slow progress"));
            }
            if iter >= MAX_ITER || start.elapsed() > time_limit {
                return Err(stopped("iteration or time limit"));
            }

            iter += 1;
            if !self.factor(&h) {
                return Err(stopped("a Newton system does not factor"));
            }
            let b = std::mem::take(&mut self.b);
            self.solve(&zero_x, &b, &mut x2, &mut z2);
            self.b = b;
            let tau_den = kappa / tau - dot(&self.b, &z2);

            // Predictor (affine) direction: ds = -H dz - s.
            for ((w, s), r) in work_z.iter_mut().zip(&s).zip(&rz) {
                *w = s - r;
            }
            self.solve(&rx, &work_z, &mut x1, &mut z1);
            let rhs_kappa = tau * kappa;
            let dtau = (r_tau - rhs_kappa / tau + dot(&self.b, &z1)) / tau_den;
            let dkappa = -(rhs_kappa + kappa * dtau) / tau;
            let alpha = direction(
                (&mut dz, &mut ds),
                (&z1, &z2, dtau),
                (&h, &s),
                (&z, &s),
                scalar_limit(tau, kappa, dtau, dkappa),
            );
            let sigma = (1.0 - alpha).powi(3);
            // Clarabel damps the second-order term in the first iteration.
            let mehrotra = if iter > 1 { 1.0 } else { alpha };

            // Corrector: the cone's right-hand side is s z + m ds dz - sigma mu, and
            // ds = -H dz - (that) / z.
            let sigma_mu = sigma * mu;
            {
                let (ds_const, work_z) = (&mut ds_const[..nr], &mut work_z[..nr]);
                let (s, z, ds, dz, rz) = (&s[..nr], &z[..nr], &ds[..nr], &dz[..nr], &rz[..nr]);
                for r in 0..nr {
                    let rhs_s = s[r] * z[r] + (ds[r] * (dz[r] * mehrotra) - sigma_mu);
                    ds_const[r] = rhs_s / z[r];
                    work_z[r] = ds_const[r] - (1.0 - sigma) * rz[r];
                }
            }
            for (w, r) in work_x.iter_mut().zip(&rx) {
                *w = (1.0 - sigma) * r;
            }
            self.solve(&work_x, &work_z, &mut x1, &mut z1);
            let rhs_tau = (1.0 - sigma) * r_tau;
            let rhs_kappa = -sigma_mu + mehrotra * dtau * dkappa + tau * kappa;
            let dtau = (rhs_tau - rhs_kappa / tau + dot(&self.b, &z1)) / tau_den;
            let mut finite = true;
            for ((dx, x1), x2) in dx.iter_mut().zip(&x1).zip(&x2) {
                *dx = x1 + dtau * x2;
                finite &= dx.is_finite();
            }
            let dkappa = -(rhs_kappa + kappa * dtau) / tau;
            let alpha = MAX_STEP_FRACTION
                * direction(
                    (&mut dz, &mut ds),
                    (&z1, &z2, dtau),
                    (&h, &ds_const),
                    (&z, &s),
                    scalar_limit(tau, kappa, dtau, dkappa),
                );
            if !(finite && alpha.is_finite() && dtau.is_finite() && dkappa.is_finite()) {
                return Err(stopped("a Newton direction is not finite"));
            }
            if alpha <= MIN_STEP {
                return Err(stopped("the step length vanished"));
            }
            prev = Some(now);
            for (v, d) in x.iter_mut().zip(&dx) {
                *v += alpha * d;
            }
            for ((s, ds), (z, dz)) in s.iter_mut().zip(&ds).zip(z.iter_mut().zip(&dz)) {
                *s += alpha * ds;
                *z += alpha * dz;
            }
            tau += alpha * dtau;
            kappa += alpha * dkappa;
        }
        Ok(x.iter().zip(&self.d).map(|(v, d)| v * d / tau).collect())
    }

    /// `out = A x`.
    fn a_mul(&self, x: &[f64], out: &mut [f64]) {
        let m = self.m();
        let (pools, rest) = out.split_at_mut(m);
        pools.fill(0.0);
        for ((c, xi), rows) in self
            .coef
            .chunks_exact(4 * m)
            .zip(x.chunks_exact(m))
            .zip(rest.chunks_exact_mut(m + 2))
        {
            let (mut share, mut demand) = (0.0, 0.0);
            for j in 0..m {
                pools[j] += c[j] * xi[j];
                share += c[m + j] * xi[j];
                demand += c[2 * m + j] * xi[j];
                rows[2 + j] = c[3 * m + j] * xi[j];
            }
            rows[0] = share;
            rows[1] = demand;
        }
    }

    /// `out = A' z`.
    fn at_mul(&self, z: &[f64], out: &mut [f64]) {
        let m = self.m();
        let pools = &z[..m];
        for ((c, oi), rows) in self
            .coef
            .chunks_exact(4 * m)
            .zip(out.chunks_exact_mut(m))
            .zip(z[m..].chunks_exact(m + 2))
        {
            for j in 0..m {
                oi[j] = c[j] * pools[j]
                    + c[m + j] * rows[0]
                    + c[2 * m + j] * rows[1]
                    + c[3 * m + j] * rows[2 + j];
            }
        }
    }

    /// Factors the Newton matrix for the cone scaling `h` (the diagonal of `H`); false if a
    /// pivot is not positive.
    fn factor(&mut self, h: &[f64]) -> bool {
        let m = self.m();
        let kkt = &mut self.kkt;
        // Clarabel's static regularization: a constant plus eps^2 times the largest diagonal.
        let max_h = h.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        kkt.eps = STATIC_REGULARIZATION + f64::EPSILON * f64::EPSILON * max_h;
        let eps = kkt.eps;
        for (g, h) in kkt.g.iter_mut().zip(h) {
            *g = 1.0 / (h + eps);
        }
        kkt.schur.fill(0.0);
        for (j, h) in h[..m].iter().enumerate() {
            kkt.schur[j * m + j] = h + eps;
        }
        let block = &mut kkt.block[..m * m];
        for ((c, inv), gi) in self
            .coef
            .chunks_exact(4 * m)
            .zip(kkt.binv.chunks_exact_mut(m * m))
            .zip(kkt.g[m..].chunks_exact(m + 2))
        {
            let (gs, gd) = (gi[0], gi[1]);
            for j in 0..m {
                for l in 0..=j {
                    block[j * m + l] = gs * c[m + j] * c[m + l] + gd * c[2 * m + j] * c[2 * m + l];
                }
                block[j * m + j] += eps + gi[2 + j] * c[3 * m + j] * c[3 * m + j];
            }
            if !cholesky(block, m) {
                return false;
            }
            cholesky_inverse(block, m, inv, &mut kkt.inverse_work[..m * m]);
            for j in 0..m {
                for l in 0..m {
                    kkt.schur[j * m + l] += c[j] * inv[j * m + l] * c[l];
                }
            }
        }
        cholesky(&mut kkt.schur, m)
    }

    /// Solves `[eps I, A'; A, -(H + eps I)] [x; z] = [rx; rz]`: `x = (eps I + A' G A)^-1
    /// (rx + A' G rz)`, then `z = G (A x - rz)`.
    fn solve(&mut self, rx: &[f64], rz: &[f64], x: &mut [f64], z: &mut [f64]) {
        let m = self.m();
        let Kkt {
            g,
            binv,
            schur,
            pool_sum,
            pool_gz,
            column,
            ..
        } = &mut self.kkt;
        let (pool_sum, pool_gz, column) = (&mut pool_sum[..m], &mut pool_gz[..m], &mut column[..m]);
        // The right-hand side, then B^-1 of it job by job, summing U' B^-1 r for the pools.
        for j in 0..m {
            pool_gz[j] = g[j] * rz[j];
        }
        pool_sum.fill(0.0);
        for ((((xi, inv), c), (gi, rzi)), rxi) in x
            .chunks_exact_mut(m)
            .zip(binv.chunks_exact(m * m))
            .zip(self.coef.chunks_exact(4 * m))
            .zip(g[m..].chunks_exact(m + 2).zip(rz[m..].chunks_exact(m + 2)))
            .zip(rx.chunks_exact(m))
        {
            let (share, demand) = (gi[0] * rzi[0], gi[1] * rzi[1]);
            for j in 0..m {
                column[j] = rxi[j]
                    + c[j] * pool_gz[j]
                    + c[m + j] * share
                    + c[2 * m + j] * demand
                    + c[3 * m + j] * (gi[2 + j] * rzi[2 + j]);
            }
            for j in 0..m {
                let v = dot(&inv[j * m..(j + 1) * m], column);
                xi[j] = v;
                pool_sum[j] += c[j] * v;
            }
        }
        // The pool rows' part: x <- x - B^-1 U S^-1 U' B^-1 r.
        cholesky_solve(schur, m, pool_sum);
        let v = &*pool_sum;
        for ((xi, inv), c) in x
            .chunks_exact_mut(m)
            .zip(binv.chunks_exact(m * m))
            .zip(self.coef.chunks_exact(4 * m))
        {
            for j in 0..m {
                let mut t = 0.0;
                for l in 0..m {
                    t += inv[j * m + l] * (c[l] * v[l]);
                }
                xi[j] -= t;
            }
        }
        self.a_mul(x, z);
        for ((zi, g), r) in z.iter_mut().zip(&self.kkt.g).zip(rz) {
            *zi = g * (*zi - r);
        }
    }
}

/// In-place Cholesky `A = L L'` of a symmetric m x m matrix (lower triangle read and written),
/// with the reciprocals of L's diagonal on the diagonal; false if it is not positive definite.
#[inline(always)]
fn cholesky(a: &mut [f64], m: usize) -> bool {
    for j in 0..m {
        let mut d = a[j * m + j];
        for k in 0..j {
            d -= a[j * m + k] * a[j * m + k];
        }
        if d.is_nan() || d <= 0.0 {
            return false;
        }
        let inv = 1.0 / d.sqrt();
        a[j * m + j] = inv;
        for i in j + 1..m {
            let mut v = a[i * m + j];
            for k in 0..j {
                v -= a[i * m + k] * a[j * m + k];
            }
            a[i * m + j] = v * inv;
        }
    }
    true
}

/// Solves `L L' x = b` in place, `l` from [`cholesky`].
#[inline(always)]
fn cholesky_solve(l: &[f64], m: usize, b: &mut [f64]) {
    for i in 0..m {
        let mut v = b[i];
        for k in 0..i {
            v -= l[i * m + k] * b[k];
        }
        b[i] = v * l[i * m + i];
    }
    for i in (0..m).rev() {
        let mut v = b[i];
        for k in i + 1..m {
            v -= l[k * m + i] * b[k];
        }
        b[i] = v * l[i * m + i];
    }
}

/// The full inverse `L'^-1 L^-1` from [`cholesky`]; `work` holds m x m values.
#[inline(always)]
fn cholesky_inverse(l: &[f64], m: usize, out: &mut [f64], work: &mut [f64]) {
    // work = L^-1 (lower triangular), column by column.
    for c in 0..m {
        for r in 0..c {
            work[r * m + c] = 0.0;
        }
        work[c * m + c] = l[c * m + c];
        for r in c + 1..m {
            let mut v = 0.0;
            for k in c..r {
                v -= l[r * m + k] * work[k * m + c];
            }
            work[r * m + c] = v * l[r * m + r];
        }
    }
    for r in 0..m {
        for c in 0..=r {
            let mut v = 0.0;
            for k in r..m {
                v += work[k * m + r] * work[k * m + c];
            }
            out[r * m + c] = v;
            out[c * m + r] = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::{ClarabelSolver, LpSolver};
    use proptest::prelude::*;

    const LIMIT: Duration = Duration::from_secs(10);

    /// A seeded generator for test problems.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }

        fn below(&mut self, n: usize) -> usize {
            ((self.next() * n as f64) as usize).min(n - 1)
        }
    }

    fn empty(capacities: Vec<f64>) -> MakespanLp {
        MakespanLp {
            capacities,
            gang: Vec::new(),
            throughputs: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// Gavel-like problems: three pools of 36, gangs of 1 to 8, throughputs of a few job types
    /// (one that cannot run on the third pool), steps left over four orders of magnitude.
    fn gavel_like(jobs: usize, seed: u64) -> MakespanLp {
        let mut rng = Lcg(seed);
        let types: Vec<[f64; 3]> = (0..6)
            .map(|t| {
                let fast = 1.0 + 200.0 * rng.next();
                let slow = if t == 0 {
                    0.0
                } else {
                    fast * (0.1 + 0.3 * rng.next())
                };
                [fast, fast * (0.4 + 0.4 * rng.next()), slow]
            })
            .collect();
        let mut p = empty(vec![36.0; 3]);
        for _ in 0..jobs {
            p.throughputs
                .extend_from_slice(&types[rng.below(types.len())]);
            p.gang.push([1.0, 1.0, 1.0, 2.0, 4.0, 8.0][rng.below(6)]);
            p.steps.push(10f64.powf(3.0 + 4.0 * rng.next()).round());
        }
        p
    }

    /// Small problems like the policies' property tests: 1 to 4 pools of 1 to 8, up to 10 jobs
    /// with gangs of 1, 2 or 4 (possibly larger than some pools), some zero throughputs.
    fn small(rng: &mut Lcg) -> MakespanLp {
        let m = 1 + rng.below(4);
        let mut p = empty((0..m).map(|_| (1 + rng.below(8)) as f64).collect());
        for _ in 0..1 + rng.below(10) {
            let mut thr: Vec<f64> = (0..m)
                .map(|_| {
                    if rng.next() < 0.2 {
                        0.0
                    } else {
                        0.5 + 9.5 * rng.next()
                    }
                })
                .collect();
            if thr.iter().all(|t| *t == 0.0) {
                thr[m - 1] = 1.0;
            }
            p.throughputs.extend(thr);
            p.gang.push([1.0, 2.0, 4.0][rng.below(3)]);
            p.steps.push((1 + rng.below(20_000)) as f64);
        }
        p
    }

    fn clarabel(lp: &LinearProgram) -> Vec<f64> {
        ClarabelSolver.solve(lp, LIMIT).unwrap()
    }

    /// The shortest time in which all jobs of `p` can finish, by Clarabel.
    fn best_time(p: &MakespanLp) -> f64 {
        1.0 / clarabel(&p.max_rate())[p.jobs() * p.pools()]
    }

    /// The largest difference between this method's point and Clarabel's for the feasibility
    /// problems of `p` at 1.001, 1.05 and 2 times the shortest time (`None`: this method gave
    /// up).
    fn compare(p: &MakespanLp) -> Vec<Option<f64>> {
        let best = best_time(p);
        [1.001, 1.05, 2.0]
            .iter()
            .map(|slack| {
                let t = slack * best;
                let theirs = clarabel(&p.finish_within(t));
                let ours = solve_finish_within(p, t, LIMIT).ok()?;
                assert_eq!(ours.len(), theirs.len());
                Some(
                    ours.iter()
                        .zip(&theirs)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0, f64::max),
                )
            })
            .collect()
    }

    fn assert_same_as_clarabel(p: MakespanLp) {
        for d in compare(&p) {
            let d = d.expect("solved");
            assert!(d <= 1e-5, "points differ by {d:e}");
        }
    }

    #[test]
    fn matches_clarabel_on_gavel_like_problems() {
        for (jobs, seed) in [(1, 1), (2, 2), (7, 3), (40, 4), (120, 5), (200, 6)] {
            assert_same_as_clarabel(gavel_like(jobs, seed));
        }
    }

    #[test]
    fn matches_clarabel_with_more_pools_than_the_specialized_copies() {
        let mut p = gavel_like(30, 10);
        p.capacities = vec![8.0, 16.0, 36.0, 4.0, 12.0];
        p.throughputs = (0..30)
            .flat_map(|i| (0..5).map(move |j| ((i * 7 + j * 3) % 11) as f64 + 0.5))
            .collect();
        assert_same_as_clarabel(p);
    }

    /// Both methods stop at the first iterate that meets the same tolerances. On a few small,
    /// degenerate problems a residual sits so close to its tolerance that rounding (Clarabel's
    /// sparse LDL against the structured solve here) decides whether one more iteration runs,
    /// which moves the point by up to a few hundredths; so most points must agree to 1e-6 and
    /// all to 0.05, and at most 1% may be given up (the caller then asks Clarabel).
    #[test]
    fn matches_clarabel_on_small_random_problems() {
        let mut rng = Lcg(42);
        let (mut close, mut total, mut gave_up) = (0, 0, 0);
        for _ in 0..300 {
            for d in compare(&small(&mut rng)) {
                total += 1;
                match d {
                    None => gave_up += 1,
                    Some(d) => {
                        assert!(d <= 0.05, "points differ by {d:e}");
                        close += usize::from(d <= 1e-6);
                    }
                }
            }
        }
        assert!(gave_up * 100 <= total, "{gave_up} of {total} not solved");
        assert!(close * 100 >= 97 * total, "{close} of {total} within 1e-6");
    }

    fn small_problem() -> impl Strategy<Value = MakespanLp> {
        any::<u64>().prop_map(|seed| small(&mut Lcg(seed)))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the problem, a point this method returns satisfies the constraints.
        #[test]
        fn feasibility_points_are_feasible(p in small_problem(), slack in 1.0f64..3.0) {
            let t = slack * best_time(&p);
            if let Ok(x) = solve_finish_within(&p, t, LIMIT) {
                let m = p.pools();
                for (i, row) in x.chunks_exact(m).enumerate() {
                    prop_assert!(row.iter().all(|v| *v >= -1e-7), "{row:?}");
                    prop_assert!(row.iter().sum::<f64>() <= 1.0 + 1e-7, "{row:?}");
                    let done: f64 = row.iter().zip(&p.throughputs[i * m..]).map(|(x, t)| x * t).sum();
                    prop_assert!(done * t >= p.steps[i] * (1.0 - 1e-6), "job {i}: {done} x {t}");
                }
                for j in 0..m {
                    let used: f64 = (0..p.jobs()).map(|i| p.gang[i] * x[i * m + j]).sum();
                    prop_assert!(used <= p.capacities[j] * (1.0 + 1e-7), "pool {j}: {used}");
                }
            }
        }
    }
}
