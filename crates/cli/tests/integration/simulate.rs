//! `spillway simulate` end to end.

use crate::spillway;
use predicates::prelude::*;
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// The first `n` jobs of the vendored static Gavel trace (all arrive at t = 0).
fn small_trace(dir: &Path, n: usize) -> PathBuf {
    let text =
        std::fs::read_to_string(repo_file("data/gavel/generated/static_200jobs_seed0.trace"))
            .unwrap();
    let lines: Vec<&str> = text.lines().take(n).collect();
    let path = dir.join("small.trace");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

const LINE: &str = "A3C\tpython3 main.py\ta3c\t--max-steps\t1\t5000\t1\t1\t-1\t0";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn compares_policies_in_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let trace = small_trace(dir.path(), 40);
    let out = spillway()
        .args([
            "simulate",
            "--policy",
            "fifo_perf,max_min_fairness_perf,priority",
        ])
        .arg("--trace")
        .arg(&trace)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn json_has_one_run_per_policy_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let trace = small_trace(dir.path(), 30);
    let run = || {
        let out = spillway()
            .args(["simulate", "--json", "--policy", "fifo,max_min_fairness"])
            .arg("--trace")
            .arg(&trace)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let first = run();
    assert_eq!(first, run(), "same seed, same summary, bit for bit");
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for (run, policy) in runs.iter().zip(["fifo", "max_min_fairness"]) {
        assert_eq!(run["policy"], policy);
        assert_eq!(run["jobs_completed"], 30);
        for key in [
            "avg_jct_hours",
            "p50_jct_hours",
            "p90_jct_hours",
            "p99_jct_hours",
            "makespan_hours",
            "utilization",
        ] {
            assert!(run[key].as_f64().unwrap() > 0.0, "{key}: {run}");
        }
    }
}

#[test]
fn gavel_parity_of_two_cheap_cases_is_within_five_percent() {
    // Two cases that take well under a second each in the debug profile; the whole table is the
    // benchmark (`cargo bench -p spillway-sim --bench gavel_parity`).
    let out = spillway()
        .args([
            "simulate",
            "--gavel-parity",
            "--parity-traces",
            "static",
            "--parity-policies",
            "fifo_perf,max_min_fairness",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let rows = v["parity"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let jct = row["jct_diff"].as_f64().unwrap();
        let span = row["makespan_diff"].as_f64().unwrap();
        assert!(jct.abs() < 0.05 && span.abs() < 0.05, "{row}");
    }
}

#[test]
fn writes_per_job_csv_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let trace = small_trace(dir.path(), 20);
    let csv = dir.path().join("jobs.csv");
    let plots = dir.path().join("plots");
    spillway()
        .args(["simulate", "--policy", "fifo_perf,max_min_fairness_perf"])
        .arg("--trace")
        .arg(&trace)
        .arg("--per-job-csv")
        .arg(&csv)
        .arg("--plot")
        .arg(&plots)
        .arg("--jobs-window")
        .arg("5..15")
        .assert()
        .success()
        .stdout(predicate::str::contains("fifo_perf"));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 1 + 2 * 20);
    assert!(text.starts_with("policy,job_id,"));
    for f in [
        "jct_cdf.svg",
        "utilization_fifo_perf.svg",
        "utilization_max_min_fairness_perf.svg",
    ] {
        let svg = std::fs::read_to_string(plots.join(f)).unwrap();
        assert!(svg.contains("<svg"), "{f}");
    }
}

#[test]
fn malformed_line_names_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(
        dir.path(),
        "bad.trace",
        &format!("{LINE}\nA3C\tx\ty\tz\t1\tmany\t1\t1\t-1\t0\n"),
    );
    spillway()
        .args(["simulate", "--trace-format", "gavel", "--trace"])
        .arg(&trace)
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("bad.trace:2").and(predicate::str::contains("total_steps")),
        );
    spillway()
        .args([
            "simulate",
            "--skip-bad-lines",
            "--policy",
            "fifo_perf",
            "--trace",
        ])
        .arg(&trace)
        .assert()
        .success()
        .stderr(predicate::str::contains("skipped 1 malformed line"));
}

