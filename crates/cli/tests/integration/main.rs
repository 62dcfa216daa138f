//! End-to-end tests of the `spillway` binary: each module drives one subcommand as a user would.

mod economics;
mod engines;
mod engines_bench;
mod estimate;
mod ha;
mod offers;
mod service;
mod simulate;

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
