//! `spillway submit`: send a job spec to the server and print the job's id.

use super::client::{Api, ClientArgs};
use super::validate::read_spec;
use spillway_server::api::{MAX_BODY_BYTES, SubmitResponse};
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
    let body = serde_json::to_vec(&serde_json::json!({ "yaml": text }))?;
    // The server reads at most MAX_BODY_BYTES and may close the connection on a larger body
    // before the client has sent it all, which would read as "cannot reach the server".
    if body.len() > MAX_BODY_BYTES {
        anyhow::bail!(
            "the spec is too large: {} bytes to send, over the server's limit of {MAX_BODY_BYTES} bytes (2 MiB); put long scripts and data in files",
            body.len()
        );
    }
    let mut rb = api
        .post("/v1/jobs")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    if let Some(k) = &args.idempotency_key {
        rb = rb.header("Idempotency-Key", k);
    }
    let resp: SubmitResponse = api.send(rb)?;
    for w in &resp.warnings {
        eprintln!("warning: {}", crate::table::printable(w));
    }
    println!("{}", resp.id);
    Ok(())
}
