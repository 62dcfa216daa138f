//! Parse a spec document and walk it field by field, collecting every error with its path.

use super::names::AcceleratorNames;
use super::resources::parse_resources;
use super::types::{
    Checkpoint, Deadline, Dialect, GitWorkdir, JobSpec, ParsedSpec, SecretValues, WorkEstimate,
};
use super::{SpecError, SpecErrors, SpecWarning, parse_duration};
use crate::Usd;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Top-level fields shared by both dialects.
const COMMON_FIELDS: &[&str] = &[
    "name",
    "workdir",
    "num_nodes",
    "envs",
    "secrets",
    "setup",
    "run",
    "resources",
];
/// Top-level fields only Spillway's dialect has.
const SPILLWAY_FIELDS: &[&str] = &[
    "tenant",
    "priority",
    "work",
    "deadline",
    "budget",
    "checkpoint",
    "max_restarts",
];
/// SkyPilot task fields that Spillway accepts and ignores, with a warning.
const SKYPILOT_IGNORED: &[&str] = &[
    "file_mounts",
    "volumes",
    "service",
    "config",
    "event_callback",
    "inputs",
    "outputs",
    "experimental",
    "storage_mounts",
    "volume_mounts",
    "managed_secrets",
    "file_mounts_mapping",
    "api_server_access",
    "priority_class",
    "pool",
];

/// Environment variables the executor sets itself; a spec may not override them.
pub(super) const RESERVED_ENVS: &[&str] = &[
    "SPILLWAY_JOB_ID",
    "CUDA_VISIBLE_DEVICES",
    "TPU_VISIBLE_CHIPS",
    "NEURON_RT_VISIBLE_CORES",
];

/// Walk state: what was found wrong so far, and what was ignored.
pub(super) struct Walk<'a> {
    pub(super) names: &'a AcceleratorNames,
    pub(super) errors: Vec<SpecError>,
    pub(super) warnings: Vec<SpecWarning>,
    /// TPU slices named so far, by the accelerator they became.
    pub(super) slices: BTreeMap<String, String>,
    /// Secret values written in the document.
    pub(super) secret_values: SecretValues,
}

impl Walk<'_> {
    pub(super) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(SpecError {
            path: path.to_string(),
            message: message.into(),
        });
    }

    pub(super) fn ignored(&mut self, path: &str, what: &str) {
        self.warnings.push(SpecWarning {
            path: path.to_string(),
            message: format!("ignored: {what}"),
        });
    }

    /// Reports an unknown key, suggesting the closest allowed one.
    pub(super) fn unknown_field(&mut self, path: &str, key: &str, allowed: &[&str]) {
        let close = allowed
            .iter()
            .map(|a| (strsim::levenshtein(key, a), *a))
            .filter(|(d, _)| *d <= 2)
            .min();
        let message = match close {
            Some((_, a)) => format!("unknown field '{key}': did you mean '{a}'?"),
            None => format!(
                "unknown field '{key}': expected one of {}",
                allowed.join(", ")
            ),
        };
        self.error(path, message);
    }

    /// A string field: strings as they are, numbers and booleans in their YAML spelling.
    pub(super) fn string(&mut self, path: &str, v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                self.error(path, format!("expected a string, found {}", kind(other)));
                None
            }
        }
    }

    /// A whole number within `lo..=hi`.
    pub(super) fn integer(&mut self, path: &str, v: &Value, lo: u64, hi: u64) -> Option<u64> {
        let n = match v {
            Value::Number(n) => n.as_u64().or_else(|| {
                if n.as_i64().is_some() {
                    Some(u64::MAX)
                } else {
                    None
                }
            }),
            Value::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (lo..=hi).contains(&n) => Some(n),
            _ => {
                self.error(
                    path,
                    format!(
                        "expected a whole number from {lo} to {hi}, found {}",
                        show(v)
                    ),
                );
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, path: &str, v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.error(
                    path,
                    format!("expected true or false, found {}", show(other)),
                );
                None
            }
        }
    }
}

