//! `spillway plan --html FILE`: the plan's report page: its decisions (builds, commitments),
//! its cost next to the baselines' by category, work served per month by source against the
//! expected demand, the named contract's evaluation, sensitivity and the out-of-sample
//! evaluation. The page's JSON carries the whole report under `plan` (as `--json` prints it).

use super::{Chart, ChartKind, Page, Series, Unit};
use crate::cmd::plan::usd;
use spillway_plan::report::{PlanReport, Portfolio};

fn decisions(page: &mut Page, p: &Portfolio) {
    if p.builds.is_empty() {
        page.paragraph("Builds: none.");
    } else {
        page.table(
            &["build", "accelerator", "order month", "arrives", "chips"],
            p.builds
                .iter()
                .map(|b| {
                    vec![
                        b.option.clone(),
                        b.accelerator.clone(),
                        b.order_month.to_string(),
                        b.arrival_month.to_string(),
                        format!("{:.0}", b.chips),
                    ]
                })
                .collect(),
        );
    }
    if p.commitments.is_empty() {
        page.paragraph("Commitments: none.");
    } else {
        page.table(
            &[
                "commitment",
                "provider",
                "start",
                "term",
                "spend",
                "discount",
                "covers",
            ],
            p.commitments
                .iter()
                .map(|c| {
                    vec![
                        c.offer.clone(),
                        c.provider.clone(),
                        c.start_month.to_string(),
                        c.term_months.to_string(),
                        usd(c.spend_usd),
                        format!("{:.0}%", c.discount_percent),
                        c.accelerators.join("+"),
                    ]
                })
                .collect(),
        );
    }
}

/// Work served per month by each source against the expected demand, for `p`: own capacity
/// (owned and built), committed, rented, and what was deferred or lost.
fn capacity_chart(page: &mut Page, p: &Portfolio, months_per_period: usize, who: &str) {
    let per = months_per_period.max(1) as f64;
    type Get = fn(&spillway_plan::solve::PeriodRow) -> f64;
    let lines: [(&str, Get); 6] = [
        ("demand (expected)", |r| r.demand_ref_hours),
        ("owned and built", |r| r.owned_ref_hours + r.built_ref_hours),
        ("committed", |r| r.committed_ref_hours),
        ("on-demand", |r| r.on_demand_ref_hours),
        ("spot", |r| r.spot_ref_hours),
        ("deferred or lost", |r| {
            r.deferred_ref_hours + r.lost_ref_hours + r.shortfall_ref_hours
        }),
    ];
    let series: Vec<Series> = lines
        .iter()
        .enumerate()
        .map(|(i, (name, get))| {
            let values: Vec<f64> = p.timeline.iter().map(|r| get(r) / per).collect();
            (i, Series::new(*name, values))
        })
        // Demand always; a source only when it serves something.
        .filter(|(i, s)| *i == 0 || s.values.iter().any(|v| *v > 0.5))
        .map(|(_, s)| s)
        .collect();
    page.chart(
        format!("Capacity against demand: {who}"),
        Chart {
            kind: ChartKind::Lines,
            title: format!(
                "Work served per month by source against the expected demand, {who}, reference-hours"
            ),
            series,
            x0: 0.0,
            step: per,
            y_max: None,
            x: Unit::Months,
            y: Unit::Number,
        },
    );
}

