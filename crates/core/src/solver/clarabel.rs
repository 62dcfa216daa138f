//! The Clarabel interior-point backend, called directly on sparse matrices.
//!
//! An interior-point method returns a point in the relative interior of the optimal face when
//! the optimum is not unique, as ECOS (Gavel's solver) does; that matters for parity because the
//! round mechanism turns every allocation value into a priority.

use super::{Cmp, LinearProgram, LpSolver, SolveError};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, SolverStatus, SupportedConeT,
};
use std::time::Duration;

/// The constraint matrix in triplet form, built row by row.
#[derive(Default)]
struct Triplets {
    rows: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
    b: Vec<f64>,
}

impl Triplets {
    fn push_row(&mut self, coeffs: impl Iterator<Item = (usize, f64)>, rhs: f64) {
        let r = self.b.len();
        for (var, coef) in coeffs {
            self.rows.push(r);
            self.cols.push(var);
            self.vals.push(coef);
        }
        self.b.push(rhs);
    }
}

/// Clarabel (pure Rust, interior point).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClarabelSolver;

impl LpSolver for ClarabelSolver {
    fn name(&self) -> &'static str {
        "clarabel"
    }

    fn solve(&self, lp: &LinearProgram, time_limit: Duration) -> Result<Vec<f64>, SolveError> {
        let n = lp.num_vars;
        // Clarabel: minimize q'x s.t. Ax + s = b, s in cones. Equalities first (zero cone),
        // then every inequality as `a'x <= b` (non-negative cone), bounds included.
        let mut t = Triplets::default();
        for row in lp.rows.iter().filter(|r| r.cmp == Cmp::Eq) {
            t.push_row(row.coeffs.iter().copied(), row.rhs);
        }
        let zeros = t.b.len();
        for row in lp.rows.iter().filter(|r| r.cmp != Cmp::Eq) {
            let sign = if row.cmp == Cmp::Le { 1.0 } else { -1.0 };
            t.push_row(
                row.coeffs.iter().map(|&(v, c)| (v, sign * c)),
                sign * row.rhs,
            );
        }
        for v in 0..n {
            t.push_row(std::iter::once((v, -1.0)), 0.0);
            if let Some(ub) = lp.upper.get(v).copied().flatten() {
                t.push_row(std::iter::once((v, 1.0)), ub);
            }
        }
        let Triplets {
            rows,
            cols,
            vals,
            b,
        } = t;
        let m = b.len();
        let a = CscMatrix::new_from_triplets(m, n, rows, cols, vals);
        let p = CscMatrix::zeros((n, n));
        let mut q = vec![0.0; n];
        for &(v, c) in &lp.objective {
            q[v] -= c;
        }
        let mut cones = Vec::new();
        if zeros > 0 {
            cones.push(SupportedConeT::ZeroConeT(zeros));
        }
        cones.push(SupportedConeT::NonnegativeConeT(m - zeros));
        let settings = DefaultSettingsBuilder::default()
            .verbose(false)
            .time_limit(time_limit.as_secs_f64())
            .max_iter(500)
            // The allocation LPs are small and well scaled; refinement of each KKT solve costs a
            // fifth of the time and changes no result we compare (see the parity table).
            .iterative_refinement_enable(false)
            .build()
            .map_err(|e| SolveError::Stopped(format!("bad settings: {e}")))?;
        let mut solver = DefaultSolver::new(&p, &q, &a, &b, &cones, settings)
            .map_err(|e| SolveError::Stopped(e.to_string()))?;
        solver.solve();
        match solver.solution.status {
            SolverStatus::Solved | SolverStatus::AlmostSolved => Ok(solver.solution.x.clone()),
            SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
                Err(SolveError::Infeasible)
            }
            other => Err(SolveError::Stopped(format!("{other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solver::GoodLpClarabel;

    #[test]
    fn solves_a_small_lp_like_the_good_lp_path() {
        // max x + y  s.t. x + 2y <= 4, 3x + y <= 6, x - y == 0.4  ->  x = 1.6, y = 1.2
        let mut lp = LinearProgram::new(2);
        lp.objective = vec![(0, 1.0), (1, 1.0)];
        lp.push(vec![(0, 1.0), (1, 2.0)], Cmp::Le, 4.0);
        lp.push(vec![(0, 3.0), (1, 1.0)], Cmp::Le, 6.0);
        lp.push(vec![(0, 1.0), (1, -1.0)], Cmp::Eq, 0.4);
        let limit = Duration::from_secs(5);
        let x = ClarabelSolver.solve(&lp, limit).unwrap();
        let y = GoodLpClarabel.solve(&lp, limit).unwrap();
        assert!(
            (x[0] - 1.6).abs() < 1e-6 && (x[1] - 1.2).abs() < 1e-6,
            "{x:?}"
        );
        assert!((x[0] - y[0]).abs() < 1e-6 && (x[1] - y[1]).abs() < 1e-6);
    }

    #[test]
    fn reports_infeasible() {
        let mut lp = LinearProgram::new(1);
        lp.push(vec![(0, 1.0)], Cmp::Ge, 2.0);
        lp.upper[0] = Some(1.0);
        assert_eq!(
            ClarabelSolver.solve(&lp, Duration::from_secs(5)),
            Err(SolveError::Infeasible)
        );
    }
}
