//! `spillway simulate --scenario` and `spillway contracts` end to end, on a small scenario:
//! an owned H100 pool, a TPU commitment and on-demand / spot H100s at catalog prices.

use crate::spillway;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// 60 jobs of 1-8 GPUs, one every 10 minutes, 1-6 hours each.
fn trace(dir: &Path) -> PathBuf {
    let mut text = String::from("job_id,submit_time_s,duration_s,num_gpus\n");
    for i in 0..60 {
        let gpus = [1, 2, 4, 8][i % 4];
        let hours = 1 + (i * 7) % 6;
        text.push_str(&format!("j{i},{},{},{gpus}\n", i * 600, hours * 3600));
    }
    let path = dir.join("jobs.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn scenario(dir: &Path, deadline_share: f64) -> PathBuf {
    let trace = trace(dir);
    let spot = repo_file("data/spot/avail16-aws-08-27-2023-us-west-2c_v100_1.json");
    let text = format!(
        r#"[scenario]
name = "small"
seed = 1

[workload]
trace = "{trace}"
seed = 3
framework_shares = {{ cuda = 0.5, xla = 0.3, any = 0.2 }}
deadline_share = {deadline_share}

[[contract]]
name = "tpu"
provider = "gcp"
total_usd = 200000
term_months = 12
discount_percent = 30
accelerators = ["tpu-v6e"]

[[pool]]
name = "owned"
plan = "owned"
accelerator = "H100"
chips = 16
price_per_chip_hour = 1.6

[[pool]]
name = "v6e"
plan = "committed"
provider = "gcp"
zone = "us-east4-a"
accelerator = "tpu-v6e"
quota_chips = 32

[[pool]]
name = "h100-od"
plan = "on-demand"
provider = "gcp"
zone = "us-central1-a"
accelerator = "H100"
quota_chips = 64
stockout_probability = 0.2

[[pool]]
name = "h100-spot"
plan = "spot"
provider = "aws"
zone = "usw2-az3"
accelerator = "H100"
instance = "p5.48xlarge"
quota_chips = 64
availability_trace = "{spot}"
"#,
        trace = trace.display(),
        spot = spot.display()
    );
    let path = dir.join("small.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn runs(path: &Path, policies: &str) -> Vec<serde_json::Value> {
    let out = spillway()
        .args(["simulate", "--scenario"])
        .arg(path)
        .args(["--policy", policies, "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    v["runs"].as_array().unwrap().clone()
}

#[test]
fn scenario_runs_report_costs_burn_failovers_and_are_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), 0.0);
    let first = runs(&path, "baseline,commitment-aware");
    assert_eq!(
        first,
        runs(&path, "baseline,commitment-aware"),
        "deterministic"
    );
    let (base, aware) = (&first[0], &first[1]);
    for r in &first {
        for key in [
            "total_cost_usd",
            "avg_jct_hours",
            "commitment_burn_ratio",
            "deadline_misses",
            "failovers",
            "preemptions",
            "cost_by_plan",
            "cost_by_pool",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        assert_eq!(r["jobs_completed"], 60);
        let by_plan: f64 = r["cost_by_plan"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((by_plan - r["total_cost_usd"].as_f64().unwrap()).abs() < 1e-6);
    }
    // The commitment-aware policy moves portable work onto the commitment it pays for anyway,
    // so it rents less on-demand capacity than the cheapest-price baseline.
    let od = |r: &serde_json::Value| r["cost_by_plan"]["on-demand"].as_f64().unwrap();
    assert!(
        od(aware) < od(base),
        "on-demand {} vs {}",
        od(aware),
        od(base)
    );
    assert_eq!(base["preemptions"], 0, "the baseline never uses spot");
}

#[test]
fn deadline_jobs_use_spot_and_meet_their_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), 1.0);
    let r = runs(&path, "on-demand-only,commitment-aware");
    let spot = r[1]["cost_by_plan"]["spot"].as_f64().unwrap();
    assert!(spot > 0.0, "{}", r[1]);
    assert_eq!(r[0]["cost_by_plan"]["spot"].as_f64().unwrap(), 0.0);
    assert_eq!(r[1]["deadline_misses"], 0, "{}", r[1]);
}

