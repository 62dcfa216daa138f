//! A specialized interior-point solver for the max-min fairness LP over classes of jobs:
//!
//! maximize z  s.t.  z <= sum_j c_kj x_kj  (each class k),  sum_j x_kj <= 1  (each k),
//!                   sum_k a_k x_kj <= C_j  (each pool j),  x >= 0.
//!
//! A primal-dual Mehrotra predictor-corrector like the general solvers', but each Newton system is
//! solved in O(K m^2) instead of by a sparse factorization: the normal matrix is a block arrow (a
//! 2x2 block per class, coupled only through the m pool rows) plus a rank-one term for `z`, so a
//! Schur complement on the pool rows and the Sherman-Morrison formula solve it exactly. Being an
//! interior-point method it ends, like Clarabel and ECOS, in the relative interior of the optimal
//! face, which the round mechanism's priorities depend on.

use super::SolveError;

/// The problem: per class its weight `a_k` (members x gang size) and coefficients `c_kj`.
///
/// More generally (see [`MaxMinProblem::general`]): maximize `obj * z` s.t.
/// `g_k z - sum_j c_kj x_kj <= h_k`, which also covers the minimum-makespan LP
/// (`g_k = 1`, coefficients divided by the work left) and its feasibility problems
/// (`g_k = 0`, `h_k = -1`, `obj = -1` so that the unused `z` settles at 0).
#[derive(Debug, Clone, PartialEq)]
pub struct MaxMinProblem {
    /// `a_k`, accelerators one unit of `x_kj` takes from pool j, summed over the class.
    pub weights: Vec<f64>,
    /// `c_kj`, row-major (class k, pool j).
    pub coefs: Vec<f64>,
    /// `C_j`.
    pub capacities: Vec<f64>,
    /// `g_k` (empty = all 1).
    pub shared: Vec<f64>,
    /// `h_k` (empty = all 0).
    pub rhs: Vec<f64>,
    /// Objective coefficient of `z` (1 for max-min).
    pub objective: f64,
}

impl MaxMinProblem {
    /// The max-min problem.
    pub fn new(weights: Vec<f64>, coefs: Vec<f64>, capacities: Vec<f64>) -> MaxMinProblem {
        MaxMinProblem::general(weights, coefs, capacities, Vec::new(), Vec::new(), 1.0)
    }

    /// The general form.
    pub fn general(
        weights: Vec<f64>,
        coefs: Vec<f64>,
        capacities: Vec<f64>,
        shared: Vec<f64>,
        rhs: Vec<f64>,
        objective: f64,
    ) -> MaxMinProblem {
        MaxMinProblem {
            weights,
            coefs,
            capacities,
            shared,
            rhs,
            objective,
        }
    }

    fn g(&self, k: usize) -> f64 {
        self.shared.get(k).copied().unwrap_or(1.0)
    }

    fn h(&self, k: usize) -> f64 {
        self.rhs.get(k).copied().unwrap_or(0.0)
    }
}

const MAX_ITER: usize = 80;
const TOL: f64 = 1e-8;
/// Duality gap (relative to the objective) at which to stop; the normal equations lose accuracy
/// below about 1e-9 on degenerate problems.
const GAP_TOL: f64 = 1e-7;

