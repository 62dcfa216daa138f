//! Gavel's time-sharing through `spillway serve`: under an allocation policy with `[scheduler]
//! round_s`, jobs that can resume (`checkpoint.resume`) take turns on one accelerator round by
//! round, each preempted when its lease ends and resumed from its checkpoint, with no work
//! lost; a job that cannot resume runs to its end once started. The same rules as
//! `simulate --trace` (the machine's rounds).

use crate::service::Server;

const CONFIG: &str = r#"
[scheduler]
policy = "max_min_fairness_perf"
round_s = 1

[[pool]]
name = "h100"
accelerator = "H100"
count = 1
price = { plan = "owned", usd_per_chip_hour = 2.0 }
"#;

/// A job of `steps` steps of 0.1 s that saves its progress after each and goes on from it
/// when started again.
fn resumable(name: &str, steps: u32) -> String {
    let script = format!(
        "ck=\"$SPILLWAY_CHECKPOINT_DIR/step\"; n=$(cat \"$ck\" 2>/dev/null || echo 0); \
         echo \"start $n\" >> \"$SPILLWAY_CHECKPOINT_DIR/log\"; \
         while [ \"$n\" -lt {steps} ]; do n=$((n + 1)); echo \"$n\" > \"$ck.tmp\" && mv \"$ck.tmp\" \"$ck\"; sleep 0.1; done; \
         echo \"done $n\""
    );
    format!(
        "name: {name}\nresources:\n  accelerators: H100:1\nwork: {}s\ncheckpoint:\n  resume: '{script}'\nrun: '{script}'\n",
        (steps / 10).max(1)
    )
}

fn attempts(server: &Server, id: &str) -> Vec<serde_json::Value> {
    server.show(None, id)["attempts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn resumable_jobs_take_turns_round_by_round_and_lose_no_work() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), CONFIG);
    let a = server.submit(None, &resumable("a", 40));
    let b = server.submit(None, &resumable("b", 40));
    for id in [&a, &b] {
        assert_eq!(server.wait_final(None, id), "succeeded", "{id}");
    }
    let (aa, ab) = (attempts(&server, &a), attempts(&server, &b));
    // 4 s of work each on one accelerator in rounds of 1 s: each is stopped at least once for
    // the other, and neither runs alone to its end first.
    assert!(aa.len() >= 2 && ab.len() >= 2, "a: {aa:#?}\nb: {ab:#?}");
    let end = |v: &[serde_json::Value]| v.last().unwrap()["ended_ms"].as_i64().unwrap();
    let first = |v: &[serde_json::Value]| v[0]["started_ms"].as_i64().unwrap();
    assert!(
        first(&ab) < end(&aa) && first(&aa) < end(&ab),
        "the two share the accelerator: a {aa:#?}\nb {ab:#?}"
    );
    // Never both at once on the one accelerator.
    let mut spans: Vec<(i64, i64)> = aa
        .iter()
        .chain(&ab)
        .map(|t| {
            (
                t["started_ms"].as_i64().unwrap(),
                t["ended_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    spans.sort();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "overlapping attempts: {spans:?}");
    }
    // Each resumed from its checkpoint: the last attempt did not start from step 0, and the
    // job counted each step once (its output ends with `done 40`).
    for id in [&a, &b] {
        let log = server
            .cli(None)
            .args(["logs", id.as_str()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&log.stdout);
        assert!(text.trim_end().ends_with("done 40"), "{id}: {text}");
        let d = server.show(None, id);
        let events = d["events"].to_string();
        assert!(events.contains("lease"), "{id}: {events}");
    }
}

#[test]
fn a_job_that_cannot_resume_keeps_its_accelerator_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), CONFIG);
    let whole = server.submit(
        None,
        "name: whole\nresources:\n  accelerators: H100:1\nwork: 3s\nrun: sleep 3\n",
    );
    server.wait_running(&whole);
    let other = server.submit(None, &resumable("other", 10));
    assert_eq!(server.wait_final(None, &whole), "succeeded");
    assert_eq!(server.wait_final(None, &other), "succeeded");
    let w = attempts(&server, &whole);
    assert_eq!(w.len(), 1, "never stopped for a round: {w:#?}");
    let o = attempts(&server, &other);
    assert!(
        o[0]["started_ms"].as_i64().unwrap() >= w[0]["ended_ms"].as_i64().unwrap(),
        "the other waited for its end: {w:#?} {o:#?}"
    );
}
