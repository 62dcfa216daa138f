//! `spillway submit`: send a job spec to the server and print the job's id.
//!
//! A file of several YAML documents (a SkyPilot pipeline) becomes one job per task, each to
//! run after the one before; the ids are printed in order. `--env` and `--secret` fill the
//! `envs` and `secrets` the file leaves without a value; `--after ID` makes the (first) job
//! wait for job ID to succeed.

use super::client::{Api, ClientArgs};
use super::validate::read_spec;
use anyhow::{Context, bail};
use spillway_model::spec::{parse_specs, task_documents};
use spillway_server::api::{MAX_BODY_BYTES, SubmitResponse};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Flags of `spillway submit`.
#[derive(Debug, clap::Args)]
pub(crate) struct SubmitArgs {
    /// The spec file (YAML, Spillway or SkyPilot dialect), or `-` for stdin.
    spec: PathBuf,
    /// Makes a retried submit return the same job instead of a second one.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Sets an environment variable of the job (fills `NAME: null` in `envs`), repeatable.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    envs: Vec<String>,
    /// Gives a secret (`NAME=VALUE`, or `NAME` to take it from your environment),
    /// repeatable. Secrets reach the job as environment variables and are never shown.
    #[arg(long = "secret", value_name = "NAME[=VALUE]")]
    secrets: Vec<String>,
    /// Runs the job after job ID: it starts once ID has succeeded, and is cancelled if ID
    /// fails or is cancelled.
    #[arg(long, value_name = "ID")]
    after: Option<i64>,
    #[command(flatten)]
    client: ClientArgs,
}

/// `NAME=VALUE` flags into a map; for secrets, a bare `NAME` reads the caller's environment.
fn values(
    flags: &[String],
    flag: &str,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for f in flags {
        let (name, value) = match f.split_once('=') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None if flag == "--secret" => {
                let v = env(f).with_context(|| {
                    format!("--secret {f}: {f} is not set in your environment: set it, or write --secret {f}=VALUE")
                })?;
                (f.clone(), v)
            }
            None => bail!("{flag} {f}: write NAME=VALUE"),
        };
        out.insert(name, value);
    }
    Ok(out)
}

pub(crate) fn run(args: SubmitArgs) -> anyhow::Result<()> {
    let text = read_spec(&args.spec)?;
    let envs = values(&args.envs, "--env", |n| std::env::var(n).ok())?;
    let secrets = values(&args.secrets, "--secret", |n| std::env::var(n).ok())?;
    // A pipeline is checked whole before any task is sent, so that a mistake in the last
    // task does not leave the first ones submitted; then each task goes as its own document.
    // A single document goes as written, so that the server's errors keep their paths.
    // Text that is not YAML goes to the server as it is, which says what is wrong with it.
    let documents = task_documents(&text).unwrap_or_default();
    let tasks: Vec<serde_json::Value> = if documents.len() > 1 {
        let names = spillway_server::accelerators::known_accelerators();
        parse_specs(&text, &names).map_err(|e| {
            anyhow::anyhow!("{} is not a valid pipeline:\n{e}", args.spec.display())
        })?;
        documents
    } else {
        vec![serde_json::Value::String(text)]
    };
    let api = Api::new(&args.client)?;
    let mut after = args.after;
    for (i, task) in tasks.iter().enumerate() {
        let mut body = serde_json::json!({ "envs": envs, "secrets": secrets, "after": after });
        let field = if task.is_string() { "yaml" } else { "spec" };
        body[field] = task.clone();
        let body = serde_json::to_vec(&body)?;
        // The server reads at most MAX_BODY_BYTES and may close the connection on a larger
        // body before the client has sent it all, which would read as "cannot reach the
        // server".
        if body.len() > MAX_BODY_BYTES {
            bail!(
                "the spec is too large: {} bytes to send, over the server's limit of {MAX_BODY_BYTES} bytes (2 MiB); put long scripts and data in files",
                body.len()
            );
        }
        let mut rb = api
            .post("/v1/jobs")
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(k) = &args.idempotency_key {
            let key = if tasks.len() > 1 {
                format!("{k}-{i}")
            } else {
                k.clone()
            };
            rb = rb.header("Idempotency-Key", key);
        }
        let resp: SubmitResponse = api.send(rb)?;
        for w in &resp.warnings {
            eprintln!("warning: {}", crate::table::printable(w));
        }
        println!("{}", resp.id);
        after = Some(resp.id);
    }
    Ok(())
}
