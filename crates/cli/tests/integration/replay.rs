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

/// The same pool, committed under a contract since 2020 (the replay's view of the money: the
/// server ran the history with CONFIG, whose pool is owned at the same price).
const COMMITTED: &str = r#"
[[contract]]
name = "old"
provider = "local"
total_usd = 1000000
start = 2020-01-01
term_months = 120
discount_percent = 0

[[pool]]
name = "h100"
accelerator = "H100"
count = 8
price = { plan = "committed", usd_per_chip_hour = 2.0 }
contract = "old"

[[tenant]]
name = "blue"
max_accelerators = { H100 = 3 }

[[tenant]]
name = "red"
"#;

/// Another commitment: half off, the H100 pool charged to it.
const NEW_CONTRACT: &str = r#"
[[contract]]
name = "new"
provider = "local"
total_usd = 500000
start = 2020-01-01
term_months = 60
discount_percent = 50
pools = ["h100"]
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

    // Reports, other commitments and a period that starts in the middle of things.
    reports(dir.path(), &base, db, &r);
    contracts(dir.path(), db, &r);
    period_cut_through_running_jobs(dir.path(), db, &r);

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

/// `--html` and `--plot`: the page holds the figures side by side and the series; the series
/// agree with the figures (the spend line ends at the spend).
fn reports(dir: &std::path::Path, base: &[&str], db: &str, r: &Value) {
    let page = dir.join("replay.html");
    let plots = dir.join("plots");
    let args = [
        base,
        &["--database", db, "--policy", "fifo", "--html"],
        &[page.to_str().unwrap(), "--plot", plots.to_str().unwrap()],
    ]
    .concat();
    let w = replay_json(crate::spillway(), &args);
    let html = std::fs::read_to_string(&page).unwrap();
    crate::simulate::assert_self_contained(&html);
    for text in [
        "<h1>Spillway replay</h1>",
        "Calibration: replay reproduces the live average JCT within",
        "what-if vs replay",
        "avg JCT s",
        "Queue length over time",
        "Spend over time",
        "What-if: policy fifo.",
    ] {
        assert!(html.contains(text), "{text}");
    }
    let data = crate::simulate::report_data(&html);
    crate::simulate::assert_charts_drawn(&page, "replay --html");
    assert_eq!(data["replay"]["replay"]["figures"], r["replay"]["figures"]);
    assert_eq!(
        data["replay"]["what_if"]["figures"],
        w["what_if"]["figures"]
    );
    let names: Vec<&str> = data["charts"][0]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["actual", "replay", "what-if"]);
    // Queued jobs behind the blocker, in what happened and in the replay.
    for side in data["charts"][0]["series"].as_array().unwrap() {
        let peak = side["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .fold(0.0, f64::max);
        assert!(peak >= 1.0, "{side}");
    }
    // The cumulative spend ends at each side's spend.
    let spend = &w["series"]["spend"];
    for (i, key) in ["actual", "replay", "what_if"].iter().enumerate() {
        assert_eq!(spend[i][0], key.replace('_', "-"));
        let last = spend[i][1]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_f64()
            .unwrap();
        let figure = w[key]["figures"]["spend_usd"].as_f64().unwrap();
        assert!(
            (last - figure).abs() <= 1e-6 * figure.max(1.0),
            "{key}: {last} vs {figure}"
        );
    }
    for file in ["queue_length.svg", "spend.svg"] {
        let svg = std::fs::read_to_string(plots.join(file)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("what-if"), "{file}");
    }
}

/// `--contract FILE`: the H100 pool charged to another, cheaper commitment; the burn of each
/// contract side by side; errors that name the field or line.
fn contracts(dir: &std::path::Path, db: &str, r: &Value) {
    let committed = dir.join("committed.toml");
    std::fs::write(&committed, COMMITTED).unwrap();
    let new = dir.join("new-contract.toml");
    std::fs::write(&new, NEW_CONTRACT).unwrap();
    let args = [
        "--config",
        committed.to_str().unwrap(),
        "--since",
        "1h",
        "--database",
        db,
        "--contract",
        new.to_str().unwrap(),
    ];
    let c = replay_json(crate::spillway(), &args);
    let (actual, replay, what_if) = (
        &c["actual"]["figures"],
        &c["replay"]["figures"],
        &c["what_if"]["figures"],
    );
    // The same schedule (the policy does not look at prices), at half the price.
    assert_eq!(replay["avg_jct_s"], r["replay"]["figures"]["avg_jct_s"]);
    assert_eq!(what_if["avg_jct_s"], replay["avg_jct_s"]);
    let f = |v: &Value| v.as_f64().unwrap();
    assert!((f(&actual["contract_usd"]["old"]) - f(&actual["spend_usd"])).abs() < 1e-9);
    assert!((f(&what_if["contract_usd"]["new"]) - f(&replay["spend_usd"]) / 2.0).abs() < 1e-9);
    assert!(what_if["contract_usd"].get("old").is_none(), "{what_if:#}");
    // A year of $1M over 10 years is about $100k a year: the schedule by now is years in.
    assert!(f(&actual["contract_scheduled_usd"]["old"]) > 500_000.0);
    assert!(f(&what_if["contract_scheduled_usd"]["new"]) > 450_000.0);
    let text = String::from_utf8(
        crate::spillway()
            .arg("replay")
            .args(args)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("contract new burn vs schedule") && text.contains("contracts of"),
        "{text}"
    );
    // Bad contract files.
    let bad = dir.join("bad-contract.toml");
    let with = |contract: &str| {
        std::fs::write(&bad, contract).unwrap();
        fails(
            crate::spillway(),
            &[&args[..6], &["--contract", bad.to_str().unwrap()]].concat(),
        )
    };
    let err = with(&NEW_CONTRACT.replace("[\"h100\"]", "[\"a100\"]"));
    assert!(
        err.contains("contract[0].pools[0]: no pool named 'a100'"),
        "{err}"
    );
    let err = with(&NEW_CONTRACT.replace("total_usd = 500000", "total_usd = ="));
    assert!(
        err.contains("invalid TOML") && err.contains("line 5"),
        "{err}"
    );
    let err = with(&NEW_CONTRACT.replace("term_months = 60", "term_months = -1"));
    assert!(err.contains("contract[0].term_months"), "{err}");
}

