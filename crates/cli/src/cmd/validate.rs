//! `spillway validate`: check a job spec offline.

use anyhow::Context;
use spillway_model::spec::{Dialect, parse_specs};
use std::io::Read;
use std::path::PathBuf;

/// Flags of `spillway validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// The spec file (YAML, Spillway or SkyPilot dialect), or `-` for stdin.
    spec: PathBuf,
}

/// Reads a spec file, or stdin for `-`.
pub(crate) fn read_spec(path: &PathBuf) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("failed to read the spec from stdin")?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))
    }
}

pub(crate) fn run(args: ValidateArgs) -> anyhow::Result<()> {
    let text = read_spec(&args.spec)?;
    let names = spillway_server::accelerators::known_accelerators();
    let specs = parse_specs(&text, &names)
        .map_err(|e| anyhow::anyhow!("{} is not a valid job spec:\n{e}", args.spec.display()))?;
    if specs.len() > 1 {
        println!(
            "ok: {} is a valid pipeline of {} tasks, each run after the one before:",
            args.spec.display(),
            specs.len()
        );
    }
    for (i, parsed) in specs.iter().enumerate() {
        for w in &parsed.warnings {
            if specs.len() > 1 {
                eprintln!("warning: tasks[{i}].{w}");
            } else {
                eprintln!("warning: {w}");
            }
        }
        let summary = summary(parsed);
        if specs.len() > 1 {
            println!("  {}. {summary}", i + 1);
        } else {
            println!("ok: {} is a valid {summary}", args.spec.display());
        }
    }
    Ok(())
}

/// `SkyPilot task: job 'x', H100:8 or ... (in order of preference), priority 500`, with what
/// must be given at submit.
fn summary(parsed: &spillway_model::spec::ParsedSpec) -> String {
    let spec = &parsed.spec;
    let dialect = match parsed.dialect {
        Dialect::Skypilot => "SkyPilot task",
        Dialect::Spillway => "Spillway job spec",
    };
    let accs: Vec<String> = spec
        .resources
        .accelerators
        .iter()
        .map(|c| spec.resources.describe(c))
        .collect();
    let accs = if accs.is_empty() {
        "no accelerators".to_string()
    } else {
        let how = match spec.resources.order {
            spillway_model::spec::ChoiceOrder::Ordered => " (in order of preference)",
            spillway_model::spec::ChoiceOrder::AnyOf => " (any of)",
        };
        format!("{}{how}", accs.join(" or "))
    };
    let mut out = format!(
        "{dialect}: job '{}', {accs}, priority {}",
        spec.name, spec.priority
    );
    let mut given: Vec<String> = spec
        .unset_envs
        .iter()
        .map(|n| format!("--env {n}=..."))
        .collect();
    given.extend(
        spec.secrets
            .iter()
            .filter(|n| !parsed.secret_values.0.contains_key(*n))
            .map(|n| format!("--secret {n}")),
    );
    if !given.is_empty() {
        out.push_str(&format!("; give at submit: {}", given.join(" ")));
    }
    out
}