/// The page of a plan.
pub(crate) fn page(r: &PlanReport) -> Page {
    let mut page = Page::new(format!("Spillway plan: {}", r.name));
    page.paragraph(format!(
        "{} periods of {} month(s), {} scenarios, demand in {}-hours.",
        r.periods, r.months_per_period, r.scenarios, r.reference
    ));
    page.heading("The plan's decisions");
    decisions(&mut page, &r.plan);
    page.paragraph(format!(
        "Solved: {} columns, {} rows, {} integer, {} in {:.2} s.",
        r.plan.solve.columns,
        r.plan.solve.rows,
        r.plan.solve.integer_columns,
        r.plan.solve.method,
        r.plan.solve.seconds
    ));
    page.heading("Cost against the baselines (expected present value)");
    let plan_cost = r.plan.expected_cost_usd;
    page.table(
        &[
            "portfolio",
            "expected NPV cost",
            "vs plan",
            "owned",
            "build",
            "committed",
            "on-demand",
            "spot",
            "deferred/lost",
            "shortfall",
            "worst scenario",
        ],
        std::iter::once(&r.plan)
            .chain(&r.baselines)
            .map(|p| {
                let b = &p.breakdown;
                let worst = p
                    .scenarios
                    .iter()
                    .map(|s| s.cost_usd)
                    .fold(f64::MIN, f64::max);
                vec![
                    p.name.clone(),
                    usd(p.expected_cost_usd),
                    format!("{:+.1}%", (p.expected_cost_usd / plan_cost - 1.0) * 100.0),
                    usd(b.owned),
                    usd(b.build),
                    usd(b.commitment),
                    usd(b.on_demand),
                    usd(b.spot),
                    usd(b.deferral + b.lost),
                    usd(b.shortfall),
                    usd(worst),
                ]
            })
            .collect(),
    );
    page.heading("Capacity per month");
    capacity_chart(&mut page, &r.plan, r.months_per_period, "the plan");
    if let Some(c) = &r.contract {
        page.heading(format!("Contract '{}'", c.contract));
        page.table(
            &["", "value"],
            vec![
                vec!["expected cost with it".into(), usd(c.cost_with_usd)],
                vec!["expected cost without it".into(), usd(c.cost_without_usd)],
                vec![
                    format!("NPV ({})", if c.npv_usd >= 0.0 { "saves" } else { "loses" }),
                    usd(c.npv_usd),
                ],
                vec![
                    "utilization".into(),
                    format!("{:.1}%", c.utilization * 100.0),
                ],
                vec![
                    "break-even utilization".into(),
                    c.break_even_utilization
                        .map_or("n/a".into(), |u| format!("{:.1}%", u * 100.0)),
                ],
                vec![
                    "break-even demand".into(),
                    c.break_even_demand_share.map_or("none found".into(), |l| {
                        format!(
                            "{:.0}% of the planned demand ({:.0} reference-hours in month 0)",
                            l * 100.0,
                            c.break_even_first_month_ref_hours.unwrap_or(0.0)
                        )
                    }),
                ],
            ],
        );
        page.paragraph(c.note.clone());
        page.paragraph("The best plan with the contract:");
        decisions(&mut page, &c.portfolio);
        capacity_chart(
            &mut page,
            &c.portfolio,
            r.months_per_period,
            "with the contract",
        );
    }
    if !r.sensitivity.is_empty() {
        page.heading("Sensitivity");
        page.table(
            &[
                "parameter",
                "value",
                "expected cost",
                "built chips",
                "committed",
                "on-demand share",
            ],
            r.sensitivity
                .iter()
                .map(|s| {
                    vec![
                        s.parameter.clone(),
                        s.value.clone(),
                        usd(s.expected_cost_usd),
                        format!("{:.0}", s.built_chips),
                        usd(s.committed_usd),
                        format!("{:.1}%", s.on_demand_share * 100.0),
                    ]
                })
                .collect(),
        );
    }
    if let Some(e) = &r.evaluation {
        page.heading(format!(
            "Out of sample: {} fresh demand paths (seed {})",
            e.paths, e.seed
        ));
        let mut rows: Vec<Vec<String>> = e
            .rows
            .iter()
            .map(|row| {
                vec![
                    row.name.clone(),
                    usd(row.average_cost_usd),
                    usd(row.gap_usd),
                    format!("{:+.2}%", row.gap_percent),
                ]
            })
            .collect();
        rows.push(vec![
            "perfect information".into(),
            usd(e.perfect_information_cost_usd),
            usd(e.perfect_information_cost_usd
                - e.rows.first().map_or(0.0, |r| r.average_cost_usd)),
            String::new(),
        ]);
        page.table(
            &["portfolio", "average realized cost", "gap to plan", "gap %"],
            rows,
        );
        page.paragraph(format!(
            "Value of perfect information: {}; the plan is {} on these paths.",
            usd(e.value_of_perfect_information_usd),
            if e.plan_is_cheapest {
                "cheaper than every baseline and the mean-demand plan"
            } else {
                "NOT cheaper than every alternative"
            }
        ));
    }
    if let Some(v) = &r.validation {
        validation(&mut page, v);
    }
    page.figures("plan", r);
    page
}

/// `--validate`: the first year replayed in the simulator against the plan's estimate.
fn validation(page: &mut Page, v: &spillway_plan::validate::Validation) {
    let s = &v.replay.service;
    page.heading(format!(
        "Validation: months 0-{} in the simulator",
        v.months.saturating_sub(1)
    ));
    page.paragraph(format!(
        "{} jobs ({} policy, scale {:.5}): JCT average {:.1} h, p90 {:.1} h; {} deadline misses; \
         {:.1}% of the work on time against the plan's service level of {:.1}%.",
        s.jobs,
        v.replay.policy,
        v.replay.scale,
        s.avg_jct_hours,
        s.p90_jct_hours,
        s.deadline_misses,
        s.on_time_share * 100.0,
        s.planned_service_level * 100.0
    ));
    let mut rows: Vec<Vec<String>> = v
        .sources
        .iter()
        .map(|row| {
            vec![
                row.source.clone(),
                usd(row.planned_expected_usd),
                usd(row.planned_usd),
                usd(row.simulated_usd),
                usd(row.difference_usd),
            ]
        })
        .collect();
    rows.push(vec![
        "total".into(),
        usd(v.planned_expected_usd),
        usd(v.planned_usd),
        usd(v.simulated_usd),
        format!("{:+.1}%", v.difference_percent),
    ]);
    page.table(
        &[
            "source",
            "plan (expected)",
            "plan (mean demand)",
            "simulated",
            "difference",
        ],
        rows,
    );
    for line in &v.explanation {
        page.paragraph(line.clone());
    }
}