/// The YAML kind of a value, for messages.
pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A short rendering of a value, for messages.
pub(super) fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        Value::Array(_) | Value::Object(_) | Value::Null => kind(v).to_string(),
        other => other.to_string(),
    }
}

/// Joins a path and a key.
pub(super) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Parses a spec from YAML (JSON is YAML too) and validates it.
///
/// A file of several documents (a SkyPilot pipeline) is refused here with a pointer to
/// [`parse_specs`], which reads it as several jobs.
pub fn parse_spec(text: &str, names: &AcceleratorNames) -> Result<ParsedSpec, SpecErrors> {
    let mut specs = parse_specs(text, names)?;
    if specs.len() > 1 {
        return Err(SpecErrors(vec![SpecError {
            path: String::new(),
            message: format!(
                "this file holds a pipeline of {} tasks: submit it as a file (`spillway submit FILE`), which makes one job per task, each after the one before",
                specs.len()
            ),
        }]));
    }
    Ok(specs.remove(0))
}

/// The task documents of a file, in order, as generic trees: one for a single document; for
/// several, the pipeline's tasks without its header. A job group is refused (see
/// [`parse_specs`]).
pub fn task_documents(text: &str) -> Result<Vec<Value>, SpecErrors> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| {
        SpecErrors(vec![SpecError {
            path: String::new(),
            message: format!("invalid YAML: {e}"),
        }])
    })?;
    let mut docs: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    if docs.len() <= 1 {
        return Ok(vec![docs.pop().unwrap_or(Value::Null)]);
    }
    if let Value::Object(header) = &docs[0] {
        if !header.contains_key("run") {
            let group: Vec<&str> = header
                .iter()
                .filter(|(k, v)| {
                    *k != "name" && !(*k == "execution" && v.as_str() == Some("serial"))
                })
                .map(|(k, _)| k.as_str())
                .collect();
            if !group.is_empty() {
                return Err(SpecErrors(vec![SpecError {
                    path: group.join(", "),
                    message: "this file is a job group (tasks that run at the same time): Spillway does not run job groups; submit the tasks as separate jobs, or as one job with num_nodes for a gang".into(),
                }]));
            }
            docs.remove(0);
        }
    }
    Ok(docs)
}

