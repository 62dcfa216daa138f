//! The Philly job table reader (`timestamp,duration,num_gpus,gpu_time,cluster`), as extracted
//! from Microsoft's Philly traces in the Pollux artifact.
//!
//! - Arrival: seconds since the earliest `timestamp` of the file. Timestamps are
//!   `YYYY-MM-DD HH:MM:SS` without a zone; they are read as naive (UTC-like) times, so daylight
//!   saving shifts, if the source had any, are not undone.
//! - Work: [`WorkAmount::Seconds`] of `duration` (run time observed on Philly's GPUs, which
//!   the table does not name).
//! - Scale factor: `num_gpus`.
//! - `gpu_time` and `cluster` (the virtual cluster) are not used; any other column is ignored.
//! - Jobs are sorted by arrival, ties kept in file order, and numbered `0..n` in that order (the
//!   table has no job ids), so job `i` is the `i`-th arrival as in Gavel's traces.
//! - The table has no job types: assign them with [`super::assign`].

use super::rows::{self, BadLines, FieldError};
use super::{ReadOptions, Trace, TraceError};
use spillway_model::{JobRecord, WorkAmount};
use std::path::Path;

const REQUIRED: [&str; 3] = ["timestamp", "duration", "num_gpus"];

/// One row before arrival times are made relative.
struct Row {
    submitted_at: i64,
    duration_s: f64,
    num_gpus: u32,
}

/// Parses a Philly job table.
pub fn parse(path: &Path, text: &str, options: &ReadOptions) -> Result<Trace, TraceError> {
    let mut bad = BadLines::new(path, options);
    let mut records = rows::records(text);
    let Some((header_line, header)) = rows::header(&mut records) else {
        return Err(bad.error(
            1,
            FieldError::new(
                "header",
                "expected the header `timestamp,duration,num_gpus,gpu_time,cluster`",
            ),
        ));
    };
    let mut index = [0usize; 3];
    for (slot, name) in index.iter_mut().zip(REQUIRED) {
        *slot = rows::column(&header, name).ok_or_else(|| {
            bad.error(
                header_line,
                FieldError::new(
                    name,
                    format!(
                        "the header has no `{name}` column; a Philly table starts with \
                         `timestamp,duration,num_gpus,gpu_time,cluster`"
                    ),
                ),
            )
        })?;
    }
    let [timestamp, duration, num_gpus] = index;

    let mut parsed = Vec::new();
    for (line, record) in records {
        let row = record.and_then(|record| {
            rows::check_field_count(&record, &header)?;
            Ok(Row {
                submitted_at: parse_timestamp("timestamp", &record[timestamp])?,
                duration_s: rows::parse_duration("duration", &record[duration])?,
                num_gpus: rows::parse_gpus("num_gpus", &record[num_gpus])?,
            })
        });
        match row {
            Ok(row) => parsed.push(row),
            Err(error) => bad.reject(line, error)?,
        }
    }

    let start = parsed.iter().map(|row| row.submitted_at).min().unwrap_or(0);
    // A stable sort keeps file order among jobs submitted in the same second.
    parsed.sort_by_key(|row| row.submitted_at);
    let jobs = parsed
        .into_iter()
        .enumerate()
        .map(|(position, row)| JobRecord {
            id: position.to_string(),
            job_type: None,
            work: WorkAmount::Seconds(row.duration_s),
            scale_factor: row.num_gpus,
            priority_weight: 1.0,
            // Whole seconds apart over months: exact in an f64.
            arrival_time_s: (row.submitted_at - start) as f64,
            deadline_s: None,
            slo_factor: None,
            accelerator_constraint: None,
        })
        .collect();
    Ok(Trace {
        jobs,
        skipped: bad.into_skipped(),
        alibaba: None,
    })
}

