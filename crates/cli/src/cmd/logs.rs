//! `spillway logs`: print a job's output, optionally following it until the job ends.

use super::client::{Api, ClientArgs};
use spillway_server::api::LogChunk;
use std::io::Write;
use std::time::Duration;

/// Flags of `spillway logs`.
#[derive(Debug, clap::Args)]
pub(crate) struct LogsArgs {
    /// The job id.
    id: String,
    /// Keep printing new output until the job finishes.
    #[arg(long, short)]
    follow: bool,
    /// Show standard error instead of standard output.
    #[arg(long)]
    stderr: bool,
    #[command(flatten)]
    client: ClientArgs,
}

/// Pause between polls while following and nothing new arrived.
const POLL: Duration = Duration::from_millis(300);

pub(crate) fn run(args: LogsArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.client)?;
    let stream = if args.stderr { "stderr" } else { "stdout" };
    let mut offset = 0u64;
    let mut out = std::io::stdout().lock();
    loop {
        let chunk: LogChunk = api.send(api.get(&format!("/v1/jobs/{}/logs", args.id)).query(&[
            ("stream", stream.to_string()),
            ("offset", offset.to_string()),
        ]))?;
        out.write_all(chunk.data.as_bytes())?;
        out.flush()?;
        let got = chunk.next_offset > offset;
        offset = chunk.next_offset;
        if chunk.eof || (!args.follow && !got) {
            return Ok(());
        }
        if !got {
            std::thread::sleep(POLL);
        }
    }
}
