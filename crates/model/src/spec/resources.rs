//! The `resources` section: accelerator alternatives in all the forms SkyPilot accepts.
//!
//! - `accelerators: H100:8` — one choice;
//! - `accelerators: [H100:8, A100:8]` — a list: ordered alternatives, first preferred;
//! - `accelerators: {H100: 8, A100: 8}` or `{H100:8, A100:8}` (a set) — any of them;
//! - `ordered: [{accelerators: H100:8}, ...]` and `any_of: [...]` — SkyPilot's explicit forms;
//! - `candidates: [...]` — SkyPilot's older spelling of `ordered` (from its benchmark feature);
//! - TPU slice names (`tpu-v5p-32`) wherever an accelerator is named ([`super::tpu`]).

use super::parse::{Walk, join, kind, show};
use super::tpu::{check_topology, parse_slice};
use super::types::{AcceleratorArgs, AcceleratorChoice, ChoiceOrder, Resources};
use serde_json::{Map, Value};

const RESOURCE_FIELDS: &[&str] = &[
    "accelerators",
    "any_of",
    "ordered",
    "candidates",
    "use_spot",
    "cpus",
    "memory",
    "infra",
    "priority",
    "accelerator_args",
];

/// Fields allowed inside one entry of `any_of` / `ordered`.
const ENTRY_FIELDS: &[&str] = &["accelerators", "use_spot", "cpus", "memory", "infra"];

/// SkyPilot resource fields that Spillway accepts and ignores, with a warning.
const SKYPILOT_IGNORED: &[&str] = &[
    "cloud",
    "region",
    "zone",
    "instance_type",
    "disk_size",
    "disk_tier",
    "network_tier",
    "ports",
    "image_id",
    "labels",
    "job_recovery",
    "spot_recovery",
    "autostop",
];

