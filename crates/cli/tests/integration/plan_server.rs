//! `spillway plan --demand-from-server` against a real `spillway serve` on 127.0.0.1: the
//! history it reads (`GET /v1/history`, every attempt that ran) and the errors that name the
//! server.

use crate::service::Server;
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

const POOL: &str =
    "[[pool]]\nname = \"local\"\nexecutor = \"local\"\naccelerator = \"H100\"\ncount = 8\n";

/// Days between the starts of the jobs moved into the past, and how long each ran.
const EVERY_DAYS: i64 = 35;
const RAN_DAYS: i64 = 10;

fn plan(server_url: &str) -> assert_cmd::Command {
    let mut cmd = crate::spillway();
    cmd.arg("plan")
        .arg(repo_file("examples/plans/startup.toml"))
        .args(["--no-sensitivity", "--no-evaluation", "--json"])
        .args(["--demand-from-server", server_url])
        .env_remove("SPILLWAY_TOKEN");
    cmd
}

#[test]
fn plan_derives_demand_from_a_real_servers_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), POOL);
    let url = format!("http://{}", server.addr.trim());

    // An empty history: nothing to derive from, and the error names the server.
    plan(&url)
        .assert()
        .failure()
        .stderr(predicates::str::contains(url.as_str()))
        .stderr(predicates::str::contains(
            "holds no jobs to derive demand from",
        ));

    // Five jobs on 1 to 5 H100s, run to the end.
    let ids: Vec<String> = (1..=5)
        .map(|chips| {
            server.submit(
                None,
                &format!("run: echo {chips}\nresources:\n  accelerators: H100:{chips}\n"),
            )
        })
        .collect();
    for id in &ids {
        assert_eq!(server.wait_final(None, id), "succeeded");
    }
    // They ran within seconds: less than the month a monthly fit needs, said with the span.
    plan(&url)
        .assert()
        .failure()
        .stderr(predicates::str::contains(url.as_str()))
        .stderr(predicates::str::contains("at least one full month"));

    // Move the five attempts into the past, one every 35 days for 10 days each, as a service
    // in use for five months would hold them; then read them from the restarted server.
    let (data, config) = server.kill9();
    let db = data.join("data").join("spillway.sqlite");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let day_ms = 86_400_000i64;
    let t0 = now_ms - 5 * EVERY_DAYS * day_ms;
    let jobs: Vec<i64> = conn
        .prepare("SELECT job_id FROM attempts ORDER BY job_id, number")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(jobs.len(), 5, "one attempt per job");
    for (i, job) in jobs.iter().enumerate() {
        let start = t0 + i as i64 * EVERY_DAYS * day_ms;
        conn.execute(
            "UPDATE attempts SET started_ms = ?1, ended_ms = ?2 WHERE job_id = ?3",
            (start, start + RAN_DAYS * day_ms, job),
        )
        .unwrap();
    }
    drop(conn);
    let server = Server::start_in(&data, &config);
    let url = format!("http://{}", server.addr.trim());
    let out = plan(&url).assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let d = &v["derived_demand"];
    assert_eq!(d["source"], url.as_str());
    assert_eq!(d["records"], 5);
    // Starts span 140 days: four full months of 730 hours, the first dropped as warm-up.
    assert_eq!(d["months"], 3);
    let classes = d["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 3);
    for c in classes {
        assert!(
            c["start_ref_hours_per_month"].as_f64().unwrap() > 0.0,
            "{c}"
        );
        // More chips each month: the fitted growth is positive.
        assert!(c["annual_growth"].as_f64().unwrap() > 0.0, "{c}");
    }
    // The observed work: the attempts on 2, 3 and 4 chips, 240 hours each, one in each month
    // kept (the first is warm-up, the last starts after the window), split among the classes
    // in the file's proportions.
    let observed: f64 = classes
        .iter()
        .map(|c| {
            c["monthly_ref_hours"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .sum::<f64>()
        })
        .sum();
    assert!(
        (observed - 240.0 * (2.0 + 3.0 + 4.0)).abs() < 1.0,
        "{observed}"
    );
}