/// Solves the problem; returns `x` (row-major K x m) and `z`.
pub fn solve_max_min(p: &MaxMinProblem) -> Result<(Vec<f64>, f64), SolveError> {
    let k_n = p.weights.len();
    let m = p.capacities.len();
    if k_n == 0 || m == 0 {
        return Ok((vec![0.0; k_n * m], 0.0));
    }
    let n = k_n * m + 1; // variables: x then z
    let rows = 2 * k_n + m; // r1 (z rows), r2 (share rows), r3 (pool rows)
    let mut b = vec![0.0; rows];
    for k in 0..k_n {
        b[k] = p.h(k);
        b[k_n + k] = 1.0;
    }
    for j in 0..m {
        b[2 * k_n + j] = p.capacities[j];
    }
    let mut cobj = vec![0.0; n];
    cobj[n - 1] = p.objective;
    let mut v = vec![1.0; n];
    let mut s = vec![1.0; rows];
    let mut y = vec![1.0; rows];
    let mut w = vec![1.0; n];
    let ax = |v: &[f64], out: &mut [f64]| {
        for k in 0..k_n {
            let mut r1 = p.g(k) * v[n - 1];
            let mut r2 = 0.0;
            for j in 0..m {
                r1 -= p.coefs[k * m + j] * v[k * m + j];
                r2 += v[k * m + j];
            }
            out[k] = r1;
            out[k_n + k] = r2;
        }
        for j in 0..m {
            out[2 * k_n + j] = (0..k_n).map(|k| p.weights[k] * v[k * m + j]).sum();
        }
    };
    let aty = |y: &[f64], out: &mut [f64]| {
        for k in 0..k_n {
            for j in 0..m {
                out[k * m + j] =
                    -p.coefs[k * m + j] * y[k] + y[k_n + k] + p.weights[k] * y[2 * k_n + j];
            }
        }
        out[n - 1] = (0..k_n).map(|k| p.g(k) * y[k]).sum();
    };
    let norm = |x: &[f64]| x.iter().map(|a| a * a).sum::<f64>().sqrt();
    let b_norm = 1.0 + norm(&b);
    let mut av = vec![0.0; rows];
    let mut atyv = vec![0.0; n];
    let mut rp = vec![0.0; rows];
    let mut rd = vec![0.0; n];
    // The most accurate nearly optimal iterate seen: (x and z, relative gap).
    let mut best: Option<(Vec<f64>, f64)> = None;
    for _ in 0..MAX_ITER {
        ax(&v, &mut av);
        aty(&y, &mut atyv);
        for i in 0..rows {
            rp[i] = b[i] - av[i] - s[i];
        }
        for i in 0..n {
            rd[i] = cobj[i] - atyv[i] + w[i];
        }
        let gap: f64 = v.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>()
            + s.iter().zip(&y).map(|(a, b)| a * b).sum::<f64>();
        let obj = p.objective * v[n - 1];
        let (prim, dual, rel_gap) = (norm(&rp) / b_norm, norm(&rd) / 2.0, gap / (1.0 + obj.abs()));
        if prim < TOL && dual < TOL && rel_gap < GAP_TOL {
            return Ok(repaired(p, &v));
        }
        if prim < 1e-5 && dual < 1e-5 {
            if best.as_ref().is_none_or(|(_, g)| rel_gap < *g) {
                best = Some((v.clone(), rel_gap));
            }
        } else if best.as_ref().is_some_and(|(_, g)| *g < 1e-6) {
            // Accuracy is lost near the optimal face: keep the last accurate iterate.
            break;
        }
        let mu = gap / (n + rows) as f64;
        let mut newton = Newton::new(p, &v, &w, &s, &y);
        // Far from the optimum the plain solve is accurate enough; refine only near it.
        newton.refinements = if rel_gap < 1e-2 { 2 } else { 0 };
        // Predictor (affine scaling).
        let rvw: Vec<f64> = v.iter().zip(&w).map(|(a, b)| -a * b).collect();
        let rsy: Vec<f64> = s.iter().zip(&y).map(|(a, b)| -a * b).collect();
        let (dv, ds, dy, dw) = newton.step(&rp, &rd, &rvw, &rsy, &v, &s, &y, &w);
        let ap = max_step(&v, &dv).min(max_step(&s, &ds)).min(1.0);
        let ad = max_step(&w, &dw).min(max_step(&y, &dy)).min(1.0);
        let mu_aff = (v
            .iter()
            .zip(&dv)
            .zip(w.iter().zip(&dw))
            .map(|((a, da), (b, db))| (a + ap * da) * (b + ad * db))
            .sum::<f64>()
            + s.iter()
                .zip(&ds)
                .zip(y.iter().zip(&dy))
                .map(|((a, da), (b, db))| (a + ap * da) * (b + ad * db))
                .sum::<f64>())
            / (n + rows) as f64;
        let sigma = (mu_aff / mu).powi(3).clamp(0.0, 1.0);
        // Corrector with centering.
        let rvw: Vec<f64> = (0..n)
            .map(|i| sigma * mu - v[i] * w[i] - dv[i] * dw[i])
            .collect();
        let rsy: Vec<f64> = (0..rows)
            .map(|i| sigma * mu - s[i] * y[i] - ds[i] * dy[i])
            .collect();
        let (dv, ds, dy, dw) = newton.step(&rp, &rd, &rvw, &rsy, &v, &s, &y, &w);
        let ap = (0.99 * max_step(&v, &dv).min(max_step(&s, &ds))).min(1.0);
        let ad = (0.99 * max_step(&w, &dw).min(max_step(&y, &dy))).min(1.0);
        if !(ap.is_finite() && ad.is_finite())
            || dv
                .iter()
                .chain(&ds)
                .chain(&dy)
                .chain(&dw)
                .any(|d| !d.is_finite())
        {
            break;
        }
        for i in 0..n {
            v[i] += ap * dv[i];
            w[i] += ad * dw[i];
        }
        for i in 0..rows {
            s[i] += ap * ds[i];
            y[i] += ad * dy[i];
        }
    }
    match best {
        Some((v, g)) if g < 1e-5 => Ok(repaired(p, &v)),
        _ => Err(SolveError::Stopped(
            "max-min interior point did not converge".to_string(),
        )),
    }
}

