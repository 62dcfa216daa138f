//! `spillway submit`: send a job spec to the server and print the job's id.

use super::client::{Api, ClientArgs};
use super::validate::read_spec;
use spillway_server::api::SubmitResponse;
use std::path::PathBuf;

/// Flags of `spillway submit`.
#[derive(Debug, clap::Args)]
pub(crate) struct SubmitArgs {
    /// The spec file (YAML, Spillway or SkyPilot dialect), or `-` for stdin.
    spec: PathBuf,
    /// Makes a retried submit return the same job instead of a second one.
    #[arg(long)]
    idempotency_key: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
}

pub(crate) fn run(args: SubmitArgs) -> anyhow::Result<()> {
    let text = read_spec(&args.spec)?;
    let api = Api::new(&args.client)?;
    let mut rb = api
        .post("/v1/jobs")
        .json(&serde_json::json!({ "yaml": text }));
    if let Some(k) = &args.idempotency_key {
        rb = rb.header("Idempotency-Key", k);
    }
    let resp: SubmitResponse = api.send(rb)?;
    for w in &resp.warnings {
        eprintln!("warning: {w}");
    }
    println!("{}", resp.id);
    Ok(())
}