#[test]
fn unknown_job_type_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(
        dir.path(),
        "t.trace",
        &LINE.replace("A3C", "GPT-9 (batch size 1)"),
    );
    spillway()
        .args(["simulate", "--trace"])
        .arg(&trace)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "job type `GPT-9 (batch size 1)` is not in the throughput matrix",
        ));
}

#[test]
fn job_larger_than_the_cluster_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let line =
        "ResNet-18 (batch size 64)\tpython3 main.py\tcifar10\t--num_steps\t1\t1000\t8\t1\t-1\t0";
    let trace = write(dir.path(), "t.trace", line);
    spillway()
        .args(["simulate", "--cluster", "v100=4,p100=4", "--trace"])
        .arg(&trace)
        .assert()
        .failure()
        .stderr(predicate::str::contains("needs 8 accelerators at once"));
}

#[test]
fn empty_cluster_and_unknown_policy_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let trace = write(dir.path(), "t.trace", LINE);
    spillway()
        .args(["simulate", "--cluster", "v100=0", "--trace"])
        .arg(&trace)
        .assert()
        .failure()
        .stderr(predicate::str::contains("no accelerators"));
    spillway()
        .args(["simulate", "--policy", "fastest", "--trace"])
        .arg(&trace)
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown; known policies"));
    spillway()
        .args(["simulate", "--cluster", "h100=8", "--trace"])
        .arg(&trace)
        .assert()
        .failure()
        .stderr(predicate::str::contains("pool `h100`"));
}

