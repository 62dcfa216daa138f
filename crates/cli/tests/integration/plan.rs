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

/// A small plan: one class that runs on anything, H100 rented on demand.
const TINY_PLAN: &str = r#"
[plan]
name = "tiny"
horizon_months = 12
step = "quarter"
discount_rate = 0.0
service_level = 1.0

[[scenario]]
name = "only"
probability = 1.0

[[class]]
name = "all"
framework = "any"
kind = "finetune"
start_ref_hours_per_month = 1000
annual_growth = 0.0

[[rent]]
provider = "aws"
accelerator = "H100"
price_per_chip_hour = 5.0
"#;

/// One 10-hour job a day for 186 days on a growing number of GPUs (1 in the first month, 7 in
/// the last): six full months of starts.
fn growing_trace(dir: &Path) -> PathBuf {
    let mut text = String::from("job_id,submit_time_s,duration_s,num_gpus\n");
    for d in 0..186 {
        text.push_str(&format!("j{d},{},36000,{}\n", d * 86_400, 1 + d / 30));
    }
    let path = dir.join("trace.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn plan_demand_from_trace_fits_level_and_growth() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("tiny.toml");
    std::fs::write(&plan, TINY_PLAN).unwrap();
    let trace = growing_trace(dir.path());
    let out = spillway()
        .arg("plan")
        .arg(&plan)
        .arg("--demand-from-trace")
        .arg(&trace)
        .args([
            "--demand-scale",
            "2",
            "--json",
            "--no-sensitivity",
            "--no-evaluation",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let d = &v["derived_demand"];
    assert_eq!(d["records"], 186);
    // Six full months of starts, less the warm-up month.
    assert_eq!(d["months"], 5);
    let class = &d["classes"][0];
    assert!(class["annual_growth"].as_f64().unwrap() > 0.5, "{class}");
    // The last observed month is mostly 6- and 7-GPU days: about 30 x 10 h x 6.5 x 2 (scale).
    let last = class["monthly_ref_hours"][4].as_f64().unwrap();
    assert!((3000.0..5000.0).contains(&last), "{last}");
    assert!(class["start_ref_hours_per_month"].as_f64().unwrap() > last);

    // The table shows the derivation and its assumptions.
    spillway()
        .arg("plan")
        .arg(&plan)
        .arg("--demand-from-trace")
        .arg(&trace)
        .args(["--no-sensitivity", "--no-evaluation"])
        .assert()
        .success()
        .stdout(predicate::str::contains("demand derived from"))
        .stdout(predicate::str::contains("ANNUAL GROWTH"));
}

#[test]
fn plan_demand_sources_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("tiny.toml");
    std::fs::write(&plan, TINY_PLAN).unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "job_id,submit_time_s,duration_s,num_gpus\nj0,0,3600,1\nj1,soon,3600,1\n",
    )
    .unwrap();
    spillway()
        .arg("plan")
        .arg(&plan)
        .arg("--demand-from-trace")
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--demand-from-trace"))
        .stderr(predicate::str::contains(":3"))
        .stderr(predicate::str::contains("submit_time_s"));
    let short = dir.path().join("short.csv");
    std::fs::write(
        &short,
        "job_id,submit_time_s,duration_s,num_gpus\nj0,0,3600,1\nj1,86400,3600,1\n",
    )
    .unwrap();
    spillway()
        .arg("plan")
        .arg(&plan)
        .arg("--demand-from-trace")
        .arg(&short)
        .assert()
        .failure()
        .stderr(predicate::str::contains("one full month"));
    spillway()
        .arg("plan")
        .arg(&plan)
        .args(["--demand-scale", "3"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--demand-from-trace"));
    // Nothing listens on port 1 of the loopback.
    spillway()
        .arg("plan")
        .arg(&plan)
        .args(["--demand-from-server", "http://127.0.0.1:1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--demand-from-server"));
}
