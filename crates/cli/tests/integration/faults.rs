//! Injected faults end to end (`[pool.faults]`), with the real binary and real processes:
//! a stockout makes a job fail over to the next pool at once and blocks the zone for the next
//! job; a spot preemption stops a running job, which is requeued and resumes from its
//! checkpoint; a committed pool's usage shows in `spillway contracts --server`; under the
//! `commitment_aware` policy a contract behind its schedule draws work first. Everything is
//! polled through the API with a bound; fault schedules are seconds long.

use crate::service::{Server, http_get};
use serde_json::Value;

/// Kinds of a job's events, oldest first.
fn events(d: &Value) -> Vec<(String, String, i64)> {
    d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["message"].as_str().unwrap().to_string(),
                e["at_ms"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn outcomes(d: &Value) -> Vec<(String, String)> {
    d["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["pool"].as_str().unwrap().to_string(),
                a["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn metrics(server: &Server) -> String {
    http_get(&server.addr, "/metrics").unwrap()
}

const FAILOVER: &str = r#"
[scheduler]
failover_half_life_s = 600

[[pool]]
name = "od-a"
accelerator = "H100"
count = 1
price = { plan = "on_demand", usd_per_chip_hour = 2.0 }
provider = "cloud"
region = "r1"
zone = "r1-a"
[pool.faults]
stockouts = [{ start_s = 0, end_s = 3600, kind = "zone" }]

[[pool]]
name = "od-b"
accelerator = "H100"
count = 2
price = { plan = "on_demand", usd_per_chip_hour = 3.0 }
provider = "cloud"
region = "r1"
zone = "r1-b"
"#;

#[test]
fn a_stockout_fails_over_at_once_and_blocks_the_zone_for_the_next_job() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), FAILOVER);
    let spec = "run: echo on $CUDA_VISIBLE_DEVICES\nresources: {accelerators: H100:1}\n";
    let first = server.submit(None, spec);
    assert_eq!(server.wait_final(None, &first), "succeeded");
    let d = server.show(None, &first);
    // The cheaper pool refused the launch; the job went on to the next one, no restart used.
    assert_eq!(
        outcomes(&d),
        [
            ("od-a".to_string(), "nocapacity".to_string()),
            ("od-b".to_string(), "succeeded".to_string())
        ],
        "{d}"
    );
    assert_eq!(d["job"]["restarts"], 0);
    let ev = events(&d);
    let failed = ev
        .iter()
        .find(|e| e.0 == "launch_failed")
        .expect("launch_failed");
    assert!(
        failed
            .1
            .contains("launch on pool od-a failed for lack of capacity (zone): injected stockout"),
        "{failed:?}"
    );
    let blocked = ev.iter().find(|e| e.0 == "blocked").expect("blocked");
    assert!(
        blocked
            .1
            .starts_with("zone r1-a of cloud blocked for every job until "),
        "{blocked:?}"
    );
    // At once: the next attempt is recorded in the round right after, not a tick later.
    let attempts = d["attempts"].as_array().unwrap();
    let gap =
        attempts[1]["started_ms"].as_i64().unwrap() - attempts[0]["ended_ms"].as_i64().unwrap();
    assert!(gap < 1000, "failed over after {gap} ms");

    // The memory is shared: the next job skips the blocked zone without trying it.
    let second = server.submit(None, spec);
    assert_eq!(server.wait_final(None, &second), "succeeded");
    let d = server.show(None, &second);
    assert_eq!(
        outcomes(&d),
        [("od-b".to_string(), "succeeded".to_string())],
        "{d}"
    );
    let started = events(&d).into_iter().find(|e| e.0 == "started").unwrap().1;
    assert!(
        started.contains("skipping pool od-a (zone r1-a of cloud blocked for"),
        "{started}"
    );
    assert!(
        metrics(&server).contains("spillway_launch_failures_total{pool=\"od-a\",kind=\"zone\"} 1"),
        "one failed launch in all"
    );
}

/// Counts to 30, one step a tenth of a second, saving each step in the checkpoint directory
/// and noting every start: where it started from, and how.
const TRAIN: &str = r#"ck="$SPILLWAY_CHECKPOINT_DIR/step"
n=$(cat "$ck" 2>/dev/null || echo 0)
echo "attempt=$SPILLWAY_ATTEMPT restart=$SPILLWAY_RESTART_COUNT resumed=$SPILLWAY_RESUMED mode=$1 from=$n" >> "$SPILLWAY_CHECKPOINT_DIR/starts"
while [ "$n" -lt 30 ]; do
  n=$((n + 1))
  echo "$n" > "$ck.tmp" && mv "$ck.tmp" "$ck"
  sleep 0.1
done
echo "done at $n"
"#;

#[test]
fn a_spot_preemption_requeues_the_job_and_it_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    // Every 2 s for the first 24 s: the job runs for at least 3 s, so whenever it starts, a
    // preemption falls while it runs.
    let times: Vec<String> = (1..=12).map(|i| (2 * i).to_string()).collect();
    let server = Server::start(
        dir.path(),
        &format!(
            "[[pool]]\nname = \"spot\"\naccelerator = \"H100\"\ncount = 1\nprice = {{ plan = \"spot\", usd_per_chip_hour = 0.8 }}\n[pool.faults]\npreempt_at_s = [{}]\n",
            times.join(", ")
        ),
    );
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("train.sh"), TRAIN).unwrap();
    let id = server.submit(
        None,
        &format!(
            "name: trainer\nworkdir: {}\nrun: bash train.sh start\ncheckpoint: {{interval: 1s, resume: bash train.sh resume}}\nresources: {{accelerators: H100:1, use_spot: true}}\n",
            work.display()
        ),
    );
    assert_eq!(server.wait_final(None, &id), "succeeded");
    let d = server.show(None, &id);
    let preemptions = d["job"]["preemptions"].as_u64().unwrap();
    assert!(preemptions >= 1, "{d}");
    assert_eq!(d["job"]["restarts"], 0, "a preemption uses no restart");
    let outs: Vec<String> = outcomes(&d).into_iter().map(|o| o.1).collect();
    assert_eq!(outs.len() as u64, preemptions + 1, "{outs:?}");
    assert!(outs[..outs.len() - 1].iter().all(|o| o == "preempted"));
    assert_eq!(outs.last().unwrap(), "succeeded");
    assert_eq!(d["attempts"][1]["resumed"], true);

    // The checkpoint directory outlived every attempt: each restart went on from where the
    // last one stopped, and knew it was a restart.
    let ckpt = server.dir.join("data/jobs").join(&id).join("checkpoint");
    assert_eq!(
        std::fs::read_to_string(ckpt.join("step")).unwrap().trim(),
        "30"
    );
    let starts = std::fs::read_to_string(ckpt.join("starts")).unwrap();
    let lines: Vec<&str> = starts.lines().collect();
    assert_eq!(lines.len() as u64, preemptions + 1, "{starts}");
    assert_eq!(
        lines[0], "attempt=1 restart=0 resumed=0 mode=start from=0",
        "{starts}"
    );
    assert!(
        lines[1].starts_with("attempt=2 restart=1 resumed=1 mode=resume from="),
        "{starts}"
    );
    let from: u32 = lines[1].rsplit('=').next().unwrap().parse().unwrap();
    assert!(from > 0, "the restart kept the saved steps: {starts}");
    let ev = events(&d);
    assert!(
        ev.iter()
            .any(|e| e.0 == "preempt" && e.1.contains("pool spot reclaimed its spot capacity")),
        "{ev:?}"
    );
    assert!(
        ev.iter().any(|e| e.0 == "preempted"
            && e.1
                .contains("requeued to restart from its checkpoint (preemption 1)")),
        "{ev:?}"
    );
    let m = metrics(&server);
    assert!(
        m.contains(&format!(
            "spillway_preemptions_total{{pool=\"spot\",cause=\"spot\"}} {preemptions}"
        )),
        "{m}"
    );
    server
        .cli(None)
        .args(["show", &id])
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "(restarts 0, preemptions {preemptions})"
        )));
}

