//! A dense two-phase primal simplex with Bland's rule: exact vertex solutions for small LPs.
//!
//! It exists to cross-check the interior-point backend on the same problems (same optimal value,
//! by a different algorithm); it is not meant for large problems (dense tableau).

use super::{Cmp, LinearProgram, LpSolver, Row, SolveError};
use std::time::Duration;

const EPS: f64 = 1e-9;

/// Dense simplex (Bland's rule, two phases).
#[derive(Debug, Clone, Copy, Default)]
pub struct DenseSimplex;

impl LpSolver for DenseSimplex {
    fn name(&self) -> &'static str {
        "dense-simplex"
    }

    fn solve(&self, lp: &LinearProgram, _time_limit: Duration) -> Result<Vec<f64>, SolveError> {
        // Rows with rhs >= 0, upper bounds as rows.
        let mut rows: Vec<Row> = lp.rows.clone();
        for (v, ub) in lp.upper.iter().enumerate() {
            if let Some(ub) = ub {
                rows.push(Row {
                    coeffs: vec![(v, 1.0)],
                    cmp: Cmp::Le,
                    rhs: *ub,
                });
            }
        }
        for row in &mut rows {
            if row.rhs < 0.0 {
                row.rhs = -row.rhs;
                for c in &mut row.coeffs {
                    c.1 = -c.1;
                }
                row.cmp = match row.cmp {
                    Cmp::Le => Cmp::Ge,
                    Cmp::Ge => Cmp::Le,
                    Cmp::Eq => Cmp::Eq,
                };
            }
        }
        let n = lp.num_vars;
        let m = rows.len();
        let slacks = rows.iter().filter(|r| r.cmp != Cmp::Eq).count();
        let artificials = rows.iter().filter(|r| r.cmp != Cmp::Le).count();
        let width = n + slacks + artificials;
        // Tableau: m constraint rows, then the objective row; last column is the rhs.
        let mut t = vec![vec![0.0; width + 1]; m + 1];
        let mut basis = vec![0usize; m];
        let (mut s, mut a) = (n, n + slacks);
        for (i, row) in rows.iter().enumerate() {
            for &(v, c) in &row.coeffs {
                t[i][v] += c;
            }
            t[i][width] = row.rhs;
            match row.cmp {
                Cmp::Le => {
                    t[i][s] = 1.0;
                    basis[i] = s;
                    s += 1;
                }
                Cmp::Ge => {
                    t[i][s] = -1.0;
                    s += 1;
                    t[i][a] = 1.0;
                    basis[i] = a;
                    a += 1;
                }
                Cmp::Eq => {
                    t[i][a] = 1.0;
                    basis[i] = a;
                    a += 1;
                }
            }
        }
        // Phase 1: maximize -sum(artificials). Objective row holds reduced costs (c_B B^-1 A - c).
        if artificials > 0 {
            t[m][n + slacks..width].fill(1.0);
            for i in 0..m {
                if basis[i] >= n + slacks {
                    let row = t[i].clone();
                    for (obj, v) in t[m].iter_mut().zip(&row) {
                        *obj -= v;
                    }
                }
            }
            run(&mut t, &mut basis, width)?;
            if t[m][width] < -1e-7 {
                return Err(SolveError::Infeasible);
            }
            // Drive artificials out of the basis where possible.
            for i in 0..m {
                if basis[i] >= n + slacks {
                    if let Some(col) = (0..n + slacks).find(|&c| t[i][c].abs() > EPS) {
                        pivot(&mut t, &mut basis, i, col);
                    }
                }
            }
            for row in t.iter_mut() {
                row[n + slacks..width].fill(0.0);
            }
        }
        // Phase 2.
        for v in t[m].iter_mut() {
            *v = 0.0;
        }
        for &(v, c) in &lp.objective {
            t[m][v] -= c;
        }
        for i in 0..m {
            let b = basis[i];
            let cost = -t[m][b];
            if cost != 0.0 {
                let row = t[i].clone();
                for (obj, v) in t[m].iter_mut().zip(&row) {
                    *obj += cost * v;
                }
            }
        }
        run(&mut t, &mut basis, n + slacks)?;
        let mut x = vec![0.0; n];
        for i in 0..m {
            if basis[i] < n {
                x[basis[i]] = t[i][width];
            }
        }
        Ok(x)
    }
}

fn pivot(t: &mut [Vec<f64>], basis: &mut [usize], row: usize, col: usize) {
    let p = t[row][col];
    for v in t[row].iter_mut() {
        *v /= p;
    }
    let pivot_row = t[row].clone();
    for (i, r) in t.iter_mut().enumerate() {
        if i != row {
            let f = r[col];
            if f != 0.0 {
                for (v, pv) in r.iter_mut().zip(&pivot_row) {
                    *v -= f * pv;
                }
            }
        }
    }
    basis[row] = col;
}

/// Iterates with Bland's rule over the first `cols` columns until optimal.
fn run(t: &mut [Vec<f64>], basis: &mut [usize], cols: usize) -> Result<(), SolveError> {
    let m = t.len() - 1;
    let width = t[0].len() - 1;
    for _ in 0..50_000 {
        let Some(col) = (0..cols).find(|&c| t[m][c] < -EPS) else {
            return Ok(());
        };
        let mut best: Option<(usize, f64)> = None;
        for i in 0..m {
            if t[i][col] > EPS {
                let ratio = t[i][width] / t[i][col];
                let better = match best {
                    None => true,
                    Some((bi, br)) => {
                        ratio < br - EPS || (ratio < br + EPS && basis[i] < basis[bi])
                    }
                };
                if better {
                    best = Some((i, ratio));
                }
            }
        }
        let Some((row, _)) = best else {
            return Err(SolveError::Stopped("the problem is unbounded".to_string()));
        };
        pivot(t, basis, row, col);
    }
    Err(SolveError::Stopped("iteration limit".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_with_all_row_kinds() {
        // max x + y  s.t. x + 2y <= 4, 3x + y <= 6, x - y == 0.4, x >= 1  ->  x = 1.6, y = 1.2
        let mut lp = LinearProgram::new(2);
        lp.objective = vec![(0, 1.0), (1, 1.0)];
        lp.push(vec![(0, 1.0), (1, 2.0)], Cmp::Le, 4.0);
        lp.push(vec![(0, 3.0), (1, 1.0)], Cmp::Le, 6.0);
        lp.push(vec![(0, 1.0), (1, -1.0)], Cmp::Eq, 0.4);
        lp.push(vec![(0, 1.0)], Cmp::Ge, 1.0);
        let x = DenseSimplex.solve(&lp, Duration::from_secs(1)).unwrap();
        assert!(
            (x[0] - 1.6).abs() < 1e-9 && (x[1] - 1.2).abs() < 1e-9,
            "{x:?}"
        );
    }

    #[test]
    fn reports_infeasible() {
        let mut lp = LinearProgram::new(1);
        lp.push(vec![(0, 1.0)], Cmp::Ge, 2.0);
        lp.upper[0] = Some(1.0);
        assert_eq!(
            DenseSimplex.solve(&lp, Duration::from_secs(1)),
            Err(SolveError::Infeasible)
        );
    }
}
