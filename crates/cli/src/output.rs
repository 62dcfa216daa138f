//! Writing results to standard output.
//!
//! `spillway offers | head` closes the pipe early; `print!` would then panic. Output goes
//! through [`emit`], which treats a closed pipe as the reader having seen enough.

use std::io::{ErrorKind, Write};

/// Writes `text` to standard output. A closed pipe ends the process quietly with success,
/// as for any Unix filter; other write errors are returned.
pub(crate) fn emit(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(err) if err.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        other => other,
    }
}
