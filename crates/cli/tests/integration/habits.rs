//! The command-line habits SkyPilot users bring (issue 19): JSON everywhere with JSON errors,
//! validate on a directory, submit --dry-run/--follow, several ids and --all for cancel,
//! logs --tail and the job's exit status, completions and a man page; and the SkyPilot
//! variables a job sees on the local executor.

use crate::service::Server;

const POOL: &str =
    "[[pool]]\nname = \"local\"\nexecutor = \"local\"\naccelerator = \"H100\"\ncount = 8\n";

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn validate_takes_a_directory_and_says_json() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("a.yaml"),
        "run: x\nresources: {gpus: H100:8}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("sub/b.yml"),
        "run: x\nresources: {accelerators: T4:0.5}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a spec").unwrap();
    let out = crate::spillway()
        .args(["validate", "--json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let files = v.as_array().unwrap();
    assert_eq!(files.len(), 2, "{v}");
    assert_eq!(files[0]["ok"], true);
    assert_eq!(
        files[0]["summary"][0],
        "SkyPilot task: job 'job', H100:8 (in order of preference), priority 500"
    );
    assert_eq!(files[1]["ok"], false);
    assert_eq!(files[1]["errors"][0]["path"], "resources.accelerators");
    // Text: each file says its own, and the count ends it.
    crate::spillway()
        .arg("validate")
        .arg(dir.path())
        .assert()
        .failure()
        .stdout(predicates::str::contains("1 of 2 files are valid"))
        .stderr(predicates::str::contains("fractional count '0.5' of T4"));
}

#[test]
fn errors_are_json_under_json() {
    let out = crate::spillway()
        .args(["validate", "--json", "/nonexistent/spec.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        json(&out)["error"]
            .as_str()
            .unwrap()
            .starts_with("failed to read /nonexistent/spec.yaml")
    );
    let out = crate::spillway()
        .args(["cancel", "1", "--json", "--server", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["cancelled"], serde_json::json!([]));
    assert!(
        v["errors"][0].as_str().unwrap().starts_with("job 1: "),
        "{v}"
    );
}

#[test]
fn submit_dry_run_sends_nothing() {
    let out = crate::spillway()
        .args(["submit", "-", "--dry-run", "--json", "--env", "HF_TOKEN=x", "--server", "http://127.0.0.1:9"])
        .write_stdin("name: t\nenvs: {HF_TOKEN: null}\nresources:\n  ordered:\n    - {accelerators: H100:1, use_spot: false}\n    - {accelerators: L4:1, use_spot: true}\nrun: x\n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json(&out);
    assert_eq!(v["dry_run"], true);
    assert_eq!(
        v["jobs"][0]["accelerators"],
        serde_json::json!(["H100:1", "L4:1"])
    );
    // Each alternative keeps its own use_spot, and placement follows it: nothing to warn of.
    assert!(
        !v["jobs"][0]["warnings"].to_string().contains("use_spot"),
        "{v}"
    );
    crate::spillway()
        .args(["submit", "-", "--dry-run"])
        .write_stdin("name: t\nnum_nodes: 2\nrun: x\n")
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "would submit job 't': no accelerators, 2 nodes",
        ))
        .stderr(predicates::str::contains(
            "num_nodes: 2 nodes at once (a gang) need a pool with nodes",
        ));
}

#[test]
fn completions_and_man_page_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let out = crate::spillway()
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("submit") && text.contains("dry-run"),
            "{shell}"
        );
    }
    let out = crate::spillway().arg("man").output().unwrap();
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(
        page.starts_with(".ie") || page.contains(".TH spillway"),
        "{page}"
    );
    let dir = tempfile::tempdir().unwrap();
    crate::spillway()
        .args(["man", "--out-dir"])
        .arg(dir.path())
        .assert()
        .success();
    assert!(dir.path().join("spillway-submit.1").exists());
}

