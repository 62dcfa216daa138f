//! The examples in the repository stay valid: every job spec under examples/jobs parses and
//! the example configs load.

use spillway_model::spec::parse_spec;
use spillway_server::accelerators::known_accelerators;
use spillway_server::config::Config;
use std::path::Path;

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn example_job_specs_are_valid() {
    let names = known_accelerators();
    let mut count = 0;
    for entry in std::fs::read_dir(examples().join("jobs")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed =
            parse_spec(&text, &names).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
        assert!(!parsed.spec.run.is_empty());
        count += 1;
    }
    assert!(count >= 4);
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
