//! Wall time of each run of Gavel's parity table (trace x policy, cluster 36:36:36, rounds of
//! 360 s), to compare with Gavel's own wall time in data/gavel/generated/GAVEL_RESULTS.md.
//! `spillway simulate --gavel-parity` prints the same runs with their JCT and makespan.
//!
//! Run: `cargo bench -p spillway-sim --bench gavel_parity`.

use criterion::{Criterion, criterion_group, criterion_main};
use spillway_perf::gavel::ThroughputMatrix;
use spillway_sim::parity::{GAVEL_RESULTS, run_case};
use std::path::Path;
use std::time::{Duration, Instant};

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/gavel");
    let matrix = ThroughputMatrix::from_gavel_json(
        &std::fs::read_to_string(root.join("simulation_throughputs.json")).unwrap(),
    )
    .unwrap();
    let traces = root.join("generated");
    let mut group = c.benchmark_group("gavel_parity");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    for gavel in GAVEL_RESULTS {
        let name = format!("{}/{}", gavel.trace, gavel.policy);
        group.bench_function(&name, |b| {
            b.iter(|| {
                let start = Instant::now();
                let mut clock = || start.elapsed().as_secs_f64();
                run_case(gavel, &traces, &matrix, &mut clock).unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
