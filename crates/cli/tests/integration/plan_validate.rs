//! `spillway plan --validate`: the plan's first year replayed in the simulator against the
//! plan's own estimate; errors that name what is wrong.

use crate::spillway;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn validate_json(file: &Path, jobs: &str, html: Option<&Path>) -> serde_json::Value {
    let mut cmd = spillway();
    cmd.arg("plan")
        .arg(file)
        .args([
            "--json",
            "--no-sensitivity",
            "--no-evaluation",
            "--validate",
        ])
        .args(["--validate-jobs", jobs]);
    if let Some(h) = html {
        cmd.arg("--html").arg(h);
    }
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn plan_validate_replays_the_startup_year_within_the_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let file = repo_file("examples/plans/startup.toml");
    let html = dir.path().join("plan.html");
    let v = validate_json(&file, "600", Some(&html));
    let val = &v["validation"];
    assert_eq!(val["months"], 12);
    let diff = val["difference_percent"].as_f64().unwrap();
    assert!(diff.abs() <= 10.0, "{diff}: {}", val["explanation"]);
    assert_eq!(val["agrees"], true);
    // Every source the plan pays for is compared; the capacity it owns or builds costs the same
    // in both (what is in service), within the rounding of the scaled pools.
    let sources: Vec<&str> = val["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap())
        .collect();
    for s in ["build", "committed", "on-demand", "spot"] {
        assert!(sources.contains(&s), "{sources:?}");
    }
    let replay = &val["replay"];
    let service = &replay["service"];
    let jobs = service["jobs"].as_u64().unwrap();
    assert!((500..=700).contains(&jobs), "{jobs}");
    assert!(service["avg_jct_hours"].as_f64().unwrap() > 0.0);
    assert!(
        service["p90_jct_hours"].as_f64().unwrap()
            >= service["avg_jct_hours"].as_f64().unwrap() * 0.5
    );
    assert!(service["deadline_misses"].is_u64());
    assert_eq!(val["monthly"].as_array().unwrap().len(), 12);
    // The plan's side: expected over its scenarios and on the mean path.
    let expected = val["planned_expected_usd"].as_f64().unwrap();
    let planned = val["planned_usd"].as_f64().unwrap();
    assert!(expected > 0.0 && (expected / planned - 1.0).abs() < 0.2);
    // The timeline carries each period's undiscounted cost by source.
    assert!(
        v["plan"]["timeline"][0]["cost_usd"]["commitment"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    // Deterministic: the same figures again (seeded workload and stockouts).
    let again = validate_json(&file, "600", None);
    assert_eq!(
        again["validation"]["simulated_usd"], val["simulated_usd"],
        "the replay is seeded"
    );
    assert_eq!(
        again["validation"]["replay"]["service"],
        val["replay"]["service"]
    );

    let html = std::fs::read_to_string(&html).unwrap();
    assert!(html.contains("Validation: months 0-11 in the simulator"));
}

/// An owned fleet too small for the demand, rented on demand beyond it: the replay finds the
/// fleet idle between jobs (an online policy rents rather than wait), and says so in numbers.
const BUSY_FLEET: &str = r#"
[plan]
name = "busy-fleet"
horizon_months = 12
step = "month"
discount_rate = 0.0
service_level = 1.0
seed = 5

[[scenario]]
name = "only"
probability = 1.0

[[class]]
name = "tune"
framework = "cuda"
kind = "finetune"
start_ref_hours_per_month = 40_000
annual_growth = 0.0

[[owned]]
name = "fleet"
accelerator = "H100"
chips = 48
opex_per_chip_hour = 0.35

[[rent]]
provider = "aws"
accelerator = "H100"
"#;

#[test]
fn plan_validate_text_report_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("busy.toml");
    std::fs::write(&file, BUSY_FLEET).unwrap();
    let out = spillway()
        .arg("plan")
        .arg(&file)
        .args(["--no-sensitivity", "--no-evaluation", "--validate"])
        .args(["--validate-jobs", "300"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for s in [
        "validation: months 0-11 replayed in the simulator",
        "JCT average",
        "deadline misses",
        "PLAN (MEAN DEMAND)",
        "owned fleet",
        "jobs of tune: ",
    ] {
        assert!(text.contains(s), "{s}\n{text}");
    }
    // Agreeing or not, the verdict is stated with the figures; a difference beyond the
    // tolerance names the source and the month where it is largest.
    assert!(text.contains("within 10%"), "{text}");
    if text.contains("NOT within 10%") {
        assert!(text.contains("most in month"), "{text}");
    }

    spillway()
        .arg("plan")
        .arg(&file)
        .args(["--validate", "--validate-jobs", "0", "--no-sensitivity"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "--validate-jobs must be at least 1",
        ));
    spillway()
        .arg("plan")
        .arg(&file)
        .args(["--validate-jobs", "100"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("--validate"));
}
