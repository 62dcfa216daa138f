//! The report: what happened, the calibrated replay and the what-if side by side, with the
//! one sentence that says how far the replay can be trusted on this history.

use super::Run;
use super::figures::{Figures, rel};
use super::history::PastJob;
use super::period::show;
use super::series::Series;
use super::workload::{Carried, Replayable};
use crate::table::{Align, Table};
use spillway_core::machine::MachinePool;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

pub(crate) struct Report<'a> {
    pub(crate) from_ms: i64,
    pub(crate) to_ms: i64,
    pub(crate) history: &'a [PastJob],
    pub(crate) replay: &'a Replayable,
    pub(crate) carried: &'a Carried,
    pub(crate) pools: &'a [MachinePool],
    pub(crate) actual: Figures,
    pub(crate) calibrated: Run,
    pub(crate) what_if: Option<Run>,
    /// Queue length and spend over time, each side.
    pub(crate) series: Series,
}

/// `3 still queued, 1 cancelled` from counts per reason.
pub(crate) fn counts<K: std::fmt::Display>(m: &BTreeMap<K, usize>) -> String {
    m.iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pct(x: Option<f64>) -> String {
    x.map_or("-".into(), |x| format!("{:+.1}%", x * 100.0))
}

impl Report<'_> {
    /// The calibration in one sentence.
    pub(crate) fn sentence(&self) -> String {
        let (a, r) = (&self.actual, &self.calibrated.figures);
        if a.finished == 0 {
            return "no replayed job finished in the history: the JCT cannot be compared".into();
        }
        match rel(a.avg_jct_s, r.avg_jct_s) {
            Some(g) => format!(
                "replay reproduces the live average JCT within {:.1}% ({:.1} s replayed, {:.1} s live; p90 {}, queueing {:.1} s replayed vs {:.1} s live)",
                g.abs() * 100.0,
                r.avg_jct_s,
                a.avg_jct_s,
                pct(rel(a.p90_jct_s, r.p90_jct_s)),
                r.avg_queueing_s,
                a.avg_queueing_s
            ),
            None => "the live average JCT is 0 s: no relative gap to report".into(),
        }
    }

    /// What was estimated, left out or refused, in sentences.
    pub(crate) fn notes(&self) -> Vec<String> {
        let r = self.replay;
        let mut notes = vec![format!(
            "work: all {} replayed jobs from their observed run time x the speed of the pool it ran on ({}); {} of them state no `work` estimate (the policy sees them as open-ended, as the service did)",
            r.jobs.len(),
            self.pools
                .iter()
                .map(|p| format!("{} {:.2}", p.name, p.throughput))
                .collect::<Vec<_>>()
                .join(", "),
            r.without_estimate
        )];
        if !r.left_out.is_empty() {
            notes.push(format!(
                "left out (never ran, so nothing to replay): {}",
                counts(&r.left_out)
            ));
        }
        let c = self.carried;
        if !c.jobs.is_empty() {
            let running = c.running.iter().filter(|r| r.is_some()).count();
            notes.push(format!(
                "{} jobs submitted before the period were under way at its start ({running} running, {} waiting): replayed from the start for the work they did from then on (running ones holding their accelerators), left out of the JCT and queueing",
                c.jobs.len(),
                c.jobs.len() - running
            ));
        }
        let running = r.jobs.len() - r.ended.len();
        if running > 0 {
            notes.push(format!(
                "{running} jobs still running at the end of the history are replayed for the time they have run and left out of the JCT"
            ));
        }
        if !r.unknown_pools.is_empty() {
            notes.push(format!(
                "attempts on pools the config does not have (work converted at speed 1.0): {}",
                counts(&r.unknown_pools)
            ));
        }
        for run in std::iter::once(&self.calibrated).chain(&self.what_if) {
            let n: usize = run.refused.values().sum();
            if n > 0 {
                notes.push(format!(
                    "{}: {n} jobs cannot be placed under this configuration (refused at submit): {}",
                    run.label,
                    counts(&run.refused)
                ));
            }
            if run.carried_moved > 0 {
                notes.push(format!(
                    "{}: {} jobs running at the start have no room on their pool under this configuration: they wait from the start",
                    run.label, run.carried_moved
                ));
            }
            if run.unfinished > 0 {
                notes.push(format!(
                    "{}: {} jobs never finished in the replay",
                    run.label, run.unfinished
                ));
            }
        }
        notes
    }

    /// The comparison's columns.
    pub(crate) fn columns(&self) -> Vec<&'static str> {
        let mut cols = vec!["", "actual", "replay", "replay vs actual"];
        if self.what_if.is_some() {
            cols.push("what-if");
            cols.push("what-if vs replay");
        }
        cols
    }

    /// The comparison's rows, formatted: one figure each, for every side, with the differences.
    pub(crate) fn rows(&self) -> Vec<Vec<String>> {
        let mut rows = Vec::new();
        let w = self.what_if.as_ref().map(|w| &w.figures);
        let mut row = |name: String, f: &dyn Fn(&Figures) -> f64, fmt: &dyn Fn(f64) -> String| {
            let (a, r) = (f(&self.actual), f(&self.calibrated.figures));
            let mut cells = vec![name, fmt(a), fmt(r), pct(rel(a, r))];
            if let Some(w) = w {
                cells.push(fmt(f(w)));
                cells.push(pct(rel(r, f(w))));
            }
            rows.push(cells);
        };
        let n0 = |x: f64| format!("{x:.0}");
        let n1 = |x: f64| format!("{x:.1}");
        let share = |x: f64| format!("{:.1}%", x * 100.0);
        let usd = |x: f64| format!("${x:.2}");
        row("jobs".into(), &|f| f.jobs as f64, &n0);
        row("finished (JCT counted)".into(), &|f| f.finished as f64, &n0);
        row("avg JCT s".into(), &|f| f.avg_jct_s, &n1);
        row("p90 JCT s".into(), &|f| f.p90_jct_s, &n1);
        row("avg queueing s".into(), &|f| f.avg_queueing_s, &n1);
        row("makespan s".into(), &|f| f.makespan_s, &n1);
        row("preemptions".into(), &|f| f.preemptions as f64, &n0);
        let keys = |get: &dyn Fn(&Figures) -> Vec<String>| {
            let mut k: BTreeSet<String> = get(&self.actual).into_iter().collect();
            k.extend(get(&self.calibrated.figures));
            if let Some(w) = w {
                k.extend(get(w));
            }
            k
        };
        for p in keys(&|f| f.utilization.keys().cloned().collect()) {
            let q = p.clone();
            row(
                format!("utilization {p}"),
                &move |f| f.utilization.get(&q).copied().unwrap_or(0.0),
                &share,
            );
        }
        for tn in keys(&|f| f.tenant_share.keys().cloned().collect()) {
            let q = tn.clone();
            row(
                format!("share {tn}"),
                &move |f| f.tenant_share.get(&q).copied().unwrap_or(0.0),
                &share,
            );
        }
        row("spend".into(), &|f| f.spend_usd, &usd);
        for c in keys(&|f| f.contract_usd.keys().cloned().collect()) {
            let q = c.clone();
            row(
                format!("contract {c}"),
                &move |f| f.contract_usd.get(&q).copied().unwrap_or(0.0),
                &usd,
            );
            let q = c.clone();
            row(
                format!("contract {c} before the period"),
                &move |f| f.contract_before_usd.get(&q).copied().unwrap_or(0.0),
                &usd,
            );
            let q = c.clone();
            row(
                format!("contract {c} burn vs schedule"),
                &move |f| f.burn_ratio(&q).unwrap_or(0.0),
                &share,
            );
        }
        rows
    }

    pub(crate) fn text(&self) -> String {
        let mut out = format!(
            "history: {} jobs submitted from {} to {} UTC; {} replayed\n",
            self.history.len(),
            show(self.from_ms),
            show(self.to_ms),
            self.replay.jobs.len()
        );
        let cols: Vec<(&str, Align)> = self
            .columns()
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c, if i == 0 { Align::Left } else { Align::Right }))
            .collect();
        let mut t = Table::new(&cols);
        for r in self.rows() {
            t.push(r);
        }
        out.push_str(&t.render());
        let _ = writeln!(out, "replay: {}", self.calibrated.outcome.policy);
        if let Some(w) = &self.what_if {
            let _ = writeln!(out, "what-if: {}", w.label);
        }
        let _ = writeln!(out, "{}", self.sentence());
        for n in self.notes() {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        let origin = self.replay.origin_ms;
        let run = |r: &Run| {
            serde_json::json!({
                "label": r.label,
                "policy": r.outcome.policy,
                "figures": r.figures,
                "refused": r.refused,
                "unfinished": r.unfinished,
                "attempts": r.outcome.attempts,
                "jobs": r.outcome.jobs,
            })
        };
        let replayed: BTreeSet<u64> = self.replay.jobs.iter().map(|j| j.job.id.0).collect();
        let actual_attempts: Vec<serde_json::Value> = self
            .history
            .iter()
            .filter(|j| replayed.contains(&(j.id as u64)))
            .flat_map(|j| {
                j.attempts.iter().filter(|a| a.ran()).map(move |a| {
                    serde_json::json!({
                        "job": j.id, "pool": a.pool, "started_ms": a.started_ms,
                        "ended_ms": a.ended_ms, "chips": a.chips, "outcome": a.outcome,
                    })
                })
            })
            .collect();
        serde_json::json!({
            "from_ms": self.from_ms,
            "to_ms": self.to_ms,
            "origin_ms": origin,
            "history_jobs": self.history.len(),
            "replayed_jobs": self.replay.jobs.len(),
            "jct_jobs": self.replay.ended.len(),
            "without_estimate": self.replay.without_estimate,
            "left_out": self.replay.left_out,
            "unknown_pools": self.replay.unknown_pools,
            "carried_jobs": self.carried.jobs.len(),
            "carried_running": self.carried.running.iter().filter(|r| r.is_some()).count(),
            "series": self.series,
            "actual": { "figures": self.actual, "attempts": actual_attempts },
            "replay": run(&self.calibrated),
            "what_if": self.what_if.as_ref().map(run),
            "sentence": self.sentence(),
            "notes": self.notes(),
        })
    }
}