#[test]
fn a_served_job_sees_skypilot_variables_and_the_cli_habits_work_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), POOL);
    let out = server
        .cli(None)
        .args(["submit", "-", "--json"])
        .write_stdin("name: sky\nresources: {accelerators: H100:2}\nrun: |\n  echo rank=$SKYPILOT_NODE_RANK nodes=$SKYPILOT_NUM_NODES gpus=$SKYPILOT_NUM_GPUS_PER_NODE ips=$SKYPILOT_NODE_IPS task=$SKYPILOT_TASK_ID\n  seq 1 5\n  exit 3\n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = json(&out)["jobs"][0]["id"].as_i64().unwrap().to_string();
    assert_eq!(server.wait_final(None, &id), "failed");
    // logs --follow ends with the job's exit status, as `sky logs` does.
    server
        .cli(None)
        .args(["logs", &id, "--follow"])
        .assert()
        .code(3)
        .stdout(predicates::str::starts_with(format!(
            "rank=0 nodes=1 gpus=2 ips=127.0.0.1 task=spillway-job-{id}\n"
        )))
        .stderr(predicates::str::contains(format!(
            "job {id} failed: exit status 3"
        )));
    server
        .cli(None)
        .args(["logs", &id, "--tail", "2"])
        .assert()
        .success()
        .stdout("4\n5\n");
    let out = server
        .cli(None)
        .args(["logs", &id, "--json", "-n", "1"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(
        (v["exit_code"].as_i64(), v["data"].as_str()),
        (Some(3), Some("5\n"))
    );
    // Several ids, and --all.
    let a = crate::submit_spec(
        server.cli(None),
        "run: sleep 300\nresources: {accelerators: H100:8}\n",
    );
    let b = crate::submit_spec(
        server.cli(None),
        "run: sleep 300\nresources: {accelerators: H100:8}\n",
    );
    let c = crate::submit_spec(
        server.cli(None),
        "run: sleep 300\nresources: {accelerators: H100:8}\n",
    );
    server.cli(None).args(["cancel", &a, &b]).assert().success();
    let out = server
        .cli(None)
        .args(["cancel", "--all", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let ids: Vec<String> = json(&out)["cancelled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0], c);
    assert_eq!(server.wait_final(None, &c), "cancelled");
    server
        .cli(None)
        .args(["jobs", "--watch", "1"])
        .assert()
        .success()
        .stdout(predicates::str::contains("ELAPSED"))
        .stdout(predicates::str::contains(" POOL "))
        .stdout(predicates::str::contains(" local "))
        .stdout(predicates::str::contains(" UTC"));
}

#[test]
fn offers_and_validate_read_accelerator_names_in_the_same_words() {
    // A neighbour one edit away is other hardware: listed, never suggested.
    for name in ["A1000", "H10", "h100mega", "tpu-v5", "Inferentia"] {
        let offers = crate::spillway()
            .args(["offers", "--accelerator", name])
            .output()
            .unwrap();
        let offers = String::from_utf8(offers.stderr).unwrap();
        let validate = crate::spillway()
            .args(["validate", "-"])
            .write_stdin(format!("run: x\nresources: {{accelerators: '{name}:1'}}\n"))
            .output()
            .unwrap();
        let validate = String::from_utf8(validate.stderr).unwrap();
        let said = |text: &str| -> String {
            let at = text
                .find("unknown accelerator")
                .unwrap_or_else(|| panic!("{name}: {text}"));
            text[at..].lines().next().unwrap().to_string()
        };
        assert_eq!(said(&offers), said(&validate), "{name}");
        if name == "A1000" {
            assert!(
                said(&offers).contains(": known accelerators are A10, A100,"),
                "{offers}"
            );
        }
    }
}

#[test]
fn offers_pages_say_where_the_next_starts_and_which_is_the_last() {
    let out = crate::spillway()
        .args(["offers", "--accelerator", "H200", "--json"])
        .output()
        .unwrap();
    let all = json(&out).as_array().unwrap().len();
    assert!(all > 2, "{all}");
    crate::spillway()
        .args(["offers", "--accelerator", "H200", "--limit", "1"])
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "showing offers 1 to 1 of {all}: --offset 1 for the next page"
        )));
    let offset = (all - 1).to_string();
    crate::spillway()
        .args([
            "offers",
            "--accelerator",
            "H200",
            "--limit",
            "5",
            "--offset",
            &offset,
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "showing offers {all} to {all} of {all}: the last page"
        )));
}

#[test]
fn the_servers_log_has_no_colour_codes_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("spillway.toml");
    std::fs::write(&config, POOL).unwrap();
    let log = dir.path().join("serve.log");
    let addr_file = dir.path().join("addr");
    let mut child = crate::serve_command(dir.path(), &config, &addr_file)
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // The address is written once the server listens, after its first log line.
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if addr_file.exists() && text.contains("serving") {
            break text;
        }
        assert!(child.try_wait().unwrap().is_none(), "serve ended: {text}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!text.contains('\u{1b}'), "{text:?}");
}
