//! Fidelity: the simulator predicts what the service does. One workload (a few dozen short
//! jobs with accelerator alternatives, priorities, a tenant's quota and a preemption) runs
//! through `spillway serve` with the local executor; then the same specs, with their observed
//! arrival and run times, go through `spillway simulate --config --workload`, which drives the
//! same state machine on a virtual clock. The same jobs start in the same order on the same
//! pools, and the average JCT agrees within 5%.

use crate::service::Server;
use serde_json::Value;
use std::collections::BTreeMap;

const CONFIG: &str = r#"
[[pool]]
name = "h100"
accelerator = "H100"
count = 4
price = { plan = "owned", usd_per_chip_hour = 2.0 }

[[pool]]
name = "a100"
accelerator = "A100"
count = 4
price = { plan = "owned", usd_per_chip_hour = 1.0 }

[[tenant]]
name = "red"

[[tenant]]
name = "blue"
max_accelerators = { H100 = 2 }
"#;

/// A job that sleeps `ms` and says so in its `work` estimate (whole seconds, rounded up).
fn spec(name: &str, tenant: &str, priority: u32, accelerators: &str, ms: u32) -> String {
    format!(
        "name: {name}\ntenant: {tenant}\npriority: {priority}\nresources:\n  accelerators: {accelerators}\nwork: {}s\nrun: sleep {}.{:03}\n",
        ms.div_ceil(1000),
        ms / 1000,
        ms % 1000
    )
}

/// Run times spread over 1.0-2.5 s with no two alike (a golden-ratio sequence): a process's
/// real run time varies by some tens of ms, so jobs that end at nearly the same moment could
/// end in either order and make rounds decide differently; unlike durations keep the instants
/// at which the service decides apart, as a real workload's are.
fn run_ms(i: u32) -> u32 {
    let frac = (f64::from(i) * 0.618_034).fract();
    1000 + (frac * 1500.0).round() as u32
}

/// Every attempt as (job, its n-th attempt) -> (start, pool).
type Starts = BTreeMap<(u64, usize), (i64, String)>;

fn by_attempt(starts: Vec<(i64, u64, String)>) -> Starts {
    let mut sorted = starts;
    sorted.sort();
    let mut n: BTreeMap<u64, usize> = BTreeMap::new();
    sorted
        .into_iter()
        .map(|(at, job, pool)| {
            let k = n.entry(job).or_default();
            *k += 1;
            ((job, *k), (at, pool))
        })
        .collect()
}

#[test]
fn the_simulator_predicts_the_service_start_order_and_jct() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), CONFIG);
    // Two blockers hold both pools while the queue fills, so that the order in which the rest
    // start is the policy's, not the order their submissions happened to arrive in.
    let blockers = [
        server.submit(None, &spec("block-h", "red", 500, "H100:4", 2000)),
        server.submit(None, &spec("block-a", "red", 500, "A100:4", 2600)),
    ];
    for b in &blockers {
        server.wait_running(b);
    }
    let mut ids: Vec<String> = blockers.to_vec();
    let kinds = [
        "H100:1",
        "[H100:2, A100:2]",
        "H100:2",
        "A100:1",
        "[H100:1, A100:1]",
        "H100:4",
    ];
    for i in 0..18u32 {
        let (acc, secs) = (kinds[i as usize % kinds.len()], run_ms(i + 1));
        let (tenant, acc) = if i % 5 == 4 {
            ("blue", "H100:2")
        } else {
            ("red", acc)
        };
        let priority = [100, 500, 300][i as usize % 3];
        ids.push(server.submit(None, &spec(&format!("j{i}"), tenant, priority, acc, secs)));
    }
    // A high-priority job arrives while low-priority work runs on the H100s: it preempts.
    let low = ids[2].clone();
    server.wait_running(&low);
    ids.push(server.submit(None, &spec("urgent", "red", 900, "H100:4", 1200)));
    for id in &ids {
        assert_eq!(server.wait_final(None, id), "succeeded", "job {id}");
    }

    // The service's history as a workload.
    let mut workload = String::new();
    let mut real_starts = Vec::new();
    let mut real_jct = Vec::new();
    let mut preempted = 0;
    for id in &ids {
        let d = server.show(None, id);
        let job = &d["job"];
        let attempts = d["attempts"].as_array().unwrap();
        for a in attempts {
            real_starts.push((
                a["started_ms"].as_i64().unwrap(),
                job["id"].as_u64().unwrap(),
                a["pool"].as_str().unwrap().to_string(),
            ));
        }
        preempted += job["preemptions"].as_u64().unwrap();
        let last = attempts.last().unwrap();
        let run_s = (last["ended_ms"].as_i64().unwrap() - last["started_ms"].as_i64().unwrap())
            as f64
            / 1000.0;
        real_jct.push(
            (job["finished_ms"].as_i64().unwrap() - job["submitted_ms"].as_i64().unwrap()) as f64
                / 1000.0,
        );
        let line = serde_json::json!({
            "id": job["id"], "tenant": job["tenant"], "submitted_ms": job["submitted_ms"],
            "spec": job["spec"], "run_s": run_s, "pool": last["pool"],
        });
        workload.push_str(&line.to_string());
        workload.push('\n');
    }
    assert!(preempted >= 1, "the urgent job preempted something");
    let path = dir.path().join("workload.jsonl");
    std::fs::write(&path, workload).unwrap();

    let out = crate::spillway()
        .args(["simulate", "--config"])
        .arg(dir.path().join("spillway.toml"))
        .arg("--workload")
        .arg(&path)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sim: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &sim["runs"][0];
    assert_eq!(run["summary"]["policy"], "priority_backfill");
    assert_eq!(run["summary"]["finished"], ids.len());
    let sim_starts: Vec<(i64, u64, String)> = run["outcome"]["attempts"]
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
    // The same attempts, on the same pools, in the same order: any two attempts that started
    // more than 100 ms apart in the service start in that order in the simulator (closer starts
    // count as simultaneous: one round, or two rounds a few ms apart).
    let (real, predicted) = (by_attempt(real_starts), by_attempt(sim_starts));
    let pools = |s: &Starts| -> BTreeMap<(u64, usize), String> {
        s.iter().map(|(k, (_, p))| (*k, p.clone())).collect()
    };
    assert_eq!(
        pools(&predicted),
        pools(&real),
        "the simulator runs the same attempts on the same pools"
    );
    for (a, (ra, _)) in &real {
        for (b, (rb, _)) in &real {
            if rb - ra > 100 {
                let (sa, sb) = (predicted[a].0, predicted[b].0);
                assert!(
                    sa <= sb,
                    "job {} (attempt {}) started {} ms before job {} (attempt {}) in the service, after it in the simulator\nservice: {real:?}\nsimulator: {predicted:?}",
                    a.0,
                    a.1,
                    rb - ra,
                    b.0,
                    b.1
                );
            }
        }
    }
    let real_avg = real_jct.iter().sum::<f64>() / real_jct.len() as f64;
    let sim_avg = run["summary"]["avg_jct_s"].as_f64().unwrap();
    let gap = (sim_avg - real_avg).abs() / real_avg;
    assert!(
        gap <= 0.05,
        "average JCT: service {real_avg:.3} s, simulator {sim_avg:.3} s ({:.1}% apart)",
        gap * 100.0
    );
    eprintln!(
        "fidelity: {} jobs, {} attempts; average JCT service {real_avg:.3} s, simulator {sim_avg:.3} s ({:.2}% apart)",
        ids.len(),
        predicted.len(),
        gap * 100.0
    );
}
