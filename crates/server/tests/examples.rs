//! The examples in the repository stay valid: every job spec under examples/jobs parses and
//! the example configs load.

use spillway_model::spec::parse_spec;
use spillway_server::accelerators::known_accelerators;
use spillway_server::config::Config;
use std::path::Path;

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Every `.yaml` file under `dir` and its subdirectories (`examples/jobs/try/`).
fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn example_job_specs_are_valid() {
    let names = known_accelerators();
    let mut paths = Vec::new();
    yaml_files(&examples().join("jobs"), &mut paths);
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let parsed =
            parse_spec(&text, &names).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
        assert!(!parsed.spec.run.is_empty());
    }
    assert!(paths.len() >= 9, "{paths:?}");
}

#[test]
fn the_try_config_declares_simulated_pools_and_stays_open() {
    let c = Config::load(&examples().join("spillway-try.toml")).unwrap();
    // Every accelerator pool says in its name that it is simulated.
    for p in &c.pools {
        assert_eq!(
            p.accelerator.is_some(),
            p.name.starts_with("simulated-"),
            "{}",
            p.name
        );
    }
    assert_eq!(c.pool("simulated-h100").unwrap().count, 8);
    assert!(!c.has_tokens(), "the quick start runs without tokens");
}

#[test]
fn example_config_loads() {
    let c = Config::load(&examples().join("spillway.toml")).unwrap();
    assert_eq!(c.pools.len(), 2);
    assert_eq!(c.tenants[0].max_accelerators["H100"], 6);
    assert!(c.has_tokens());
}

#[test]
fn example_faults_config_loads() {
    let c = Config::load(&examples().join("spillway-faults.toml")).unwrap();
    assert_eq!(c.pools.len(), 4);
    let stocked_out = c.pool("aws-use1a").unwrap().faults.as_ref().unwrap();
    assert_eq!(stocked_out.stockout_at(10.0).unwrap().end_s, 300.0);
    assert!(
        c.pool("gcp-spot")
            .unwrap()
            .faults
            .as_ref()
            .unwrap()
            .preempts()
    );
    assert_eq!(
        c.pool("gcp-commit").unwrap().contract.as_deref(),
        Some("gcp-commit-2026")
    );
    assert_eq!(c.failover_half_life_s, 120.0);
}
