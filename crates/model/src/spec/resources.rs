//! The `resources` section: accelerator alternatives in all the forms SkyPilot accepts.
//!
//! - `accelerators: H100:8` — one choice;
//! - `accelerators: [H100:8, A100:8]` — a list: ordered alternatives, first preferred;
//! - `accelerators: {H100: 8, A100: 8}` or `{H100:8, A100:8}` (a set) — any of them;
//! - `ordered: [{accelerators: H100:8}, ...]` and `any_of: [...]` — SkyPilot's explicit forms,
//!   each entry with its own `use_spot` and `infra`, over the section's `accelerators`;
//! - `gpus:` — another name for `accelerators`;
//! - `candidates: [...]` — SkyPilot's older spelling of `ordered` (from its benchmark feature);
//! - TPU slice names (`tpu-v5p-32`) wherever an accelerator is named ([`super::tpu`]).

use super::parse::{Walk, join, kind, show};
use super::tpu::{check_topology, parse_slice};
use super::types::{AcceleratorArgs, AcceleratorChoice, AlternativeFields, ChoiceOrder, Resources};
use serde_json::{Map, Value};

const RESOURCE_FIELDS: &[&str] = &[
    "accelerators",
    "gpus",
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
const ENTRY_FIELDS: &[&str] = &[
    "accelerators",
    "gpus",
    "use_spot",
    "cpus",
    "memory",
    "infra",
];

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
    "ephemeral_storage",
    "local_disk",
    "max_hourly_cost",
    "priority_class",
    "volumes",
];

/// What a resources section or one of its entries sets besides accelerators.
#[derive(Default)]
struct Fields {
    use_spot: Option<bool>,
    cpus: Option<String>,
    memory: Option<String>,
    infra: Option<String>,
}

