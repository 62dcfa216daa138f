//! `spillway explain`: why a job waits, or why it runs where it runs.

use super::client::{Api, ClientArgs, time};
use crate::table::printable;
use spillway_server::api::Explanation;

/// Flags of `spillway explain`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// The job id.
    id: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) fn run(args: ExplainArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.client)?;
    let e: Explanation = api.send(api.get(&format!("/v1/jobs/{}/explain", args.id)))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(());
    }
    println!("job {} is {}", e.id, printable(&e.reason));
    println!("policy: {}", e.policy);
    if let Some(work) = &e.work {
        println!("work: {}", printable(work));
    }
    if !e.events.is_empty() {
        println!("\nhistory:");
        for ev in &e.events {
            println!(
                "  {}  {:<10} {}",
                time(ev.at_ms),
                printable(&ev.kind),
                printable(&ev.message)
            );
        }
    }
    Ok(())
}
