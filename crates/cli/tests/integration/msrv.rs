//! The declared minimum Rust version (`rust-version` in the workspace's Cargo.toml, the one
//! the README states) is at least the highest minimum among the locked dependencies. Only
//! one toolchain can be installed where this runs, so this is the check we can make: it
//! catches a dependency update that raises the floor; `clippy::incompatible_msrv` (run with
//! `-D warnings` by `.ci/run`) catches our own use of standard-library APIs newer than it.
//! Language features newer than it would only show with that toolchain itself.

use std::process::Command;

/// `1.89` or `1.89.0` as comparable numbers (a missing patch is 0).
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().unwrap());
    (
        parts.next().unwrap(),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[test]
fn declared_rust_version_covers_every_locked_dependency() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let mut declared = None;
    let mut highest: Option<((u64, u64, u64), String)> = None;
    // Every locked package, those for other platforms included: a conservative floor.
    for p in meta["packages"].as_array().unwrap() {
        let Some(rv) = p["rust_version"].as_str() else {
            continue;
        };
        if members.contains(&p["id"].as_str().unwrap()) {
            declared = Some(version(rv));
        } else if highest.as_ref().is_none_or(|(v, _)| version(rv) > *v) {
            highest = Some((version(rv), format!("{} {}", p["name"], p["version"])));
        }
    }
    let declared = declared.expect("the workspace declares rust-version");
    let (needed, by) = highest.unwrap();
    assert!(
        declared >= needed,
        "rust-version = {declared:?} in Cargo.toml, but {by} needs {needed:?}: raise rust-version (and the README's quick start) to it"
    );
}
