//! `spillway jobs`: list jobs.

use super::client::{Api, ClientArgs, time};
use crate::table::{Align, Table};
use spillway_server::api::{JobList, MAX_PAGE};
use std::io::IsTerminal;

/// Flags of `spillway jobs`.
#[derive(Debug, clap::Args)]
pub(crate) struct JobsArgs {
    /// Only jobs in this state (queued, running, succeeded, failed, cancelled).
    #[arg(long)]
    state: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// At most this many, newest first (fetched in pages of at most 1000).
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Print the list again every SECS seconds (default 2) until none of the listed jobs is
    /// queued or running.
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "2", conflicts_with = "json")]
    watch: Option<u64>,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) fn run(args: JobsArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.client)?;
    let Some(secs) = args.watch else {
        return once(&api, &args).map(|_| ());
    };
    anyhow::ensure!(secs >= 1, "--watch {secs}: give at least 1 second");
    let tty = std::io::stdout().is_terminal();
    loop {
        if tty {
            // Clear the screen and go home, as `watch` does, only on a terminal.
            print!("\x1b[2J\x1b[H");
        }
        let live = once(&api, &args)?;
        if live == 0 {
            return Ok(());
        }
        if !tty {
            println!();
        }
        std::thread::sleep(std::time::Duration::from_secs(secs));
    }
}

/// Prints the list once; returns how many of the listed jobs are queued or running.
fn once(api: &Api, args: &JobsArgs) -> anyhow::Result<usize> {
    // Page through the server's cursor until `--limit` jobs or the last page.
    let mut list = JobList {
        jobs: Vec::new(),
        next_before: None,
    };
    let mut before: Option<i64> = None;
    while (list.jobs.len() as u64) < u64::from(args.limit) {
        let want = (u64::from(args.limit) - list.jobs.len() as u64).min(u64::from(MAX_PAGE));
        let mut query: Vec<(&str, String)> = vec![("limit", want.to_string())];
        if let Some(s) = &args.state {
            query.push(("state", s.clone()));
        }
        if let Some(b) = before {
            query.push(("before", b.to_string()));
        }
        let page: JobList = api.send(api.get("/v1/jobs").query(&query))?;
        list.jobs.extend(page.jobs);
        list.next_before = page.next_before;
        match page.next_before {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    let live = list
        .jobs
        .iter()
        .filter(|j| matches!(j.state.to_string().as_str(), "queued" | "running"))
        .count();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(live);
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut t = Table::new(&[
        ("ID", Align::Right),
        ("NAME", Align::Left),
        ("TENANT", Align::Left),
        ("STATE", Align::Left),
        ("PRIO", Align::Right),
        ("ACCELERATORS", Align::Left),
        ("POOL", Align::Left),
        ("SUBMITTED", Align::Left),
        ("ELAPSED", Align::Right),
        ("REASON", Align::Left),
        ("MESSAGE", Align::Left),
    ]);
    for j in &list.jobs {
        let mut msg = j.message.clone();
        if msg.chars().count() > 60 {
            msg = msg.chars().take(57).collect::<String>() + "...";
        }
        t.push(vec![
            j.id.to_string(),
            j.name.clone(),
            j.tenant.clone(),
            j.state.to_string(),
            j.priority.to_string(),
            if j.accelerators.is_empty() {
                "-".into()
            } else {
                j.accelerators.join(",")
            },
            // Where it runs, or last ran.
            j.pool.clone().unwrap_or_else(|| "-".into()),
            time(j.submitted_ms),
            // From submission to its end, or to now for a live job.
            spillway_model::spec::format_duration(
                (j.finished_ms.unwrap_or(now_ms) - j.submitted_ms).max(0) as u64 / 1000,
            ),
            // Why a queued job waits, in short (`spillway explain ID` says it in words).
            j.reason.clone().unwrap_or_else(|| "-".into()),
            msg,
        ]);
    }
    print!("{}", t.render());
    Ok(live)
}
