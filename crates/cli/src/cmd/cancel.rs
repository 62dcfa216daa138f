//! `spillway cancel`: cancel jobs, by id or all of the caller's live ones.

use super::client::{Api, ClientArgs};
use spillway_server::api::{JobDetail, JobList, JobView};
use spillway_server::service::CANCELLING;

/// Flags of `spillway cancel`.
#[derive(Debug, clap::Args)]
pub(crate) struct CancelArgs {
    /// The job ids.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    ids: Vec<String>,
    /// Cancel every queued and running job the token can see (an admin: every tenant's).
    #[arg(long)]
    all: bool,
    /// Print the cancelled jobs as a JSON list.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) fn run(args: CancelArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.client)?;
    let ids: Vec<String> = if args.all {
        let mut ids = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for state in ["queued", "running"] {
            let list: JobList = api.send(
                api.get("/v1/jobs")
                    .query(&[("state", state), ("limit", "1000")]),
            )?;
            // A job whose cancel is under way already is not cancelled again, and a job that
            // started between the two listings (in both) is cancelled once.
            for job in list.jobs.iter().filter(|j| j.message != CANCELLING) {
                if seen.insert(job.id) {
                    ids.push(job.id.to_string());
                }
            }
        }
        ids
    } else {
        args.ids.clone()
    };
    // Every id is tried; the first failure is the command's error, after the others.
    let mut done: Vec<JobView> = Vec::new();
    let mut failed: Vec<String> = Vec::new();
    for id in &ids {
        match api.send::<JobView>(api.post(&format!("/v1/jobs/{id}/cancel"))) {
            Ok(job) => {
                if !args.json {
                    println!("job {}: {}", job.id, crate::table::printable(&job.message));
                }
                done.push(job);
            }
            // Under `--all`, a job that ended between the listing and its cancel is skipped.
            Err(_) if args.all && has_ended(&api, id) => {}
            Err(e) => {
                // The server's error usually names the job already ("job 99 not found").
                let message = format!("{e:#}");
                failed.push(if message.contains(&format!("job {id}")) {
                    message
                } else {
                    format!("job {id}: {message}")
                });
            }
        }
    }
    if args.json {
        let out = serde_json::json!({ "cancelled": done, "errors": failed });
        crate::output::emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
        if !failed.is_empty() {
            return Err(crate::output::Reported.into());
        }
        return Ok(());
    }
    if args.all && ids.is_empty() {
        println!("no queued or running job to cancel");
    }
    match failed.len() {
        0 => Ok(()),
        _ => Err(anyhow::anyhow!("{}", failed.join("\n"))),
    }
}

/// Whether job `id` has reached a final state (finished, failed, cancelled).
fn has_ended(api: &Api, id: &str) -> bool {
    api.send::<JobDetail>(api.get(&format!("/v1/jobs/{id}")))
        .is_ok_and(|d| d.job.state.is_final())
}
