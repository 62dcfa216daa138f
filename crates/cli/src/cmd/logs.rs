//! `spillway logs`: print a job's output, optionally following it until the job ends, and
//! then ending with the job's own exit status, as `sky logs` does.

use super::client::{Api, ClientArgs};
use spillway_server::api::{JobDetail, LogChunk};
use std::io::Write;
use std::time::Duration;

/// Flags of `spillway logs`.
#[derive(Debug, clap::Args)]
pub(crate) struct LogsArgs {
    /// The job id.
    id: String,
    /// Keep printing new output until the job finishes, then exit with its exit code (1 for
    /// a job cancelled or lost without one).
    #[arg(long, short)]
    follow: bool,
    /// Show standard error instead of standard output.
    #[arg(long)]
    stderr: bool,
    /// Start with the last N lines only.
    #[arg(long, short = 'n', value_name = "N")]
    tail: Option<usize>,
    /// Print `{"id", "state", "exit_code", "data"}` as JSON (not with --follow).
    #[arg(long, conflicts_with = "follow")]
    pub(crate) json: bool,
    #[command(flatten)]
    client: ClientArgs,
}

/// Pause between polls while following and nothing new arrived.
const POLL: Duration = Duration::from_millis(300);

/// The last `n` lines of `text` (a final line without a newline counts as one).
fn last_lines(text: &str, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    let body = text.strip_suffix('\n').unwrap_or(text);
    match body.rmatch_indices('\n').nth(n - 1) {
        Some((i, _)) => &text[i + 1..],
        None => text,
    }
}

pub(crate) fn run(args: LogsArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.client)?;
    let stream = if args.stderr { "stderr" } else { "stdout" };
    let fetch = |offset: u64| -> anyhow::Result<LogChunk> {
        api.send(api.get(&format!("/v1/jobs/{}/logs", args.id)).query(&[
            ("stream", stream.to_string()),
            ("offset", offset.to_string()),
        ]))
    };
    // What is there now, whole (for --tail and --json), then new output as it comes.
    let mut offset = 0u64;
    let mut first = String::new();
    loop {
        let chunk = fetch(offset)?;
        first.push_str(&chunk.data);
        let got = chunk.next_offset > offset;
        offset = chunk.next_offset;
        if !got || chunk.eof {
            break;
        }
    }
    if args.json {
        let job = api
            .send::<JobDetail>(api.get(&format!("/v1/jobs/{}", args.id)))?
            .job;
        let data = args.tail.map_or(first.as_str(), |n| last_lines(&first, n));
        let out = serde_json::json!({
            "id": job.id, "state": job.state, "exit_code": job.exit_code, "data": data,
        });
        crate::output::emit(&format!("{out}\n"))?;
        return Ok(());
    }
    let shown = args.tail.map_or(first.as_str(), |n| last_lines(&first, n));
    std::io::stdout().lock().write_all(shown.as_bytes())?;
    if !args.follow {
        return Ok(());
    }
    follow_from(&api, &args.id, stream, offset)
}

/// Prints a job's standard output from the start until it ends, then ends with its exit
/// status (`spillway submit --follow`).
pub(crate) fn follow(api: &Api, id: &str) -> anyhow::Result<()> {
    follow_from(api, id, "stdout", 0)
}

fn follow_from(api: &Api, id: &str, stream: &str, mut offset: u64) -> anyhow::Result<()> {
    let fetch = |offset: u64| -> anyhow::Result<LogChunk> {
        api.send(api.get(&format!("/v1/jobs/{id}/logs")).query(&[
            ("stream", stream.to_string()),
            ("offset", offset.to_string()),
        ]))
    };
    let mut out = std::io::stdout().lock();
    out.flush()?;
    loop {
        let chunk = fetch(offset)?;
        out.write_all(chunk.data.as_bytes())?;
        out.flush()?;
        let got = chunk.next_offset > offset;
        offset = chunk.next_offset;
        if chunk.eof {
            break;
        }
        if !got {
            std::thread::sleep(POLL);
        }
    }
    drop(out);
    let job = api
        .send::<JobDetail>(api.get(&format!("/v1/jobs/{id}")))?
        .job;
    let code = match job.exit_code {
        Some(0) if job.state.to_string() == "succeeded" => return Ok(()),
        Some(c) => u8::try_from(c.clamp(1, 255)).unwrap_or(1),
        None => 1,
    };
    eprintln!(
        "job {} {}: exit status {}",
        job.id,
        job.state,
        job.exit_code.map_or("none".to_string(), |c| c.to_string())
    );
    Err(crate::output::ExitWith(code).into())
}

#[cfg(test)]
mod tests {
    use super::last_lines;

    #[test]
    fn tail_takes_the_last_lines() {
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc\n");
        assert_eq!(last_lines("a\nb\nc", 2), "b\nc");
        assert_eq!(last_lines("a\n", 5), "a\n");
        assert_eq!(last_lines("a\nb\n", 0), "");
    }
}
