//! `spillway validate`: check a job spec offline.

use anyhow::Context;
use spillway_model::spec::{Dialect, parse_spec};
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
    let parsed = parse_spec(&text, &names)
        .map_err(|e| anyhow::anyhow!("{} is not a valid job spec:\n{e}", args.spec.display()))?;
    for w in &parsed.warnings {
        eprintln!("warning: {w}");
    }
    let spec = &parsed.spec;
    let dialect = match parsed.dialect {
        Dialect::Skypilot => "SkyPilot task",
        Dialect::Spillway => "Spillway job spec",
    };
    let accs: Vec<String> = spec
        .resources
        .accelerators
        .iter()
        .map(ToString::to_string)
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
    println!(
        "ok: {} is a valid {dialect}: job '{}', {accs}, priority {}",
        args.spec.display(),
        spec.name,
        spec.priority
    );
    Ok(())
}
