//! The generator, checked statistically with fixed seeds.

use spillway_model::WorkAmount;
use spillway_sim::trace::generate::{GenerateSpec, JobSizes, generate};

/// Two types: one measured on 1 GPU only, one on 1 to 8 (steps/s grow with the GPUs).
fn matrix(job_type: &str, scale: u32) -> Option<f64> {
    match (job_type, scale) {
        ("A3C", 1) => Some(7.0),
        ("ResNet", 1 | 2 | 4 | 8) => Some(50.0 * f64::from(scale)),
        _ => None,
    }
}

fn types() -> Vec<String> {
    vec!["A3C".to_string(), "ResNet".to_string()]
}

fn duration_s(job: &spillway_model::JobRecord) -> f64 {
    let WorkAmount::Steps(steps) = job.work else {
        panic!("generated work is in steps")
    };
    steps as f64 / matrix(job.job_type.as_deref().unwrap(), job.scale_factor).unwrap()
}

#[test]
fn arrivals_are_poisson_at_the_rate() {
    let spec: GenerateSpec = "jobs=20000,rate=2.0,seed=11".parse().unwrap();
    let jobs = generate(&spec, &types(), &matrix).unwrap();
    assert_eq!(jobs[0].arrival_time_s, 0.0);
    let gaps: Vec<f64> = jobs
        .windows(2)
        .map(|pair| pair[1].arrival_time_s - pair[0].arrival_time_s)
        .collect();
    assert!(gaps.iter().all(|&gap| gap >= 0.0));
    let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
    // Exponential gaps with mean 1800 s: the standard error over 19,999 gaps is about 13 s.
    assert!((mean - 1800.0).abs() < 60.0, "mean gap {mean}");
    // Memorylessness: about e^-1 of the gaps exceed the mean.
    let longer = gaps.iter().filter(|&&gap| gap > 1800.0).count() as f64 / gaps.len() as f64;
    assert!((longer - (-1f64).exp()).abs() < 0.02, "{longer}");
}

#[test]
fn scale_factors_and_durations_follow_gavels_rules() {
    let spec: GenerateSpec = "jobs=20000,multi_gpu=true,seed=5".parse().unwrap();
    let jobs = generate(&spec, &types(), &matrix).unwrap();
    let share = |scale: u32| {
        jobs.iter().filter(|job| job.scale_factor == scale).count() as f64 / jobs.len() as f64
    };
    for (scale, expected) in [(1, 0.70), (2, 0.10), (4, 0.15), (8, 0.05)] {
        let got = share(scale);
        assert!((got - expected).abs() < 0.015, "scale {scale}: {got}");
    }
    // Multi-GPU jobs only get the type measured on several GPUs.
    assert!(
        jobs.iter()
            .filter(|job| job.scale_factor > 1)
            .all(|job| job.job_type.as_deref() == Some("ResNet"))
    );
    let (short_min, short_max) = (60.0 * 10f64.powf(1.5), 60.0 * 1000.0);
    let long_max = 60.0 * 10_000.0;
    let mut long = 0usize;
    for job in &jobs {
        // Steps are rounded, so allow a step's worth of slack.
        let duration = duration_s(job);
        assert!(
            duration > short_min - 1.0 && duration < long_max + 1.0,
            "{duration}"
        );
        if duration > short_max + 1.0 {
            long += 1;
        }
    }
    let long_share = long as f64 / jobs.len() as f64;
    assert!((long_share - 0.2).abs() < 0.015, "{long_share}");
}

#[test]
fn single_gpu_workloads_share_durations_with_multi_gpu_ones() {
    let single: GenerateSpec = "jobs=500,rate=1.0,seed=0".parse().unwrap();
    let multi = GenerateSpec {
        multi_gpu: true,
        ..single.clone()
    };
    let single = generate(&single, &types(), &matrix).unwrap();
    let multi = generate(&multi, &types(), &matrix).unwrap();
    assert!(single.iter().all(|job| job.scale_factor == 1));
    assert!(multi.iter().any(|job| job.scale_factor > 1));
    for (a, b) in single.iter().zip(&multi) {
        assert_eq!(a.arrival_time_s, b.arrival_time_s);
        // Same drawn duration; the steps differ only in the throughput used and in rounding.
        assert!((duration_s(a) - duration_s(b)).abs() < 1.0);
    }
}

#[test]
fn philly_sizes_come_from_the_distribution() {
    let spec = GenerateSpec {
        num_jobs: 5000,
        multi_gpu: true,
        sizes: JobSizes::Philly,
        seed: 3,
        ..GenerateSpec::default()
    };
    let jobs = generate(&spec, &types(), &matrix).unwrap();
    // The table: 25,304 of 33,192 pairs on 1 GPU (76%), 4,147 on 8 (12%).
    let single = jobs.iter().filter(|job| job.scale_factor == 1).count() as f64 / 5000.0;
    let eight = jobs.iter().filter(|job| job.scale_factor == 8).count() as f64 / 5000.0;
    assert!((single - 0.762).abs() < 0.03, "{single}");
    assert!((eight - 0.125).abs() < 0.03, "{eight}");
    // The table's durations run from 3,600 s to 5,196,151 s.
    assert!(jobs.iter().all(|job| {
        let duration = duration_s(job);
        (3599.0..=5_196_152.0).contains(&duration)
    }));
}

#[test]
fn multi_priority_and_slos() {
    let spec: GenerateSpec = "jobs=10000,multi_priority=true,slos=true,seed=9"
        .parse()
        .unwrap();
    let jobs = generate(&spec, &types(), &matrix).unwrap();
    let heavy = jobs.iter().filter(|job| job.priority_weight == 5.0).count() as f64 / 10_000.0;
    assert!((heavy - 0.2).abs() < 0.02, "{heavy}");
    assert!(
        jobs.iter()
            .all(|job| [1.0, 5.0].contains(&job.priority_weight))
    );
    let tight = jobs
        .iter()
        .filter(|job| job.deadline_s.unwrap() / duration_s(job) < 1.5)
        .count() as f64
        / 10_000.0;
    assert!((tight - 0.33).abs() < 0.02, "{tight}");
}
