//! The planner's benchmark figure (issue 12): an 8-year monthly horizon, 3 providers, 12
//! accelerators, 6 classes and 200 demand scenarios, solved once; prints the size and the
//! time. Run: `cargo bench -p spillway-plan` (a release build). Also times the hyperscale
//! example; `cargo bench -p spillway-plan -- hyperscale` (or `bench-8y`) runs only the plans
//! whose file name contains one of the words. Not a timed test: the figures depend on the
//! machine.

use spillway_catalog::Catalog;
use spillway_plan::model::Fixings;
use spillway_plan::model::Restrictions;
use std::path::Path;
use std::time::Instant;

fn main() {
    let catalog = Catalog::bundled();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for file in [
        root.join("../../examples/plans/hyperscale.toml"),
        root.join("benches/bench-8y.toml"),
    ] {
        let name = file.to_string_lossy().to_string();
        if !words.is_empty() && !words.iter().any(|w| name.contains(w.as_str())) {
            continue;
        }
        let input = spillway_plan::load(&file, &catalog).expect("valid plan");
        let started = Instant::now();
        let scenarios = input.scenarios();
        let solved =
            spillway_plan::solve::solve(&input, &scenarios, &Fixings::default(), Restrictions::ALL)
                .expect("solves");
        println!(
            "{}: {} periods, {} accelerators, {} classes, {} scenarios: {} columns, {} rows, {} integer, {} in {:.2} s (solve {:.2} s); expected cost ${:.3}B",
            input.name,
            input.periods.count,
            input.accelerators.len(),
            input.classes.len(),
            scenarios.len(),
            solved.stats.columns,
            solved.stats.rows,
            solved.stats.integer_columns,
            solved.stats.method,
            started.elapsed().as_secs_f64(),
            solved.stats.seconds,
            solved.expected_cost() / 1e9
        );
    }
}