/// The iterate made exactly feasible (it is within the tolerance already): negative parts
/// dropped, rows over 1 and pools over capacity scaled down; `z` recomputed.
fn repaired(p: &MaxMinProblem, v: &[f64]) -> (Vec<f64>, f64) {
    let k_n = p.weights.len();
    let m = p.capacities.len();
    let mut x: Vec<f64> = v[..k_n * m].iter().map(|a| a.max(0.0)).collect();
    for k in 0..k_n {
        let sum: f64 = x[k * m..(k + 1) * m].iter().sum();
        if sum > 1.0 {
            x[k * m..(k + 1) * m].iter_mut().for_each(|a| *a /= sum);
        }
    }
    for j in 0..m {
        let used: f64 = (0..k_n).map(|k| p.weights[k] * x[k * m + j]).sum();
        if used > p.capacities[j] {
            let f = p.capacities[j] / used;
            (0..k_n).for_each(|k| x[k * m + j] *= f);
        }
    }
    let z = (0..k_n)
        .filter(|&k| p.g(k) > 0.0)
        .map(|k| {
            let lhs: f64 = (0..m).map(|j| p.coefs[k * m + j] * x[k * m + j]).sum();
            (lhs + p.h(k)) / p.g(k)
        })
        .fold(f64::INFINITY, f64::min);
    let z = if z.is_finite() { z.max(0.0) } else { 0.0 };
    (x, z)
}

/// Largest `alpha` with `x + alpha dx >= 0`.
fn max_step(x: &[f64], dx: &[f64]) -> f64 {
    x.iter()
        .zip(dx)
        .filter(|(_, d)| **d < 0.0)
        .map(|(a, d)| -a / d)
        .fold(f64::INFINITY, f64::min)
}

/// The factored normal matrix `A D A^T + E` of one iteration.
struct Newton<'a> {
    p: &'a MaxMinProblem,
    d: Vec<f64>,
    e: Vec<f64>,
    /// Iterative refinement steps per solve.
    refinements: usize,
    /// Per class, the inverse of its 2x2 block.
    binv: Vec<[f64; 4]>,
    /// Per class, `B_k^-1 F_k` (2 x m, row-major).
    h: Vec<f64>,
    /// The Schur complement on the pool rows, LU-factored in place (m x m) with its pivots.
    schur: Vec<f64>,
    piv: Vec<usize>,
    /// `B^-1 u` for the rank-one z term, and the Sherman-Morrison denominator.
    bu: Vec<f64>,
    sm_den: f64,
}

