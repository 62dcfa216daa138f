//! The README's quick start, run word for word: the shell blocks marked
//! `<!-- quickstart: NAME -->` are read from README.md at test time and run with bash against
//! the binary under test (on PATH as `spillway`), in the repository root, on a fresh data
//! directory and a free loopback port. So the README cannot drift from what works.
//!
//! Three things differ from a person's terminal, all through the environment, none through
//! the README's text: `SPILLWAY_LISTEN` and `SPILLWAY_SERVER` name a free port instead of
//! 7070, `TMPDIR` (where `mktemp -d` makes the data directory) and `HOME` point into the
//! test's own directory. The build block (`cargo install`) is checked to be there, not run:
//! the binary under test is that build.

use super::service::{POLL, http_get};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest one README command may take (`logs --follow` waits for its job to end).
const STEP_LIMIT: Duration = Duration::from_secs(30);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shell block that follows the marker `<!-- quickstart: name -->`.
fn block(readme: &str, name: &str) -> String {
    let marker = format!("<!-- quickstart: {name} -->");
    let at = readme
        .find(&marker)
        .unwrap_or_else(|| panic!("README.md has no {marker}"));
    let rest = readme[at + marker.len()..].trim_start();
    let body = rest
        .strip_prefix("```sh\n")
        .unwrap_or_else(|| panic!("{marker} is not followed by a ```sh block"));
    body[..body.find("\n```").expect("the block ends")].to_string()
}

/// The commands of a block: one per line, `\` continuations joined, comment lines and blank
/// lines left out (a comment after a command stays: bash ignores it).
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let line = line.trim();
        if current.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// The environment of a person who followed the build step, pointed at `port`.
struct Shell {
    dir: tempfile::TempDir,
    port: u16,
}

impl Shell {
    fn new() -> Shell {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::os::unix::fs::symlink(
            env!("CARGO_BIN_EXE_spillway"),
            dir.path().join("bin/spillway"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Shell { dir, port }
    }

    fn bash(&self, command: &str) -> Command {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new("bash");
        cmd.args(["-c", command])
            .current_dir(repo_root())
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("TMPDIR", self.dir.path().join("tmp"))
            .env("SPILLWAY_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("SPILLWAY_SERVER", format!("http://127.0.0.1:{}", self.port))
            .env("RUST_LOG", "warn");
        for var in [
            "SPILLWAY_TOKEN",
            "SPILLWAY_CONFIG",
            "SPILLWAY_DATABASE",
            "SPILLWAY_CATALOG_OVERRIDES",
            "XDG_DATA_HOME",
            "XDG_CONFIG_HOME",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Runs one README command to its end, within [`STEP_LIMIT`]; panics unless it succeeds.
    fn run(&self, command: &str) -> Output {
        let mut child = self
            .bash(command)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > STEP_LIMIT {
                let _ = child.kill();
                panic!("README step `{command}` did not end within {STEP_LIMIT:?}");
            }
            std::thread::sleep(POLL);
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "README step `{command}` failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

/// The broker of the first terminal, stopped with its process group when the test ends.
struct Broker(Child);

impl Drop for Broker {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_quick_start_works_word_for_word() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(
        block(&readme, "build").contains("cargo install --path crates/cli --locked"),
        "the build block puts `spillway` on PATH"
    );
    let shell = Shell::new();

    // Terminal 1: the broker, in the foreground there; here in its own process group.
    let serve = commands(&block(&readme, "serve"));
    assert_eq!(serve.len(), 1, "terminal 1 runs one command: {serve:?}");
    let mut cmd = shell.bash(&serve[0]);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let _broker = Broker(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let addr = format!("127.0.0.1:{}", shell.port);
    let started = Instant::now();
    while !http_get(&addr, "/healthz").is_some_and(|b| b.contains("ok")) {
        assert!(
            started.elapsed() < STEP_LIMIT,
            "`{}` did not answer on {addr}",
            serve[0]
        );
        std::thread::sleep(POLL);
    }

    // Terminal 2: every command, in order, each one succeeding.
    let mut transcript = String::new();
    for command in commands(&block(&readme, "try")) {
        let out = shell.run(&command);
        transcript.push_str(&format!("$ {command}\n{}", stdout(&out)));
    }
    // What the README's comments promise.
    assert!(transcript.contains("hello from job 1"), "{transcript}");
    assert!(transcript.contains("REASON"), "{transcript}");
    // Job 3 waits for an H100 while job 2 holds all 8: once a round has considered it, its
    // short reason is listed (a person typing the commands never sees the moment before).
    let started = Instant::now();
    loop {
        let jobs = shell.run("spillway jobs --json");
        let list: serde_json::Value = serde_json::from_slice(&jobs.stdout).unwrap();
        let job3 = list["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["id"] == 3)
            .unwrap_or_else(|| panic!("no job 3 in {list}"))
            .clone();
        if job3["state"] != "queued" {
            break; // job 2 ended first: nothing left to see
        }
        if let Some(reason) = job3.get("reason") {
            assert_eq!(reason, "no_capacity", "{job3}\n{transcript}");
            break;
        }
        assert!(
            started.elapsed() < STEP_LIMIT,
            "job 3 has no reason: {job3}"
        );
        std::thread::sleep(POLL);
    }

    // Leave nothing running behind the test.
    for id in ["2", "3"] {
        let _ = shell.bash(&format!("spillway cancel {id}")).output();
    }
}
