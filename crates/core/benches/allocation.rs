//! Allocation LP benchmarks: heterogeneity-aware max-min fairness (Gavel's policy) on n jobs
//! over k accelerator types with n/4 accelerators per type (Gavel's own policy benchmark setup).
//! Jobs are drawn from 26 job types x 4 scale factors with throughputs from a fixed generator, as
//! a throughput matrix would give them.
//!
//! The `ordered` group times the order-based policies (`srpt_perf`, `tiresias_perf`) on the same
//! workloads.
//!
//! Run: `cargo bench -p spillway-core --bench allocation` (`-- ordered` for the second group).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use spillway_core::policy::{LpOptions, PolicyInput, PolicyJob, allocate_once};
use spillway_core::solver::ClarabelSolver;
use spillway_core::{JobId, PolicyKind};
use std::time::Duration;

/// A small deterministic generator (SplitMix64) so the workload is the same on every run.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn workload(n: usize, types: usize) -> (Vec<PolicyJob>, Vec<u32>, Vec<String>) {
    let mut rng = Mix(42);
    let classes: Vec<(u32, Vec<f64>)> = (0..26 * 4)
        .map(|c| {
            let sf = [1, 2, 4, 8][c % 4];
            let thr = (0..types).map(|_| 0.5 + 9.5 * rng.next()).collect();
            (sf, thr)
        })
        .collect();
    let jobs = (0..n)
        .map(|i| {
            let (sf, thr) = &classes[(rng.next() * classes.len() as f64) as usize];
            PolicyJob {
                id: JobId(i as u64),
                scale_factor: *sf,
                throughputs: thr.clone(),
                priority_weight: 1.0,
                remaining_steps: 1_000_000,
                time_since_arrival_s: 0.0,
                time_to_deadline_s: None,
            }
        })
        .collect();
    let caps = vec![(n / 4) as u32; types];
    let names = (0..types).map(|t| format!("type{t}")).collect();
    (jobs, caps, names)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("max_min_fairness_perf");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    let kind = PolicyKind::MaxMinFairness { aware: true };
    // (jobs, types, classes of identical jobs, specialized interior point)
    for &(n, types, aggregate, specialized) in &[
        (256, 3, true, true),
        (512, 3, true, true),
        (1024, 3, true, true),
        (2048, 3, true, true),
        (10_000, 6, true, true),
        (2048, 3, true, false),
        (10_000, 6, true, false),
        (2048, 3, false, true),
        (2048, 3, false, false),
    ] {
        let (jobs, caps, names) = workload(n, types);
        let prices = vec![None; types];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &caps,
            pool_names: &names,
            prices: &prices,
        };
        let options = LpOptions {
            time_limit: Duration::from_secs(60),
            aggregate_classes: aggregate,
            specialized_max_min: specialized,
        };
        let label = format!(
            "{}-{}",
            if aggregate { "classes" } else { "per-job" },
            if specialized {
                "specialized"
            } else {
                "clarabel"
            }
        );
        group.bench_with_input(
            BenchmarkId::new(&label, format!("{n}x{types}")),
            &input,
            |b, input| {
                b.iter(|| allocate_once(kind, input, &ClarabelSolver, &options).unwrap());
            },
        );
    }
    group.finish();
}

/// The order-based policies (`srpt_perf`, `tiresias_perf`): one round's decision for 10,000
/// active jobs on 6 types must take under 50 ms (issue 15). Remaining work and ages vary so that
/// the sort does real work; `tiresias_perf` builds its memory from scratch on every call, which
/// is what each recomputation costs anyway.
fn bench_ordered(c: &mut Criterion) {
    let mut group = c.benchmark_group("ordered");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(3));
    for &(n, types) in &[(2048, 3), (10_000, 6)] {
        let (mut jobs, caps, names) = workload(n, types);
        let mut rng = Mix(7);
        for job in &mut jobs {
            job.remaining_steps = 1 + (rng.next() * 1e7) as u64;
            job.time_since_arrival_s = rng.next() * 1e6;
        }
        let prices = vec![None; types];
        let input = PolicyInput {
            jobs: &jobs,
            capacities: &caps,
            pool_names: &names,
            prices: &prices,
        };
        for kind in [PolicyKind::ShortestRemaining, PolicyKind::LeastAttained] {
            group.bench_with_input(
                BenchmarkId::new(kind.name(), format!("{n}x{types}")),
                &input,
                |b, input| {
                    b.iter(|| {
                        allocate_once(kind, input, &ClarabelSolver, &LpOptions::default()).unwrap()
                    });
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench, bench_ordered);
criterion_main!(benches);
