//! `spillway estimate` end to end.

use crate::spillway;
use predicates::str::contains;
use serde_json::Value;
use std::io::Write as _;

/// Runs `spillway estimate ARGS` and returns its stdout; fails the test if it fails.
fn estimate(args: &[&str]) -> String {
    let out = spillway().arg("estimate").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "spillway estimate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn estimate_json(args: &[&str]) -> Vec<Value> {
    let mut all = args.to_vec();
    all.push("--json");
    let v: Value = serde_json::from_str(&estimate(&all)).unwrap();
    v.as_array().unwrap().clone()
}

fn row<'a>(rows: &'a [Value], accelerator: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["accelerator"] == accelerator)
        .unwrap_or_else(|| panic!("no row for {accelerator}"))
}

fn close(v: &Value, expected: f64, rel: f64) -> bool {
    let x = v.as_f64().unwrap();
    ((x - expected) / expected).abs() <= rel
}

#[test]
fn seventy_b_on_h100_matches_the_hand_computation() {
    let rows = estimate_json(&[
        "--params",
        "70e9",
        "--tokens",
        "1.4e12",
        "--accelerator",
        "H100",
    ]);
    assert_eq!(rows.len(), 1);
    let h = &rows[0];
    assert_eq!(h["status"], "ok");
    assert_eq!(h["training_flops"].as_f64().unwrap(), 5.88e23);
    assert_eq!(h["chips_for_memory"], 19);
    assert_eq!(h["chips"], 24);
    assert_eq!(h["offer"]["chips_per_unit"], 8);
    assert_eq!(h["offer"]["units"], 3);
    // 412,874.96 chip-hours over 24 chips.
    assert!(close(&h["chip_hours"], 412_875.0, 1e-6), "{h}");
    assert!(close(&h["hours"], 17_203.12, 1e-6), "{h}");
    // The cheapest 8xH100 on demand is a GCP a3 VM in us-central1-a: host $9.46006 + 8 GPUs
    // $33.60609 = $43.06615/h (the issue's "$43.07"); a3-edgegpu-8g and a3-highgpu-8g tie.
    assert_eq!(h["offer"]["provider"], "gcp");
    assert_eq!(h["offer"]["zone"], "us-central1-a");
    assert!(
        close(&h["on_demand_price_per_hour"], 3.0 * 43.066_15, 1e-9),
        "{h}"
    );
    // 3 x $43.06615 x 17,203.12 h = $2,222,617.
    assert!(close(&h["on_demand_cost_usd"], 2_222_616.9, 1e-7), "{h}");
}

#[test]
fn table_for_a_70b_model_on_a_few_accelerators() {
    let out = estimate(&[
        "--params",
        "70e9",
        "--tokens",
        "1.4e12",
        "--accelerator",
        "H100,tpu-v5p,tpu-v5litepod,V100,MI300X,B200",
    ]);
    insta::assert_snapshot!(out);
}

#[test]
fn table_for_every_accelerator_names_those_it_cannot_estimate() {
    let out = estimate(&["--params", "7B", "--tokens", "2T"]);
    assert!(
        out.contains("not estimated, offered but with no spec"),
        "{out}"
    );
    insta::assert_snapshot!(out);
}

#[test]
fn json_for_fp8_on_given_chips() {
    let out = estimate(&[
        "--params",
        "8B",
        "--tokens",
        "15T",
        "--precision",
        "fp8",
        "--mfu",
        "0.3",
        "--chips",
        "64",
        "--accelerator",
        "H100",
        "--accelerator",
        "tpu-v6e",
        "--accelerator",
        "a100",
        "--json",
    ]);
    insta::assert_snapshot!(out);
}

#[test]
fn every_catalog_accelerator_gets_a_row_and_rows_are_sorted_by_cost() {
    let rows = estimate_json(&["--params", "7e9", "--tokens", "1e12"]);
    assert!(rows.len() >= 15, "{} rows", rows.len());
    // V100 has no bf16: listed as unsupported, at the end, not skipped.
    let v100 = row(&rows, "V100");
    assert_eq!(v100["status"], "unsupported_precision");
    assert!(v100["hours"].is_null() && v100["on_demand_cost_usd"].is_null());
    let costs: Vec<f64> = rows
        .iter()
        .filter_map(|r| {
            r["committed_cost_usd"]
                .as_f64()
                .or(r["on_demand_cost_usd"].as_f64())
        })
        .collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "{costs:?}");
    let last = rows.last().unwrap();
    assert_eq!(last["status"], "unsupported_precision");
}

