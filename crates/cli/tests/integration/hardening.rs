//! Issue 18 end to end, with real processes: one server per data directory, and what the CLI
//! says at the limits (a spec too large to send, a listing longer than one page).

use super::service::{ATTEMPTS, POLL, Server, http_get};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const POOL: &str =
    "[[pool]]\nname = \"local\"\nexecutor = \"local\"\naccelerator = \"H100\"\ncount = 1\n";

/// Starts `spillway serve` on `dir/data` and polls until it answers; returns it and its address.
fn serve(dir: &Path, config: &Path, name: &str) -> (Child, String) {
    let addr_file = dir.join(name);
    let mut child = crate::spawn_serve(dir, config, &addr_file, &[]);
    for _ in 0..ATTEMPTS {
        if let Ok(a) = std::fs::read_to_string(&addr_file) {
            if http_get(&a, "/healthz").is_some_and(|b| b.contains("ok")) {
                return (child, a);
            }
        }
        std::thread::sleep(POLL);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server {name} did not become ready");
}

/// Runs a second `spillway serve` on the same data directory and waits (bounded) for it to
/// exit; returns its exit status and standard error. A second server that does not exit is
/// killed and the test fails.
fn second_server(dir: &Path, config: &Path) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..ATTEMPTS {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status, err);
        }
        std::thread::sleep(POLL);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("a second server on the same data directory kept running");
}

/// Item 1: two servers on one SQLite data directory would run jobs twice; the second refuses
/// to start and names the holder, and the lock dies with its holder (even by `kill -9`).
#[test]
fn a_second_server_on_one_data_directory_refuses_and_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("spillway.toml");
    std::fs::write(&config, POOL).unwrap();
    let (mut first, addr) = serve(dir.path(), &config, "addr-1");

    let (status, err) = second_server(dir.path(), &config);
    assert!(!status.success());
    let data = dir.path().join("data");
    assert!(
        err.contains(&format!(
            "data directory {} is in use by another spillway server (pid {}, listening on {addr})",
            data.display(),
            first.id()
        )),
        "{err}"
    );

    // kill -9 releases the lock with the process: the next server starts and sees the jobs.
    first.kill().unwrap();
    first.wait().unwrap();
    let (mut next, _) = serve(dir.path(), &config, "addr-2");
    next.kill().unwrap();
    next.wait().unwrap();
}

/// Item 6: a spec over the body limit is refused by the CLI with the size and the limit (not
/// "cannot reach the server"), and `jobs --limit` pages through the server's cursor.
#[test]
fn the_cli_names_the_body_limit_and_pages_long_listings() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), POOL);
    let huge = format!("run: {}\n", "x".repeat(3 << 20));
    let out = server
        .cli(None)
        .args(["submit", "-"])
        .write_stdin(huge)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the spec is too large")
            && err.contains("over the server's limit of 2097152 bytes"),
        "{err}"
    );

    // 1,003 jobs: the first holds the one accelerator, the rest queue behind it.
    let http = reqwest::blocking::Client::new();
    for _ in 0..1003 {
        let resp = http
            .post(format!("http://{}/v1/jobs", server.addr))
            .header("content-type", "application/yaml")
            .body("run: sleep 60\nresources: {accelerators: H100:1}\n")
            .send()
            .unwrap();
        assert!(resp.status().is_success(), "{}", resp.status());
    }
    let out = server
        .cli(None)
        .args(["jobs", "--limit", "1002", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<i64> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1002);
    assert_eq!((ids[0], ids[1001]), (1003, 2), "newest first, no gaps");
    assert!(ids.windows(2).all(|w| w[0] == w[1] + 1));
    let running = server.show(None, "1");
    assert_eq!(running["job"]["state"], "running");
    // Stop the server first (so nothing else starts), then the one running job's group.
    let pid = running["attempts"][0]["pid"].as_i64().unwrap();
    drop(server);
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status();
}
