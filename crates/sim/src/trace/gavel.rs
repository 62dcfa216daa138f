//! The Gavel trace reader: tab-separated lines in Gavel's 10-field format
//! (`job_type, command, working_directory, num_steps_arg, needs_data_dir, total_steps,
//! scale_factor, priority_weight, SLO, arrival_time`) or its older 7-field MSR format
//! (`job_type, command, num_steps_arg, needs_data_dir, total_steps, arrival_time,
//! scale_factor`).
//!
//! Job ids are positions in the file (0-based, counting only jobs read), as Gavel numbers them.

use super::{ReadOptions, SkippedLine, Trace, TraceError};
use spillway_model::{JobRecord, WorkAmount};
use std::path::Path;

/// Column positions of one layout.
struct Layout {
    total_steps: usize,
    scale_factor: usize,
    priority_weight: Option<usize>,
    slo: Option<usize>,
    arrival_time: usize,
}

const TEN_FIELDS: Layout = Layout {
    total_steps: 5,
    scale_factor: 6,
    priority_weight: Some(7),
    slo: Some(8),
    arrival_time: 9,
};

const SEVEN_FIELDS: Layout = Layout {
    total_steps: 4,
    scale_factor: 6,
    priority_weight: None,
    slo: None,
    arrival_time: 5,
};

/// A malformed line: the field at fault and what is wrong.
struct LineError {
    field: &'static str,
    message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> LineError {
    LineError {
        field,
        message: message.into(),
    }
}

/// Parses a Gavel trace.
pub fn parse(path: &Path, text: &str, options: &ReadOptions) -> Result<Trace, TraceError> {
    let mut trace = Trace::default();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(line, trace.jobs.len()) {
            Ok(job) => trace.jobs.push(job),
            Err(err) if options.skip_bad_lines => trace.skipped.push(SkippedLine {
                line: line_no,
                reason: format!("field `{}`: {}", err.field, err.message),
            }),
            Err(err) => {
                return Err(TraceError::BadLine {
                    path: path.to_path_buf(),
                    line: line_no,
                    field: err.field.to_string(),
                    message: err.message,
                });
            }
        }
    }
    Ok(trace)
}

fn parse_line(line: &str, id: usize) -> Result<JobRecord, LineError> {
    let fields: Vec<&str> = line.split('\t').collect();
    let layout = match fields.len() {
        10 => &TEN_FIELDS,
        7 => &SEVEN_FIELDS,
        n => {
            return Err(bad(
                "line",
                format!(
                    "expected 10 tab-separated fields (or 7 in the older MSR format), found {n}"
                ),
            ));
        }
    };
    let job_type = fields[0].trim();
    if job_type.is_empty() {
        return Err(bad(
            "job_type",
            "is empty; name a job type of the throughput matrix",
        ));
    }
    let total_steps = parse_steps(fields[layout.total_steps])?;
    let scale_factor: u32 = fields[layout.scale_factor]
        .trim()
        .parse()
        .ok()
        .filter(|s| *s >= 1)
        .ok_or_else(|| {
            bad(
                "scale_factor",
                format!(
                    "expected a whole number of GPUs >= 1, found {:?}",
                    fields[layout.scale_factor]
                ),
            )
        })?;
    let priority_weight = match layout.priority_weight {
        Some(i) => parse_number(fields[i], "priority_weight").and_then(|w| {
            if w > 0.0 {
                Ok(w)
            } else {
                Err(bad("priority_weight", format!("must be > 0, found {w}")))
            }
        })?,
        None => 1.0,
    };
    // Gavel's SLO is a multiple of the job's run time on a V100, which only the workload builder
    // can compute (it needs the throughput matrix); keep the multiple. Gavel writes -1 for none.
    let slo_factor = match layout.slo {
        Some(i) => {
            let slo = parse_number(fields[i], "SLO")?;
            if !slo.is_finite() {
                return Err(bad("SLO", format!("must be a number, found {slo}")));
            }
            (slo > 0.0).then_some(slo)
        }
        None => None,
    };
    let arrival_time_s = parse_number(fields[layout.arrival_time], "arrival_time")?;
    if arrival_time_s < 0.0 {
        return Err(bad(
            "arrival_time",
            format!("must be >= 0 seconds, found {arrival_time_s}"),
        ));
    }
    if arrival_time_s > super::rows::MAX_TRACE_SECONDS {
        return Err(bad(
            "arrival_time",
            format!(
                "{arrival_time_s} seconds is over the limit of {} s (10 years)",
                super::rows::MAX_TRACE_SECONDS
            ),
        ));
    }
    Ok(JobRecord {
        id: id.to_string(),
        job_type: Some(job_type.to_string()),
        work: WorkAmount::Steps(total_steps),
        scale_factor,
        priority_weight,
        arrival_time_s,
        deadline_s: None,
        slo_factor,
        accelerator_constraint: None,
    })
}