const COMMITTED: &str = r#"
[[contract]]
name = "gcp-commit"
provider = "gcp"
total_usd = 1000
start = 2026-01-01
term_months = 36
discount_percent = 30
accelerators = ["H100"]

[[pool]]
name = "committed"
accelerator = "H100"
count = 2
provider = "gcp"
region = "us-east5"
price = { plan = "committed", usd_per_chip_hour = 36.0 }

[[pool]]
name = "od"
accelerator = "H100"
count = 1
price = { plan = "on_demand", usd_per_chip_hour = 50.0 }
"#;

fn contracts_json(server: &Server) -> Value {
    let out = server
        .cli(None)
        .args(["contracts", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_committed_pools_usage_shows_in_contracts_from_the_server_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), COMMITTED);
    let on_commitment = server.submit(
        None,
        "run: sleep 1\nresources: {accelerators: H100:2, infra: committed}\n",
    );
    let on_demand = server.submit(
        None,
        "run: sleep 1\nresources: {accelerators: H100:1, infra: od}\n",
    );
    assert_eq!(server.wait_final(None, &on_commitment), "succeeded");
    assert_eq!(server.wait_final(None, &on_demand), "succeeded");

    let j = contracts_json(&server);
    let c = &j["contracts"][0];
    assert_eq!(c["contract"], "gcp-commit", "{j}");
    assert_eq!(c["provider"], "gcp");
    // 2 chips x $36/h x about a second: about 2 cents, nothing from the on-demand pool.
    let spent = c["spent"].as_f64().unwrap();
    assert!((0.015..1.0).contains(&spent), "{j}");
    // Two thirds of the chip time (2 of 3 chips for about as long), at equal speeds.
    let share = c["share_of_work"].as_f64().unwrap();
    assert!(share > 0.3 && share < 0.95, "{j}");
    // A few cents against $1,000 over three years: most of it would be paid for nothing.
    assert_eq!(c["projection"]["status"], "shortfall", "{j}");

    let table = server.cli(None).args(["contracts"]).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains("gcp-commit") && text.contains("shortfall: $"),
        "{text}"
    );
    assert!(text.contains("from real usage on http://"), "{text}");

    // The charges are in the store: a restarted server reports the same spending.
    let (dir_path, config) = server.kill9();
    let server = Server::start_in(&dir_path, &config);
    let again = contracts_json(&server);
    let spent_again = again["contracts"][0]["spent"].as_f64().unwrap();
    assert!(
        (spent_again - spent).abs() < 1e-9,
        "{spent} then {spent_again}"
    );
}

