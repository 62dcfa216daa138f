//! `spillway cancel`: cancel a job.

use super::client::{Api, ClientArgs};
use spillway_server::api::JobView;

/// Flags of `spillway cancel`.
#[derive(Debug, clap::Args)]
pub(crate) struct CancelArgs {
    /// The job id.
    id: String,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) fn run(args: CancelArgs) -> anyhow::Result<()> {
    let api = Api::new(&args.client)?;
    let job: JobView = api.send(api.post(&format!("/v1/jobs/{}/cancel", args.id)))?;
    println!("job {}: {}", job.id, crate::table::printable(&job.message));
    Ok(())
}
