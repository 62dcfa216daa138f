//! Work estimates from history through `spillway serve`: a job that states no `work` is
//! given the median work of its tenant's earlier successful runs of the same name, `spillway
//! explain` says so, and `srpt_perf` orders by it (issue 15).

use crate::service::{ATTEMPTS, POLL, Server};

const CONFIG: &str = r#"
[scheduler]
policy = "srpt_perf"
round_s = 1

[[pool]]
name = "h100"
accelerator = "H100"
count = 1
price = { plan = "owned", usd_per_chip_hour = 2.0 }

[[tenant]]
name = "acme"
"#;

/// A one-accelerator job of tenant acme.
fn job(name: &str, work: Option<&str>, run: &str) -> String {
    let work = work.map(|w| format!("work: {w}\n")).unwrap_or_default();
    format!("name: {name}\ntenant: acme\nresources:\n  accelerators: H100:1\n{work}run: '{run}'\n")
}

/// Polls `explain` until the job is queued: the scheduler has been told of it (the
/// explanation comes through the same channel as the submit, after it).
fn explain_queued(server: &Server, id: &str) -> String {
    for _ in 0..ATTEMPTS {
        let text = server.explain(id);
        if text.starts_with(&format!("job {id} is queued")) {
            return text;
        }
        std::thread::sleep(POLL);
    }
    panic!("job {id} never showed as queued");
}

fn started_ms(server: &Server, id: &str) -> i64 {
    server.show(None, id)["attempts"][0]["started_ms"]
        .as_i64()
        .unwrap()
}

#[test]
fn a_job_without_work_is_estimated_from_its_earlier_runs_and_ordered_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), CONFIG);
    for _ in 0..2 {
        let id = server.submit(None, &job("train", None, "sleep 1"));
        assert_eq!(server.wait_final(None, &id), "succeeded");
    }
    // The accelerator is held until the test lets go, so that both jobs below wait together.
    let go = dir.path().join("go");
    let blocker = server.submit(
        None,
        &job(
            "blocker",
            Some("10s"),
            &format!("while [ ! -e {} ]; do sleep 0.05; done", go.display()),
        ),
    );
    server.wait_running(&blocker);
    // Submitted first and stated shorter than unknown work: without the estimate it would
    // go first.
    let other = server.submit(None, &job("other", Some("30s"), "sleep 0.2"));
    let train = server.submit(None, &job("train", None, "sleep 0.2"));
    let text = explain_queued(&server, &train);
    let work = text
        .lines()
        .find(|l| l.starts_with("work: "))
        .unwrap_or_else(|| panic!("no work line: {text}"));
    // Each earlier run slept 1 s (plus the time to start and reap it): 2 s once rounded up.
    assert!(
        work.ends_with(" s estimated from 2 earlier runs of \"train\" (tenant acme)"),
        "{text}"
    );
    let secs: u64 = work["work: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&secs), "{text}");
    assert!(
        explain_queued(&server, &other).contains("\nwork: 30 s from the spec\n"),
        "{}",
        server.explain(&other)
    );
    let unnamed = server.submit(
        None,
        "tenant: acme\nresources:\n  accelerators: H100:1\nrun: true\n",
    );
    assert!(
        explain_queued(&server, &unnamed)
            .contains("\nwork: unknown (the job has no name to find earlier runs by)\n"),
        "{}",
        server.explain(&unnamed)
    );

    std::fs::write(&go, "").unwrap();
    for id in [&blocker, &other, &train, &unnamed] {
        assert_eq!(server.wait_final(None, id), "succeeded", "{id}");
    }
    assert!(
        started_ms(&server, &train) < started_ms(&server, &other),
        "srpt_perf runs the job estimated at {secs} s before the one of 30 s: train {:#?}, other {:#?}",
        server.show(None, &train)["attempts"],
        server.show(None, &other)["attempts"]
    );

    // A restarted server reads the history from the store, with the run just finished.
    let (dir_path, config) = server.kill9();
    let server = Server::start_in(&dir_path, &config);
    let go = dir.path().join("go-again");
    let again = server.submit(
        None,
        &job(
            "train",
            None,
            &format!("while [ ! -e {} ]; do sleep 0.05; done", go.display()),
        ),
    );
    server.wait_running(&again);
    let text = server.explain(&again);
    assert!(
        text.contains(" s estimated from 3 earlier runs of \"train\" (tenant acme)\n"),
        "{text}"
    );
    std::fs::write(&go, "").unwrap();
    assert_eq!(server.wait_final(None, &again), "succeeded");
}