#[test]
fn contracts_report_spend_against_schedule_and_print_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), 0.0);
    let out = spillway()
        .args(["contracts", "--json", "--scenario"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let c = &v["contracts"][0];
    assert_eq!(c["contract"], "tpu");
    assert!(c["spent"].as_f64().unwrap() > 0.0);
    assert!(c["projection"]["status"].is_string());
    spillway()
        .args(["contracts", "--scenario"])
        .arg(&path)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("tpu")
                .and(predicate::str::contains("share of work"))
                .and(predicate::str::contains("shortfall owed $")),
        );
    spillway()
        .args(["contracts", "--as-overrides", "--scenario"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "accelerator = \"tpu-v6e\"\npercent = 30",
        ));
}

#[test]
fn contracts_sweep_sizes_a_commitment_over_sizes_and_terms() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), 0.0);
    let out = spillway()
        .args(["contracts", "--json", "--sweep", "--sizes", "1000,100000"])
        .args(["--terms", "1,12", "--delay-costs", "0,100", "--scenario"])
        .arg(&path)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    for r in runs {
        let total = r["total_usd"].as_f64().unwrap();
        assert!(
            r["max_term_committed_usd"].as_f64().unwrap() <= total + 1e-6,
            "{r}"
        );
        assert_eq!(r["committed_after_term_usd"].as_f64().unwrap(), 0.0, "{r}");
    }
    assert_eq!(v["cheapest"].as_array().unwrap().len(), 2);
    spillway()
        .args([
            "contracts",
            "--sweep",
            "--sizes",
            "1000",
            "--terms",
            "1",
            "--scenario",
        ])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "cheapest at $0/job-hour of delay: 1 months: $1000/year",
        ));
    spillway()
        .args(["contracts", "--sweep", "--terms", "0", "--scenario"])
        .arg(&path)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "--terms: a term is more than 0 months",
        ));
}

#[test]
fn offers_and_estimate_show_committed_prices_from_a_scenario_or_a_service_config() {
    // The hybrid scenario's GCP commitment: TPU v6e at 30% off ($2.70 -> $1.89 per chip-hour).
    let hybrid = repo_file("examples/scenarios/hybrid.toml");
    let out = spillway()
        .args([
            "offers",
            "--accelerator",
            "tpu-v6e",
            "--provider",
            "gcp",
            "--json",
        ])
        .arg("--contracts")
        .arg(&hybrid)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let offers: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let first = &offers.as_array().unwrap()[0];
    let per_chip = first["price_per_chip_hour"].as_f64().unwrap();
    assert!((per_chip - 1.89).abs() < 1e-9, "{first}");
    spillway()
        .args(["offers", "--accelerator", "tpu-v6e", "--provider", "gcp"])
        .arg("--contracts")
        .arg(&hybrid)
        .assert()
        .success()
        .stdout(predicate::str::contains("-30%"));
    // A service config's contract (GCP H100 in us-central1, 30% off) reaches `estimate` too.
    spillway()
        .args([
            "estimate",
            "--params",
            "7e9",
            "--tokens",
            "1e11",
            "--accelerator",
            "H100",
        ])
        .arg("--contracts")
        .arg(repo_file("examples/spillway-faults.toml"))
        .assert()
        .success()
        // $15,876 on demand, 30% off: $11,113 (without --contracts the column shows "-").
        .stdout(predicate::str::contains("$11,113"));
    // A file without contracts says so.
    spillway()
        .args(["offers", "--contracts"])
        .arg(repo_file("examples/spillway.toml"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("has no [[contract]] table"));
}

#[test]
fn bad_scenarios_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = scenario(dir.path(), 0.0);
    let text = std::fs::read_to_string(&path).unwrap();
    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, text.replace("quota_chips = 32", "quota_chip = 32")).unwrap();
    spillway()
        .args(["simulate", "--scenario"])
        .arg(&typo)
        .assert()
        .failure()
        .stderr(predicate::str::contains("quota_chip").and(predicate::str::contains("line")));
    let priced = dir.path().join("priced.toml");
    std::fs::write(
        &priced,
        text.replace(
            "quota_chips = 64\nstockout",
            "quota_chips = 64\nprice_per_chip_hour = 1.0\nstockout",
        ),
    )
    .unwrap();
    spillway()
        .args(["simulate", "--scenario"])
        .arg(&priced)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "take their prices from the catalog",
        ));
}
