//! `spillway replay`: a real workload runs through `spillway serve` (local executor, one pool
//! of 8 declared H100, jobs of 1 to 3 s, three priorities, a tenant's quota, a preemption, a
//! job cancelled before it ran); then its history is replayed from the store file and from the
//! running server with the same configuration: every job is accounted for, the same jobs start
//! in the same order on the same pools, and the average JCT agrees within 10%. Then what-ifs,
//! exports and bad input.

use crate::service::Server;
use serde_json::Value;
use std::collections::BTreeMap;

const CONFIG: &str = r#"
[[pool]]
name = "h100"
accelerator = "H100"
count = 8
price = { plan = "owned", usd_per_chip_hour = 2.0 }

[[tenant]]
name = "blue"
max_accelerators = { H100 = 3 }

[[tenant]]
name = "red"
"#;

/// A what-if configuration with no H100 at all: nothing of the history can be placed on it.
const NO_H100: &str = r#"
[[pool]]
name = "a100"
accelerator = "A100"
count = 8
price = { plan = "owned", usd_per_chip_hour = 1.0 }
"#;

/// A job of `secs` seconds; `work` states the estimate (without it the policy sees the job as
/// open-ended, and the replay takes its work from what was observed).
fn spec(
    name: &str,
    tenant: &str,
    priority: u32,
    accelerators: &str,
    secs: u32,
    work: bool,
) -> String {
    let work = if work {
        format!("work: {secs}s\n")
    } else {
        String::new()
    };
    format!(
        "name: {name}\ntenant: {tenant}\npriority: {priority}\nresources:\n  accelerators: {accelerators}\n{work}run: sleep {secs}\n"
    )
}

