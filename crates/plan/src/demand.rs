//! Demand: per class, reference-accelerator-hours per period, from a growth model with
//! seasonality; its uncertainty as named scenarios with probabilities or as paths sampled from
//! a seeded growth distribution.
//!
//! Month `m` (0-based) of class `k`: `D = start x (1 + g)^(m / 12) x season[(c0 + m) mod 12]`,
//! with `c0` the calendar month of the plan's first month. A sampled path draws its own growth
//! `g + growth_sd x z` per class (`z` standard normal, correlated across classes by
//! `class_correlation`) and multiplies each month by `exp(s e - s^2 / 2)` (`e` standard normal,
//! `s = monthly_noise_sd`), so that a month's expected noise factor is 1.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// A workload class's growth model.
#[derive(Debug, Clone, Serialize)]
pub struct Growth {
    /// Work in the first month, reference-hours.
    pub start_ref_hours_per_month: f64,
    /// Annual growth rate.
    pub annual_growth: f64,
    /// Twelve monthly factors with mean 1, January first.
    pub seasonality: [f64; 12],
    /// Calendar month (0 = January) of the plan's first month.
    pub first_calendar_month: usize,
}

impl Growth {
    /// Work in month `m` with growth `g` and level factor `level`.
    fn month(&self, m: usize, g: f64, level: f64) -> f64 {
        let season = self.seasonality[(self.first_calendar_month + m) % 12];
        self.start_ref_hours_per_month * level * (1.0 + g).max(0.01).powf(m as f64 / 12.0) * season
    }
}

/// How the uncertainty is described.
#[derive(Debug, Clone, Serialize)]
pub enum Uncertainty {
    /// Named scenarios: multipliers on growth and level, with probabilities.
    Scenarios(Vec<NamedScenario>),
    /// Paths sampled from the growth distribution.
    Sampled(SamplingModel),
}

/// One named scenario of the file.
#[derive(Debug, Clone, Serialize)]
pub struct NamedScenario {
    pub name: String,
    pub probability: f64,
    pub growth_multiplier: f64,
    pub level_multiplier: f64,
}

/// The growth distribution sampled paths come from.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SamplingModel {
    pub paths: usize,
    pub growth_sd: f64,
    pub monthly_noise_sd: f64,
    pub class_correlation: f64,
}

/// One demand scenario: work per class per period.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub probability: f64,
    /// `demand[k][t]`: reference-hours of class `k` in period `t`.
    pub demand: Vec<Vec<f64>>,
}

/// The periods of a plan: how many, and months in each.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Periods {
    pub count: usize,
    pub months: usize,
}

impl Periods {
    /// Months in the horizon.
    pub fn horizon_months(self) -> usize {
        self.count * self.months
    }
}

/// A standard normal draw (Box-Muller; one of the pair is dropped to keep the stream simple).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Sums monthly values into periods.
fn into_periods(months: &[f64], periods: Periods) -> Vec<f64> {
    months
        .chunks(periods.months)
        .map(|c| c.iter().sum())
        .collect()
}

/// The scenario with growth multiplier `gm` and level multiplier `lm` on every class.
pub fn deterministic(
    classes: &[Growth],
    periods: Periods,
    name: &str,
    probability: f64,
    gm: f64,
    lm: f64,
) -> Scenario {
    let demand = classes
        .iter()
        .map(|c| {
            let months: Vec<f64> = (0..periods.horizon_months())
                .map(|m| c.month(m, c.annual_growth * gm, lm))
                .collect();
            into_periods(&months, periods)
        })
        .collect();
    Scenario {
        name: name.to_string(),
        probability,
        demand,
    }
}

/// `n` paths sampled from `model` with `seed`, equally likely. The same seed gives the same
/// paths; path `i` depends only on the seed and `i`'s place in the stream.
pub fn sample(
    classes: &[Growth],
    periods: Periods,
    model: &SamplingModel,
    n: usize,
    seed: u64,
) -> Vec<Scenario> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rho = model.class_correlation.clamp(0.0, 1.0);
    let s = model.monthly_noise_sd;
    (0..n)
        .map(|i| {
            let common = normal(&mut rng);
            let demand = classes
                .iter()
                .map(|c| {
                    let z = rho.sqrt() * common + (1.0 - rho).sqrt() * normal(&mut rng);
                    let g = c.annual_growth + model.growth_sd * z;
                    let months: Vec<f64> = (0..periods.horizon_months())
                        .map(|m| {
                            let noise = (s * normal(&mut rng) - s * s / 2.0).exp();
                            c.month(m, g, 1.0) * noise
                        })
                        .collect();
                    into_periods(&months, periods)
                })
                .collect();
            Scenario {
                name: format!("path-{i}"),
                probability: 1.0 / n as f64,
                demand,
            }
        })
        .collect()
}