#[test]
fn generates_a_gavel_like_workload_repeatably() {
    let run = |seed: &str| {
        let out = spillway()
            .args(["simulate", "--json", "--policy", "fifo_perf", "--generate"])
            .arg(format!("jobs=40,rate=4.0,multi_gpu=true,seed={seed}"))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()
    };
    let a = run("3");
    assert_eq!(a["runs"][0]["jobs_completed"], 40);
    assert_eq!(a, run("3"), "same seed, same run");
    assert_ne!(a, run("4"), "another seed, another workload");
    spillway()
        .args(["simulate", "--generate", "jobs=5,rate=-1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("key `rate`"));
}

/// A few lines of a vendored data file (header and `#` comments kept), into `dir`.
fn head_of(dir: &Path, rel: &str, lines: usize) -> PathBuf {
    let text = std::fs::read_to_string(repo_file(rel)).unwrap();
    let kept: Vec<&str> = text.lines().take(lines).collect();
    let name = Path::new(rel).file_name().unwrap();
    write(dir, &name.to_string_lossy(), &(kept.join("\n") + "\n"))
}

#[test]
fn gavel_slo_multiples_become_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    // Twelve jobs of the static trace with SLO multiples 1.2, 2 and 10, arriving 10 minutes apart.
    let text =
        std::fs::read_to_string(repo_file("data/gavel/generated/static_200jobs_seed0.trace"))
            .unwrap();
    let lines: Vec<String> = text
        .lines()
        .take(12)
        .enumerate()
        .map(|(i, line)| {
            let mut fields: Vec<String> = line.split('\t').map(str::to_string).collect();
            fields[8] = ["1.2", "2", "10"][i % 3].to_string();
            fields[9] = (600 * i).to_string();
            fields.join("\t")
        })
        .collect();
    let trace = write(dir.path(), "slo.trace", &(lines.join("\n") + "\n"));
    let out = spillway()
        .args([
            "simulate",
            "--json",
            "--cluster",
            "v100=8@3.06,p100=8@1.46,k80=8@0.9",
            "--policy",
            "throughput_normalized_by_cost_perf_SLOs,max_min_fairness_perf",
            "--trace",
        ])
        .arg(&trace)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    for run in v["runs"].as_array().unwrap() {
        assert_eq!(run["jobs_completed"], 12, "{run}");
        assert_eq!(run["jobs_with_slo"], 12, "{run}");
        let misses = run["slo_misses"].as_u64().unwrap();
        assert!(misses < 12, "{run}");
        assert!(run["cost_usd"].as_f64().unwrap() > 0.0, "{run}");
    }
}

#[test]
fn generic_csv_with_alternative_accelerators_runs() {
    let out = spillway()
        .args(["simulate", "--json", "--policy", "fifo_perf", "--trace"])
        .arg(repo_file("data/traces/examples/generic.csv"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["runs"][0]["jobs_completed"], 4);
    assert_eq!(v["runs"][0]["jobs_with_slo"], 1);
}

#[test]
fn philly_jobs_larger_than_the_matrix_run_extrapolated() {
    let dir = tempfile::tempdir().unwrap();
    // 150 lines of the table and its first two 32-GPU jobs (lines 2262 and 2282); Gavel's
    // matrix stops at 8 GPUs.
    let text = std::fs::read_to_string(repo_file(
        "data/traces/philly/philly_jobs_from_pollux_artifact.csv",
    ))
    .unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = lines[..150].to_vec();
    kept.extend([lines[2261], lines[2281]]);
    let trace = write(dir.path(), "philly.csv", &(kept.join("\n") + "\n"));
    let out = spillway()
        .args([
            "simulate",
            "--json",
            "--cluster",
            "v100=64,p100=64,k80=64",
            "--policy",
            "fifo_perf",
            "--per-job-csv",
        ])
        .arg(dir.path().join("jobs.csv"))
        .arg("--trace")
        .arg(&trace)
        .assert()
        .success()
        // Not a terminal: no progress bar, nothing on stderr.
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["runs"][0]["jobs_completed"], 151);
    let jobs = std::fs::read_to_string(dir.path().join("jobs.csv")).unwrap();
    assert!(
        jobs.lines().any(|line| line.contains("\",32,")),
        "a 32-GPU job ran"
    );
}

#[test]
fn alibaba_pod_list_runs_on_its_own_cluster_and_reports_left_out_pods() {
    let dir = tempfile::tempdir().unwrap();
    let trace = head_of(
        dir.path(),
        "data/traces/alibaba-gpu-v2023/openb_pod_list_gpuspec33.csv",
        150,
    );
    // Pods run for weeks: long rounds keep the run short in the debug profile.
    let out = spillway()
        .args([
            "simulate",
            "--json",
            "--round-s",
            "36000",
            "--policy",
            "fifo_perf",
        ])
        .arg("--trace")
        .arg(&trace)
        .assert()
        .success()
        .stderr(
            predicate::str::contains("pods read")
                .and(predicate::str::contains("CPU-only"))
                .and(predicate::str::contains("--cluster alibaba")),
        )
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let pools: Vec<&str> = v["runs"][0]["utilization_per_pool"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pool"].as_str().unwrap())
        .collect();
    assert_eq!(
        pools,
        ["a10", "g2", "g3", "p100", "t4", "v100m16", "v100m32"]
    );
    // The same cluster from the node list file.
    let nodes = repo_file("data/traces/alibaba-gpu-v2023/openb_node_list_gpu_node.csv");
    let from_file = spillway()
        .args([
            "simulate",
            "--json",
            "--round-s",
            "36000",
            "--policy",
            "fifo_perf",
            "--cluster-from-nodes",
        ])
        .arg(&nodes)
        .arg("--trace")
        .arg(&trace)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, from_file);
    // A constraint that the cluster cannot meet names the job and the pools.
    spillway()
        .args(["simulate", "--cluster", "v100=8,k80=8", "--trace"])
        .arg(&trace)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "which no pool provides (pools: v100, k80)",
        ));
}