/// Each attempt's start, keyed by (job, its n-th attempt), with its pool.
fn starts(attempts: &Value) -> BTreeMap<(u64, usize), (i64, String)> {
    let mut out = BTreeMap::new();
    let mut list: Vec<(i64, u64, String)> = attempts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["started_ms"].as_i64().unwrap(),
                a["job"].as_u64().unwrap(),
                a["pool"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    list.sort();
    let mut nth: BTreeMap<u64, usize> = BTreeMap::new();
    for (at, job, pool) in list {
        let n = nth.entry(job).or_default();
        *n += 1;
        out.insert((job, *n), (at, pool));
    }
    out
}

/// The same attempts on the same pools, started in the same order: whenever one side starts
/// an attempt more than `window_ms` before another, the other side does not start them the
/// other way round (starts closer than that are one instant: the service's rounds and process
/// launches take a few tens of ms).
fn same_order(
    real: &BTreeMap<(u64, usize), (i64, String)>,
    replay: &BTreeMap<(u64, usize), (i64, String)>,
    window_ms: i64,
) -> Result<(), String> {
    let pools = |m: &BTreeMap<(u64, usize), (i64, String)>| -> Vec<((u64, usize), String)> {
        m.iter().map(|(k, (_, p))| (*k, p.clone())).collect()
    };
    if pools(real) != pools(replay) {
        return Err(format!(
            "attempts differ: {:?} vs {:?}",
            pools(real),
            pools(replay)
        ));
    }
    for (a, (ra, _)) in real {
        for (b, (rb, _)) in real {
            let (pa, pb) = (replay[a].0, replay[b].0);
            if (ra + window_ms < *rb && pa > pb) || (pa + window_ms < pb && ra > rb) {
                return Err(format!(
                    "{a:?} and {b:?} start in another order: live at {ra} and {rb}, replayed at {pa} and {pb}"
                ));
            }
        }
    }
    Ok(())
}

fn replay_json(mut cmd: assert_cmd::Command, args: &[&str]) -> Value {
    let out = cmd.arg("replay").args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "replay {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn fails(mut cmd: assert_cmd::Command, args: &[&str]) -> String {
    let out = cmd.arg("replay").args(args).output().unwrap();
    assert!(!out.status.success(), "replay {args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn replay_reproduces_a_served_history_and_runs_what_ifs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), CONFIG);
    // A blocker holds the pool while the queue fills, so that the order in which the rest start
    // is the policy's. Shapes of 2 and 4 accelerators and no work estimates (so no backfill
    // ahead of a blocked job) keep the order free of races between jobs that end within a few
    // ms of each other: the replay must agree with what happened, not with a coin toss.
    let blocker = server.submit(None, &spec("block", "red", 500, "H100:8", 2, true));
    server.wait_running(&blocker);
    let mut ids = vec![blocker];
    // Cancelled while it waits: it never runs, so the replay leaves it out and counts it.
    let cancelled = server.submit(None, &spec("never", "red", 1, "H100:8", 1, false));
    server
        .cli(None)
        .args(["cancel", &cancelled])
        .assert()
        .success();
    for i in 0..16u32 {
        let (tenant, acc) = match i % 4 {
            3 => ("blue", "H100:2"),
            1 => ("red", "H100:4"),
            _ => ("red", "H100:2"),
        };
        let priority = [500, 300, 100][(i / 6) as usize];
        let secs = [1, 2, 3][(i % 3) as usize];
        ids.push(server.submit(
            None,
            &spec(&format!("j{i}"), tenant, priority, acc, secs, false),
        ));
    }
    // A high-priority job arrives while the first wave runs: it preempts all of it.
    // It comes a moment later, so that its preemption is an instant of its own.
    server.wait_running(&ids[1]);
    std::thread::sleep(std::time::Duration::from_millis(400));
    ids.push(server.submit(None, &spec("urgent", "red", 900, "H100:8", 1, true)));
    for id in &ids {
        assert_eq!(server.wait_final(None, id), "succeeded", "job {id}");
    }
    assert_eq!(server.wait_final(None, &cancelled), "cancelled");

    let config = dir.path().join("spillway.toml");
    let config = config.to_str().unwrap();
    let db = dir.path().join("data").join("spillway.sqlite");
    let db = db.to_str().unwrap();
    let base = ["--config", config, "--since", "1h"];

    // From the store file, read-only, while the server runs.
    let r = replay_json(
        crate::spillway(),
        &[&base[..], &["--database", db]].concat(),
    );
    let total = ids.len() + 1;
    assert_eq!(r["history_jobs"], total, "{r:#}");
    assert_eq!(r["replayed_jobs"], ids.len());
    assert_eq!(r["left_out"]["cancelled before it ever ran"], 1);
    assert_eq!(r["jct_jobs"], ids.len());
    assert_eq!(r["replay"]["policy"], "priority_backfill");
    let (actual, replay) = (&r["actual"]["figures"], &r["replay"]["figures"]);
    assert_eq!(actual["finished"], ids.len());
    assert_eq!(
        replay["finished"],
        ids.len(),
        "every job finishes in the replay"
    );
    assert!(actual["preemptions"].as_u64().unwrap() >= 1, "{actual:#}");
    let (real, predicted) = (
        starts(&r["actual"]["attempts"]),
        starts(&r["replay"]["attempts"]),
    );
    if let Err(e) = same_order(&real, &predicted, 150) {
        panic!("the replay starts the same jobs in the same order on the same pools: {e}");
    }
    let (a, p) = (
        actual["avg_jct_s"].as_f64().unwrap(),
        replay["avg_jct_s"].as_f64().unwrap(),
    );
    let gap = (p - a).abs() / a;
    assert!(gap <= 0.10, "average JCT: live {a:.3} s, replay {p:.3} s");
    assert!(
        r["sentence"]
            .as_str()
            .unwrap()
            .starts_with("replay reproduces the live average JCT within"),
        "{}",
        r["sentence"]
    );
    let shares: f64 = replay["tenant_share"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((shares - 1.0).abs() < 1e-9, "{replay:#}");
    assert!(replay["spend_usd"].as_f64().unwrap() > 0.0);
    eprintln!("replay: {}", r["sentence"]);

    // From the running server: the same history, the same replay.
    let s = replay_json(server.cli(None), &base);
    assert_eq!(s["history_jobs"], total);
    assert_eq!(s["replay"]["figures"], r["replay"]["figures"]);
    assert_eq!(s["actual"]["figures"], r["actual"]["figures"]);

    // What-if: another policy and 1.5 times the demand, deterministic with its seed.
    let what_if = [
        &base[..],
        &[
            "--database",
            db,
            "--policy",
            "fifo",
            "--scale-demand",
            "1.5",
            "--seed",
            "3",
        ],
    ]
    .concat();
    let w = replay_json(crate::spillway(), &what_if);
    let jobs = w["what_if"]["figures"]["jobs"].as_u64().unwrap() as usize;
    assert!(jobs > ids.len() && jobs <= 2 * ids.len(), "{jobs}");
    assert_eq!(w["what_if"]["policy"], "fifo");
    assert_eq!(
        replay_json(crate::spillway(), &what_if)["what_if"],
        w["what_if"]
    );
    let text = crate::spillway()
        .arg("replay")
        .args(&what_if)
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("what-if vs replay") && text.contains("avg JCT s"),
        "{text}"
    );

    // A what-if configuration that cannot place the history: counted, with the reason.
    let other = dir.path().join("no-h100.toml");
    std::fs::write(&other, NO_H100).unwrap();
    let n = replay_json(
        crate::spillway(),
        &[
            &base[..],
            &[
                "--database",
                db,
                "--what-if-config",
                other.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    let refused: u64 = n["what_if"]["refused"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(refused as usize, ids.len(), "{:#}", n["what_if"]["refused"]);
    assert!(
        n["notes"].to_string().contains("cannot be placed"),
        "{:#}",
        n["notes"]
    );

    // Exports: the service workload replays through `simulate` to the same finish count; the
    // CSV has a line per replayed job.
    let jsonl = dir.path().join("history.jsonl");
    let csv = dir.path().join("history.csv");
    for path in [&jsonl, &csv] {
        crate::spillway()
            .arg("replay")
            .args(
                [
                    &base[..],
                    &["--database", db, "--export", path.to_str().unwrap()],
                ]
                .concat(),
            )
            .assert()
            .success();
    }
    let out = crate::spillway()
        .args(["simulate", "--config", config, "--workload"])
        .arg(&jsonl)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sim: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sim["runs"][0]["summary"]["finished"], ids.len());
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    assert!(csv_text.starts_with("job_id,submit_time_s,duration_s,num_gpus"));
    assert_eq!(csv_text.lines().count(), ids.len() + 1);

    // Bad input: clear errors, never a panic.
    let err = fails(
        crate::spillway(),
        &[&base[..], &["--database", db, "--policy", "fastest"]].concat(),
    );
    assert!(
        err.contains("fastest") && err.contains("priority_backfill"),
        "{err}"
    );
    let err = fails(
        crate::spillway(),
        &[
            "--config",
            config,
            "--database",
            db,
            "--from",
            "2001-01-01T00:00:00Z",
            "--to",
            "2001-01-02T00:00:00Z",
        ],
    );
    assert!(err.contains("no job was submitted"), "{err}");
    let err = fails(
        crate::spillway(),
        &[&base[..], &["--database", &format!("{db}.missing")]].concat(),
    );
    assert!(err.contains("spillway.sqlite"), "{err}");
    let err = fails(
        crate::spillway(),
        &[&base[..], &["--database", db, "--scale-demand=-1"]].concat(),
    );
    assert!(err.contains("--scale-demand"), "{err}");
}