/// `n` paths for plans made with named scenarios: each path draws a scenario by its
/// probability, then its own growth (the scenario's, +-5 points, normal) and 5% monthly noise,
/// so that the paths are near the scenarios but not equal to them.
pub fn sample_from_scenarios(
    classes: &[Growth],
    periods: Periods,
    scenarios: &[NamedScenario],
    n: usize,
    seed: u64,
) -> Vec<Scenario> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let s = 0.05;
    (0..n)
        .map(|i| {
            let u: f64 = rng.random::<f64>();
            let mut acc = 0.0;
            let pick = scenarios
                .iter()
                .find(|sc| {
                    acc += sc.probability;
                    u < acc
                })
                .unwrap_or(&scenarios[scenarios.len() - 1]);
            let shock = 0.05 * normal(&mut rng);
            let demand = classes
                .iter()
                .map(|c| {
                    let g = c.annual_growth * pick.growth_multiplier + shock;
                    let months: Vec<f64> = (0..periods.horizon_months())
                        .map(|m| {
                            let noise = (s * normal(&mut rng) - s * s / 2.0).exp();
                            c.month(m, g, pick.level_multiplier) * noise
                        })
                        .collect();
                    into_periods(&months, periods)
                })
                .collect();
            Scenario {
                name: format!("path-{i} ({})", pick.name),
                probability: 1.0 / n as f64,
                demand,
            }
        })
        .collect()
}

/// The probability-weighted mean of `scenarios`, as one scenario of probability 1.
pub fn mean(scenarios: &[Scenario]) -> Scenario {
    let classes = scenarios[0].demand.len();
    let periods = scenarios[0].demand[0].len();
    let mut demand = vec![vec![0.0; periods]; classes];
    for s in scenarios {
        for (k, row) in s.demand.iter().enumerate() {
            for (t, d) in row.iter().enumerate() {
                demand[k][t] += s.probability * d;
            }
        }
    }
    Scenario {
        name: "mean".into(),
        probability: 1.0,
        demand,
    }
}

/// Every scenario's demand multiplied by `factor`.
pub fn scaled(scenarios: &[Scenario], factor: f64) -> Vec<Scenario> {
    scenarios
        .iter()
        .map(|s| Scenario {
            name: s.name.clone(),
            probability: s.probability,
            demand: s
                .demand
                .iter()
                .map(|row| row.iter().map(|d| d * factor).collect())
                .collect(),
        })
        .collect()
}

/// The per-period maximum over `scenarios` (the envelope that "build to peak" sizes for).
pub fn envelope(scenarios: &[Scenario]) -> Scenario {
    let mut out = mean(scenarios);
    out.name = "peak".into();
    for s in scenarios {
        for (k, row) in s.demand.iter().enumerate() {
            for (t, d) in row.iter().enumerate() {
                out.demand[k][t] = out.demand[k][t].max(*d);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn growth() -> Growth {
        Growth {
            start_ref_hours_per_month: 1000.0,
            annual_growth: 0.5,
            seasonality: [1.0; 12],
            first_calendar_month: 0,
        }
    }

    #[test]
    fn growth_compounds_yearly_and_periods_sum_months() {
        let p = Periods {
            count: 8,
            months: 3,
        };
        let s = deterministic(&[growth()], p, "base", 1.0, 1.0, 1.0);
        // Month 12 is 1.5x month 0; a quarter is three months.
        let m = |m: usize| growth().month(m, 0.5, 1.0);
        assert!((m(12) / m(0) - 1.5).abs() < 1e-12);
        assert!((s.demand[0][0] - (m(0) + m(1) + m(2))).abs() < 1e-9);
        assert_eq!(s.demand[0].len(), 8);
    }

    #[test]
    fn sampling_is_reproducible_and_centred() {
        let p = Periods {
            count: 24,
            months: 1,
        };
        let model = SamplingModel {
            paths: 400,
            growth_sd: 0.2,
            monthly_noise_sd: 0.05,
            class_correlation: 0.5,
        };
        let a = sample(&[growth()], p, &model, 400, 7);
        let b = sample(&[growth()], p, &model, 400, 7);
        assert_eq!(a[17].demand, b[17].demand);
        let c = sample(&[growth()], p, &model, 400, 8);
        assert_ne!(a[0].demand, c[0].demand);
        // The mean path's first month is near the model's (noise has mean 1).
        let m = mean(&a);
        assert!(
            (m.demand[0][0] / 1000.0 - 1.0).abs() < 0.02,
            "{}",
            m.demand[0][0]
        );
        let e = envelope(&a);
        assert!(e.demand[0][23] >= m.demand[0][23]);
    }
}
