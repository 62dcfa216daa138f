//! Format detection on each real file and on edge cases.

use crate::{TempTrace, data};
use spillway_sim::trace::{ReadOptions, TraceError, TraceFormat, detect_format, read_trace};
use std::path::Path;

#[test]
fn each_real_file_is_recognized() {
    let cases = [
        (
            "philly/philly_jobs_from_pollux_artifact.csv",
            TraceFormat::Philly,
        ),
        (
            "alibaba-gpu-v2023/openb_pod_list_default.csv",
            TraceFormat::Alibaba,
        ),
        (
            "alibaba-gpu-v2023/openb_pod_list_gpuspec33.csv",
            TraceFormat::Alibaba,
        ),
        (
            "alibaba-gpu-v2023/openb_pod_list_multigpu50.csv",
            TraceFormat::Alibaba,
        ),
    ];
    for (file, format) in cases {
        let path = data(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(detect_format(&path, &text).unwrap(), format, "{file}");
    }
}

#[test]
fn headers_are_recognized_by_their_columns() {
    let path = Path::new("t");
    let detect = |text: &str| detect_format(path, text).ok();
    assert_eq!(
        detect("\u{feff}# jobs\n\nnum_gpus,submit_time_s,job_id,duration_s\n"),
        Some(TraceFormat::Csv)
    );
    assert_eq!(
        detect("cluster,num_gpus,duration,timestamp\n"),
        Some(TraceFormat::Philly)
    );
    assert_eq!(
        detect("A3C\tpython3 main.py\t.\t--steps\t1\t1000\t1\t1\t-1\t0\n"),
        Some(TraceFormat::Gavel)
    );
    let error = detect_format(path, "id,start,end\n1,2,3\n").unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot tell the format of trace t: first line is \"id,start,end\", neither a known CSV \
         header nor a tab-separated Gavel job; pass --trace-format gavel|philly|alibaba|csv"
    );
    assert!(
        detect_format(path, "")
            .unwrap_err()
            .to_string()
            .contains("the file is empty")
    );
}

#[test]
fn read_trace_detects_reads_and_reports_empty_or_missing_files() {
    let trace = TempTrace::new(
        "detect_reads",
        "\u{feff}job_id,submit_time_s,duration_s,num_gpus\nj1,0,60,1\n",
    );
    let read = read_trace(&trace.path, None, &ReadOptions::default()).unwrap();
    assert_eq!(read.jobs.len(), 1);
    assert_eq!(read.jobs[0].id, "j1");

    let empty = TempTrace::new("detect_empty", "job_id,submit_time_s,duration_s,num_gpus\n");
    assert!(matches!(
        read_trace(&empty.path, None, &ReadOptions::default()),
        Err(TraceError::Empty { .. })
    ));
    let missing = Path::new("/nonexistent/trace.csv");
    assert!(matches!(
        read_trace(missing, None, &ReadOptions::default()),
        Err(TraceError::Io { .. })
    ));
}
