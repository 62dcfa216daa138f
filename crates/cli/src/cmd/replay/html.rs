//! `replay --html FILE`: the report page (crate::report_html): the calibration sentence, the
//! figures of what happened, the calibrated replay and the what-if side by side, queue length
//! and spend over time, and the notes. The page's JSON carries `replay` (what `--json` prints).

use super::period::show;
use super::report::Report;
use crate::report_html::{Chart, ChartKind, Page, Series, Unit};

/// The page of a replay.
pub(crate) fn page(r: &Report<'_>) -> Page {
    let mut page = Page::new("Spillway replay");
    page.paragraph(format!(
        "History: {} jobs submitted from {} to {} UTC; {} replayed.",
        r.history.len(),
        show(r.from_ms),
        show(r.to_ms),
        r.replay.jobs.len()
    ));
    page.paragraph(format!("Calibration: {}.", r.sentence()));
    page.paragraph(format!(
        "Replay: the live configuration, policy {}.",
        r.calibrated.outcome.policy
    ));
    if let Some(w) = &r.what_if {
        page.paragraph(format!("What-if: {}.", w.label));
    }
    page.heading("Actual, replay and what-if");
    page.table(&r.columns(), r.rows());
    let s = &r.series;
    let chart = |title: &str, series: &[(String, Vec<f64>)], y| Chart {
        kind: ChartKind::Lines,
        title: title.to_string(),
        series: series
            .iter()
            .map(|(l, v)| Series::new(l.clone(), v.clone()))
            .collect(),
        x0: s.x0_ms,
        step: s.step_ms,
        y_max: None,
        x: Unit::Time,
        y,
    };
    page.chart(
        "Queue length over time",
        chart(
            "Jobs queued over time (average per interval)",
            &s.queue,
            Unit::Number,
        ),
    );
    page.chart(
        "Spend over time",
        chart("Dollars spent so far", &s.spend, Unit::Usd),
    );
    page.heading("Notes");
    for n in r.notes() {
        page.paragraph(n);
    }
    page.figures("replay", r.json());
    page
}
