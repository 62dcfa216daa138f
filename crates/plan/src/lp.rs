//! A linear (or mixed-integer) program as plain data, and the solver behind a small trait with
//! a time limit. The planner builds an [`Lp`] row by row; [`Highs`] solves it. Keeping the
//! problem as data lets tests look at it and lets another backend be put behind [`Solver`].

use crate::error::PlanError;
use std::time::Duration;

/// A column index.
pub(crate) type Col = usize;

/// min `cost . x` subject to `row_lb <= A x <= row_ub`, `lb <= x <= ub`, some `x` integer.
#[derive(Debug, Default, Clone)]
pub struct Lp {
    pub(crate) cost: Vec<f64>,
    pub(crate) lb: Vec<f64>,
    pub(crate) ub: Vec<f64>,
    pub(crate) integer: Vec<bool>,
    pub(crate) row_lb: Vec<f64>,
    pub(crate) row_ub: Vec<f64>,
    /// Row `i`'s entries are `entries[row_start[i]..row_start[i + 1]]`.
    row_start: Vec<usize>,
    entries: Vec<(Col, f64)>,
}

impl Lp {
    /// A column with its objective coefficient and bounds.
    pub(crate) fn col(&mut self, cost: f64, lb: f64, ub: f64, integer: bool) -> Col {
        self.cost.push(cost);
        self.lb.push(lb);
        self.ub.push(ub);
        self.integer.push(integer);
        self.cost.len() - 1
    }

    /// A row `lb <= sum coef x <= ub`; zero coefficients are dropped.
    pub(crate) fn row(&mut self, lb: f64, ub: f64, entries: impl IntoIterator<Item = (Col, f64)>) {
        if self.row_start.is_empty() {
            self.row_start.push(0);
        }
        self.entries
            .extend(entries.into_iter().filter(|&(_, v)| v != 0.0));
        self.row_start.push(self.entries.len());
        self.row_lb.push(lb);
        self.row_ub.push(ub);
    }

    /// Columns.
    pub fn num_cols(&self) -> usize {
        self.cost.len()
    }

    /// Rows.
    pub fn num_rows(&self) -> usize {
        self.row_lb.len()
    }

    /// Whether any column is integer.
    pub fn has_integers(&self) -> bool {
        self.integer.iter().any(|&i| i)
    }

    /// Row `i`'s entries.
    pub(crate) fn row_entries(&self, i: usize) -> &[(Col, f64)] {
        &self.entries[self.row_start[i]..self.row_start[i + 1]]
    }

    /// `A x` for row `i`.
    #[cfg(test)]
    pub(crate) fn row_activity(&self, i: usize, x: &[f64]) -> f64 {
        self.row_entries(i).iter().map(|&(c, v)| v * x[c]).sum()
    }
}

/// A solution: the columns' values and the objective.
#[derive(Debug, Clone)]
pub struct LpSolution {
    pub x: Vec<f64>,
    pub objective: f64,
    /// The relative MIP gap when the solver stopped at its time limit with a feasible point.
    pub gap: Option<f64>,
}

/// A solver with a bounded solve.
pub trait Solver {
    /// Solves `lp` within `time_limit`; an infeasible problem or no solution in time is an
    /// error.
    fn solve_bounded(&self, lp: &Lp, time_limit: Duration) -> Result<LpSolution, PlanError>;
}

/// HiGHS (simplex, interior point, branch and cut), built from source by `highs-sys`.
#[derive(Debug, Clone, Copy)]
pub struct Highs {
    /// Relative MIP gap at which branch and cut stops.
    pub mip_gap: f64,
}

impl Default for Highs {
    fn default() -> Highs {
        Highs { mip_gap: 5e-3 }
    }
}

