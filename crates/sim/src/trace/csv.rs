//! The csv trace reader.

use super::{ReadOptions, Trace, TraceError};
use std::path::Path;

/// Parses a csv trace.
pub fn parse(path: &Path, _text: &str, _options: &ReadOptions) -> Result<Trace, TraceError> {
    Err(TraceError::UnknownFormat {
        path: path.to_path_buf(),
        hint: "the csv reader is not built yet".to_string(),
    })
}