/// Parses a file of one or more YAML documents into the jobs it describes, in order.
///
/// One document is one job. Several make a SkyPilot pipeline: an optional first document
/// holding only the pipeline's `name`, then one task per document, each to start when the one
/// before has succeeded (the caller links them). A header asking for tasks to run at once (a
/// job group: `execution: parallel`, or any other header field) is refused: Spillway runs a
/// gang as one job with `num_nodes`, not as a group of jobs.
pub fn parse_specs(text: &str, names: &AcceleratorNames) -> Result<Vec<ParsedSpec>, SpecErrors> {
    let docs = task_documents(text)?;
    if docs.len() == 1 {
        return parse_spec_value(&docs[0], names).map(|p| vec![p]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        match parse_spec_value(doc, names) {
            Ok(p) => out.push(p),
            Err(SpecErrors(es)) => errors.extend(es.into_iter().map(|e| SpecError {
                path: if e.path.is_empty() {
                    format!("tasks[{i}]")
                } else {
                    format!("tasks[{i}].{}", e.path)
                },
                message: e.message,
            })),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(SpecErrors(errors))
    }
}

/// Validates a spec already parsed into a generic tree (as sent in a JSON API body).
pub fn parse_spec_value(value: &Value, names: &AcceleratorNames) -> Result<ParsedSpec, SpecErrors> {
    let mut w = Walk {
        names,
        errors: Vec::new(),
        warnings: Vec::new(),
        slices: BTreeMap::new(),
        secret_values: SecretValues::default(),
    };
    let Value::Object(doc) = value else {
        return Err(SpecErrors(vec![SpecError {
            path: String::new(),
            message: format!(
                "a job spec must be a mapping with at least `run:`, found {}",
                kind(value)
            ),
        }]));
    };
    let spec = walk_document(&mut w, doc);
    super::limits::check(&mut w, &spec);
    if !w.errors.is_empty() {
        return Err(SpecErrors(w.errors));
    }
    let dialect = if doc.keys().any(|k| SPILLWAY_FIELDS.contains(&k.as_str())) {
        Dialect::Spillway
    } else {
        Dialect::Skypilot
    };
    Ok(ParsedSpec {
        spec,
        dialect,
        warnings: w.warnings,
        secret_values: w.secret_values,
    })
}

fn walk_document(w: &mut Walk<'_>, doc: &Map<String, Value>) -> JobSpec {
    let allowed: Vec<&str> = COMMON_FIELDS
        .iter()
        .chain(SPILLWAY_FIELDS)
        .copied()
        .collect();
    for key in doc.keys() {
        if SKYPILOT_IGNORED.contains(&key.as_str()) {
            w.ignored(key, "SkyPilot field that Spillway does not use");
        } else if !allowed.contains(&key.as_str()) {
            w.unknown_field(key, key, &allowed);
        }
    }
    let get = |k: &str| doc.get(k).filter(|v| !v.is_null());

    let name = match get("name").and_then(|v| w.string("name", v)) {
        Some(n) => {
            let ok = !n.is_empty()
                && n.len() <= 63
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !ok {
                w.error(
                    "name",
                    format!("invalid name '{n}': use 1 to 63 letters, digits, '.', '_' or '-'"),
                );
            }
            n
        }
        None => super::types::DEFAULT_JOB_NAME.to_string(),
    };
    let run = match doc.get("run") {
        None | Some(Value::Null) => {
            w.error(
                "run",
                "missing: a job needs the commands to run, e.g. `run: python train.py`",
            );
            String::new()
        }
        Some(v) => match w.string("run", v) {
            Some(s) if s.trim().is_empty() => {
                w.error("run", "empty: give the commands to run");
                s
            }
            Some(s) => s,
            None => String::new(),
        },
    };
    let setup = get("setup").and_then(|v| w.string("setup", v));
    let (workdir, workdir_git) = get("workdir").map_or((None, None), |v| walk_workdir(w, v));
    let tenant = get("tenant").and_then(|v| w.string("tenant", v));
    let (envs, unset_envs) = get("envs")
        .map(|v| walk_envs(w, "envs", v))
        .unwrap_or_default();
    let (secret_values, secrets) = get("secrets")
        .map(|v| walk_envs(w, "secrets", v))
        .unwrap_or_default();
    let mut secrets: Vec<String> = secrets;
    secrets.extend(secret_values.keys().cloned());
    secrets.sort();
    for name in &secrets {
        if envs.contains_key(name) || unset_envs.contains(name) {
            w.error(
                &format!("secrets.{name}"),
                format!("{name} is both in envs and in secrets: keep it in secrets only"),
            );
        }
    }
    w.secret_values = SecretValues(secret_values);
    let num_nodes = get("num_nodes")
        .and_then(|v| w.integer("num_nodes", v, 1, 4096))
        .unwrap_or(1) as u32;
    if num_nodes > 1 {
        w.warnings.push(SpecWarning {
            path: "num_nodes".into(),
            message: format!(
                "{num_nodes} nodes at once (a gang) need a pool with nodes: a Slurm or Ray pool declared with nodes >= {num_nodes}, each node with the accelerators asked for (resources.accelerators is per node); a server without one refuses it at submit, naming its pools"
            ),
        });
    }
    let (resources, resource_priority) = parse_resources(w, get("resources"));
    let priority = match (get("priority"), resource_priority) {
        (Some(_), Some(_)) => {
            w.error(
                "priority",
                "given twice (here and in resources.priority): keep one",
            );
            500
        }
        (Some(v), None) => w.integer("priority", v, 0, 1000).unwrap_or(500) as u32,
        (None, Some(p)) => p,
        (None, None) => 500,
    };
    let work = get("work").and_then(|v| walk_work(w, v));
    let deadline = get("deadline").and_then(|v| walk_deadline(w, v));
    let budget = get("budget").and_then(|v| walk_budget(w, v));
    let checkpoint = get("checkpoint").and_then(|v| walk_checkpoint(w, v));
    let max_restarts = get("max_restarts")
        .and_then(|v| w.integer("max_restarts", v, 0, 100))
        .unwrap_or(0) as u32;

    JobSpec {
        name,
        tenant,
        setup,
        run,
        workdir,
        workdir_git,
        envs,
        unset_envs,
        secrets,
        resources,
        num_nodes,
        priority,
        work,
        deadline,
        budget,
        checkpoint,
        max_restarts,
        after: None,
    }
}

/// `envs` or `secrets` (`field`): the variables with a value, and the names written without
/// one (`HF_TOKEN: null`, or a bare `HF_TOKEN:`), which are given at submit.
fn walk_envs(w: &mut Walk<'_>, field: &str, v: &Value) -> (BTreeMap<String, String>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut unset = Vec::new();
    let Value::Object(map) = v else {
        w.error(
            field,
            format!("expected a mapping of NAME: value, found {}", kind(v)),
        );
        return (out, unset);
    };
    for (k, val) in map {
        let path = format!("{field}.{k}");
        if let Err(e) = check_env_name(k) {
            w.error(&path, e);
            continue;
        }
        if val.is_null() {
            unset.push(k.clone());
            continue;
        }
        if let Some(s) = w.string(&path, val) {
            out.insert(k.clone(), s);
        }
    }
    (out, unset)
}

/// An environment variable name a job may set: a shell name, not one Spillway sets itself.
pub(super) fn check_env_name(k: &str) -> Result<(), String> {
    let valid = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "invalid variable name '{k}': use letters, digits and '_', not starting with a digit"
        ));
    }
    if RESERVED_ENVS.contains(&k) {
        return Err(format!(
            "{k} is set by Spillway for each job and cannot be overridden"
        ));
    }
    Ok(())
}