impl Solver for Highs {
    fn solve_bounded(&self, lp: &Lp, time_limit: Duration) -> Result<LpSolution, PlanError> {
        use highs::{ColProblem, HighsModelStatus, Sense};
        // HiGHS takes columns; the problem was built by rows, so transpose once.
        let mut by_col: Vec<Vec<(usize, f64)>> = vec![Vec::new(); lp.num_cols()];
        for i in 0..lp.num_rows() {
            for &(c, v) in lp.row_entries(i) {
                by_col[c].push((i, v));
            }
        }
        let mut pb = ColProblem::new();
        let rows: Vec<highs::Row> = (0..lp.num_rows())
            .map(|i| pb.add_row(lp.row_lb[i]..=lp.row_ub[i]))
            .collect();
        for (c, entries) in by_col.into_iter().enumerate() {
            let factors = entries.into_iter().map(|(r, v)| (rows[r], v));
            pb.add_column_with_integrality(lp.cost[c], lp.lb[c]..=lp.ub[c], factors, lp.integer[c]);
        }
        let mut model = pb
            .try_optimise(Sense::Minimise)
            .map_err(|e| PlanError::Solver {
                message: format!("HiGHS refused the problem: {e:?}"),
            })?;
        // HiGHS's own log (presolve, simplex or IPM iterations, branch and cut) on stderr, for
        // profiling a slow plan: `SPILLWAY_HIGHS_LOG=1`.
        if std::env::var_os("SPILLWAY_HIGHS_LOG").is_none() {
            model.make_quiet();
        } else {
            model.set_option("output_flag", true);
            model.set_option("log_to_console", true);
        }
        model.set_option("time_limit", time_limit.as_secs_f64());
        model.set_option("mip_rel_gap", self.mip_gap);
        // Extra HiGHS options for experiments, `SPILLWAY_HIGHS_OPTIONS=name=value,...`.
        if let Ok(extra) = std::env::var("SPILLWAY_HIGHS_OPTIONS") {
            for (name, value) in extra.split(',').filter_map(|kv| kv.split_once('=')) {
                if let Ok(b) = value.parse::<bool>() {
                    model.set_option(name, b);
                } else if let Ok(i) = value.parse::<i32>() {
                    model.set_option(name, i);
                } else if let Ok(f) = value.parse::<f64>() {
                    model.set_option(name, f);
                } else {
                    model.set_option(name, value);
                }
            }
        }
        let solved = model.try_solve().map_err(|e| PlanError::Solver {
            message: format!("HiGHS failed: {e:?}"),
        })?;
        let status = solved.status();
        let x = solved.get_solution().columns().to_vec();
        let feasible_in_time = status == HighsModelStatus::ReachedTimeLimit
            && x.len() == lp.num_cols()
            && solved.objective_value().is_finite();
        match status {
            HighsModelStatus::Optimal | HighsModelStatus::ModelEmpty => Ok(LpSolution {
                objective: solved.objective_value(),
                x,
                gap: None,
            }),
            _ if feasible_in_time && lp.has_integers() => Ok(LpSolution {
                objective: solved.objective_value(),
                gap: Some(solved.mip_gap()),
                x,
            }),
            HighsModelStatus::ReachedTimeLimit => Err(PlanError::Solver {
                message: format!(
                    "no solution within the time limit of {:.0} s ({} columns, {} rows); raise \
                     [plan] time_limit_s or plan with fewer scenarios",
                    time_limit.as_secs_f64(),
                    lp.num_cols(),
                    lp.num_rows()
                ),
            }),
            other => Err(PlanError::Solver {
                message: format!("status {other:?}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highs_solves_a_small_milp() {
        // min -x - y, x + 2y <= 4.5, 3x + y <= 6, x integer.
        let mut lp = Lp::default();
        let x = lp.col(-1.0, 0.0, 10.0, true);
        let y = lp.col(-1.0, 0.0, 10.0, false);
        lp.row(f64::NEG_INFINITY, 4.5, [(x, 1.0), (y, 2.0)]);
        lp.row(f64::NEG_INFINITY, 6.0, [(x, 3.0), (y, 1.0)]);
        let s = Highs::default()
            .solve_bounded(&lp, Duration::from_secs(10))
            .unwrap();
        assert_eq!(s.x[x].round(), s.x[x]);
        // x = 1, y = 1.75 (or x = 2, y = 0 worse: -2); best -2.75? x=1: y<=1.75 and y<=3 -> -2.75.
        assert!((s.objective + 2.75).abs() < 1e-6, "{}", s.objective);
        assert!(lp.row_activity(0, &s.x) <= 4.5 + 1e-9);
    }
}
