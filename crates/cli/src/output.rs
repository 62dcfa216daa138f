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

/// An error the command has already reported (in its JSON output, or a job's exit status):
/// `main` exits with the failure status and prints nothing more.
#[derive(Debug, thiserror::Error)]
#[error("already reported")]
pub(crate) struct Reported;

/// An exit status to end with, already explained to the user (`logs --follow` ends with the
/// job's own exit code, as `sky logs` does).
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
pub(crate) struct ExitWith(pub(crate) u8);

/// An error as `--json` prints it on standard output: `{"error": "..."}`.
pub(crate) fn json_error(err: &anyhow::Error) -> String {
    serde_json::json!({ "error": format!("{err:#}") }).to_string()
}
