//! Demand derived from observed use (`--demand-from-trace`, `--demand-from-server`): a cluster
//! trace or the service's history becomes reference-accelerator-hours per month, and a growth fit
//! per class that replaces the plan file's `start_ref_hours_per_month` and `annual_growth`.
//!
//! The caller reads the source (the CLI reads traces with the simulator's readers and the history
//! through the server's API) and hands over plain [`Usage`] records, so this crate depends on
//! neither. Neither source says which of the plan's classes a job belongs to (a trace has no
//! framework or kind; the history's job specs have none either), so the observed work is split
//! among the classes in the proportions of their `start_ref_hours_per_month` in the file: the
//! file gives the mix, the observation gives the level and the trend.

use crate::error::PlanError;
use crate::input::{HOURS_PER_MONTH, PlanInput};
use serde::Serialize;

/// Seconds in a planning month (730 hours).
const MONTH_S: f64 = HOURS_PER_MONTH * 3600.0;

/// One job's (or one attempt's) use of accelerators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Start, seconds from any fixed origin.
    pub start_s: f64,
    /// End, seconds from the same origin (`>= start_s`).
    pub end_s: f64,
    /// Accelerators held at once.
    pub chips: f64,
}

/// What a source gave for one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassFit {
    pub class: String,
    /// Observed reference-hours per full month, first month first.
    pub monthly_ref_hours: Vec<f64>,
    /// The fitted level at the month after the observation ends, reference-hours per month.
    pub start_ref_hours_per_month: f64,
    /// The fitted annual growth (the file's, when fewer than two months were observed).
    pub annual_growth: f64,
}

/// Demand derived from a source.
#[derive(Debug, Clone, Serialize)]
pub struct Derived {
    /// The trace file or server URL.
    pub source: String,
    /// Usage records read.
    pub records: usize,
    /// Full months observed (after dropping the first, warm-up month where there are three or
    /// more).
    pub months: usize,
    /// Chip-hours are multiplied by this to give reference-hours (`--demand-scale`).
    pub scale: f64,
    pub classes: Vec<ClassFit>,
    /// What the derivation assumed or could not do, in sentences.
    pub notes: Vec<String>,
}

