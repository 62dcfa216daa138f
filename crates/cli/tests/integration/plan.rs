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