#[test]
fn plots_are_well_formed_svg() {
    let dir = tempfile::tempdir().unwrap();
    let trace = small_trace(dir.path(), 10);
    let plots = dir.path().join("plots");
    spillway()
        .args(["simulate", "--policy", "fifo_perf", "--plot"])
        .arg(&plots)
        .arg("--trace")
        .arg(&trace)
        .assert()
        .success();
    for f in ["jct_cdf.svg", "utilization_fifo_perf.svg"] {
        let svg = std::fs::read_to_string(plots.join(f)).unwrap();
        assert!(svg.trim_start().starts_with("<svg"), "{f}");
        assert!(svg.trim_end().ends_with("</svg>"), "{f}");
        // Every element that opens is closed (a cheap well-formedness check).
        let opened = svg.matches('<').count() - svg.matches("</").count();
        let closed = svg.matches("/>").count() + svg.matches("</").count();
        assert_eq!(opened, closed, "{f}");
        assert!(svg.contains("<path") || svg.contains("<polyline"), "{f}");
    }
}

/// A report page fetches nothing: no external scripts, styles, images or links.
pub(crate) fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!doctype html>"));
    for external in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(http",
        "@import",
        "src=\"//",
        "href=\"//",
    ] {
        assert!(!html.contains(external), "the page fetches {external}...");
    }
    assert!(
        html.contains("const SpillwayCharts"),
        "the chart code is inlined"
    );
}

/// The JSON document a report page carries (its charts and the command's figures).
pub(crate) fn report_data(html: &str) -> serde_json::Value {
    let tag = "<script type=\"application/json\" id=\"data\">";
    let start = html.find(tag).expect("the page's data") + tag.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

/// `page` as headless Chromium renders it (`--dump-dom` prints the page after its scripts ran),
/// or `None`, SKIPPED loudly, without `chromium` on PATH (a failure then with
/// `SPILLWAY_REQUIRE_ENGINES=1`).
pub(crate) fn rendered(page: &Path, test: &str) -> Option<String> {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join(n))
                .find(|p| p.is_file())
        });
    let Some(chromium) = chromium else {
        assert!(
            !spillway_engines::env_file::EnginesEnv::engines_required(),
            "a real browser is required but chromium is not on PATH: apt-get install chromium"
        );
        eprintln!("\n******** SKIPPED the browser check of {test}: chromium is not on PATH.\n");
        return None;
    };
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Every chart of a report page is drawn (one SVG each) when a browser renders it.
pub(crate) fn assert_charts_drawn(page: &Path, test: &str) {
    let html = std::fs::read_to_string(page).unwrap();
    let charts = report_data(&html)["charts"].as_array().unwrap().len();
    if let Some(dom) = rendered(page, test) {
        assert_eq!(dom.matches("<svg viewBox=").count(), charts, "{dom}");
        assert!(!dom.contains("data-chart="), "a chart was not drawn: {dom}");
    }
}

#[test]
fn simulate_html_report_through_the_shared_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("sim.html");
    spillway()
        .args([
            "simulate",
            "--policy",
            "fifo_perf",
            "--cluster",
            "v100=4,k80=4",
        ])
        .args(["--generate", "jobs=12,rate=4.0,seed=5", "--html"])
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert_self_contained(&html);
    assert!(html.contains("<h2>Summary</h2>") && html.contains("<pre class=\"table\">"));
    let data = report_data(&html);
    let kinds: Vec<(&str, &str)> = data["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["y"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("lines", "percent"), ("lines", "percent")]);
    assert_eq!(data["pools"], serde_json::json!(["v100", "k80"]));
    assert_eq!(data["runs"][0]["summary"]["jobs_completed"], 12);
    assert_charts_drawn(&page, "simulate --html");
    // The utilization series are the chart's.
    assert_eq!(
        data["charts"][1]["series"][0]["values"],
        data["runs"][0]["utilization"][0]
    );
}
