//! What the CSV-based readers (Philly, Alibaba, generic CSV) share: finding columns by header
//! name, parsing one cell into a checked number, and turning a bad row into either an error or
//! a skipped line, as [`ReadOptions::skip_bad_lines`] asks.

use super::{ReadOptions, SkippedLine, TraceError};
use std::path::{Path, PathBuf};

/// One field of one row could not be used; the reader adds the file and line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldError {
    /// The column at fault (a header name, or `line` when the row as a whole is wrong).
    pub field: String,
    /// What is wrong, and where it helps, how to fix it.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Collects rejected rows: the first one is an error, unless bad lines are skipped, in which
/// case every rejected row is remembered so that nothing is dropped silently.
pub(crate) struct BadLines {
    path: PathBuf,
    skip: bool,
    skipped: Vec<SkippedLine>,
}

impl BadLines {
    pub(crate) fn new(path: &Path, options: &ReadOptions) -> Self {
        Self {
            path: path.to_path_buf(),
            skip: options.skip_bad_lines,
            skipped: Vec::new(),
        }
    }

    /// Rejects line `line` (1-based): an error, or a recorded skip.
    pub(crate) fn reject(&mut self, line: usize, error: FieldError) -> Result<(), TraceError> {
        if self.skip {
            self.skipped.push(SkippedLine {
                line,
                reason: format!("field `{}`: {}", error.field, error.message),
            });
            Ok(())
        } else {
            Err(self.error(line, error))
        }
    }

    /// An error for `line` that no option may skip (a bad header).
    pub(crate) fn error(&self, line: usize, error: FieldError) -> TraceError {
        TraceError::BadLine {
            path: self.path.clone(),
            line,
            field: error.field,
            message: error.message,
        }
    }

    pub(crate) fn into_skipped(self) -> Vec<SkippedLine> {
        self.skipped
    }
}

/// The records of a CSV text, header first, each with the 1-based line it starts on, without
/// blank lines and comment lines (first field starting with `#`). Field counts are left to the
/// caller, so that a short or long row becomes a [`FieldError`] naming the count rather than a
/// csv error. A record is one line: quoted fields may hold commas but not line breaks.
pub(crate) fn records(
    text: &str,
) -> impl Iterator<Item = (usize, Result<::csv::StringRecord, FieldError>)> {
    // The csv crate's own line and byte positions drift after blank lines and `\r\n` endings,
    // so the reader sees only the non-blank lines, `\n`-terminated, and each keeps the number
    // it has in the file.
    let mut kept = String::with_capacity(text.len());
    let mut file_line = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if !line.trim().is_empty() {
            kept.push_str(line);
            kept.push('\n');
            file_line.push(index + 1);
        }
    }
    let line_of = move |position: Option<&::csv::Position>| {
        position
            .and_then(|position| usize::try_from(position.line()).ok())
            .and_then(|line| file_line.get(line.checked_sub(1)?).copied())
            .unwrap_or(0)
    };
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .from_reader(std::io::Cursor::new(kept.into_bytes()))
        .into_records()
        .filter(|record| {
            !matches!(record, Ok(record) if record.get(0).is_some_and(|first| first.starts_with('#')))
        })
        .map(move |record| match record {
            Ok(record) => (line_of(record.position()), Ok(record)),
            // The text is valid UTF-8 and the reader is flexible, so the csv crate has little
            // left to complain about; keep a line-numbered error anyway rather than a panic.
            Err(error) => (
                line_of(error.position()),
                Err(FieldError::new("line", error.to_string())),
            ),
        })
}

/// The header: the first record, as names, with its line.
pub(crate) fn header(
    records: &mut impl Iterator<Item = (usize, Result<::csv::StringRecord, FieldError>)>,
) -> Option<(usize, Vec<String>)> {
    match records.next() {
        Some((line, Ok(record))) => Some((line, record.iter().map(str::to_string).collect())),
        _ => None,
    }
}

/// Checks that a row has exactly as many fields as the header.
pub(crate) fn check_field_count(
    record: &::csv::StringRecord,
    header: &[String],
) -> Result<(), FieldError> {
    if record.len() == header.len() {
        return Ok(());
    }
    Err(FieldError::new(
        "line",
        format!(
            "expected {} comma-separated fields ({}), found {}",
            header.len(),
            header.join(","),
            record.len()
        ),
    ))
}

