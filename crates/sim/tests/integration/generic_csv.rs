//! The generic CSV format: the documented example, and exact errors.

use crate::{TempTrace, data};
use spillway_model::{JobRecord, WorkAmount};
use spillway_sim::trace::{ReadOptions, read_trace};

#[test]
fn the_documented_example_reads() {
    let trace = read_trace(&data("examples/generic.csv"), None, &ReadOptions::default()).unwrap();
    let summary: Vec<_> = trace
        .jobs
        .iter()
        .map(|job| {
            (
                job.id.as_str(),
                job.arrival_time_s,
                job.scale_factor,
                job.job_type.as_deref(),
                job.accelerator_constraint.as_deref(),
                job.priority_weight,
                job.deadline_s,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "train-resnet",
                0.0,
                1,
                Some("ResNet-50 (batch size 64)"),
                None,
                1.0,
                None
            ),
            (
                "train-lm",
                120.0,
                4,
                Some("LM (batch size 20)"),
                Some("v100"),
                2.0,
                Some(28_800.0)
            ),
            ("eval, nightly", 300.0, 1, None, None, 1.0, None),
            (
                "finetune-transformer",
                300.0,
                8,
                Some("Transformer (batch size 64)"),
                Some("v100|p100"),
                1.0,
                None
            ),
        ]
    );
    assert_eq!(trace.jobs[1].work, WorkAmount::Seconds(7200.0));
}

#[test]
fn errors_count_lines_from_the_top_of_the_file_comments_included() {
    let trace = TempTrace::new(
        "csv_comment_lines",
        "# a comment\n\
         job_id,submit_time_s,duration_s,num_gpus\n\
         a,0,60,1\n\
         # another\n\
         b,0,sixty,1\n",
    );
    let error = read_trace(&trace.path, None, &ReadOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:5: field `duration_s`: `sixty` is not a number",
            trace.path.display()
        )
    );
}

#[test]
fn skipping_keeps_the_good_jobs_and_lists_the_bad_lines() {
    let trace = TempTrace::new(
        "csv_skip",
        "job_id,submit_time_s,duration_s,num_gpus,deadline_s\n\
         a,0,60,1,\n\
         b,-1,60,1,\n\
         c,0,60,1,0\n\
         d,10,60,2,100\n",
    );
    let options = ReadOptions {
        skip_bad_lines: true,
    };
    let read = read_trace(&trace.path, None, &options).unwrap();
    assert_eq!(
        read.jobs,
        vec![
            JobRecord {
                id: "a".into(),
                job_type: None,
                work: WorkAmount::Seconds(60.0),
                scale_factor: 1,
                priority_weight: 1.0,
                arrival_time_s: 0.0,
                deadline_s: None,
                slo_factor: None,
                accelerator_constraint: None,
            },
            JobRecord {
                id: "d".into(),
                job_type: None,
                work: WorkAmount::Seconds(60.0),
                scale_factor: 2,
                priority_weight: 1.0,
                arrival_time_s: 10.0,
                deadline_s: Some(100.0),
                slo_factor: None,
                accelerator_constraint: None,
            },
        ]
    );
    let skipped: Vec<_> = read
        .skipped
        .iter()
        .map(|line| (line.line, line.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        vec![
            (
                3,
                "field `submit_time_s`: `-1` is negative; times count seconds from the start of \
                 the trace"
            ),
            (4, "field `deadline_s`: `0` must be positive"),
        ]
    );
}

#[test]
fn windows_line_endings_and_blank_lines_keep_line_numbers() {
    let trace = TempTrace::new(
        "csv_crlf",
        "job_id,submit_time_s,duration_s,num_gpus\r\na,0,60,1\r\n\r\nb,0,60,-2\r\n",
    );
    let error = read_trace(&trace.path, None, &ReadOptions::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:4: field `num_gpus`: `-2` is not a non-negative whole number",
            trace.path.display()
        )
    );
}