/// Parses `resources`, returning them and `resources.priority` if given there.
pub(super) fn parse_resources(w: &mut Walk<'_>, v: Option<&Value>) -> (Resources, Option<u32>) {
    let Some(v) = v else {
        return (Resources::default(), None);
    };
    let Value::Object(m) = v else {
        w.error(
            "resources",
            format!("expected a mapping, found {}", kind(v)),
        );
        return (Resources::default(), None);
    };
    check_keys(w, "resources", m, RESOURCE_FIELDS);
    let mut res = Resources::default();
    scalars(w, "resources", m, &mut res);
    let priority = m
        .get("priority")
        .and_then(|p| w.integer("resources.priority", p, 0, 1000))
        .map(|p| p as u32);

    let forms: Vec<&str> = ["accelerators", "any_of", "ordered", "candidates"]
        .into_iter()
        .filter(|k| m.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    if forms.len() > 1 {
        w.error(
            "resources",
            format!(
                "set only one of {}: they are alternative ways to list accelerators",
                forms.join(", ")
            ),
        );
        return (res, priority);
    }
    if let Some(acc) = m.get("accelerators").filter(|v| !v.is_null()) {
        let (choices, order) = accelerators(w, "resources.accelerators", acc);
        res.accelerators = choices;
        res.order = order;
    }
    for (key, order) in [
        ("any_of", ChoiceOrder::AnyOf),
        ("ordered", ChoiceOrder::Ordered),
        ("candidates", ChoiceOrder::Ordered),
    ] {
        if let Some(list) = m.get(key).filter(|v| !v.is_null()) {
            res.order = order;
            res.accelerators = entries(w, &join("resources", key), list, &mut res);
            if key == "candidates" {
                w.warnings.push(super::SpecWarning {
                    path: "resources.candidates".into(),
                    message: "read as `ordered:` (first preferred): `candidates` is SkyPilot's older spelling of it".into(),
                });
            }
        }
    }
    res.tpu_slices = std::mem::take(&mut w.slices);
    if let Some(args) = m.get("accelerator_args").filter(|v| !v.is_null()) {
        res.accelerator_args = accelerator_args(w, args, &res);
    }
    (res, priority)
}

/// `accelerator_args`: kept for the executors; a topology must match the TPU choices' chips.
fn accelerator_args(w: &mut Walk<'_>, v: &Value, res: &Resources) -> Option<AcceleratorArgs> {
    const PATH: &str = "resources.accelerator_args";
    let Value::Object(m) = v else {
        w.error(PATH, format!("expected a mapping, found {}", kind(v)));
        return None;
    };
    let mut args = AcceleratorArgs::default();
    for (key, val) in m {
        let p = join(PATH, key);
        match key.as_str() {
            "runtime_version" => args.runtime_version = w.string(&p, val),
            "tpu_vm" => args.tpu_vm = w.boolean(&p, val),
            "topology" => args.topology = w.string(&p, val),
            _ => w.ignored(&p, "accelerator argument that Spillway does not use"),
        }
    }
    let tpus: Vec<&AcceleratorChoice> = res
        .accelerators
        .iter()
        .filter(|c| super::tpu::chips_named_by(&c.accelerator).is_some())
        .collect();
    if tpus.is_empty() {
        w.ignored(PATH, "accelerator_args apply to TPUs, and no TPU is named");
    }
    if let Some(topology) = &args.topology {
        for c in tpus {
            if let Err(e) = check_topology(topology, c.count) {
                w.error(
                    &join(PATH, "topology"),
                    format!("{e} ({})", res.describe(c)),
                );
            }
        }
    }
    Some(args)
}

fn check_keys(w: &mut Walk<'_>, path: &str, m: &Map<String, Value>, allowed: &[&str]) {
    for key in m.keys() {
        let p = join(path, key);
        if SKYPILOT_IGNORED.contains(&key.as_str()) {
            w.ignored(&p, "SkyPilot resource field that Spillway does not use");
        } else if !allowed.contains(&key.as_str()) {
            w.unknown_field(&p, key, allowed);
        }
    }
}

/// The clouds SkyPilot's `infra` names (`aws`, `gcp/us-central1`, `k8s/my-context`).
const SKYPILOT_CLOUDS: &[&str] = &[
    "aws",
    "azure",
    "cudo",
    "do",
    "fluidstack",
    "gcp",
    "hyperbolic",
    "ibm",
    "k8s",
    "kubernetes",
    "lambda",
    "nebius",
    "oci",
    "paperspace",
    "runpod",
    "scp",
    "ssh",
    "vast",
    "vsphere",
];

fn is_skypilot_cloud(infra: &str) -> bool {
    let cloud = infra.split('/').next().unwrap_or("").trim();
    SKYPILOT_CLOUDS
        .iter()
        .any(|c| c.eq_ignore_ascii_case(cloud))
}

/// `use_spot`, `cpus`, `memory`, `infra`.
fn scalars(w: &mut Walk<'_>, path: &str, m: &Map<String, Value>, res: &mut Resources) {
    if let Some(v) = m.get("use_spot").filter(|v| !v.is_null()) {
        res.use_spot = w.boolean(&join(path, "use_spot"), v).unwrap_or(false) || res.use_spot;
    }
    for key in ["cpus", "memory"] {
        if let Some(v) = m.get(key).filter(|v| !v.is_null()) {
            let p = join(path, key);
            if let Some(s) = w.string(&p, v) {
                let digits = s.strip_suffix('+').unwrap_or(&s);
                if digits
                    .parse::<f64>()
                    .map_or(true, |x| x.is_nan() || x <= 0.0)
                {
                    w.error(
                        &p,
                        format!(
                            "invalid amount '{s}': write a number such as 8 or 8+ (at least 8)"
                        ),
                    );
                } else if key == "cpus" {
                    res.cpus = Some(s);
                } else {
                    res.memory = Some(s);
                }
            }
        }
    }
    if let Some(v) = m.get("infra").filter(|v| !v.is_null()) {
        let p = join(path, "infra");
        match w.string(&p, v) {
            // SkyPilot's `infra: aws` (or `gcp/us-central1`) names a cloud, not one of
            // Spillway's pools or executors: kept, it would make the job unplaceable.
            Some(i) if is_skypilot_cloud(&i) => w.ignored(
                &p,
                "names a SkyPilot cloud; Spillway's infra names a pool or an executor kind",
            ),
            other => res.infra = other,
        }
    }
}

/// `accelerators:` in its string, list or map/set form.
fn accelerators(w: &mut Walk<'_>, path: &str, v: &Value) -> (Vec<AcceleratorChoice>, ChoiceOrder) {
    match v {
        Value::String(s) => (
            choice(w, path, s, None).into_iter().collect(),
            ChoiceOrder::Ordered,
        ),
        Value::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match item {
                    Value::String(s) => out.extend(choice(w, &p, s, None)),
                    Value::Object(m) if m.len() == 1 => {
                        let (k, c) = m.iter().next().expect("one entry");
                        out.extend(choice(w, &p, k, Some(c)));
                    }
                    other => w.error(
                        &p,
                        format!(
                            "expected an accelerator such as H100:8, found {}",
                            show(other)
                        ),
                    ),
                }
            }
            if items.is_empty() {
                w.error(path, "empty list: name at least one accelerator, or leave the field out for a CPU-only job");
            }
            dedup(w, path, &out);
            (out, ChoiceOrder::Ordered)
        }
        Value::Object(m) => {
            let mut out = Vec::new();
            for (k, c) in m {
                let p = join(path, k);
                let count = if c.is_null() { None } else { Some(c) };
                out.extend(choice(w, &p, k, count));
            }
            dedup(w, path, &out);
            (out, ChoiceOrder::AnyOf)
        }
        other => {
            w.error(
                path,
                format!(
                    "expected an accelerator such as H100:8, a list or a set of them, found {}",
                    kind(other)
                ),
            );
            (Vec::new(), ChoiceOrder::Ordered)
        }
    }
}

