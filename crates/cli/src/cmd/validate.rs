//! `spillway validate`: check job specs offline: files, every `.yaml`/`.yml` under a
//! directory, or stdin.

use anyhow::Context;
use spillway_model::spec::{Dialect, ParsedSpec, SpecError, parse_specs};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Flags of `spillway validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    /// Spec files (YAML, Spillway or SkyPilot dialect), directories (every `.yaml` and `.yml`
    /// file under them), or `-` for stdin.
    #[arg(required = true)]
    specs: Vec<PathBuf>,
    /// Print one JSON object per file (`file`, `ok`, `summary`, `warnings`, `errors`), as a
    /// list, instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// The spec files `paths` name: files as given, directories walked for `.yaml` and `.yml`
/// files, in name order.
fn spec_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("failed to read the directory {}", dir.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("failed to read the directory {}", dir.display()))?;
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = out.len();
            walk(p, &mut out)?;
            if out.len() == before {
                anyhow::bail!("{} holds no .yaml or .yml file", p.display());
            }
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// What `validate --json` says of one file.
#[derive(Debug, serde::Serialize)]
struct FileReport {
    file: String,
    ok: bool,
    /// One line per task, as the text output says it.
    summary: Vec<String>,
    warnings: Vec<String>,
    errors: Vec<SpecError>,
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
    let names = spillway_server::accelerators::known_accelerators();
    let files = spec_files(&args.specs)?;
    let mut reports = Vec::new();
    for file in &files {
        let shown = file.display().to_string();
        let text = read_spec(file)?;
        let report = match parse_specs(&text, &names) {
            Ok(specs) => FileReport {
                file: shown,
                ok: true,
                summary: specs.iter().map(summary).collect(),
                warnings: warnings(&specs),
                errors: Vec::new(),
            },
            Err(e) => FileReport {
                file: shown,
                ok: false,
                summary: Vec::new(),
                warnings: Vec::new(),
                errors: e.0,
            },
        };
        if !args.json {
            print_text(&report, files.len() > 1);
        }
        reports.push(report);
    }
    let bad = reports.iter().filter(|r| !r.ok).count();
    if args.json {
        crate::output::emit(&format!("{}\n", serde_json::to_string_pretty(&reports)?))?;
        if bad > 0 {
            // The errors are in the JSON already; only the exit status says so.
            return Err(crate::output::Reported.into());
        }
        return Ok(());
    }
    match (bad, reports.len()) {
        (0, _) => Ok(()),
        (1, 1) => Err(anyhow::anyhow!(
            "{} is not a valid job spec:\n{}",
            reports[0].file,
            spillway_model::spec::SpecErrors(reports[0].errors.clone())
        )),
        (bad, n) => {
            if n > 1 {
                println!("{} of {n} files are valid", n - bad);
            }
            Err(anyhow::anyhow!(
                "{bad} of {n} files are not valid job specs"
            ))
        }
    }
}

fn warnings(specs: &[ParsedSpec]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, parsed) in specs.iter().enumerate() {
        for w in &parsed.warnings {
            if specs.len() > 1 {
                out.push(format!("tasks[{i}].{w}"));
            } else {
                out.push(w.to_string());
            }
        }
    }
    out
}

fn print_text(report: &FileReport, several: bool) {
    for w in &report.warnings {
        if several {
            eprintln!("warning: {}: {w}", report.file);
        } else {
            eprintln!("warning: {w}");
        }
    }
    if !report.ok {
        // A single file's errors are the command's error; several files each say theirs.
        if several {
            eprintln!(
                "error: {} is not a valid job spec:\n{}",
                report.file,
                spillway_model::spec::SpecErrors(report.errors.clone())
            );
        }
        return;
    }
    match report.summary.as_slice() {
        [one] => println!("ok: {} is a valid {one}", report.file),
        many => {
            println!(
                "ok: {} is a valid pipeline of {} tasks, each run after the one before:",
                report.file,
                many.len()
            );
            for (i, s) in many.iter().enumerate() {
                println!("  {}. {s}", i + 1);
            }
        }
    }
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
