//! Linear programs behind a small trait, so that policies do not depend on one solver crate and
//! tests can cross-check two backends on the same problem.
//!
//! Every solve is bounded by a time limit: a policy that cannot get an answer in time returns an
//! error instead of stalling a round.

mod clarabel;
mod good_lp;
mod makespan_ipm;
mod maxmin_ipm;
mod simplex;

pub use clarabel::ClarabelSolver;
pub use good_lp::GoodLpClarabel;
pub use makespan_ipm::{MakespanLp, solve_finish_within};
pub use maxmin_ipm::{MaxMinProblem, solve_max_min};
pub use simplex::DenseSimplex;

use std::time::Duration;

/// How a row compares with its right-hand side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `row <= rhs`
    Le,
    /// `row >= rhs`
    Ge,
    /// `row == rhs`
    Eq,
}

/// One linear constraint: `sum(coef * x[var]) cmp rhs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Sparse coefficients (variable index, coefficient).
    pub coeffs: Vec<(usize, f64)>,
    /// The comparison.
    pub cmp: Cmp,
    /// The right-hand side.
    pub rhs: f64,
}

/// A linear program over `num_vars` variables, each `>= 0` and optionally bounded above.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinearProgram {
    /// Number of variables.
    pub num_vars: usize,
    /// Upper bound of each variable (`None` = unbounded); empty means all unbounded.
    pub upper: Vec<Option<f64>>,
    /// Objective coefficients (sparse); the objective is maximized.
    pub objective: Vec<(usize, f64)>,
    /// Constraints.
    pub rows: Vec<Row>,
}

impl LinearProgram {
    /// A program over `num_vars` non-negative variables with no constraints yet.
    pub fn new(num_vars: usize) -> LinearProgram {
        LinearProgram {
            num_vars,
            upper: vec![None; num_vars],
            ..LinearProgram::default()
        }
    }

    /// Adds a constraint.
    pub fn push(&mut self, coeffs: Vec<(usize, f64)>, cmp: Cmp, rhs: f64) {
        self.rows.push(Row { coeffs, cmp, rhs });
    }
}

/// Why a solve failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SolveError {
    /// No point satisfies the constraints.
    #[error("the problem is infeasible")]
    Infeasible,
    /// The solver ran out of time or iterations.
    #[error("the solver stopped early: {0}")]
    Stopped(String),
}

/// A linear-programming backend.
pub trait LpSolver: std::fmt::Debug + Send + Sync {
    /// The backend's name, for reports.
    fn name(&self) -> &'static str;

    /// Maximizes `lp.objective` subject to its rows, variables `>= 0`; returns the values of the
    /// variables. Gives up after `time_limit`.
    fn solve(&self, lp: &LinearProgram, time_limit: Duration) -> Result<Vec<f64>, SolveError>;
}
