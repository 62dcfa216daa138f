//! `spillway show`: one job with its attempts and events.

use super::client::{Api, ClientArgs, time};
use crate::table::{Align, Table, printable};
use spillway_server::api::JobDetail;

/// Flags of `spillway show`.
#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// The job id.
    id: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) fn run(args: ShowArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.client)?;
    let d: JobDetail = api.send(api.get(&format!("/v1/jobs/{}", args.id)))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    let j = &d.job;
    // Names and messages may hold what a tenant wrote: escaped, never printed raw.
    println!("job {} ({})", j.id, printable(&j.name));
    println!("  tenant:       {}", printable(&j.tenant));
    println!("  state:        {}", j.state);
    println!("  message:      {}", printable(&j.message));
    println!("  priority:     {}", j.priority);
    let accs = if j.accelerators.is_empty() {
        "none".to_string()
    } else {
        format!("{} ({})", j.accelerators.join(", "), j.choice)
    };
    println!("  accelerators: {accs}");
    if let Some(after) = j.spec.get("after").and_then(|a| a.as_i64()) {
        println!("  after:        job {after} (starts once it has succeeded)");
    }
    if let Some(names) = j.spec.get("secrets").and_then(|s| s.as_array()) {
        let names: Vec<&str> = names.iter().filter_map(|n| n.as_str()).collect();
        println!("  secrets:      {} (values never shown)", names.join(", "));
    }
    println!("  submitted:    {}", time(j.submitted_ms));
    if let Some(f) = j.finished_ms {
        println!("  finished:     {}", time(f));
    }
    if let Some(c) = j.exit_code {
        println!("  exit code:    {c}");
    }
    println!(
        "  attempts:     {} (restarts {}, preemptions {})",
        j.attempts, j.restarts, j.preemptions
    );
    if !d.attempts.is_empty() {
        let mut t = Table::new(&[
            ("#", Align::Right),
            ("POOL", Align::Left),
            ("ACCELERATORS", Align::Left),
            ("PID", Align::Right),
            ("STARTED", Align::Left),
            ("OUTCOME", Align::Left),
            ("EXIT", Align::Right),
        ]);
        for a in &d.attempts {
            t.push(vec![
                a.number.to_string(),
                a.pool.clone(),
                if a.accelerators.is_empty() {
                    "-".into()
                } else {
                    a.accelerators
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                },
                a.pid.map_or("-".into(), |p| p.to_string()),
                time(a.started_ms),
                serde_json::to_value(a.outcome)?
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                a.exit_code.map_or("-".into(), |c| c.to_string()),
            ]);
        }
        println!();
        print!("{}", t.render());
    }
    println!("\nevents:");
    for e in &d.events {
        println!(
            "  {}  {:<10} {}",
            time(e.at_ms),
            printable(&e.kind),
            printable(&e.message)
        );
    }
    Ok(())
}
