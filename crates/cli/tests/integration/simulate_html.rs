//! `spillway simulate --html FILE`: one self-contained page with the run's figures.

use super::spillway;

#[test]
fn simulate_writes_a_self_contained_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    spillway()
        .args([
            "simulate",
            "--policy",
            "fifo_perf,max_min_fairness_perf",
            "--generate",
            "jobs=20,rate=4.0,seed=1",
            "--html",
        ])
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    // Nothing is fetched: no external scripts, styles or images.
    for external in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(external), "{external}");
    }
    assert!(
        html.contains("const SpillwayCharts"),
        "the chart code is inlined"
    );
    let start = html
        .find("<script type=\"application/json\" id=\"data\">")
        .unwrap();
    let json = &html[start..];
    let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
    let data: serde_json::Value = serde_json::from_str(json).unwrap();
    let policies: Vec<&str> = data["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["summary"]["policy"].as_str().unwrap())
        .collect();
    assert_eq!(policies, ["fifo_perf", "max_min_fairness_perf"]);
    for run in data["runs"].as_array().unwrap() {
        assert_eq!(run["summary"]["jobs_completed"], 20);
        let finished = run["finished_by"].as_array().unwrap();
        assert_eq!(finished.len(), 120);
        assert_eq!(
            finished.last().unwrap().as_f64().unwrap(),
            100.0,
            "every job finished"
        );
        for pool in run["utilization"].as_array().unwrap() {
            assert!(
                pool.as_array()
                    .unwrap()
                    .iter()
                    .all(|u| (0.0..=100.0 + 1e-9).contains(&u.as_f64().unwrap()))
            );
        }
    }
    assert!(html.contains("<pre class=\"table\">"), "the summary table");
}

/// The report drawn by a real headless Chromium (`--dump-dom` prints the page after its
/// scripts ran): every chart becomes an SVG. SKIPPED loudly without `chromium`, a failure then
/// with `SPILLWAY_REQUIRE_ENGINES=1`.
#[test]
fn the_html_report_draws_its_charts_in_a_browser() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| which(n))
    else {
        assert!(
            !spillway_engines::env_file::EnginesEnv::engines_required(),
            "a real browser is required but chromium is not on PATH: apt-get install chromium"
        );
        eprintln!(
            "\n******** SKIPPED the_html_report_draws_its_charts_in_a_browser: chromium is not on PATH.\n"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    spillway()
        .args([
            "simulate",
            "--policy",
            "fifo_perf",
            "--cluster",
            "v100=4,p100=4",
        ])
        .args(["--generate", "jobs=10,rate=4.0,seed=2", "--html"])
        .arg(&page)
        .assert()
        .success();
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
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    // One chart of finished jobs, one of utilization (no prices: no spend chart).
    assert_eq!(dom.matches("<svg viewBox=").count(), 2, "{dom}");
    assert!(dom.contains("Utilization: fifo_perf"), "{dom}");
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