impl<'a> Newton<'a> {
    fn new(p: &'a MaxMinProblem, v: &[f64], w: &[f64], s: &[f64], y: &[f64]) -> Newton<'a> {
        let k_n = p.weights.len();
        let m = p.capacities.len();
        let n = v.len();
        let d: Vec<f64> = v.iter().zip(w).map(|(a, b)| a / b).collect();
        let e: Vec<f64> = s.iter().zip(y).map(|(a, b)| a / b).collect();
        let mut binv = Vec::with_capacity(k_n);
        let mut h = vec![0.0; k_n * 2 * m];
        let mut schur = vec![0.0; m * m];
        for j in 0..m {
            schur[j * m + j] = e[2 * k_n + j]
                + (0..k_n)
                    .map(|k| p.weights[k] * p.weights[k] * d[k * m + j])
                    .sum::<f64>();
        }
        for k in 0..k_n {
            let (mut scc, mut sc, mut sd) = (0.0, 0.0, 0.0);
            let mut cross = 0.0;
            for j in 0..m {
                let c = p.coefs[k * m + j];
                let dk = d[k * m + j];
                for l in 0..j {
                    let diff = c - p.coefs[k * m + l];
                    cross += dk * d[k * m + l] * diff * diff;
                }
                scc += c * c * dk;
                sc += c * dk;
                sd += dk;
            }
            let (e1, e2) = (e[k], e[k_n + k]);
            let (b11, b12, b22) = (scc + e1, -sc, sd + e2);
            // det = (scc + e1)(sd + e2) - sc^2 without the cancellation of the large terms
            // (Lagrange's identity: scc * sd - sc^2 = sum_{j<l} d_j d_l (c_j - c_l)^2).
            let det = cross + e1 * sd + e2 * scc + e1 * e2;
            let inv = [b22 / det, -b12 / det, -b12 / det, b11 / det];
            let a = p.weights[k];
            for j in 0..m {
                let dk = d[k * m + j];
                let f0 = -p.coefs[k * m + j] * a * dk;
                let f1 = a * dk;
                h[k * 2 * m + j] = inv[0] * f0 + inv[1] * f1;
                h[k * 2 * m + m + j] = inv[2] * f0 + inv[3] * f1;
            }
            for j in 0..m {
                let f0j = -p.coefs[k * m + j] * a * d[k * m + j];
                let f1j = a * d[k * m + j];
                for l in 0..m {
                    schur[j * m + l] -= f0j * h[k * 2 * m + l] + f1j * h[k * 2 * m + m + l];
                }
            }
            binv.push(inv);
        }
        let piv = lu(&mut schur, m);
        let mut newton = Newton {
            p,
            d,
            e,
            refinements: 2,
            binv,
            h,
            schur,
            piv,
            bu: Vec::new(),
            sm_den: 0.0,
        };
        let mut u = vec![0.0; 2 * k_n + m];
        for (k, uk) in u[..k_n].iter_mut().enumerate() {
            *uk = p.g(k);
        }
        let bu = newton.solve_b(&u);
        let dz = newton.d[n - 1];
        newton.sm_den = 1.0 + dz * (0..k_n).map(|k| p.g(k) * bu[k]).sum::<f64>();
        newton.bu = bu;
        newton
    }

    /// Solves the block-arrow part `B y = r`.
    fn solve_b(&self, r: &[f64]) -> Vec<f64> {
        let k_n = self.p.weights.len();
        let m = self.p.capacities.len();
        let mut t: Vec<f64> = r[2 * k_n..].to_vec();
        let mut br = Vec::with_capacity(k_n);
        for k in 0..k_n {
            let inv = &self.binv[k];
            let (r1, r2) = (r[k], r[k_n + k]);
            let (q1, q2) = (inv[0] * r1 + inv[1] * r2, inv[2] * r1 + inv[3] * r2);
            let a = self.p.weights[k];
            for (j, tj) in t.iter_mut().enumerate() {
                let dk = self.d[k * m + j];
                *tj -= -self.p.coefs[k * m + j] * a * dk * q1 + a * dk * q2;
            }
            br.push((q1, q2));
        }
        lu_solve(&self.schur, &self.piv, m, &mut t);
        let mut out = vec![0.0; 2 * k_n + m];
        for k in 0..k_n {
            let (mut q1, mut q2) = br[k];
            for (j, tj) in t.iter().enumerate() {
                q1 -= self.h[k * 2 * m + j] * tj;
                q2 -= self.h[k * 2 * m + m + j] * tj;
            }
            out[k] = q1;
            out[k_n + k] = q2;
        }
        out[2 * k_n..].copy_from_slice(&t);
        out
    }

    /// Solves `(A D A^T + E) y = r` once (Sherman-Morrison over the z column).
    fn solve_once(&self, r: &[f64]) -> Vec<f64> {
        let k_n = self.p.weights.len();
        let mut x = self.solve_b(r);
        let dz = self.d[self.d.len() - 1];
        let coef = dz * (0..k_n).map(|k| self.p.g(k) * x[k]).sum::<f64>() / self.sm_den;
        for (xi, bi) in x.iter_mut().zip(&self.bu) {
            *xi -= coef * bi;
        }
        x
    }

    /// `(A D A^T + E) y`, computed exactly from the structure.
    fn apply(&self, y: &[f64]) -> Vec<f64> {
        let p = self.p;
        let k_n = p.weights.len();
        let m = p.capacities.len();
        let n = self.d.len();
        let mut t = vec![0.0; n];
        for k in 0..k_n {
            for j in 0..m {
                t[k * m + j] = self.d[k * m + j]
                    * (-p.coefs[k * m + j] * y[k] + y[k_n + k] + p.weights[k] * y[2 * k_n + j]);
            }
        }
        t[n - 1] = self.d[n - 1] * (0..k_n).map(|k| p.g(k) * y[k]).sum::<f64>();
        let mut out = vec![0.0; y.len()];
        for k in 0..k_n {
            let mut r1 = p.g(k) * t[n - 1];
            let mut r2 = 0.0;
            for j in 0..m {
                r1 -= p.coefs[k * m + j] * t[k * m + j];
                r2 += t[k * m + j];
            }
            out[k] = r1;
            out[k_n + k] = r2;
        }
        for j in 0..m {
            out[2 * k_n + j] = (0..k_n).map(|k| p.weights[k] * t[k * m + j]).sum();
        }
        for (o, (yi, ei)) in out.iter_mut().zip(y.iter().zip(&self.e)) {
            *o += ei * yi;
        }
        out
    }

    /// Solves `(A D A^T + E) y = r`, with two steps of iterative refinement: the normal matrix
    /// grows ill-conditioned as the iterates approach the optimal face.
    fn solve(&self, r: &[f64]) -> Vec<f64> {
        let mut x = self.solve_once(r);
        for _ in 0..self.refinements {
            let gx = self.apply(&x);
            let residual: Vec<f64> = r.iter().zip(&gx).map(|(a, b)| a - b).collect();
            let dx = self.solve_once(&residual);
            for (xi, di) in x.iter_mut().zip(&dx) {
                *xi += di;
            }
        }
        x
    }

    /// One Newton direction for the given residuals.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        rp: &[f64],
        rd: &[f64],
        rvw: &[f64],
        rsy: &[f64],
        v: &[f64],
        s: &[f64],
        y: &[f64],
        w: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let p = self.p;
        let k_n = p.weights.len();
        let m = p.capacities.len();
        let n = v.len();
        let rows = s.len();
        // g = D (r_d + V^-1 r_vw)
        let g: Vec<f64> = (0..n)
            .map(|i| self.d[i] * (rd[i] + rvw[i] / v[i]))
            .collect();
        // rhs = A g - r_p + Y^-1 r_sy
        let mut rhs = vec![0.0; rows];
        for k in 0..k_n {
            let mut r1 = p.g(k) * g[n - 1];
            let mut r2 = 0.0;
            for j in 0..m {
                r1 -= p.coefs[k * m + j] * g[k * m + j];
                r2 += g[k * m + j];
            }
            rhs[k] = r1;
            rhs[k_n + k] = r2;
        }
        for j in 0..m {
            rhs[2 * k_n + j] = (0..k_n).map(|k| p.weights[k] * g[k * m + j]).sum();
        }
        for i in 0..rows {
            rhs[i] += rsy[i] / y[i] - rp[i];
        }
        let dy = self.solve(&rhs);
        // dv = D (r_d + V^-1 r_vw - A^T dy) = g - D A^T dy
        let mut atdy = vec![0.0; n];
        for k in 0..k_n {
            for j in 0..m {
                atdy[k * m + j] =
                    -p.coefs[k * m + j] * dy[k] + dy[k_n + k] + p.weights[k] * dy[2 * k_n + j];
            }
        }
        atdy[n - 1] = (0..k_n).map(|k| p.g(k) * dy[k]).sum();
        let dv: Vec<f64> = (0..n).map(|i| g[i] - self.d[i] * atdy[i]).collect();
        let ds: Vec<f64> = (0..rows).map(|i| (rsy[i] - s[i] * dy[i]) / y[i]).collect();
        let dw: Vec<f64> = (0..n).map(|i| (rvw[i] - w[i] * dv[i]) / v[i]).collect();
        (dv, ds, dy, dw)
    }
}