/// Finds the column named `name` in the header.
pub(crate) fn column(header: &[String], name: &str) -> Option<usize> {
    header.iter().position(|column| column == name)
}

/// Parses a finite floating-point number.
pub(crate) fn parse_f64(field: &str, raw: &str) -> Result<f64, FieldError> {
    match raw.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        Ok(_) => Err(FieldError::new(
            field,
            format!("`{raw}` is not a finite number"),
        )),
        Err(_) => Err(FieldError::new(field, format!("`{raw}` is not a number"))),
    }
}

/// The longest duration and the latest arrival a trace may give, seconds: ten years (as the
/// service's job specs). Beyond it a simulation would run for ages one round at a time, and
/// times in integer microseconds would lose precision or overflow.
pub(crate) const MAX_TRACE_SECONDS: f64 = 10.0 * 365.0 * 86_400.0;

/// Parses a duration in seconds that must be positive and at most [`MAX_TRACE_SECONDS`].
pub(crate) fn parse_duration(field: &str, raw: &str) -> Result<f64, FieldError> {
    let value = parse_f64(field, raw)?;
    if value <= 0.0 {
        return Err(FieldError::new(
            field,
            format!("duration `{raw}` must be a positive number of seconds"),
        ));
    }
    check_seconds(field, value)
}

/// `value` if it is at most [`MAX_TRACE_SECONDS`], else an error naming the field and the limit.
pub(crate) fn check_seconds(field: &str, value: f64) -> Result<f64, FieldError> {
    if value > MAX_TRACE_SECONDS {
        return Err(FieldError::new(
            field,
            format!("`{value}` seconds is over the limit of {MAX_TRACE_SECONDS} s (10 years)"),
        ));
    }
    Ok(value)
}

/// Parses an accelerator count, at least 1.
pub(crate) fn parse_gpus(field: &str, raw: &str) -> Result<u32, FieldError> {
    let value = parse_u64(field, raw)?;
    if value == 0 {
        return Err(FieldError::new(
            field,
            "a job needs at least 1 GPU, found 0",
        ));
    }
    u32::try_from(value).map_err(|_| {
        FieldError::new(
            field,
            format!("`{raw}` GPUs is more than any cluster holds"),
        )
    })
}

/// Parses a non-negative whole number.
pub(crate) fn parse_u64(field: &str, raw: &str) -> Result<u64, FieldError> {
    raw.parse::<u64>()
        .map_err(|_| FieldError::new(field, format!("`{raw}` is not a non-negative whole number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_bounded() {
        assert_eq!(
            parse_duration("duration_s", "1e13").unwrap_err().message,
            "`10000000000000` seconds is over the limit of 315360000 s (10 years)"
        );
        assert_eq!(parse_duration("d", "315360000"), Ok(MAX_TRACE_SECONDS));
        assert!(check_seconds("submit_time_s", 1e18).is_err());
    }

    #[test]
    fn numbers_are_checked() {
        assert_eq!(parse_f64("x", "1.5"), Ok(1.5));
        assert_eq!(
            parse_f64("x", "NaN").unwrap_err().message,
            "`NaN` is not a finite number"
        );
        assert_eq!(
            parse_duration("duration", "-3").unwrap_err().message,
            "duration `-3` must be a positive number of seconds"
        );
        assert_eq!(
            parse_gpus("num_gpus", "0").unwrap_err().message,
            "a job needs at least 1 GPU, found 0"
        );
        assert_eq!(
            parse_gpus("num_gpus", "1.0").unwrap_err().message,
            "`1.0` is not a non-negative whole number"
        );
        assert_eq!(parse_gpus("num_gpus", "8"), Ok(8));
    }

    #[test]
    fn skipping_records_the_reason() {
        let options = ReadOptions {
            skip_bad_lines: true,
        };
        let mut bad = BadLines::new(Path::new("t.csv"), &options);
        bad.reject(3, FieldError::new("num_gpus", "zero")).unwrap();
        assert_eq!(
            bad.into_skipped(),
            vec![SkippedLine {
                line: 3,
                reason: "field `num_gpus`: zero".to_string()
            }]
        );
    }

    #[test]
    fn without_skipping_the_first_bad_row_is_an_error() {
        let mut bad = BadLines::new(Path::new("t.csv"), &ReadOptions::default());
        let error = bad
            .reject(3, FieldError::new("num_gpus", "zero"))
            .unwrap_err();
        assert_eq!(error.to_string(), "t.csv:3: field `num_gpus`: zero");
    }
}
