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

/// A `csv` reader over the whole text, header first, that leaves field counts to the caller so
/// that a short or long row becomes a [`FieldError`] naming the count rather than a csv error.
pub(crate) fn csv_reader(text: &str) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(::csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes())
}

/// The 1-based line on which `record` starts.
pub(crate) fn line_of(record: &::csv::StringRecord) -> usize {
    record.position().map_or(0, |position| {
        usize::try_from(position.line()).unwrap_or(usize::MAX)
    })
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

/// Parses a duration in seconds that must be positive.
pub(crate) fn parse_duration(field: &str, raw: &str) -> Result<f64, FieldError> {
    let value = parse_f64(field, raw)?;
    if value <= 0.0 {
        return Err(FieldError::new(
            field,
            format!("duration `{raw}` must be a positive number of seconds"),
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
