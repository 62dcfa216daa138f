//! The whole Philly job table.

use crate::data;
use spillway_model::WorkAmount;
use spillway_sim::trace::{ReadOptions, TraceFormat, read_trace};
use std::collections::BTreeMap;

#[test]
fn every_row_of_the_philly_table_parses() {
    let path = data("philly/philly_jobs_from_pollux_artifact.csv");
    let trace = read_trace(&path, Some(TraceFormat::Philly), &ReadOptions::default()).unwrap();
    assert_eq!(trace.jobs.len(), 82_247);
    assert!(trace.skipped.is_empty());

    // Sorted by arrival, numbered in that order, from 0 to the last submission
    // (2017-09-04 10:30:41 to 2017-12-22 08:02:11).
    assert!(
        trace
            .jobs
            .windows(2)
            .all(|pair| pair[0].arrival_time_s <= pair[1].arrival_time_s)
    );
    assert!(
        trace
            .jobs
            .iter()
            .enumerate()
            .all(|(i, job)| job.id == i.to_string())
    );
    let first = &trace.jobs[0];
    assert_eq!(
        (first.arrival_time_s, first.work, first.scale_factor),
        (0.0, WorkAmount::Seconds(2_240_194.0), 8)
    );
    let last = &trace.jobs[82_246];
    assert_eq!(
        (last.arrival_time_s, last.work, last.scale_factor),
        (9_408_690.0, WorkAmount::Seconds(64.0), 1)
    );

    let mut by_gpus = BTreeMap::new();
    let mut gpu_seconds = 0.0;
    for job in &trace.jobs {
        *by_gpus.entry(job.scale_factor).or_insert(0) += 1;
        let WorkAmount::Seconds(seconds) = job.work else {
            panic!("Philly work is in seconds")
        };
        gpu_seconds += seconds * f64::from(job.scale_factor);
        assert!(job.job_type.is_none() && job.accelerator_constraint.is_none());
    }
    assert_eq!(
        by_gpus.into_iter().collect::<Vec<_>>(),
        vec![
            (1, 76_627),
            (2, 1_818),
            (4, 1_870),
            (8, 1_643),
            (12, 7),
            (16, 199),
            (24, 7),
            (32, 67),
            (64, 6),
            (128, 3)
        ]
    );
    // The sum of the table's own `gpu_time` column.
    assert_eq!(gpu_seconds, 3_521_082_502.0);
}

#[test]
fn the_philly_table_gets_job_types_and_steps() {
    use spillway_sim::trace::assign::{assign_job_types_by_scale, seconds_to_steps};
    let path = data("philly/philly_jobs_from_pollux_artifact.csv");
    let mut trace = read_trace(&path, None, &ReadOptions::default()).unwrap();
    // Keep the jobs a Gavel-like matrix covers (1 to 8 GPUs).
    trace.jobs.retain(|job| job.scale_factor <= 8);
    let types = vec!["A3C".to_string(), "ResNet-18".to_string()];
    let matrix = |job_type: &str, scale: u32| match (job_type, scale) {
        ("A3C", 1) => Some(7.0),
        ("ResNet-18", 1 | 2 | 4 | 8) => Some(100.0),
        _ => None,
    };
    assign_job_types_by_scale(&mut trace.jobs, &types, 42, &matrix).unwrap();
    seconds_to_steps(&mut trace.jobs, &matrix).unwrap();
    assert_eq!(trace.jobs.len(), 81_958);
    assert!(
        trace
            .jobs
            .iter()
            .all(|job| matches!(job.work, WorkAmount::Steps(steps) if steps >= 7))
    );
    let a3c = trace
        .jobs
        .iter()
        .filter(|job| job.job_type.as_deref() == Some("A3C"))
        .count();
    // Half of the 76,627 single-GPU jobs, within 4 standard deviations (about 550).
    assert!((37_700..=38_900).contains(&a3c), "{a3c}");
}

#[test]
fn corrupted_rows_of_the_real_table_are_counted_when_skipped() {
    use crate::TempTrace;
    let text =
        std::fs::read_to_string(data("philly/philly_jobs_from_pollux_artifact.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Lines 3, 1001 and 82248 (the last job; the file ends with a blank line), 1-based.
    lines[2] = "2017-10-09 06:13:03,2951.0,0,0,6214e9".to_string();
    lines[1000] = "2017-13-09 06:13:03,2951.0,1,2951.0,6214e9".to_string();
    lines[82_247] = "2017-10-09 06:13:03,2951.0".to_string();
    let trace = TempTrace::new("philly_corrupted", &(lines.join("\n") + "\n"));

    let error = read_trace(&trace.path, None, &ReadOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:3: field `num_gpus`: a job needs at least 1 GPU, found 0",
            trace.path.display()
        )
    );
    let options = ReadOptions {
        skip_bad_lines: true,
    };
    let read = read_trace(&trace.path, None, &options).unwrap();
    assert_eq!(read.jobs.len(), 82_244);
    let skipped: Vec<_> = read
        .skipped
        .iter()
        .map(|line| (line.line, line.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            (3, "field `num_gpus`: a job needs at least 1 GPU, found 0"),
            (
                1001,
                "field `timestamp`: `2017-13-09 06:13:03` is not a valid calendar date and time"
            ),
            (
                82_248,
                "field `line`: expected 5 comma-separated fields \
                 (timestamp,duration,num_gpus,gpu_time,cluster), found 2"
            ),
        ]
    );
}
