//! Workload traces: readers for each supported format, format detection, and the generator.
//!
//! Every reader turns its format into [`JobRecord`]s. A malformed line is an error naming the
//! file, the line and the field, unless the caller asked to skip bad lines; then the skipped
//! lines are counted (and the first few kept) so nothing is dropped silently.

pub mod alibaba;
pub mod alibaba_nodes;
pub mod assign;
pub mod csv;
pub mod gavel;
pub mod generate;
mod generate_spec;
pub mod philly;
mod rows;

use spillway_model::JobRecord;
use std::path::{Path, PathBuf};

/// The trace formats Spillway reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceFormat {
    /// Gavel's tab-separated format (10 fields; the older 7-field MSR variant too).
    Gavel,
    /// The Philly job table (`timestamp,duration,num_gpus,gpu_time,cluster`).
    Philly,
    /// The Alibaba GPU cluster pod list (cluster-trace-gpu-v2023).
    Alibaba,
    /// Spillway's generic CSV: `job_id,submit_time_s,duration_s,num_gpus` plus optional columns.
    Csv,
}

/// How a reader treats malformed lines.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Skip malformed lines (counting them) instead of failing on the first one.
    pub skip_bad_lines: bool,
}

/// A line that was skipped because it was malformed.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedLine {
    /// 1-based line number in the file.
    pub line: usize,
    /// Why it was skipped, naming the field.
    pub reason: String,
}

/// The jobs read from one trace file.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Jobs in the order of the file.
    pub jobs: Vec<JobRecord>,
    /// Lines skipped under [`ReadOptions::skip_bad_lines`].
    pub skipped: Vec<SkippedLine>,
    /// For an Alibaba pod list: how its rules sorted the pods (which were left out and why).
    pub alibaba: Option<alibaba::AlibabaSummary>,
}

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be read at all.
    #[error("cannot read trace {path}")]
    Io {
        /// The trace file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{path}:{line}: field `{field}`: {message}")]
    BadLine {
        /// The trace file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The field at fault.
        field: String,
        /// What is wrong and, where it helps, how to fix it.
        message: String,
    },
    /// The format could not be recognized from the content.
    #[error(
        "cannot tell the format of trace {path}: {hint}; pass --trace-format gavel|philly|alibaba|csv"
    )]
    UnknownFormat {
        /// The trace file.
        path: PathBuf,
        /// What was seen.
        hint: String,
    },
    /// The trace holds no jobs.
    #[error("trace {path} holds no jobs")]
    Empty {
        /// The trace file.
        path: PathBuf,
    },
}

/// Reads a trace file in `format`, or in the format detected from its content when `None`.
pub fn read_trace(
    path: &Path,
    format: Option<TraceFormat>,
    options: &ReadOptions,
) -> Result<Trace, TraceError> {
    let text = std::fs::read_to_string(path).map_err(|source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let format = match format {
        Some(format) => format,
        None => detect_format(path, &text)?,
    };
    let trace = match format {
        TraceFormat::Gavel => gavel::parse(path, &text, options),
        TraceFormat::Philly => philly::parse(path, &text, options),
        TraceFormat::Alibaba => alibaba::parse(path, &text, options),
        TraceFormat::Csv => csv::parse(path, &text, options),
    }?;
    if trace.jobs.is_empty() {
        return Err(TraceError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(trace)
}

/// Tells the format of a trace from its first line (after a byte-order mark, blank lines and
/// `#` comments): a comma-separated header names the CSV formats by their columns, in any order
/// (Philly: `timestamp`, `duration`, `num_gpus`; Alibaba: `name`, `num_gpu`, `gpu_milli`;
/// generic: `job_id`, `submit_time_s`); a tab-separated line of 7 or more fields is Gavel's.
pub fn detect_format(path: &Path, text: &str) -> Result<TraceFormat, TraceError> {
    let first = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .unwrap_or("");
    let columns: Vec<&str> = first.split(',').map(str::trim).collect();
    let has = |names: &[&str]| names.iter().all(|name| columns.contains(name));
    let format = if has(&["timestamp", "duration", "num_gpus"]) {
        Some(TraceFormat::Philly)
    } else if has(&["name", "num_gpu", "gpu_milli"]) {
        Some(TraceFormat::Alibaba)
    } else if has(&["job_id", "submit_time_s"]) {
        Some(TraceFormat::Csv)
    } else if first.split('\t').count() >= 7 {
        Some(TraceFormat::Gavel)
    } else {
        None
    };
    format.ok_or_else(|| TraceError::UnknownFormat {
        path: path.to_path_buf(),
        hint: if first.is_empty() {
            "the file is empty".to_string()
        } else {
            format!(
                "first line is {:?}, neither a known CSV header nor a tab-separated Gavel job",
                first.chars().take(60).collect::<String>()
            )
        },
    })
}
