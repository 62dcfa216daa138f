//! Spillway's generic CSV trace: a header row naming the columns, in any order, then one job per
//! row.
//!
//! | column | required | meaning |
//! |---|---|---|
//! | `job_id` | yes | unique id of the job |
//! | `submit_time_s` | yes | arrival, seconds from the start of the trace (>= 0) |
//! | `duration_s` | yes | run time on the reference accelerator, seconds (> 0) |
//! | `num_gpus` | yes | accelerators used at once, gang-scheduled (>= 1) |
//! | `job_type` | no | a job type of the throughput matrix; empty = assign one by the seeded rule |
//! | `gpu_type` | no | the accelerator type the job must run on (`v100`, or alternatives `v100\|a100`); lowercased; empty = any |
//! | `priority` | no | fairness weight (> 0); empty = 1 |
//! | `deadline_s` | no | the job should finish within this many seconds of arriving (> 0); empty = none |
//!
//! A column not in this table is an error naming it (with the nearest known name), so that a
//! misspelt optional column is never silently ignored. Lines starting with `#` are comments.
//! Jobs are sorted by arrival, ties kept in file order.

use super::rows::{self, BadLines, FieldError};
use super::{ReadOptions, Trace, TraceError};
use spillway_model::{JobRecord, WorkAmount};
use std::collections::HashSet;
use std::path::Path;

const REQUIRED: [&str; 4] = ["job_id", "submit_time_s", "duration_s", "num_gpus"];
const OPTIONAL: [&str; 4] = ["job_type", "gpu_type", "priority", "deadline_s"];

/// Where each known column sits in the header.
struct Columns {
    job_id: usize,
    submit_time_s: usize,
    duration_s: usize,
    num_gpus: usize,
    job_type: Option<usize>,
    gpu_type: Option<usize>,
    priority: Option<usize>,
    deadline_s: Option<usize>,
}

/// Parses a generic CSV trace.
pub fn parse(path: &Path, text: &str, options: &ReadOptions) -> Result<Trace, TraceError> {
    let mut bad = BadLines::new(path, options);
    let mut records = rows::records(text);
    let Some((header_line, header)) = rows::header(&mut records) else {
        return Err(bad.error(
            1,
            FieldError::new(
                "header",
                format!("expected a header naming at least {}", REQUIRED.join(",")),
            ),
        ));
    };
    let columns = find_columns(&header).map_err(|error| bad.error(header_line, error))?;

    let mut jobs = Vec::new();
    let mut ids = HashSet::new();
    for (line, record) in records {
        let job = record
            .and_then(|record| {
                rows::check_field_count(&record, &header)?;
                parse_job(&record, &columns)
            })
            .and_then(|job| {
                if ids.insert(job.id.clone()) {
                    Ok(job)
                } else {
                    Err(FieldError::new(
                        "job_id",
                        format!("job `{}` appears twice; ids must be unique", job.id),
                    ))
                }
            });
        match job {
            Ok(job) => jobs.push(job),
            Err(error) => bad.reject(line, error)?,
        }
    }
    jobs.sort_by(|a, b| a.arrival_time_s.total_cmp(&b.arrival_time_s));
    Ok(Trace {
        jobs,
        skipped: bad.into_skipped(),
        alibaba: None,
    })
}

