//! The Alibaba GPU cluster pod list reader (cluster-trace-gpu-v2023, the `openb_pod_list_*`
//! files: `name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,
//! deletion_time,scheduled_time`, times in seconds from the start of the trace).
//!
//! Rules, chosen so that a pod becomes a job a whole-GPU, gang-scheduling simulator can place:
//! - Arrival: `creation_time` as it stands (the trace's own clock already starts at 0).
//! - Work: [`WorkAmount::Seconds`] of `deletion_time - scheduled_time`, the time the pod held its
//!   GPUs. A pod with no `deletion_time` was still running when the trace ended: it runs until
//!   the latest time stamp in the file (a censored duration, counted in
//!   [`AlibabaSummary::still_running`]).
//! - Pods never scheduled (no `scheduled_time`: all of them `Pending`) never ran, so their run
//!   time is unknown: they are left out and counted ([`AlibabaSummary::never_scheduled`]).
//! - CPU-only pods (`num_gpu` 0) are left out and counted ([`AlibabaSummary::cpu_only`]).
//! - Fractional GPUs (`gpu_milli` below 1000, a share of each GPU) are rounded up to whole GPUs:
//!   the scale factor is `num_gpu`, since a whole-GPU scheduler must give such a pod a GPU of
//!   its own. This overstates their demand; they are counted
//!   ([`AlibabaSummary::fractional_rounded_up`]).
//! - `gpu_spec` (empty, or GPU models separated by `|`) becomes the accelerator constraint:
//!   models lowercased as the node list names them (`V100M16` -> `v100m16`, `T4` -> `t4`,
//!   `G2` -> `g2`), duplicates removed, alternatives kept in file order joined by `|`.
//! - `qos`, `pod_phase` (failed pods ran too), `cpu_milli` and `memory_mib` are not used; every
//!   job gets priority weight 1.
//! - Jobs keep the pod name as id and are sorted by arrival, ties in file order.
//!
//! `openb_pod_list_multigpu50.csv` has no time columns at all: it is refused with a message that
//! says so, since without times there is neither an arrival nor a duration.

use super::rows::{self, BadLines, FieldError};
use super::{ReadOptions, Trace, TraceError};
use spillway_model::{JobRecord, WorkAmount};
use std::collections::HashSet;
use std::path::Path;

/// How the rules above sorted the pods of one file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlibabaSummary {
    /// Well-formed pod rows read.
    pub pods: usize,
    /// Pods that became jobs.
    pub jobs: usize,
    /// Pods without GPUs, left out.
    pub cpu_only: usize,
    /// GPU pods never scheduled (no `scheduled_time`), left out.
    pub never_scheduled: usize,
    /// Jobs whose fractional GPU share was rounded up to whole GPUs.
    pub fractional_rounded_up: usize,
    /// Jobs without a `deletion_time`, run until the end of the trace.
    pub still_running: usize,
    /// Jobs that carry a GPU-type constraint.
    pub constrained: usize,
}

impl std::fmt::Display for AlibabaSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} pods read, {} became jobs; left out: {} CPU-only, {} never scheduled; \
             {} fractional-GPU pods rounded up to whole GPUs, {} still running at the end of \
             the trace (run until its last time stamp), {} constrained to GPU models",
            self.pods,
            self.jobs,
            self.cpu_only,
            self.never_scheduled,
            self.fractional_rounded_up,
            self.still_running,
            self.constrained
        )
    }
}

/// The columns this reader needs, in the order of [`Columns`].
const REQUIRED: [&str; 6] = [
    "name",
    "num_gpu",
    "gpu_milli",
    "creation_time",
    "deletion_time",
    "scheduled_time",
];

struct Columns {
    name: usize,
    num_gpu: usize,
    gpu_milli: usize,
    creation_time: usize,
    deletion_time: usize,
    scheduled_time: usize,
    gpu_spec: Option<usize>,
}

/// One pod row, checked.
struct Pod {
    name: String,
    num_gpu: u32,
    gpu_milli: u64,
    created: u64,
    scheduled: Option<u64>,
    deleted: Option<u64>,
    gpu_spec: Option<String>,
}

/// Parses an Alibaba pod list.
pub fn parse(path: &Path, text: &str, options: &ReadOptions) -> Result<Trace, TraceError> {
    parse_with_summary(path, text, options).map(|(trace, _)| trace)
}