/// Derives monthly demand and a growth fit per class of `input` from `usage`. `scale`
/// multiplies every chip-hour (a trace read as one team's share of a larger organization).
///
/// The observation window runs from the first start to the last start, in whole 730-hour
/// months; a job's chip-hours are spread over the months it ran, clipped to the window. The first
/// month is dropped as warm-up when there are three or more (jobs that started before the trace
/// are missing from it). The fit is least squares of `ln(work)` on the month; the level is the
/// fitted value one month after the window, the growth `exp(12 slope) - 1`.
pub fn derive(
    input: &PlanInput,
    usage: &[Usage],
    scale: f64,
    source: &str,
) -> Result<Derived, PlanError> {
    if !(scale.is_finite() && scale > 0.0) {
        return Err(PlanError::field(
            "--demand-scale",
            format!("{scale} must be a positive number"),
        ));
    }
    for (i, u) in usage.iter().enumerate() {
        let ok = u.start_s.is_finite() && u.end_s.is_finite() && u.end_s >= u.start_s;
        if !(ok && u.chips.is_finite() && u.chips >= 0.0) {
            return Err(PlanError::field(
                format!("{source}: record {i}"),
                format!(
                    "start {} s, end {} s, chips {}: needs finite times with end >= start and \
                     chips >= 0",
                    u.start_s, u.end_s, u.chips
                ),
            ));
        }
    }
    let Some(t0) = usage.iter().map(|u| u.start_s).min_by(f64::total_cmp) else {
        return Err(PlanError::field(
            source,
            "holds no jobs to derive demand from",
        ));
    };
    let last = usage
        .iter()
        .map(|u| u.start_s)
        .max_by(f64::total_cmp)
        .unwrap_or(t0);
    let n = ((last - t0) / MONTH_S).floor() as usize;
    if n == 0 {
        return Err(PlanError::field(
            source,
            format!(
                "spans {:.1} days of job starts; at least one full month (30.4 days) is needed to \
                 derive monthly demand",
                (last - t0) / 86_400.0
            ),
        ));
    }
    let mut monthly = vec![0.0; n];
    for u in usage {
        let (a, b) = (u.start_s - t0, (u.end_s - t0).min(n as f64 * MONTH_S));
        if b <= a {
            continue;
        }
        let first = (a / MONTH_S).floor() as usize;
        let end = ((b / MONTH_S).ceil() as usize).min(n);
        for (m, slot) in monthly.iter_mut().enumerate().take(end).skip(first) {
            let (ms, me) = (m as f64 * MONTH_S, (m + 1) as f64 * MONTH_S);
            let overlap = b.min(me) - a.max(ms);
            if overlap > 0.0 {
                *slot += u.chips * overlap / 3600.0 * scale;
            }
        }
    }
    let mut notes = vec![
        "the source names no workload class: its work is split among the classes in the \
         proportions of their start_ref_hours_per_month in the plan file"
            .to_string(),
        "chip-hours are read as reference-accelerator-hours (the source does not say which \
         accelerator ran them)"
            .to_string(),
    ];
    if monthly.len() >= 3 {
        monthly.remove(0);
        notes.push("the first month is left out as warm-up (jobs that started before the source begins are missing from it)".into());
    }
    let fit = fit_growth(&monthly);
    if fit.is_none() {
        notes.push(
            "fewer than two months with work: the level is the observed mean, the growth is the \
             plan file's"
                .into(),
        );
    }
    if monthly.len() < 12 {
        notes.push(format!(
            "the growth is fitted on {} months only: read the sensitivity to demand growth",
            monthly.len()
        ));
    }
    let total_file: f64 = input
        .classes
        .iter()
        .map(|c| c.growth.start_ref_hours_per_month)
        .sum();
    let classes = input
        .classes
        .iter()
        .map(|c| {
            let share = if total_file > 0.0 {
                c.growth.start_ref_hours_per_month / total_file
            } else {
                1.0 / input.classes.len() as f64
            };
            let observed: Vec<f64> = monthly.iter().map(|v| v * share).collect();
            let (start, growth) = match fit {
                Some((level, g)) => (level * share, g),
                None => (
                    observed.iter().sum::<f64>() / observed.len() as f64,
                    c.growth.annual_growth,
                ),
            };
            ClassFit {
                class: c.name.clone(),
                monthly_ref_hours: observed,
                start_ref_hours_per_month: start,
                annual_growth: growth,
            }
        })
        .collect();
    Ok(Derived {
        source: source.to_string(),
        records: usage.len(),
        months: monthly.len(),
        scale,
        classes,
        notes,
    })
}

/// Least squares of `ln(y)` on the month over the months with work: the level one month after
/// the last and the annual growth; `None` below two such months.
fn fit_growth(monthly: &[f64]) -> Option<(f64, f64)> {
    let pts: Vec<(f64, f64)> = monthly
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0.0)
        .map(|(m, v)| (m as f64, v.ln()))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let slope = sxy / sxx;
    let level = (my + slope * (monthly.len() as f64 - mx)).exp();
    Some((level, (12.0 * slope).exp() - 1.0))
}