/// Parses `YYYY-MM-DD HH:MM:SS` into seconds since 1970-01-01 00:00:00, zone-naive.
pub(crate) fn parse_timestamp(field: &str, raw: &str) -> Result<i64, FieldError> {
    let bad = || {
        FieldError::new(
            field,
            format!("`{raw}` is not a time of the form `YYYY-MM-DD HH:MM:SS`"),
        )
    };
    let bytes = raw.as_bytes();
    let shape_ok = bytes.len() == 19
        && bytes.iter().enumerate().all(|(i, &b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(bad());
    }
    let number = |from: usize, to: usize| -> i64 {
        bytes[from..to]
            .iter()
            .fold(0, |acc, &b| acc * 10 + i64::from(b - b'0'))
    };
    let (year, month, day) = (number(0, 4), number(5, 7), number(8, 10));
    let (hour, minute, second) = (number(11, 13), number(14, 16), number(17, 19));
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(FieldError::new(
            field,
            format!("`{raw}` is not a valid calendar date and time"),
        ));
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, skip: bool) -> Result<Trace, TraceError> {
        parse(
            Path::new("philly.csv"),
            text,
            &ReadOptions {
                skip_bad_lines: skip,
            },
        )
    }

    #[test]
    fn timestamps_count_seconds_from_the_epoch() {
        assert_eq!(parse_timestamp("t", "1970-01-01 00:00:00"), Ok(0));
        assert_eq!(parse_timestamp("t", "2000-03-01 00:00:01"), Ok(951_868_801));
        assert_eq!(
            parse_timestamp("t", "2017-10-09 07:01:55"),
            Ok(1_507_532_515)
        );
        assert_eq!(
            parse_timestamp("t", "2016-02-29 23:59:59"),
            Ok(1_456_790_399)
        );
        assert!(parse_timestamp("t", "2017-02-29 00:00:00").is_err());
        assert!(parse_timestamp("t", "2017-13-01 00:00:00").is_err());
        assert!(parse_timestamp("t", "2017-10-09T07:01:55").is_err());
        assert!(parse_timestamp("t", "2017-10-09 7:01:55").is_err());
        assert!(parse_timestamp("t", "").is_err());
    }

    #[test]
    fn arrivals_are_relative_and_sorted_with_file_order_for_ties() {
        let trace = read(
            "timestamp,duration,num_gpus,gpu_time,cluster\n\
             2017-10-09 07:01:55,66.0,1,66.0,a\n\
             2017-10-09 06:13:03,2951.0,8,23608.0,b\n\
             2017-10-09 07:01:55,10.0,2,20.0,c\n",
            false,
        )
        .unwrap();
        let summary: Vec<_> = trace
            .jobs
            .iter()
            .map(|job| {
                (
                    job.id.as_str(),
                    job.arrival_time_s,
                    job.work,
                    job.scale_factor,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("0", 0.0, WorkAmount::Seconds(2951.0), 8),
                ("1", 2932.0, WorkAmount::Seconds(66.0), 1),
                ("2", 2932.0, WorkAmount::Seconds(10.0), 2),
            ]
        );
    }

    #[test]
    fn a_bad_row_names_line_and_field() {
        let text = "timestamp,duration,num_gpus,gpu_time,cluster\n\
                    2017-10-09 07:01:55,66.0,1,66.0,a\n\
                    2017-10-09 07:01:55,-5,1,66.0,a\n";
        assert_eq!(
            read(text, false).unwrap_err().to_string(),
            "philly.csv:3: field `duration`: duration `-5` must be a positive number of seconds"
        );
        let trace = read(text, true).unwrap();
        assert_eq!(trace.jobs.len(), 1);
        assert_eq!(trace.skipped.len(), 1);
        assert_eq!(trace.skipped[0].line, 3);
    }

    #[test]
    fn a_missing_column_is_named() {
        assert_eq!(
            read("timestamp,runtime,num_gpus\n", true)
                .unwrap_err()
                .to_string(),
            "philly.csv:1: field `duration`: the header has no `duration` column; a Philly table \
             starts with `timestamp,duration,num_gpus,gpu_time,cluster`"
        );
    }
}