/// In-place LU with partial pivoting of an m x m row-major matrix; returns the pivot rows.
fn lu(a: &mut [f64], m: usize) -> Vec<usize> {
    let mut piv: Vec<usize> = (0..m).collect();
    for col in 0..m {
        let best = (col..m)
            .max_by(|&i, &j| a[i * m + col].abs().total_cmp(&a[j * m + col].abs()))
            .unwrap_or(col);
        if best != col {
            for c in 0..m {
                a.swap(best * m + c, col * m + c);
            }
            piv.swap(best, col);
        }
        let p = a[col * m + col];
        if p == 0.0 {
            continue;
        }
        for r in col + 1..m {
            let f = a[r * m + col] / p;
            a[r * m + col] = f;
            for c in col + 1..m {
                a[r * m + c] -= f * a[col * m + c];
            }
        }
    }
    piv
}

fn lu_solve(a: &[f64], piv: &[usize], m: usize, x: &mut [f64]) {
    let b: Vec<f64> = piv.iter().map(|&p| x[p]).collect();
    x.copy_from_slice(&b);
    for r in 0..m {
        for c in 0..r {
            x[r] -= a[r * m + c] * x[c];
        }
    }
    for r in (0..m).rev() {
        for c in r + 1..m {
            x[r] -= a[r * m + c] * x[c];
        }
        x[r] /= a[r * m + r];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_the_last_accurate_iterate_on_a_degenerate_case() {
        // Found by the property tests: the primal residual stalls near 3e-7 while the gap
        // shrinks, then the normal equations lose accuracy.
        let caps = [5.0, 2.0, 1.0];
        let jobs: [(f64, [f64; 3]); 5] = [
            (2.0, [0.5, 0.5, 0.0]),
            (4.0, [0.5, 1.0121238754142023, 0.0]),
            (4.0, [1.0, 0.0, 0.0]),
            (
                2.0,
                [3.524117879007535, 7.706856546738176, 8.397860537902874],
            ),
            (2.0, [1.0, 0.0, 0.0]),
        ];
        let p = MaxMinProblem::new(
            jobs.iter().map(|j| j.0).collect(),
            jobs.iter()
                .flat_map(|j| j.1.iter().map(move |t| t * j.0))
                .collect(),
            caps.to_vec(),
        );
        let (x, z) = solve_max_min(&p).unwrap();
        assert!((z - 1.0).abs() < 1e-5, "{z}");
        for j in 0..3 {
            let used: f64 = (0..5).map(|k| p.weights[k] * x[k * 3 + j]).sum();
            assert!(used <= caps[j] + 1e-5, "pool {j}: {used}");
        }
    }

    #[test]
    fn a_single_job_gets_its_whole_share() {
        let p = MaxMinProblem::new(vec![4.0], vec![4.0], vec![5.0]);
        let (x, z) = solve_max_min(&p).unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-5 && (z - 4.0).abs() < 1e-5,
            "{x:?} {z}"
        );
    }

    #[test]
    fn equal_classes_share_equally() {
        // Two classes of 1 job each, one pool of 1: each gets half.
        let p = MaxMinProblem::new(vec![1.0, 1.0], vec![1.0, 1.0], vec![1.0]);
        let (x, z) = solve_max_min(&p).unwrap();
        assert!(
            (z - 0.5).abs() < 1e-7 && (x[0] - 0.5).abs() < 1e-6,
            "{x:?} {z}"
        );
    }

    #[test]
    fn matches_the_general_solver_on_a_heterogeneous_case() {
        use crate::solver::{ClarabelSolver, Cmp, LinearProgram, LpSolver};
        let p = MaxMinProblem::new(
            vec![3.0, 2.0, 4.0],
            vec![10.0, 1.0, 2.0, 2.0, 1.0, 1.0, 5.0, 5.0, 0.0],
            vec![2.0, 3.0, 1.0],
        );
        let (x, z) = solve_max_min(&p).unwrap();
        let (kn, m) = (3, 3);
        let mut lp = LinearProgram::new(kn * m + 1);
        for j in 0..m {
            lp.push(
                (0..kn).map(|k| (k * m + j, p.weights[k])).collect(),
                Cmp::Le,
                p.capacities[j],
            );
        }
        for k in 0..kn {
            lp.push((0..m).map(|j| (k * m + j, 1.0)).collect(), Cmp::Le, 1.0);
            let mut row = vec![(kn * m, 1.0)];
            row.extend((0..m).map(|j| (k * m + j, -p.coefs[k * m + j])));
            lp.push(row, Cmp::Le, 0.0);
        }
        lp.objective = vec![(kn * m, 1.0)];
        let reference = ClarabelSolver
            .solve(&lp, std::time::Duration::from_secs(5))
            .unwrap();
        assert!(
            (z - reference[kn * m]).abs() < 1e-6,
            "{z} vs {}",
            reference[kn * m]
        );
        for (a, b) in x.iter().zip(&reference) {
            assert!((a - b).abs() < 1e-4, "{x:?} vs {reference:?}");
        }
    }
}