/// `workdir`: a directory on the machine that runs the job. A relative or `~` path is valid
/// and said back as what it will be. SkyPilot's git form (`{url, ref}`) is a checkout that the
/// executor makes in the job's fresh directory before `setup`: it goes to `git`.
fn walk_workdir(w: &mut Walk<'_>, v: &Value) -> (Option<String>, Option<GitWorkdir>) {
    if let Value::Object(m) = v {
        for k in m.keys() {
            if k != "url" && k != "ref" {
                w.error(
                    &format!("workdir.{k}"),
                    "unknown field: a git workdir has url and ref",
                );
            }
        }
        let url = match m.get("url") {
            Some(u) => w.string("workdir.url", u),
            None => {
                w.error(
                    "workdir.url",
                    "missing: a git workdir needs the repository's url",
                );
                None
            }
        };
        let git_ref = m.get("ref").and_then(|r| w.string("workdir.ref", r));
        let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
            return (None, None);
        };
        for (field, text) in [
            ("workdir.url", Some(&url)),
            ("workdir.ref", git_ref.as_ref()),
        ] {
            if text.is_some_and(|t| t.starts_with('-')) {
                w.error(
                    field,
                    "must not start with '-' (git would read it as an option)",
                );
                return (None, None);
            }
        }
        w.warnings.push(SpecWarning {
            path: "workdir".into(),
            message: format!(
                "a git checkout of {url}{} is made in the job's own fresh directory before setup, on the machine that runs the job (git must be installed there and reach the repository): on a local pool once in jobs/<id>/work (a restarted job keeps its checkout), on Slurm and Ray on each node under $TMPDIR, removed when the attempt ends",
                git_ref.as_deref().map(|r| format!(" at {r}")).unwrap_or_default()
            ),
        });
        return (None, Some(GitWorkdir { url, git_ref }));
    }
    (walk_dir(w, v), None)
}