/// Parses an Alibaba pod list and says how many pods each rule left out or changed.
pub fn parse_with_summary(
    path: &Path,
    text: &str,
    options: &ReadOptions,
) -> Result<(Trace, AlibabaSummary), TraceError> {
    let mut bad = BadLines::new(path, options);
    let mut records = rows::records(text);
    let Some((header_line, header)) = rows::header(&mut records) else {
        return Err(bad.error(1, FieldError::new("header", "the pod list has no header")));
    };
    let columns = find_columns(&header).map_err(|error| bad.error(header_line, error))?;

    let mut pods = Vec::new();
    let mut names = HashSet::new();
    for (line, record) in records {
        let pod = record
            .and_then(|record| {
                rows::check_field_count(&record, &header)?;
                parse_pod(&record, &columns)
            })
            .and_then(|pod| {
                if names.insert(pod.name.clone()) {
                    Ok(pod)
                } else {
                    Err(FieldError::new(
                        "name",
                        format!("pod `{}` appears twice", pod.name),
                    ))
                }
            });
        match pod {
            Ok(pod) => pods.push(pod),
            Err(error) => bad.reject(line, error)?,
        }
    }

    // Pods still running at the end of the trace run until its last recorded moment.
    let trace_end = pods
        .iter()
        .flat_map(|pod| [Some(pod.created), pod.scheduled, pod.deleted])
        .flatten()
        .max()
        .unwrap_or(0);
    let mut summary = AlibabaSummary {
        pods: pods.len(),
        ..AlibabaSummary::default()
    };
    let mut jobs = Vec::new();
    for pod in pods {
        if pod.num_gpu == 0 {
            summary.cpu_only += 1;
            continue;
        }
        let Some(scheduled) = pod.scheduled else {
            summary.never_scheduled += 1;
            continue;
        };
        if pod.deleted.is_none() {
            summary.still_running += 1;
        }
        if pod.gpu_milli < 1000 {
            summary.fractional_rounded_up += 1;
        }
        if pod.gpu_spec.is_some() {
            summary.constrained += 1;
        }
        let end = pod.deleted.unwrap_or(trace_end).max(scheduled);
        jobs.push(JobRecord {
            id: pod.name,
            job_type: None,
            work: WorkAmount::Seconds((end - scheduled) as f64),
            scale_factor: pod.num_gpu,
            priority_weight: 1.0,
            arrival_time_s: pod.created as f64,
            deadline_s: None,
            slo_factor: None,
            accelerator_constraint: pod.gpu_spec,
        });
    }
    // A stable sort keeps file order among pods created in the same second.
    jobs.sort_by(|a, b| a.arrival_time_s.total_cmp(&b.arrival_time_s));
    summary.jobs = jobs.len();
    Ok((
        Trace {
            jobs,
            skipped: bad.into_skipped(),
            alibaba: Some(summary),
        },
        summary,
    ))
}