#[test]
fn tpu_slices_are_whole_and_named_by_the_catalog() {
    let rows = estimate_json(&[
        "--params",
        "70e9",
        "--tokens",
        "1.4e12",
        "--accelerator",
        "tpu-v5p",
    ]);
    let v5p = &rows[0];
    // 1,303.85 GiB / (95 GiB x 0.9) = 15.25 -> 16 chips = tpu-v5p-32.
    assert_eq!(v5p["chips_for_memory"], 16);
    assert_eq!(v5p["chips"], 16);
    assert_eq!(v5p["offer"]["units"], 1);
    assert_eq!(v5p["offer"]["instance"], "tpu-v5p-32");
    assert!(close(&v5p["hours"], 55_600.94, 1e-6), "{v5p}");
}

#[test]
fn too_few_chips_is_flagged_but_still_priced() {
    let rows = estimate_json(&[
        "--params",
        "70e9",
        "--tokens",
        "1.4e12",
        "--chips",
        "8",
        "--accelerator",
        "H100",
    ]);
    let h = &rows[0];
    assert_eq!(h["status"], "insufficient_memory");
    assert_eq!(h["chips_requested"], 8);
    assert_eq!(h["chips"], 8);
    assert!(h["on_demand_cost_usd"].is_number());
}

#[test]
fn bad_flags_name_the_flag() {
    spillway()
        .args([
            "estimate", "--params", "70e9", "--tokens", "1.4e12", "--mfu", "1.5",
        ])
        .assert()
        .failure()
        .stderr(contains("--mfu"))
        .stderr(contains("mfu must be a fraction of peak in (0, 1]"));
    spillway()
        .args(["estimate", "--params", "-1", "--tokens", "1.4e12"])
        .assert()
        .failure()
        .stderr(contains("--params"))
        .stderr(contains("params must be a positive number"));
    spillway()
        .args(["estimate", "--params", "70e9", "--tokens", "0"])
        .assert()
        .failure()
        .stderr(contains("--tokens"));
    spillway()
        .args([
            "estimate", "--params", "70e9", "--tokens", "1e12", "--chips", "0",
        ])
        .assert()
        .failure()
        .stderr(contains("--chips"))
        .stderr(contains("chips must be at least 1"));
    spillway()
        .args(["estimate", "--params", "70e9"])
        .assert()
        .failure()
        .stderr(contains("--tokens"));
}

#[test]
fn unknown_accelerator_suggests_close_names() {
    spillway()
        .args([
            "estimate",
            "--params",
            "7e9",
            "--tokens",
            "1e12",
            "--accelerator",
            "tpu-v5",
        ])
        .assert()
        .failure()
        .stderr(contains("unknown accelerator 'tpu-v5'"))
        .stderr(contains("did you mean"))
        .stderr(contains("tpu-v5p"));
}

/// A small Gavel-format matrix with round numbers, so the expected figures are checkable.
const MATRIX: &str = r#"{
    "h100": {
        "('ResNet-50 (batch size 32)', 1)": {"null": 20.0},
        "('ResNet-50 (batch size 32)', 4)": {"null": 72.0}
    },
    "v100": {
        "('ResNet-50 (batch size 32)', 1)": {"null": 10.0},
        "('ResNet-50 (batch size 32)', 4)": {"null": 36.0}
    },
    "v100_unconsolidated": {
        "('ResNet-50 (batch size 32)', 1)": {"null": 10.0},
        "('ResNet-50 (batch size 32)', 4)": {"null": 20.0}
    },
    "k80": {
        "('ResNet-50 (batch size 32)', 1)": {"null": 2.0},
        "('ResNet-50 (batch size 32)', 4)": {"null": 0.0}
    },
    "tpu9000": {
        "('ResNet-50 (batch size 32)', 1)": {"null": 100.0},
        "('ResNet-50 (batch size 32)', 4)": {"null": 400.0}
    }
}"#;