fn walk_dir(w: &mut Walk<'_>, v: &Value) -> Option<String> {
    let dir = w.string("workdir", v)?;
    if dir.trim().is_empty() {
        w.error("workdir", "empty: give a directory, or leave the field out");
        return None;
    }
    if dir == "~" || dir.starts_with("~/") {
        w.warnings.push(SpecWarning {
            path: "workdir".into(),
            message: format!(
                "{dir} is read on the machine that runs the job: ~ is the home directory of the user the executor runs jobs as there, and the directory must exist there (SkyPilot would upload it from your machine; Spillway does not)"
            ),
        });
    } else if !dir.starts_with('/') {
        w.warnings.push(SpecWarning {
            path: "workdir".into(),
            message: format!(
                "{dir} is relative to the working directory of the Spillway server, on the machine that runs the job, and must exist there (SkyPilot would upload it from your machine; Spillway does not)"
            ),
        });
    }
    Some(dir)
}

/// A job's `workdir` as a path on the machine that runs it: `~` is `home`, a relative path
/// stays relative (to the process's working directory).
pub fn expand_workdir(dir: &str, home: Option<&std::path::Path>) -> std::path::PathBuf {
    match (dir.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => std::path::PathBuf::from(dir),
    }
}

fn walk_work(w: &mut Walk<'_>, v: &Value) -> Option<WorkEstimate> {
    match v {
        Value::String(s) => match parse_duration(s) {
            Ok(0) => {
                w.error("work", "must be more than zero");
                None
            }
            Ok(secs) => Some(WorkEstimate::Seconds(secs)),
            Err(e) => {
                w.error("work", e);
                None
            }
        },
        Value::Object(m) => {
            for k in m.keys() {
                if k != "steps" {
                    w.unknown_field(&join("work", k), k, &["steps"]);
                }
            }
            let steps = m.get("steps")?;
            w.integer("work.steps", steps, 1, u64::MAX)
                .map(WorkEstimate::Steps)
        }
        other => {
            w.error(
                "work",
                format!(
                    "expected a duration such as 6h, or {{steps: N}}, found {}",
                    show(other)
                ),
            );
            None
        }
    }
}

fn walk_deadline(w: &mut Walk<'_>, v: &Value) -> Option<Deadline> {
    let s = w.string("deadline", v)?;
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(Deadline::AtUnixMs(ts.as_millisecond()));
    }
    match parse_duration(&s) {
        Ok(secs) if secs > 0 => Some(Deadline::AfterSecs(secs)),
        _ => {
            w.error(
                "deadline",
                format!("invalid deadline '{s}': give a time such as 2026-12-01T00:00:00Z or a duration after submission such as 24h"),
            );
            None
        }
    }
}

fn walk_budget(w: &mut Walk<'_>, v: &Value) -> Option<Usd> {
    let amount = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s
            .trim()
            .trim_start_matches('$')
            .replace(',', "")
            .parse::<f64>()
            .ok(),
        _ => None,
    };
    match amount {
        Some(a) if a.is_finite() && a > 0.0 => Some(Usd(a)),
        _ => {
            w.error(
                "budget",
                format!(
                    "expected a positive amount of US dollars such as 250 or \"$250\", found {}",
                    show(v)
                ),
            );
            None
        }
    }
}

fn walk_checkpoint(w: &mut Walk<'_>, v: &Value) -> Option<Checkpoint> {
    let Value::Object(m) = v else {
        w.error(
            "checkpoint",
            format!(
                "expected a mapping with interval and resume, found {}",
                kind(v)
            ),
        );
        return None;
    };
    for k in m.keys() {
        if k != "interval" && k != "resume" {
            w.unknown_field(&join("checkpoint", k), k, &["interval", "resume"]);
        }
    }
    let interval_secs = m.get("interval").and_then(|iv| {
        let s = w.string("checkpoint.interval", iv)?;
        match parse_duration(&s) {
            Ok(secs) => Some(secs),
            Err(e) => {
                w.error("checkpoint.interval", e);
                None
            }
        }
    });
    let resume = m
        .get("resume")
        .and_then(|r| w.string("checkpoint.resume", r));
    Some(Checkpoint {
        interval_secs,
        resume,
    })
}