/// `accelerators`, or its alias `gpus`, of a section or an entry at `path`.
fn accelerators_field<'v>(
    w: &mut Walk<'_>,
    path: &str,
    m: &'v Map<String, Value>,
) -> Option<(String, &'v Value)> {
    let acc = m.get("accelerators").filter(|v| !v.is_null());
    let gpus = m.get("gpus").filter(|v| !v.is_null());
    match (acc, gpus) {
        (Some(_), Some(_)) => {
            w.error(
                &join(path, "gpus"),
                "gpus is another name for accelerators: give one of them",
            );
            None
        }
        (Some(a), None) => Some((join(path, "accelerators"), a)),
        (None, Some(g)) => Some((join(path, "gpus"), g)),
        (None, None) => None,
    }
}

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
    let fields = scalars(w, "resources", m);
    res.use_spot = fields.use_spot.unwrap_or(false);
    res.cpus = fields.cpus;
    res.memory = fields.memory;
    res.infra = fields.infra;
    let priority = m
        .get("priority")
        .and_then(|p| w.integer("resources.priority", p, 0, 1000))
        .map(|p| p as u32);

    let lists: Vec<&str> = ["any_of", "ordered", "candidates"]
        .into_iter()
        .filter(|k| m.get(*k).is_some_and(|v| !v.is_null()))
        .collect();
    if lists.len() > 1 {
        w.error(
            "resources",
            format!(
                "set only one of {}: they are alternative ways to list accelerators",
                lists.join(", ")
            ),
        );
        return (res, priority);
    }
    // The section's accelerators: the job's choices, or, with `any_of`/`ordered`, what an
    // entry without its own uses (SkyPilot reads each entry over the section's fields).
    let top = accelerators_field(w, "resources", m).map(|(p, acc)| accelerators(w, &p, acc));
    match lists.first() {
        None => {
            if let Some((choices, order)) = top {
                res.accelerators = choices;
                res.order = order;
            }
        }
        Some(&key) => {
            res.order = if key == "any_of" {
                ChoiceOrder::AnyOf
            } else {
                ChoiceOrder::Ordered
            };
            let top = top.map(|(c, _)| c).unwrap_or_default();
            let list = &m[key];
            entries(w, &join("resources", key), list, &top, &mut res);
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

/// `use_spot`, `cpus`, `memory`, `infra` of a section or an entry at `path`.
fn scalars(w: &mut Walk<'_>, path: &str, m: &Map<String, Value>) -> Fields {
    let mut out = Fields::default();
    if let Some(v) = m.get("use_spot").filter(|v| !v.is_null()) {
        out.use_spot = w.boolean(&join(path, "use_spot"), v);
    }
    if let Some(v) = m.get("cpus").filter(|v| !v.is_null()) {
        let p = join(path, "cpus");
        if let Some(s) = w.string(&p, v) {
            let digits = s.strip_suffix('+').unwrap_or(&s);
            if positive(digits) {
                out.cpus = Some(s);
            } else {
                w.error(
                    &p,
                    format!("invalid amount '{s}': write a number such as 8 or 8+ (at least 8)"),
                );
            }
        }
    }
    if let Some(v) = m.get("memory").filter(|v| !v.is_null()) {
        let p = join(path, "memory");
        if let Some(s) = w.string(&p, v) {
            match memory_gib(&s) {
                Some(gib) => out.memory = Some(gib),
                None => w.error(
                    &p,
                    format!(
                        "invalid amount '{s}': write GiB such as 32, 32GB or 32+ (at least 32)"
                    ),
                ),
            }
        }
    }
    if let Some(v) = m.get("infra").filter(|v| !v.is_null()) {
        let p = join(path, "infra");
        if let Some(i) = w.string(&p, v) {
            match super::infra::check_infra(i.trim()) {
                Ok(()) => out.infra = Some(i.trim().to_string()),
                Err(e) => w.error(&p, e),
            }
        }
    }
    out
}

fn positive(digits: &str) -> bool {
    digits
        .trim()
        .parse::<f64>()
        .is_ok_and(|x| x.is_finite() && x > 0.0)
}

/// SkyPilot's memory in GiB (`32`, `32+`, `32GB`, `80GB+`, `1TB`), as Spillway keeps it:
/// the number of GiB with its `+` (`32`, `80+`). SkyPilot reads `GB` as GiB; so does this.
fn memory_gib(text: &str) -> Option<String> {
    let t = text.trim();
    let (t, plus) = match t.strip_suffix('+') {
        Some(rest) => (rest.trim_end(), "+"),
        None => (t, ""),
    };
    let lower = t.to_ascii_lowercase();
    let (digits, factor) = [
        ("tib", 1024.0),
        ("tb", 1024.0),
        ("gib", 1.0),
        ("gb", 1.0),
        ("g", 1.0),
    ]
    .iter()
    .find_map(|(unit, f)| lower.strip_suffix(unit).map(|d| (d.trim().to_string(), *f)))
    .unwrap_or((lower.clone(), 1.0));
    if !positive(&digits) {
        return None;
    }
    let gib = digits.parse::<f64>().ok()? * factor;
    Some(format!("{gib}{plus}"))
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

/// The same accelerator at the same count twice is a slip; at several counts (`{L4:1, L4:4}`)
/// it is a set of alternatives like any other.
fn dedup(w: &mut Walk<'_>, path: &str, choices: &[AcceleratorChoice]) {
    for (i, c) in choices.iter().enumerate() {
        if choices[..i].contains(c) {
            w.error(path, format!("{c} is listed twice: keep one"));
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
        Some(c) => match c.parse::<u32>() {
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
                w.error(path, format!("fractional count '{c}' of {name}: Spillway hands out whole accelerators and never shares one between jobs: ask for {name}:1"));
                return None;
            }
            Err(_) => {
                w.error(path, format!("count '{c}' of {name} is not a whole number"));
                return None;
            }
        },
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

/// `any_of:` / `ordered:` lists of resource entries. Each entry keeps its own `use_spot` and
/// `infra`; one without `accelerators` takes the section's (`top`).
fn entries(
    w: &mut Walk<'_>,
    path: &str,
    v: &Value,
    top: &[AcceleratorChoice],
    res: &mut Resources,
) {
    let Value::Array(items) = v else {
        w.error(
            path,
            format!("expected a list of resource entries, found {}", kind(v)),
        );
        return;
    };
    if items.is_empty() {
        w.error(path, "empty list: give at least one entry");
    }
    let mut choices = Vec::new();
    let mut alternatives = Vec::new();
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
        let fields = scalars(w, &p, m);
        res.cpus = res.cpus.take().or(fields.cpus);
        res.memory = res.memory.take().or(fields.memory);
        let own = AlternativeFields {
            use_spot: fields.use_spot,
            infra: fields.infra,
        };
        let these = match accelerators_field(w, &p, m) {
            Some((ap, acc)) => accelerators(w, &ap, acc).0,
            None if !top.is_empty() => top.to_vec(),
            None => {
                w.error(
                    &p,
                    "missing accelerators: give them here or in resources.accelerators",
                );
                Vec::new()
            }
        };
        for c in these {
            if choices
                .iter()
                .zip(&alternatives)
                .any(|(oc, oa)| *oc == c && *oa == own)
            {
                // Entries that differ only in fields Spillway ignores (`region`, `cloud`)
                // are one alternative here.
                continue;
            }
            choices.push(c);
            alternatives.push(own.clone());
        }
    }
    settle_alternatives(res, &mut alternatives);
    if alternatives
        .iter()
        .all(|a| *a == AlternativeFields::default())
    {
        alternatives.clear();
    }
    res.accelerators = choices;
    res.alternatives = alternatives;
}

/// Folds what every alternative sets alike into the section, so that only real differences
/// stay per alternative: those keep their own `use_spot` and `infra`, which the scheduler
/// applies to that alternative only (the section's `use_spot` is then false).
fn settle_alternatives(res: &mut Resources, alternatives: &mut [AlternativeFields]) {
    if alternatives.is_empty() {
        return;
    }
    let spots: Vec<bool> = alternatives
        .iter()
        .map(|a| a.use_spot.unwrap_or(res.use_spot))
        .collect();
    if spots.iter().all(|s| *s == spots[0]) {
        res.use_spot = spots[0];
        alternatives.iter_mut().for_each(|a| a.use_spot = None);
    } else {
        for (a, s) in alternatives.iter_mut().zip(spots) {
            a.use_spot = Some(s);
        }
        res.use_spot = false;
    }
    let infras: Vec<Option<String>> = alternatives
        .iter()
        .map(|a| a.infra.clone().or_else(|| res.infra.clone()))
        .collect();
    if infras.iter().all(|i| *i == infras[0]) {
        res.infra = infras[0].clone();
        alternatives.iter_mut().for_each(|a| a.infra = None);
    } else {
        // Kept per alternative; the scheduler restricts each alternative to its own.
        for (a, i) in alternatives.iter_mut().zip(infras) {
            a.infra = i;
        }
        res.infra = None;
    }
}
