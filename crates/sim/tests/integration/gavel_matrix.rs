//! The generator and the type rules against Gavel's real matrix and Gavel's own generated
//! traces (both vendored by the perf crate under `data/gavel`).

use spillway_model::WorkAmount;
use spillway_perf::gavel::ThroughputMatrix;
use spillway_sim::trace::assign::{assign_job_types_by_scale, seconds_to_steps};
use spillway_sim::trace::generate::{GenerateSpec, generate};
use std::path::PathBuf;

fn repo(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn matrix() -> ThroughputMatrix {
    let text = std::fs::read_to_string(repo("data/gavel/simulation_throughputs.json")).unwrap();
    ThroughputMatrix::from_gavel_json(&text).unwrap()
}

fn types(matrix: &ThroughputMatrix) -> Vec<String> {
    matrix.job_types().into_iter().map(str::to_string).collect()
}

#[test]
fn generated_jobs_all_exist_in_gavels_matrix() {
    let matrix = matrix();
    let v100 = |job_type: &str, scale: u32| matrix.throughput(job_type, scale, "v100");
    let spec: GenerateSpec = "jobs=2000,rate=1.0,multi_gpu=true,seed=0".parse().unwrap();
    let jobs = generate(&spec, &types(&matrix), &v100).unwrap();
    let mut single_gpu_only = 0;
    for job in &jobs {
        let job_type = job.job_type.as_deref().unwrap();
        assert!(
            v100(job_type, job.scale_factor).is_some(),
            "{job_type} x{}",
            job.scale_factor
        );
        if matrix.scale_factors(job_type) == [1] {
            single_gpu_only += 1;
            assert_eq!(job.scale_factor, 1);
        }
    }
    // 7 of the 26 types (A3C, CycleGAN, the five Recommendation sizes) run on one GPU only.
    assert!(single_gpu_only > 0);
}

/// Gavel's own generated trace implies a duration per job (total steps / V100 throughput): all
/// of them lie in the range of the rule this generator follows, and about a fifth are long.
#[test]
fn gavels_generated_trace_follows_the_documented_duration_rule() {
    let matrix = matrix();
    let text = std::fs::read_to_string(repo(
        "data/gavel/generated/multi_600jobs_1.0jph_seed0.trace",
    ))
    .unwrap();
    let mut long = 0;
    let mut jobs = 0;
    for line in text.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let (job_type, steps, scale): (&str, f64, u32) = (
            fields[0],
            fields[5].parse().unwrap(),
            fields[6].parse().unwrap(),
        );
        let duration = steps / matrix.throughput(job_type, scale, "v100").unwrap();
        assert!(
            (60.0 * 10f64.powf(1.5) - 1.0..=600_001.0).contains(&duration),
            "{line}: {duration}"
        );
        if duration > 60_001.0 {
            long += 1;
        }
        jobs += 1;
    }
    assert_eq!(jobs, 600);
    // 120 expected; the binomial standard deviation is about 10.
    assert!((90..=150).contains(&long), "{long}");
}

#[test]
fn philly_jobs_up_to_8_gpus_get_types_and_steps_from_gavels_matrix() {
    let matrix = matrix();
    let v100 = |job_type: &str, scale: u32| matrix.throughput(job_type, scale, "v100");
    let path = repo("data/traces/philly/philly_jobs_from_pollux_artifact.csv");
    let mut trace = spillway_sim::trace::read_trace(&path, None, &Default::default()).unwrap();
    trace.jobs.retain(|job| job.scale_factor <= 8);
    assign_job_types_by_scale(&mut trace.jobs, &types(&matrix), 0, &v100).unwrap();
    seconds_to_steps(&mut trace.jobs, &v100).unwrap();
    assert!(
        trace
            .jobs
            .iter()
            .all(|job| matches!(job.work, WorkAmount::Steps(steps) if steps >= 1))
    );
    // Larger jobs draw among the types measured at 8 GPUs, and run at the 8-GPU rate scaled
    // linearly (the rule of `trace::assign`, shared with the workload builder).
    let mut big = spillway_sim::trace::read_trace(&path, None, &Default::default())
        .unwrap()
        .jobs;
    big.retain(|job| job.scale_factor == 16);
    assign_job_types_by_scale(&mut big, &types(&matrix), 0, &v100).unwrap();
    seconds_to_steps(&mut big, &v100).unwrap();
    for job in &big {
        let job_type = job.job_type.as_deref().unwrap();
        let eight = matrix.throughput(job_type, 8, "v100").unwrap();
        let WorkAmount::Steps(steps) = job.work else {
            panic!("{job:?}")
        };
        assert!(steps >= 1 && eight > 0.0, "{job:?}");
    }
}