fn find_columns(header: &[String]) -> Result<Columns, FieldError> {
    let mut seen = HashSet::new();
    for name in header {
        if !REQUIRED.contains(&name.as_str()) && !OPTIONAL.contains(&name.as_str()) {
            let known: Vec<&str> = REQUIRED.iter().chain(&OPTIONAL).copied().collect();
            let nearest = known
                .iter()
                .copied()
                .min_by_key(|candidate| strsim::levenshtein(candidate, name))
                .filter(|candidate| strsim::levenshtein(candidate, name) <= 3);
            let hint = match nearest {
                Some(candidate) => format!(" (did you mean `{candidate}`?)"),
                None => String::new(),
            };
            return Err(FieldError::new(
                name,
                format!(
                    "unknown column{hint}; the columns are {} (required) and {} (optional)",
                    REQUIRED.join(","),
                    OPTIONAL.join(",")
                ),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(FieldError::new(
                name,
                "the column appears twice in the header",
            ));
        }
    }
    let required = |name: &str| {
        rows::column(header, name).ok_or_else(|| {
            FieldError::new(
                name,
                format!(
                    "the required column is missing; the header must name {}",
                    REQUIRED.join(",")
                ),
            )
        })
    };
    Ok(Columns {
        job_id: required("job_id")?,
        submit_time_s: required("submit_time_s")?,
        duration_s: required("duration_s")?,
        num_gpus: required("num_gpus")?,
        job_type: rows::column(header, "job_type"),
        gpu_type: rows::column(header, "gpu_type"),
        priority: rows::column(header, "priority"),
        deadline_s: rows::column(header, "deadline_s"),
    })
}

fn parse_job(record: &::csv::StringRecord, columns: &Columns) -> Result<JobRecord, FieldError> {
    let id = record[columns.job_id].to_string();
    if id.is_empty() {
        return Err(FieldError::new("job_id", "the job id is empty"));
    }
    let arrival_time_s = rows::parse_f64("submit_time_s", &record[columns.submit_time_s])?;
    if arrival_time_s < 0.0 {
        return Err(FieldError::new(
            "submit_time_s",
            format!(
                "`{arrival_time_s}` is negative; times count seconds from the start of the trace"
            ),
        ));
    }
    rows::check_seconds("submit_time_s", arrival_time_s)?;
    let duration_s = rows::parse_duration("duration_s", &record[columns.duration_s])?;
    let scale_factor = rows::parse_gpus("num_gpus", &record[columns.num_gpus])?;
    // An empty optional cell means the column's default, so columns can be filled for some jobs
    // only.
    let cell = |index: Option<usize>| index.map(|i| &record[i]).filter(|raw| !raw.is_empty());
    let job_type = cell(columns.job_type).map(str::to_string);
    let accelerator_constraint = cell(columns.gpu_type)
        .map(|raw| {
            super::alibaba::parse_gpu_spec(raw).map_err(|_| {
                FieldError::new(
                    "gpu_type",
                    format!("`{raw}` is not an accelerator type, or types separated by `|`"),
                )
            })
        })
        .transpose()?
        .flatten();
    let priority_weight = match cell(columns.priority) {
        Some(raw) => positive("priority", raw)?,
        None => 1.0,
    };
    let deadline_s = cell(columns.deadline_s)
        .map(|raw| positive("deadline_s", raw))
        .transpose()?;
    Ok(JobRecord {
        id,
        job_type,
        work: WorkAmount::Seconds(duration_s),
        scale_factor,
        priority_weight,
        arrival_time_s,
        deadline_s,
        slo_factor: None,
        accelerator_constraint,
    })
}

fn positive(field: &str, raw: &str) -> Result<f64, FieldError> {
    let value = rows::parse_f64(field, raw)?;
    if value <= 0.0 {
        return Err(FieldError::new(field, format!("`{raw}` must be positive")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, skip: bool) -> Result<Trace, TraceError> {
        parse(
            Path::new("jobs.csv"),
            text,
            &ReadOptions {
                skip_bad_lines: skip,
            },
        )
    }

    #[test]
    fn columns_in_any_order_with_optional_ones() {
        let trace = read(
            "# two jobs\n\
             num_gpus,duration_s,job_id,submit_time_s,gpu_type,priority,deadline_s,job_type\n\
             4,3600,b,60,V100,2,7200,ResNet-50 (batch size 32)\n\
             1,10.5,a,0,,,,\n",
            false,
        )
        .unwrap();
        assert_eq!(
            trace.jobs,
            vec![
                JobRecord {
                    id: "a".into(),
                    job_type: None,
                    work: WorkAmount::Seconds(10.5),
                    scale_factor: 1,
                    priority_weight: 1.0,
                    arrival_time_s: 0.0,
                    deadline_s: None,
                    slo_factor: None,
                    accelerator_constraint: None,
                },
                JobRecord {
                    id: "b".into(),
                    job_type: Some("ResNet-50 (batch size 32)".into()),
                    work: WorkAmount::Seconds(3600.0),
                    scale_factor: 4,
                    priority_weight: 2.0,
                    arrival_time_s: 60.0,
                    deadline_s: Some(7200.0),
                    slo_factor: None,
                    accelerator_constraint: Some("v100".into()),
                },
            ]
        );
    }

    #[test]
    fn an_unknown_column_is_named_with_the_nearest_known_one() {
        let error = read("job_id,submit_time_s,duration_s,num_gpu\n", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "jobs.csv:1: field `num_gpu`: unknown column (did you mean `num_gpus`?); the columns \
             are job_id,submit_time_s,duration_s,num_gpus (required) and \
             job_type,gpu_type,priority,deadline_s (optional)"
        );
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let error = read("job_id,submit_time_s,num_gpus\n", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "jobs.csv:1: field `duration_s`: the required column is missing; the header must \
             name job_id,submit_time_s,duration_s,num_gpus"
        );
    }

    #[test]
    fn bad_rows_are_errors_or_skipped() {
        let text = "job_id,submit_time_s,duration_s,num_gpus\n\
                    a,0,10,1\n\
                    b,0,10,0\n\
                    c,x,10,1\n\
                    d,0,10\n\
                    a,5,10,1\n\
                    e,0,10,2\n";
        assert_eq!(
            read(text, false).unwrap_err().to_string(),
            "jobs.csv:3: field `num_gpus`: a job needs at least 1 GPU, found 0"
        );
        let trace = read(text, true).unwrap();
        let ids: Vec<_> = trace.jobs.iter().map(|job| job.id.as_str()).collect();
        assert_eq!(ids, ["a", "e"]);
        let skipped: Vec<_> = trace
            .skipped
            .iter()
            .map(|s| (s.line, s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            vec![
                (3, "field `num_gpus`: a job needs at least 1 GPU, found 0"),
                (4, "field `submit_time_s`: `x` is not a number"),
                (
                    5,
                    "field `line`: expected 4 comma-separated fields \
                     (job_id,submit_time_s,duration_s,num_gpus), found 3"
                ),
                (
                    6,
                    "field `job_id`: job `a` appears twice; ids must be unique"
                ),
            ]
        );
    }
}