/// RFC 3339 (UTC, with milliseconds) of ms since the epoch.
fn rfc3339(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// A period that starts while the blocker runs: the jobs of before it that are still under way
/// are replayed from its start (the blocker holding its accelerators for the time it had
/// left), every job that ran is accounted for, and the contract's charges before the period
/// are what the attempts before it cost.
fn period_cut_through_running_jobs(dir: &std::path::Path, db: &str, r: &Value) {
    let attempts = r["actual"]["attempts"].as_array().unwrap();
    let blocker = attempts
        .iter()
        .min_by_key(|a| a["started_ms"].as_i64().unwrap())
        .unwrap();
    let (s, e) = (
        blocker["started_ms"].as_i64().unwrap(),
        blocker["ended_ms"].as_i64().unwrap(),
    );
    let cut = s + (e - s) / 2;
    let committed = dir.join("committed.toml");
    let c = replay_json(
        crate::spillway(),
        &[
            "--config",
            committed.to_str().unwrap(),
            "--database",
            db,
            "--from",
            &rfc3339(cut),
        ],
    );
    // What the first replay says of each job, to compare with.
    let submitted: BTreeMap<u64, i64> = r["replay"]["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["job"].as_u64().unwrap(),
                j["submitted_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut running_at_cut = BTreeMap::new();
    let mut under_way = std::collections::BTreeSet::new();
    let mut before_usd = 0.0;
    for a in attempts {
        let job = a["job"].as_u64().unwrap();
        let (a0, a1) = (
            a["started_ms"].as_i64().unwrap(),
            a["ended_ms"].as_i64().unwrap(),
        );
        if submitted[&job] < cut && a1 > cut {
            under_way.insert(job);
            if a0 <= cut {
                running_at_cut.insert(job, (a["pool"].clone(), a1));
            }
        }
        if a0 < cut {
            before_usd += a["chips"].as_f64().unwrap() * 2.0 * (a1.min(cut) - a0) as f64 / 3.6e6;
        }
    }
    assert!(!running_at_cut.is_empty(), "the blocker runs at the cut");
    assert_eq!(c["carried_jobs"], under_way.len(), "{c:#}");
    assert_eq!(c["carried_running"], running_at_cut.len());
    let in_period = submitted.values().filter(|t| **t >= cut).count();
    assert_eq!(c["replayed_jobs"], in_period);
    let ran_after_cut = submitted
        .iter()
        .filter(|(j, t)| **t >= cut || under_way.contains(j))
        .count();
    assert_eq!(
        c["replayed_jobs"].as_u64().unwrap() + c["carried_jobs"].as_u64().unwrap(),
        ran_after_cut as u64,
        "every job under way in the period is accounted for"
    );
    // Each job running at the cut holds its pool from the cut to about when it really ended.
    for (job, (pool, end)) in &running_at_cut {
        let a = c["replay"]["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["job"].as_u64() == Some(*job))
            .unwrap();
        assert_eq!(a["started_ms"], cut, "{a}");
        assert_eq!(&a["pool"], pool);
        let replayed_end = a["ended_ms"].as_i64().unwrap();
        assert!((replayed_end - end).abs() <= 2, "{a} vs {end}");
    }
    let before = c["actual"]["figures"]["contract_before_usd"]["old"]
        .as_f64()
        .unwrap();
    assert!(
        (before - before_usd).abs() < 1e-6,
        "{before} vs {before_usd}"
    );
    assert_eq!(
        c["replay"]["figures"]["contract_before_usd"]["old"],
        c["actual"]["figures"]["contract_before_usd"]["old"]
    );
    assert!(
        c["notes"]
            .to_string()
            .contains("submitted before the period"),
        "{:#}",
        c["notes"]
    );
}