fn parse_steps(text: &str) -> Result<u64, LineError> {
    let t = text.trim();
    t.parse::<u64>()
        .ok()
        .or_else(|| {
            // Some generators write integral floats (`1000.0`).
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0)
                .map(|v| v as u64)
        })
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            bad(
                "total_steps",
                format!("expected a whole number of steps > 0, found {text:?}"),
            )
        })
}

fn parse_number(text: &str, field: &'static str) -> Result<f64, LineError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| bad(field, format!("expected a number, found {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, skip: bool) -> Result<Trace, TraceError> {
        parse(
            Path::new("t.trace"),
            text,
            &ReadOptions {
                skip_bad_lines: skip,
            },
        )
    }

    const TEN: &str = "ResNet-18 (batch size 64)\tpython3 main.py\tcifar10\t--num_steps\t1\t17484476\t8\t1\t-1.000000\t0.000000\n\
                       A3C\tpython3 main.py\ta3c\t--max-steps\t1\t1000\t1\t2\t-1\t978.5\n";

    #[test]
    fn reads_ten_field_lines() {
        let t = read(TEN, false).unwrap();
        assert_eq!(t.jobs.len(), 2);
        assert_eq!(
            t.jobs[0].job_type.as_deref(),
            Some("ResNet-18 (batch size 64)")
        );
        assert_eq!(t.jobs[0].work, WorkAmount::Steps(17484476));
        assert_eq!(t.jobs[0].scale_factor, 8);
        assert_eq!(t.jobs[1].priority_weight, 2.0);
        assert_eq!(t.jobs[1].arrival_time_s, 978.5);
        assert_eq!(t.jobs[1].id, "1");
    }

    #[test]
    fn reads_seven_field_msr_lines() {
        let line = "Transformer (batch size 128)\tcd x && python3 train.py\t-step\t1\t95121\t6.000000\t4\n";
        let t = read(line, false).unwrap();
        assert_eq!(t.jobs[0].work, WorkAmount::Steps(95121));
        assert_eq!(t.jobs[0].arrival_time_s, 6.0);
        assert_eq!(t.jobs[0].scale_factor, 4);
        assert_eq!(t.jobs[0].priority_weight, 1.0);
    }

    #[test]
    fn names_file_line_and_field_of_a_bad_line() {
        let text = format!("{TEN}A3C\tx\ty\tz\t1\tlots\t1\t1\t-1\t0\n");
        let err = read(&text, false).unwrap_err().to_string();
        assert!(
            err.contains("t.trace:3") && err.contains("total_steps"),
            "{err}"
        );
        let err = read("A3C\tx\t1\n", false).unwrap_err().to_string();
        assert!(err.contains("found 3"), "{err}");
        let err = read("A3C\tx\ty\tz\t1\t10\t0\t1\t-1\t0\n", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("scale_factor"), "{err}");
    }

    #[test]
    fn skips_and_counts_bad_lines_when_asked() {
        let text = format!("garbage\n{TEN}A3C\tx\ty\tz\t1\t10\t1\t1\t-1\t-5\n");
        let t = read(&text, true).unwrap();
        assert_eq!(t.jobs.len(), 2);
        assert_eq!(t.skipped.len(), 2);
        assert_eq!(t.skipped[0].line, 1);
        assert!(t.skipped[1].reason.contains("arrival_time"));
        // Ids stay dense over the jobs kept.
        assert_eq!(t.jobs[1].id, "1");
    }

    #[test]
    fn reads_the_vendored_generated_traces() {
        for name in [
            "single_600jobs_2.0jph_seed0.trace",
            "multi_600jobs_1.0jph_seed0.trace",
            "static_200jobs_seed0.trace",
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../data/gavel/generated")
                .join(name);
            let text = std::fs::read_to_string(&path).unwrap();
            let t = parse(&path, &text, &ReadOptions::default()).unwrap();
            assert!(t.jobs.len() == 600 || t.jobs.len() == 200, "{name}");
        }
    }
}