fn find_columns(header: &[String]) -> Result<Columns, FieldError> {
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|name| rows::column(header, name).is_none())
        .collect();
    if let Some(first) = missing.first() {
        let hint = if missing.iter().any(|name| name.ends_with("_time")) {
            " (without creation, scheduling and deletion times a pod has neither an arrival \
             nor a duration; openb_pod_list_multigpu50.csv has none: use \
             openb_pod_list_default.csv or openb_pod_list_gpuspec33.csv)"
        } else {
            ""
        };
        return Err(FieldError::new(
            first,
            format!(
                "the pod list has no column {}{hint}",
                missing
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let at = |name: &str| rows::column(header, name).unwrap_or_default();
    Ok(Columns {
        name: at("name"),
        num_gpu: at("num_gpu"),
        gpu_milli: at("gpu_milli"),
        creation_time: at("creation_time"),
        deletion_time: at("deletion_time"),
        scheduled_time: at("scheduled_time"),
        gpu_spec: rows::column(header, "gpu_spec"),
    })
}

fn parse_pod(record: &::csv::StringRecord, columns: &Columns) -> Result<Pod, FieldError> {
    let name = record[columns.name].to_string();
    if name.is_empty() {
        return Err(FieldError::new("name", "the pod has no name"));
    }
    let num_gpu = u32::try_from(rows::parse_u64("num_gpu", &record[columns.num_gpu])?)
        .map_err(|_| FieldError::new("num_gpu", "more GPUs than any node holds"))?;
    let gpu_milli = rows::parse_u64("gpu_milli", &record[columns.gpu_milli])?;
    if num_gpu > 0 && !(1..=1000).contains(&gpu_milli) {
        return Err(FieldError::new(
            "gpu_milli",
            format!(
                "`{gpu_milli}` is not a share of a GPU in thousandths (1 to 1000) for a pod \
                 with {num_gpu} GPU(s)"
            ),
        ));
    }
    let created = rows::parse_u64("creation_time", &record[columns.creation_time])?;
    rows::check_seconds("creation_time", created as f64)?;
    let optional_time = |field: &str, index: usize| -> Result<Option<u64>, FieldError> {
        let raw = &record[index];
        if raw.is_empty() {
            Ok(None)
        } else {
            rows::parse_u64(field, raw).map(Some)
        }
    };
    let scheduled = optional_time("scheduled_time", columns.scheduled_time)?;
    let deleted = optional_time("deletion_time", columns.deletion_time)?;
    if let Some(scheduled) = scheduled {
        if scheduled < created {
            return Err(FieldError::new(
                "scheduled_time",
                format!("the pod is scheduled at {scheduled}, before it is created at {created}"),
            ));
        }
        if let Some(deleted) = deleted {
            if deleted <= scheduled {
                return Err(FieldError::new(
                    "deletion_time",
                    format!(
                        "the pod is deleted at {deleted}, not after it is scheduled at \
                         {scheduled}: its duration would not be positive"
                    ),
                ));
            }
        }
    }
    let gpu_spec = match columns.gpu_spec {
        Some(index) => parse_gpu_spec(&record[index])?,
        None => None,
    };
    Ok(Pod {
        name,
        num_gpu,
        gpu_milli,
        created,
        scheduled,
        deleted,
        gpu_spec,
    })
}

/// Turns `V100M16|V100M32|V100M32` into `v100m16|v100m32`; empty means no constraint.
pub(crate) fn parse_gpu_spec(raw: &str) -> Result<Option<String>, FieldError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let mut models: Vec<String> = Vec::new();
    for model in raw.split('|') {
        let model = model.trim();
        if model.is_empty() || !model.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(FieldError::new(
                "gpu_spec",
                format!("`{raw}` is not a list of GPU models separated by `|` (e.g. `V100M16|T4`)"),
            ));
        }
        let model = model.to_ascii_lowercase();
        if !models.contains(&model) {
            models.push(model);
        }
    }
    Ok(Some(models.join("|")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,\
                          creation_time,deletion_time,scheduled_time\n";

    fn read(body: &str, skip: bool) -> Result<(Trace, AlibabaSummary), TraceError> {
        parse_with_summary(
            Path::new("pods.csv"),
            &format!("{HEADER}{body}"),
            &ReadOptions {
                skip_bad_lines: skip,
            },
        )
    }

    #[test]
    fn rules_apply_to_each_kind_of_pod() {
        let (trace, summary) = read(
            "p0,12000,16384,1,1000,,LS,Running,10,110,20\n\
             p1,6000,12288,1,460,T4|t4,LS,Running,5,,5\n\
             p2,6000,12288,0,0,,BE,Running,1,50,1\n\
             p3,6000,12288,8,1000,V100M16|V100M32,LS,Pending,2,60,\n\
             p4,6000,12288,2,1000,P100,LS,Failed,3,40,30\n",
            false,
        )
        .unwrap();
        let jobs: Vec<_> = trace
            .jobs
            .iter()
            .map(|job| {
                (
                    job.id.as_str(),
                    job.arrival_time_s,
                    job.work,
                    job.scale_factor,
                    job.accelerator_constraint.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            jobs,
            vec![
                ("p4", 3.0, WorkAmount::Seconds(10.0), 2, Some("p100")),
                // Still running: until the last time stamp of the file, 110.
                ("p1", 5.0, WorkAmount::Seconds(105.0), 1, Some("t4")),
                ("p0", 10.0, WorkAmount::Seconds(90.0), 1, None),
            ]
        );
        assert_eq!(
            summary,
            AlibabaSummary {
                pods: 5,
                jobs: 3,
                cpu_only: 1,
                never_scheduled: 1,
                fractional_rounded_up: 1,
                still_running: 1,
                constrained: 2,
            }
        );
    }

    #[test]
    fn gpu_specs_are_lowercased_and_deduplicated() {
        assert_eq!(
            parse_gpu_spec("V100M16|V100M32|V100M32"),
            Ok(Some("v100m16|v100m32".to_string()))
        );
        assert_eq!(parse_gpu_spec(""), Ok(None));
        assert!(parse_gpu_spec("T4||A10").is_err());
    }

    #[test]
    fn bad_rows_name_the_field() {
        let error = read("p0,1,1,1,1000,,LS,Running,10,5,20\n", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "pods.csv:2: field `deletion_time`: the pod is deleted at 5, not after it is \
             scheduled at 20: its duration would not be positive"
        );
        let error = read("p0,1,1,1,1500,,LS,Running,10,50,20\n", false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "pods.csv:2: field `gpu_milli`: `1500` is not a share of a GPU in thousandths \
             (1 to 1000) for a pod with 1 GPU(s)"
        );
        let (trace, _) = read(
            "p0,1,1,1,1000,,LS,Running,10,50,20\np0,1,1,1,1000,,LS,Running,10,50,20\n",
            true,
        )
        .unwrap();
        assert_eq!(
            trace.skipped[0].reason,
            "field `name`: pod `p0` appears twice"
        );
    }

    #[test]
    fn a_pod_list_without_times_is_refused() {
        let error = parse(
            Path::new("multigpu50.csv"),
            "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1,1,1,1000\n",
            &ReadOptions::default(),
        )
        .unwrap_err();
        assert!(
            error.to_string().starts_with(
                "multigpu50.csv:1: field `creation_time`: the pod list has no column \
                 `creation_time`, `deletion_time`, `scheduled_time` (without creation"
            ),
            "{error}"
        );
    }
}