/// `input` with each class's level and growth taken from `derived`.
pub fn apply(input: &PlanInput, derived: &Derived) -> PlanInput {
    let mut out = input.clone();
    for (class, fit) in out.classes.iter_mut().zip(&derived.classes) {
        class.growth.start_ref_hours_per_month = fit.start_ref_hours_per_month;
        class.growth.annual_growth = fit.annual_growth;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two classes in the proportions 3:1.
    const PLAN: &str = r#"
[plan]
name = "derive"
horizon_months = 12
discount_rate = 0.0
service_level = 1.0

[[scenario]]
name = "only"
probability = 1.0

[[class]]
name = "big"
framework = "cuda"
kind = "pretrain"
start_ref_hours_per_month = 3000
annual_growth = 0.1

[[class]]
name = "small"
framework = "any"
kind = "finetune"
start_ref_hours_per_month = 1000
annual_growth = 0.1

[[rent]]
provider = "aws"
accelerator = "H100"
price_per_chip_hour = 5.0
"#;

    fn fixture() -> PlanInput {
        crate::input::validate(
            &crate::input::parse(PLAN).expect("parses"),
            &spillway_catalog::Catalog::bundled(),
        )
        .expect("valid")
    }

    /// `chips` busy all the time in month `m` (one record per month).
    fn month(m: usize, chips: f64) -> Usage {
        Usage {
            start_s: m as f64 * MONTH_S,
            end_s: (m + 1) as f64 * MONTH_S,
            chips,
        }
    }

    #[test]
    fn doubling_every_year_is_fitted_and_split_by_the_file_mix() {
        let input = fixture();
        // 10 chips in month 0 growing 2x a year, months 0..=13; one start in month 14 closes the
        // window at 14 full months.
        let mut usage: Vec<Usage> = (0..14)
            .map(|m| month(m, 10.0 * 2f64.powf(m as f64 / 12.0)))
            .collect();
        usage.push(Usage {
            start_s: 14.0 * MONTH_S,
            end_s: 14.0 * MONTH_S,
            chips: 0.0,
        });
        let d = derive(&input, &usage, 1.0, "fixture").expect("derives");
        assert_eq!(d.months, 13, "14 months less the warm-up month");
        assert!((d.classes[0].annual_growth - 1.0).abs() < 1e-9, "{d:?}");
        // Level after month 13: 10 x 2^(14/12) chips x 730 h, split 3:1.
        let total = 10.0 * 2f64.powf(14.0 / 12.0) * HOURS_PER_MONTH;
        assert!((d.classes[0].start_ref_hours_per_month - 0.75 * total).abs() < 1e-6 * total);
        assert!((d.classes[1].start_ref_hours_per_month - 0.25 * total).abs() < 1e-6 * total);
        let applied = apply(&input, &d);
        assert!((applied.classes[1].growth.annual_growth - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_job_is_spread_over_the_months_it_ran() {
        let input = fixture();
        // One job of 2 chips from the middle of month 0 to the middle of month 1; a start at
        // month 2 closes the window at two months (too few to drop a warm-up month).
        let usage = [
            Usage {
                start_s: 0.0,
                end_s: 0.0,
                chips: 0.0,
            },
            Usage {
                start_s: 0.5 * MONTH_S,
                end_s: 1.5 * MONTH_S,
                chips: 2.0,
            },
            Usage {
                start_s: 2.0 * MONTH_S,
                end_s: 2.0 * MONTH_S,
                chips: 0.0,
            },
        ];
        let d = derive(&input, &usage, 3.0, "fixture").expect("derives");
        let total: Vec<f64> = (0..2)
            .map(|m| d.classes.iter().map(|c| c.monthly_ref_hours[m]).sum())
            .collect();
        let half = 2.0 * HOURS_PER_MONTH / 2.0 * 3.0;
        assert!((total[0] - half).abs() < 1e-6 && (total[1] - half).abs() < 1e-6);
    }

    #[test]
    fn bad_records_and_short_sources_name_what_is_wrong() {
        let input = fixture();
        let e = derive(&input, &[], 1.0, "t.csv").unwrap_err().to_string();
        assert!(e.contains("t.csv") && e.contains("no jobs"), "{e}");
        let e = derive(&input, &[month(0, 1.0)], 1.0, "t.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("one full month"), "{e}");
        let bad = Usage {
            start_s: 5.0,
            end_s: 1.0,
            chips: 1.0,
        };
        let e = derive(&input, &[bad], 1.0, "t.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv: record 0"), "{e}");
        let e = derive(&input, &[month(0, 1.0)], 0.0, "t.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--demand-scale"), "{e}");
    }
}
