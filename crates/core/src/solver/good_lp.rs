//! Clarabel through good_lp's modelling layer: the reference path (the same solver as
//! [`super::ClarabelSolver`], built from good_lp expressions).
//!
//! An interior-point method returns a point in the relative interior of the optimal face when
//! the optimum is not unique, as ECOS (Gavel's solver) does; that matters for parity because the
//! round mechanism turns every allocation value into a priority.

use super::{Cmp, LinearProgram, LpSolver, SolveError};
use good_lp::solvers::clarabel::clarabel;
use good_lp::{Expression, ProblemVariables, ResolutionError, Solution, SolverModel, variable};
use std::time::Duration;

/// Clarabel (pure Rust, interior point) through good_lp.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoodLpClarabel;

impl LpSolver for GoodLpClarabel {
    fn name(&self) -> &'static str {
        "good_lp-clarabel"
    }

    fn solve(&self, lp: &LinearProgram, time_limit: Duration) -> Result<Vec<f64>, SolveError> {
        let mut vars = ProblemVariables::new();
        let xs: Vec<_> = (0..lp.num_vars)
            .map(|i| {
                let v = variable().min(0.0);
                match lp.upper.get(i).copied().flatten() {
                    Some(ub) => vars.add(v.max(ub)),
                    None => vars.add(v),
                }
            })
            .collect();
        let objective: Expression = lp.objective.iter().map(|&(i, c)| c * xs[i]).sum();
        let mut model = vars.maximise(objective).using(clarabel);
        model
            .settings()
            .time_limit(time_limit.as_secs_f64())
            .max_iter(500);
        for row in &lp.rows {
            let lhs: Expression = row.coeffs.iter().map(|&(i, c)| c * xs[i]).sum();
            let c = match row.cmp {
                Cmp::Le => lhs.leq(row.rhs),
                Cmp::Ge => lhs.geq(row.rhs),
                Cmp::Eq => lhs.eq(row.rhs),
            };
            model.add_constraint(c);
        }
        match model.solve() {
            Ok(sol) => Ok(xs.iter().map(|&x| sol.value(x)).collect()),
            Err(ResolutionError::Infeasible) => Err(SolveError::Infeasible),
            Err(e) => Err(SolveError::Stopped(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_small_lp() {
        // max x + y  s.t. x + 2y <= 4, 3x + y <= 6  ->  x = 1.6, y = 1.2
        let mut lp = LinearProgram::new(2);
        lp.objective = vec![(0, 1.0), (1, 1.0)];
        lp.push(vec![(0, 1.0), (1, 2.0)], Cmp::Le, 4.0);
        lp.push(vec![(0, 3.0), (1, 1.0)], Cmp::Le, 6.0);
        let x = GoodLpClarabel.solve(&lp, Duration::from_secs(5)).unwrap();
        assert!(
            (x[0] - 1.6).abs() < 1e-6 && (x[1] - 1.2).abs() < 1e-6,
            "{x:?}"
        );
    }

    #[test]
    fn reports_infeasible() {
        let mut lp = LinearProgram::new(1);
        lp.push(vec![(0, 1.0)], Cmp::Ge, 2.0);
        lp.upper[0] = Some(1.0);
        assert_eq!(
            GoodLpClarabel.solve(&lp, Duration::from_secs(5)),
            Err(SolveError::Infeasible)
        );
    }
}