fn matrix_file() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(MATRIX.as_bytes()).unwrap();
    f
}

#[test]
fn measured_mode_times_steps_at_the_measured_rate() {
    let f = matrix_file();
    let path = f.path().to_str().unwrap();
    let out = estimate(&[
        "--throughputs",
        path,
        "--job-type",
        "resnet-50 (BATCH SIZE 32)",
        "--steps",
        "36000",
        "--json",
    ]);
    let rows: Vec<Value> = serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    // The job type matches case-insensitively and is reported as the matrix spells it.
    assert_eq!(rows[0]["job_type"], "ResNet-50 (batch size 32)");
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["accelerator"].as_str().unwrap())
        .collect();
    assert!(
        !names.iter().any(|n| n.ends_with("_unconsolidated")),
        "{names:?}"
    );
    // 36,000 steps at 20 steps/s = 0.5 h on an H100, on the cheapest 1-GPU VM.
    let h100 = row(&rows, "H100");
    assert_eq!(h100["matrix_accelerator"], "h100");
    assert_eq!(h100["hours"].as_f64().unwrap(), 0.5);
    assert_eq!(h100["chips"], 1);
    let price = h100["on_demand_price_per_hour"].as_f64().unwrap();
    assert!(
        (h100["on_demand_cost_usd"].as_f64().unwrap() - (price * 0.5 * 100.0).round() / 100.0)
            .abs()
            < 1e-9
    );
    // At 10 steps/s = 1 h on a V100; at 2 steps/s = 5 h on a K80.
    assert_eq!(row(&rows, "V100")["hours"].as_f64().unwrap(), 1.0);
    assert_eq!(row(&rows, "K80")["hours"].as_f64().unwrap(), 5.0);
    // Not in the catalog: a time, no offer, no cost.
    let unknown = row(&rows, "tpu9000");
    assert_eq!(unknown["status"], "no_offer");
    assert_eq!(unknown["hours"].as_f64().unwrap(), 0.1);
    assert!(unknown["on_demand_cost_usd"].is_null());
}

#[test]
fn measured_mode_table() {
    let f = matrix_file();
    let out = estimate(&[
        "--throughputs",
        f.path().to_str().unwrap(),
        "--job-type",
        "ResNet-50 (batch size 32)",
        "--scale-factor",
        "4",
        "--steps",
        "1e6",
    ]);
    // The temporary file's name varies; the snapshot keeps the rest.
    let name = f.path().file_name().unwrap().to_str().unwrap();
    insta::assert_snapshot!(out.replace(name, "MATRIX.json"));
}

#[test]
fn measured_mode_rejects_unknown_job_types_and_scale_factors() {
    let f = matrix_file();
    let path = f.path().to_str().unwrap();
    spillway()
        .args([
            "estimate",
            "--throughputs",
            path,
            "--job-type",
            "ResNet-50 (batch size 33)",
        ])
        .assert()
        .failure()
        .stderr(contains("unknown job type \"ResNet-50 (batch size 33)\""))
        .stderr(contains("did you mean \"ResNet-50 (batch size 32)\"?"));
    spillway()
        .args([
            "estimate",
            "--throughputs",
            path,
            "--job-type",
            "ResNet-50 (batch size 32)",
            "--scale-factor",
            "2",
        ])
        .assert()
        .failure()
        .stderr(contains("no scale factor 2"))
        .stderr(contains("it has 1, 4"));
    spillway()
        .args(["estimate", "--throughputs", path, "--params", "7e9"])
        .assert()
        .failure()
        .stderr(contains("cannot be used with"));
    spillway()
        .args([
            "estimate",
            "--throughputs",
            path,
            "--job-type",
            "ResNet-50 (batch size 32)",
        ])
        .args(["--mfu", "0.5"])
        .assert()
        .failure()
        .stderr(contains("cannot be used with"));
}

