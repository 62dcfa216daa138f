//! The planner on the bundled examples: they validate, and on fresh demand paths the plan
//! costs less than every baseline and than the plan made for the mean demand alone.

use spillway_catalog::Catalog;
use spillway_plan::{RunOptions, load, run};
use std::path::{Path, PathBuf};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/plans")
        .join(name)
}

#[test]
fn every_example_validates() {
    let catalog = Catalog::bundled();
    for name in ["hyperscale.toml", "midsize.toml", "startup.toml"] {
        let input = load(&example(name), &catalog).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!input.classes.is_empty());
    }
}

fn check_out_of_sample(name: &str) {
    let catalog = Catalog::bundled();
    let input = load(&example(name), &catalog).unwrap();
    let options = RunOptions {
        contract: None,
        sensitivity: false,
        evaluate: true,
        validate: false,
    };
    let report = run(&input, &catalog, &options, &mut |_, _, _| {}).unwrap();
    let e = report.evaluation.unwrap();
    for row in &e.rows[1..] {
        assert!(
            row.gap_usd > 0.0,
            "{name}: {} is not dearer than the plan: {row:?}",
            row.name
        );
    }
    assert!(e.plan_is_cheapest);
    // Knowing the path in advance can only help.
    assert!(e.value_of_perfect_information_usd >= -1e-6 * e.rows[0].average_cost_usd);
}

#[test]
fn startup_plan_beats_every_baseline_out_of_sample() {
    check_out_of_sample("startup.toml");
}

#[test]
fn midsize_plan_beats_every_baseline_out_of_sample() {
    check_out_of_sample("midsize.toml");
}
