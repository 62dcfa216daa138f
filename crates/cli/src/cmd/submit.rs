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
    /// Check the file and the values given here, and say what would be submitted, without
    /// sending anything (the server's pools are not consulted).
    #[arg(long)]
    dry_run: bool,
    /// After submitting, print the (last) job's output until it ends, and exit with its exit
    /// status, as `spillway logs --follow`.
    #[arg(long, short, conflicts_with_all = ["json", "dry_run"])]
    follow: bool,
    /// Print `{"jobs": [{"id", "state", "created", "dialect", "warnings"}]}` as JSON;
    /// errors are JSON too.
    #[arg(long)]
    pub(crate) json: bool,
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
    if args.dry_run {
        return dry_run(&args, &text, &envs, &secrets);
    }
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
    let mut submitted = Vec::new();
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
        if !args.json {
            for w in &resp.warnings {
                eprintln!("warning: {}", crate::table::printable(w));
            }
            println!("{}", resp.id);
        }
        after = Some(resp.id);
        submitted.push(resp);
    }
    if args.json {
        let out = serde_json::json!({ "jobs": submitted });
        crate::output::emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
    }
    if let (true, Some(last)) = (args.follow, submitted.last()) {
        return super::logs::follow(&api, &last.id.to_string());
    }
    Ok(())
}

/// `--dry-run`: everything the client can check, and what would be sent.
fn dry_run(
    args: &SubmitArgs,
    text: &str,
    envs: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let names = spillway_server::accelerators::known_accelerators();
    let mut specs = parse_specs(text, &names)
        .map_err(|e| anyhow::anyhow!("{} is not a valid job spec:\n{e}", args.spec.display()))?;
    let values = spillway_model::spec::SubmitValues {
        envs: envs.clone(),
        secrets: secrets.clone(),
    };
    for parsed in &mut specs {
        spillway_model::spec::fill_at_submit(parsed, &values)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let jobs: Vec<serde_json::Value> = specs
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.spec.name,
                "accelerators": p.spec.resources.accelerators.iter().map(|c| p.spec.resources.describe(c)).collect::<Vec<_>>(),
                "num_nodes": p.spec.num_nodes,
                "use_spot": p.spec.resources.use_spot,
                "infra": p.spec.resources.infra,
                "warnings": p.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    if args.json {
        let out = serde_json::json!({ "dry_run": true, "jobs": jobs });
        crate::output::emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
        return Ok(());
    }
    for (i, p) in specs.iter().enumerate() {
        for w in &p.warnings {
            eprintln!("warning: {w}");
        }
        let accs: Vec<String> = p
            .spec
            .resources
            .accelerators
            .iter()
            .map(|c| p.spec.resources.describe(c))
            .collect();
        println!(
            "would submit job '{}'{}: {}, {} node{}{}",
            p.spec.name,
            if i > 0 { " after the one before" } else { "" },
            if accs.is_empty() {
                "no accelerators".to_string()
            } else {
                accs.join(" or ")
            },
            p.spec.num_nodes,
            if p.spec.num_nodes == 1 { "" } else { "s" },
            if p.spec.resources.use_spot {
                ", spot only"
            } else {
                ""
            },
        );
    }
    println!("dry run: nothing sent; the server checks its pools at submit");
    Ok(())
}