fn dedup(w: &mut Walk<'_>, path: &str, choices: &[AcceleratorChoice]) {
    for (i, c) in choices.iter().enumerate() {
        if choices[..i].iter().any(|o| o.accelerator == c.accelerator) {
            w.error(
                path,
                format!(
                    "{} is listed twice: keep one count per accelerator",
                    c.accelerator
                ),
            );
        }
    }
}

/// One `NAME[:COUNT]`, or a `NAME: COUNT` mapping entry (`count_value`).
fn choice(
    w: &mut Walk<'_>,
    path: &str,
    text: &str,
    count_value: Option<&Value>,
) -> Option<AcceleratorChoice> {
    let (name, count_text) = match text.split_once(':') {
        Some((n, c)) => (n.trim(), Some(c.trim().to_string())),
        None => (text.trim(), None),
    };
    let count_text = match (count_text, count_value) {
        (Some(_), Some(_)) => {
            w.error(
                path,
                format!("count given twice in '{text}': write H100:8 or H100: 8, not both"),
            );
            return None;
        }
        (Some(c), None) => Some(c),
        (None, Some(Value::Number(n))) => Some(n.to_string()),
        (None, Some(Value::String(s))) => Some(s.clone()),
        (None, Some(other)) => {
            w.error(
                path,
                format!("expected a count for {name}, found {}", show(other)),
            );
            return None;
        }
        (None, None) => None,
    };
    let count_given = count_text.is_some();
    let count = match count_text {
        None => 1,
        Some(c) => {
            match c.parse::<u32>() {
                Ok(0) => {
                    w.error(path, format!("count of {name} must be at least 1"));
                    return None;
                }
                Ok(n) => n,
                Err(_) if c.starts_with('-') => {
                    w.error(
                        path,
                        format!("count of {name} must be at least 1, found {c}"),
                    );
                    return None;
                }
                Err(_) if c.parse::<f64>().is_ok() => {
                    w.error(path, format!("fractional count '{c}' of {name}: Spillway hands out whole accelerators"));
                    return None;
                }
                Err(_) => {
                    w.error(path, format!("count '{c}' of {name} is not a whole number"));
                    return None;
                }
            }
        }
    };
    if name.is_empty() {
        w.error(path, "missing accelerator name before ':'");
        return None;
    }
    if let Some(canonical) = w.names.canonical(name) {
        return Some(AcceleratorChoice {
            accelerator: canonical.to_string(),
            count,
        });
    }
    match parse_slice(name) {
        Some(Ok(slice)) => slice_choice(w, path, slice, count, count_given),
        Some(Err(e)) => {
            w.error(path, e);
            None
        }
        None => {
            let msg = w.names.unknown_message(name);
            w.error(path, msg);
            None
        }
    }
}

/// A TPU slice name: one slice of that shape, as a gang of its chips.
fn slice_choice(
    w: &mut Walk<'_>,
    path: &str,
    slice: super::tpu::TpuSlice,
    count: u32,
    count_given: bool,
) -> Option<AcceleratorChoice> {
    let Some(generation) = w.names.canonical(slice.generation).map(str::to_string) else {
        let msg = w.names.unknown_message(slice.generation);
        w.error(path, format!("{}: {msg}", slice.name));
        return None;
    };
    if count_given && count != 1 {
        w.error(
            path,
            format!(
                "{} names a whole slice ({} chips): write it without a count, or ask for {generation}:N chips",
                slice.name, slice.chips
            ),
        );
        return None;
    }
    w.slices.insert(generation.clone(), slice.name);
    Some(AcceleratorChoice {
        accelerator: generation,
        count: slice.chips,
    })
}

/// `any_of:` / `ordered:` lists of resource entries, each with its own `accelerators`.
fn entries(w: &mut Walk<'_>, path: &str, v: &Value, res: &mut Resources) -> Vec<AcceleratorChoice> {
    let Value::Array(items) = v else {
        w.error(
            path,
            format!("expected a list of resource entries, found {}", kind(v)),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let Value::Object(m) = item else {
            w.error(
                &p,
                format!("expected a mapping with accelerators, found {}", kind(item)),
            );
            continue;
        };
        check_keys(w, &p, m, ENTRY_FIELDS);
        scalars(w, &p, m, res);
        match m.get("accelerators").filter(|v| !v.is_null()) {
            Some(acc) => out.extend(accelerators(w, &join(&p, "accelerators"), acc).0),
            None => w.error(&p, "missing accelerators"),
        }
    }
    dedup(w, path, &out);
    out
}
