//! `spillway plan` end to end: the startup example with JSON, plots and a contract; errors that
//! name the field.

use crate::spillway;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

#[test]
fn plan_startup_json_plots_and_contract() {
    let dir = tempfile::tempdir().unwrap();
    let out = spillway()
        .arg("plan")
        .arg(repo_file("examples/plans/startup.toml"))
        .args(["--json", "--no-sensitivity", "--plot"])
        .arg(dir.path())
        .args(["--contract", "gcp, $1M, 12 months, 30% off, tpu-v6e"])
        .arg("--html")
        .arg(dir.path().join("plan.html"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["name"], "startup");
    let baselines: Vec<&str> = v["baselines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        baselines,
        [
            "all on-demand",
            "build to peak",
            "commit to average",
            "commit to recent minimum",
            "mean-demand plan"
        ]
    );
    let plan = v["plan"]["expected_cost_usd"].as_f64().unwrap();
    for b in v["baselines"].as_array().unwrap() {
        // In sample, the stochastic plan is optimal among first-stage choices (within the
        // solver's gap).
        assert!(
            plan <= b["expected_cost_usd"].as_f64().unwrap() * 1.002,
            "{b}"
        );
    }
    assert!(
        v["evaluation"]["value_of_perfect_information_usd"]
            .as_f64()
            .unwrap()
            >= -1.0
    );
    assert!(v["contract"]["npv_usd"].is_number());
    assert!(dir.path().join("capacity_plan.svg").exists());
    let svg = std::fs::read_to_string(dir.path().join("capacity_plan.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("demand (expected)"));

    // The HTML report: one self-contained page with the decisions, the costs against the
    // baselines, capacity against demand per month and the contract's evaluation.
    let html = std::fs::read_to_string(dir.path().join("plan.html")).unwrap();
    crate::simulate::assert_self_contained(&html);
    for text in [
        "<h1>Spillway plan: startup</h1>",
        "The plan's decisions",
        "commit to recent minimum",
        "Capacity against demand: the plan",
        "Capacity against demand: with the contract",
        "break-even utilization",
    ] {
        assert!(html.contains(text), "{text}");
    }
    let data = crate::simulate::report_data(&html);
    assert_eq!(data["plan"]["name"], "startup");
    assert_eq!(
        data["plan"]["plan"]["expected_cost_usd"], v["plan"]["expected_cost_usd"],
        "the page carries the same figures as --json"
    );
    crate::simulate::assert_charts_drawn(&dir.path().join("plan.html"), "plan --html");
    let demand = &data["charts"][0]["series"][0];
    assert_eq!(demand["name"], "demand (expected)");
    assert_eq!(
        demand["values"].as_array().unwrap().len(),
        v["plan"]["timeline"].as_array().unwrap().len()
    );
}

#[test]
fn plan_table_and_field_errors() {
    spillway()
        .arg("plan")
        .arg(repo_file("examples/plans/startup.toml"))
        .args(["--no-sensitivity", "--no-evaluation"])
        .assert()
        .success()
        .stdout(predicate::str::contains("PORTFOLIO"))
        .stdout(predicate::str::contains("commit to recent minimum"));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(repo_file("examples/plans/startup.toml"))
        .unwrap()
        .replace("framework = \"any\"", "framework = \"rocm\"");
    std::fs::write(&bad, text).unwrap();
    spillway()
        .arg("plan")
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicate::str::contains("class[0].framework"))
        .stderr(predicate::str::contains("rocm"));
    spillway()
        .arg("plan")
        .arg(repo_file("examples/plans/startup.toml"))
        .args(["--contract", "gcp, $1M, 12 months, 30% off, tpu-v9"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("tpu-v9"));
}
