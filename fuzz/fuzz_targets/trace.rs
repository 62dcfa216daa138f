//! The trace readers (Gavel, Philly, Alibaba, generic CSV, by detected format), strict and
//! skipping bad lines: any file gives a trace or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spillway_sim::trace::{ReadOptions, read_trace};

fuzz_target!(|data: &[u8]| {
    // The readers take a path; one file per fuzzing process, rewritten for each input.
    let path = std::env::temp_dir().join(format!("spillway-fuzz-trace-{}", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    for skip_bad_lines in [false, true] {
        let _ = read_trace(&path, None, &ReadOptions { skip_bad_lines });
    }
});