#[test]
fn a_committed_attempt_running_past_the_end_of_its_term_is_billed_at_list_from_then() {
    use jiff::tz::TimeZone;
    // A one-day term (plus a few seconds) from yesterday: it ends 8 s from now, while the job
    // runs.
    let now = jiff::Timestamp::now();
    let start = now.to_zoned(TimeZone::UTC).date().yesterday().unwrap();
    let start_s = start
        .to_zoned(TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_second();
    let end_ms = (now.as_second() + 8) * 1000;
    let term_months = (end_ms / 1000 - start_s) as f64 / spillway_core::econ::SECONDS_PER_MONTH;
    let config = COMMITTED
        .replace("start = 2026-01-01", &format!("start = {start}"))
        .replace("term_months = 36", &format!("term_months = {term_months}"));
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &config);
    let id = server.submit(
        None,
        "run: sleep 60\nresources: {accelerators: H100:2, infra: committed}\n",
    );
    let started_ms = loop {
        let d = server.show(None, &id);
        if let Some(s) = d["attempts"][0]["started_ms"].as_i64() {
            break s;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(started_ms < end_ms, "the job started after the term ended");
    // Wait (on the wall clock) until the term has ended and the job ran 2 s past it.
    while (jiff::Timestamp::now().as_millisecond()) < end_ms + 2_000 {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let j = contracts_json(&server);
    let c = &j["contracts"][0];
    assert_eq!(c["open"], false, "{j}");
    // Inside the term: 2 chips at $36/h; after it, at list ($36 / 0.7), not to the contract.
    let inside_h = (end_ms - started_ms) as f64 / 3.6e6;
    let spent = c["spent"].as_f64().unwrap();
    assert!((spent - 72.0 * inside_h).abs() < 1e-3, "{j}");
    let list = c["list"].as_f64().unwrap();
    assert!(list >= 72.0 / 0.7 * (2.0 / 3600.0) * 0.99, "{j}");
    server.cli(None).args(["cancel", &id]).assert().success();
}

/// The `commitment_aware` policy in the service: an owned pool, a committed pool whose
/// contract is far behind its schedule (nothing spent in years), and on-demand capacity. By
/// configured price the owned pool is the cheapest; by marginal cost the commitment is, since
/// its money is owed anyway.
const COMMITMENT_AWARE: &str = r#"
[scheduler]
policy = "commitment_aware"

[[contract]]
name = "gcp-commit"
provider = "gcp"
total_usd = 250000
start = 2020-01-01
term_months = 240
discount_percent = 30
accelerators = ["H100"]

[[pool]]
name = "owned"
accelerator = "H100"
count = 1
price = { plan = "owned", usd_per_chip_hour = 1.5 }

[[pool]]
name = "committed"
accelerator = "H100"
count = 1
price = { plan = "committed", usd_per_chip_hour = 2.0 }
provider = "gcp"
region = "us-central1"

[[pool]]
name = "od"
accelerator = "H100"
count = 2
price = { plan = "on_demand", usd_per_chip_hour = 6.88 }
provider = "aws"
region = "us-east-1"
"#;

#[test]
fn commitment_aware_places_work_on_a_contract_behind_schedule_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), COMMITMENT_AWARE);
    let spec =
        |work: &str| format!("run: sleep 300\nwork: {work}\nresources: {{accelerators: H100:1}}\n");
    let first = server.submit(None, &spec("1h"));
    server.wait_running(&first);
    let d = server.show(None, &first);
    assert_eq!(d["attempts"][0]["pool"], "committed", "{d}");
    let why = server.explain(&first);
    assert!(
        why.contains(
            "placed on pool committed with H100:1 (committed capacity under contract gcp-commit, nearly free while its spending stays within the burn schedule: the lowest marginal cost per unit of work among its options) by policy commitment_aware"
        ),
        "{why}"
    );

    // The commitment is full: the owned fleet next, still without renting.
    let second = server.submit(None, &spec("1h"));
    server.wait_running(&second);
    let d = server.show(None, &second);
    assert_eq!(d["attempts"][0]["pool"], "owned", "{d}");
    assert!(
        server.explain(&second).contains("(owned capacity, nearly free to use: the lowest marginal cost per unit of work among its options with room)"),
        "{}",
        server.explain(&second)
    );

    // Both are full: a 10-hour job waits an hour for them before it rents on demand, and
    // says so.
    let third = server.submit(None, &spec("10h"));
    let mut why = String::new();
    for _ in 0..crate::service::ATTEMPTS {
        why = server.explain(&third);
        if why.contains("before bursting") {
            break;
        }
        std::thread::sleep(crate::service::POLL);
    }
    assert!(
        why.contains(
            "queued: waiting for owned or committed capacity before bursting to pool od (waited "
        ) && why.contains(" of 3600 s)"),
        "{why}"
    );
    assert_eq!(server.show(None, &third)["job"]["state"], "queued");

    for id in [&first, &second, &third] {
        server.cli(None).args(["cancel", id]).assert().success();
        assert_eq!(server.wait_final(None, id), "cancelled");
    }
}
