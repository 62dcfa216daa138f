//! End-to-end tests of the `spillway` binary: each module drives one subcommand as a user would.

mod compare;
mod economics;
mod engines;
mod engines_bench;
mod engines_gangs;
mod estimate;
mod faults;
mod fidelity;
mod ha;
mod habits;
mod hardening;
mod msrv;
mod offers;
mod plan;
mod plan_server;
mod plan_validate;
mod readme;
mod replay;
mod service;
mod simulate;
mod simulate_html;
mod time_sharing;
mod work_estimates;

use assert_cmd::Command;

/// The `spillway` binary under test, with an environment that cannot leak the developer's
/// own configuration into the result.
pub(crate) fn spillway() -> Command {
    let mut cmd = Command::cargo_bin("spillway").unwrap();
    cmd.env_remove("SPILLWAY_CATALOG_OVERRIDES");
    cmd.env_remove("XDG_CONFIG_HOME");
    cmd.env("HOME", env!("CARGO_TARGET_TMPDIR"));
    cmd
}

/// Spawns `spillway serve` on an ephemeral loopback port with its data under `dir/data`,
/// writing the bound address to `addr_file`; `extra` adds flags (e.g. `--database URL`).
/// Readiness is the caller's to poll: tests differ in how long recovery may take.
pub(crate) fn spawn_serve(
    dir: &std::path::Path,
    config: &std::path::Path,
    addr_file: &std::path::Path,
    extra: &[&std::ffi::OsStr],
) -> std::process::Child {
    let mut cmd = serve_command(dir, config, addr_file);
    cmd.args(extra)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// `spillway serve` on a free port of 127.0.0.1, with its data under `dir`, `config`, and
/// its address written to `addr_file`.
pub(crate) fn serve_command(
    dir: &std::path::Path,
    config: &std::path::Path,
    addr_file: &std::path::Path,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_spillway"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(config)
        .arg("--addr-file")
        .arg(addr_file);
    cmd
}

/// Runs `submit -` with `spec` on stdin through a client command already pointed at a server;
/// returns the printed job id.
pub(crate) fn submit_spec(mut cli: Command, spec: &str) -> String {
    let out = cli
        .args(["submit", "-"])
        .write_stdin(spec)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "submit failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
