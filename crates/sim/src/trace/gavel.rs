//! The gavel trace reader.

use super::{ReadOptions, Trace, TraceError};
use std::path::Path;

/// Parses a gavel trace.
pub fn parse(path: &Path, _text: &str, _options: &ReadOptions) -> Result<Trace, TraceError> {
    Err(TraceError::UnknownFormat {
        path: path.to_path_buf(),
        hint: "the gavel reader is not built yet".to_string(),
    })
}