#[test]
fn measured_mode_reads_the_vendored_gavel_matrix() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/gavel/simulation_throughputs.json"
    );
    let out = estimate(&[
        "--throughputs",
        path,
        "--job-type",
        "ResNet-50 (batch size 32)",
        "--json",
    ]);
    let rows: Vec<Value> = serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    // Gavel's V100 runs ResNet-50 (batch size 32) at 7.787 steps/s: 1,000 steps = 128.4 s.
    let v100 = row(&rows, "V100");
    assert!(close(
        &v100["steps_per_second"],
        7.787_264_918_596_293,
        1e-12
    ));
    assert!(close(
        &v100["hours"],
        1000.0 / 7.787_264_918_596_293 / 3600.0,
        1e-3
    ));
}

#[test]
fn overrides_give_committed_prices_and_owned_pools_lend_part_of_themselves() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(
        br#"
[[discount]]
provider = "gcp"
accelerator = "H100"
percent = 30

[[owned]]
name = "slurm-h200"
accelerator = "H200"
chips = 64
price_per_chip_hour = 1.10
region = "dc-east"
"#,
    )
    .unwrap();
    let rows = estimate_json(&[
        "--params",
        "70e9",
        "--tokens",
        "1.4e12",
        "--accelerator",
        "H100,H200",
        "--catalog-overrides",
        f.path().to_str().unwrap(),
    ]);
    // The owned pool lends the 11 H200s the state needs (1,303.9 / 126.9 = 10.3) at $1.10 per
    // chip-hour: 412,875 chip-hours x $1.10 = $454,162. It is first: the cheapest.
    let h200 = &rows[0];
    assert_eq!(h200["accelerator"], "H200");
    assert_eq!(h200["offer"]["provider"], "owned");
    assert_eq!(
        (
            h200["chips"].as_u64(),
            h200["offer"]["chips_per_unit"].as_u64()
        ),
        (Some(11), Some(64))
    );
    assert!(
        close(&h200["committed_cost_usd"], 454_162.45, 1e-8),
        "{h200}"
    );
    assert!(
        h200["on_demand_cost_usd"].is_null(),
        "an owned pool is not for rent"
    );
    // 30% off GCP's H100 list price: committed = 0.7 x on-demand.
    let h100 = &rows[1];
    let od = h100["on_demand_cost_usd"].as_f64().unwrap();
    assert!(close(&h100["committed_cost_usd"], 0.7 * od, 1e-6), "{h100}");
}

#[test]
fn an_unreadable_overrides_file_is_an_error_naming_it() {
    spillway()
        .args([
            "estimate",
            "--params",
            "7e9",
            "--tokens",
            "1e12",
            "--catalog-overrides",
            "/nonexistent/catalog.toml",
        ])
        .assert()
        .failure()
        .stderr(contains("/nonexistent/catalog.toml"));
}

#[test]
fn the_example_in_the_docs_is_what_the_command_prints() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/estimate.md"
    ))
    .unwrap();
    let prompt = "$ spillway estimate ";
    let start = doc.find(prompt).expect("docs/estimate.md has an example");
    let block = &doc[start + prompt.len()..];
    let (command, rest) = block.split_once('\n').unwrap();
    let shown = &rest[..rest.find("```").unwrap()];
    let args: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(
        estimate(&args),
        shown,
        "update the example in docs/estimate.md"
    );
}

/// The README's measured-mode example: Gavel's GPUs, which no bundled offer prices, as an
/// owned cluster (examples/catalog-gavel-owned.toml), so that every row has a cost and the
/// fastest GPU (V100) is not the cheapest for this job type (P100).
#[test]
fn the_readme_measured_example_prices_every_gavel_gpu() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let rows = estimate_json(&[
        "--throughputs",
        &format!("{root}/data/gavel/simulation_throughputs.json"),
        "--job-type",
        "ResNet-50 (batch size 32)",
        "--steps",
        "1000000",
        "--catalog-overrides",
        &format!("{root}/examples/catalog-gavel-owned.toml"),
    ]);
    for gpu in ["K80", "P100", "V100"] {
        assert!(row(&rows, gpu)["committed_cost_usd"].is_number(), "{gpu}");
    }
    assert_eq!(rows[0]["accelerator"], "P100");
    // 1e6 steps at 4.888 steps/s on one P100 at $0.45 per chip-hour.
    assert!(close(
        &rows[0]["committed_cost_usd"],
        1e6 / 4.888_323_684_976_709 / 3600.0 * 0.45,
        1e-3
    ));
}
