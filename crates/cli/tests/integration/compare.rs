//! `spillway compare` end to end: every policy on a short generated trace, with the bound.

use crate::spillway;
use serde_json::Value;

/// A short Gavel-style workload all at t = 0 (seed 11, not one of shared/'s) on a cluster small
/// enough that jobs queue: the case where the order of service matters.
const ARGS: &[&str] = &[
    "compare",
    "--json",
    "--generate",
    "jobs=40,seed=11",
    "--cluster",
    "v100=4,p100=4,k80=4",
];

fn run(policies: &str) -> Value {
    let out = spillway()
        .args(ARGS)
        .args(["--policies", policies])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

fn avg_jct(doc: &Value, policy: &str) -> f64 {
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == policy)
        .unwrap_or_else(|| panic!("no row for {policy}: {doc}"))["avg_jct_hours"]
        .as_f64()
        .unwrap()
}

#[test]
fn srpt_beats_fifo_and_gavel_on_a_queued_trace_and_all_stay_above_the_bound() {
    let doc = run("fifo_perf,max_min_fairness_perf,srpt_perf,tiresias_perf");
    let bound = avg_jct(&doc, "no-queueing bound");
    let fifo = avg_jct(&doc, "fifo_perf");
    let gavel = avg_jct(&doc, "max_min_fairness_perf");
    let srpt = avg_jct(&doc, "srpt_perf");
    assert!(
        srpt < fifo && srpt < gavel,
        "srpt_perf: {srpt} vs {fifo}, {gavel}"
    );
    // With every job at t = 0, least attained service cannot tell short jobs from long ones
    // (it is within a few percent of FIFO here); it must still finish everything.
    for new in ["srpt_perf", "tiresias_perf"] {
        let ours = avg_jct(&doc, new);
        assert!(ours >= bound, "{new}: {ours} below the bound {bound}");
    }
    let row = &doc["rows"].as_array().unwrap()[2];
    assert!(row["gap_closed"].as_f64().unwrap() > 0.0, "{row}");
    assert_eq!(doc["rows"][0]["gap_closed"], Value::Null, "Gavel's own row");
    // Deterministic: the same figures twice (wall time aside).
    let again = run("fifo_perf,max_min_fairness_perf,srpt_perf,tiresias_perf");
    for p in ["fifo_perf", "srpt_perf", "tiresias_perf"] {
        assert_eq!(avg_jct(&doc, p), avg_jct(&again, p));
    }
}

#[test]
fn every_policy_by_default_and_a_table() {
    let out = spillway()
        .args(&ARGS[..1])
        .args(&ARGS[2..])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for name in [
        "fifo ",
        "fifo_perf",
        "max_min_fairness_perf",
        "min_total_duration_perf",
        "finish_time_fairness_perf",
        "max_sum_throughput_perf",
        "priority_backfill *",
        "srpt_perf *",
        "tiresias_perf *",
        "no-queueing bound *",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(
        !text.contains("throughput_normalized_by_cost"),
        "no prices, no cost policy"
    );
}

#[test]
fn bad_policy_name_is_named() {
    spillway()
        .args(ARGS)
        .args(["--policies", "fifo_perf,shortest"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("shortest"));
}

#[test]
fn the_lp_lower_bound_lies_between_the_no_queueing_bound_and_every_policy() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bound.csv");
    let out = spillway()
        .args(ARGS)
        .args([
            "--policies",
            "max_min_fairness_perf,srpt_perf",
            "--lower-bound",
            "--bound-step-h",
            "0.5",
            "--bound-jobs-csv",
        ])
        .arg(&csv)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: Value = serde_json::from_slice(&out).unwrap();
    let lower = doc["lower_bound"]["avg_jct_hours"].as_f64().unwrap();
    let bound = avg_jct(&doc, "no-queueing bound");
    let gavel = avg_jct(&doc, "max_min_fairness_perf");
    let srpt = avg_jct(&doc, "srpt_perf");
    // Forty jobs at t = 0 on twelve accelerators queue: the capacity the LP keeps counts.
    assert!(lower > 1.1 * bound, "LP {lower} vs no-queueing {bound}");
    assert!(
        lower <= srpt && lower <= gavel,
        "LP {lower} above a schedule"
    );
    let closable = doc["most_gap_closable"].as_f64().unwrap();
    let expected = (gavel - lower) / (gavel - bound);
    assert!(
        (closable - expected).abs() < 1e-9,
        "{closable} vs {expected}"
    );
    assert_eq!(doc["lower_bound"]["step_h"], 0.5);
    // The LP's solution, job by job: every job once, and their JCTs average to the bound.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "job_id,trace_id,arrival_h,lp_jct_h,lp_first_run_h,lp_half_work_h,\
         hours_v100,hours_p100,hours_k80"
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|f| f.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 40);
    let mean = rows.iter().map(|r| r[3]).sum::<f64>() / 40.0;
    assert!((mean - lower).abs() < 1e-4, "{mean} vs {lower}");
    for r in &rows {
        // Arrival, first run and half-work point on the clock; the JCT from the arrival.
        assert!(r[2] <= r[4] && r[4] <= r[5] && r[3] > 0.0, "{r:?}");
        assert!(r[6] + r[7] + r[8] > 0.0, "{r:?}");
    }
}

#[test]
fn a_bad_step_for_the_lower_bound_is_named() {
    spillway()
        .args(ARGS)
        .args([
            "--policies",
            "srpt_perf",
            "--lower-bound",
            "--bound-step-h",
            "0",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("step"));
}
