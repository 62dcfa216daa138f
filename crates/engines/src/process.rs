//! Running an engine's command-line tool: a clean environment, optional stdin, a time limit,
//! and the output captured for error messages.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// What came back from a finished command.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) success: bool,
    /// `exit status: N` or `signal: N`, for messages.
    pub(crate) status: String,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Why a command produced no [`Output`].
#[derive(Debug)]
pub(crate) enum RunError {
    Spawn(std::io::Error),
    Io(std::io::Error),
    Timeout(Duration),
}

/// One invocation: program, arguments and the environment it runs with.
#[derive(Debug)]
pub(crate) struct Invocation<'a> {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    /// The whole environment: the caller's own environment is not inherited, so that a
    /// broker's secrets never reach a job and a stray `SBATCH_*` variable cannot change a
    /// submission.
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) stdin: Option<&'a [u8]>,
    pub(crate) timeout: Duration,
}

impl Invocation<'_> {
    /// The command line as a person would type it, for error messages.
    pub(crate) fn display(&self) -> String {
        let mut line = self.program.display().to_string();
        for arg in &self.args {
            line.push(' ');
            line.push_str(&arg.to_string_lossy());
        }
        line
    }

    pub(crate) async fn run(&self) -> Result<Output, RunError> {
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(RunError::Spawn)?;
        if let Some(input) = self.stdin {
            // Taking stdin and dropping it after the write closes the pipe, so the tool sees
            // the end of its input.
            let mut pipe = child.stdin.take().ok_or_else(|| {
                RunError::Io(std::io::Error::other("stdin of the child was not piped"))
            })?;
            pipe.write_all(input).await.map_err(RunError::Io)?;
            drop(pipe);
        }
        let output = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| RunError::Timeout(self.timeout))?
            .map_err(RunError::Io)?;
        Ok(Output {
            success: output.status.success(),
            status: output.status.to_string(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}
