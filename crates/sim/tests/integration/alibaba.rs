//! The Alibaba GPU pod lists, under the documented rules.

use crate::data;
use spillway_model::WorkAmount;
use spillway_sim::trace::alibaba::{AlibabaSummary, parse_with_summary};
use spillway_sim::trace::{ReadOptions, TraceFormat, read_trace};
use std::collections::BTreeMap;

fn read(name: &str) -> (spillway_sim::trace::Trace, AlibabaSummary) {
    let path = data(&format!("alibaba-gpu-v2023/{name}"));
    let text = std::fs::read_to_string(&path).unwrap();
    parse_with_summary(&path, &text, &ReadOptions::default()).unwrap()
}

fn gpu_seconds(trace: &spillway_sim::trace::Trace) -> f64 {
    trace
        .jobs
        .iter()
        .map(|job| match job.work {
            WorkAmount::Seconds(seconds) => seconds * f64::from(job.scale_factor),
            WorkAmount::Steps(_) => panic!("Alibaba work is in seconds"),
        })
        .sum()
}

#[test]
fn the_default_pod_list_follows_the_rules() {
    let (trace, summary) = read("openb_pod_list_default.csv");
    assert_eq!(
        summary,
        AlibabaSummary {
            pods: 8_152,
            jobs: 6_203,
            cpu_only: 1_088,
            never_scheduled: 861,
            fractional_rounded_up: 2_573,
            still_running: 0,
            constrained: 0,
        }
    );
    assert_eq!(trace.jobs.len(), 6_203);
    assert!(trace.skipped.is_empty());
    assert_eq!(gpu_seconds(&trace), 214_603_958.0);
    let first = &trace.jobs[0];
    assert_eq!(
        (first.id.as_str(), first.arrival_time_s, first.work),
        ("openb-pod-0000", 0.0, WorkAmount::Seconds(12_537_496.0))
    );
    let last = trace.jobs.last().unwrap();
    assert_eq!(
        (last.id.as_str(), last.arrival_time_s, last.work),
        ("openb-pod-8151", 12_901_761.0, WorkAmount::Seconds(30.0))
    );
    let mut by_gpus = BTreeMap::new();
    for job in &trace.jobs {
        *by_gpus.entry(job.scale_factor).or_insert(0) += 1;
    }
    assert_eq!(
        by_gpus.into_iter().collect::<Vec<_>>(),
        vec![(1, 6_129), (2, 15), (4, 15), (8, 44)]
    );
}

#[test]
fn gpu_specs_become_accelerator_constraints() {
    let (trace, summary) = read("openb_pod_list_gpuspec33.csv");
    assert_eq!((summary.jobs, summary.constrained), (6_203, 2_092));
    let mut by_constraint = BTreeMap::new();
    for job in &trace.jobs {
        if let Some(constraint) = &job.accelerator_constraint {
            *by_constraint.entry(constraint.as_str()).or_insert(0) += 1;
        }
    }
    assert_eq!(
        by_constraint.into_iter().collect::<Vec<_>>(),
        vec![
            ("a10|g2|p100|t4|v100m16|v100m32", 3),
            ("a10|g2|t4|v100m16|v100m32", 19),
            ("a10|t4", 6),
            ("g2", 300),
            ("g2|p100|t4|v100m16|v100m32", 36),
            ("g3", 77),
            ("p100", 223),
            ("p100|t4|v100m16|v100m32", 30),
            ("p100|v100m16", 4),
            ("p100|v100m16|v100m32", 94),
            ("t4", 1_132),
            ("t4|v100m16|v100m32", 3),
            ("v100m16", 3),
            ("v100m16|v100m32", 147),
            ("v100m32", 15),
        ]
    );
}

#[test]
fn the_pod_list_without_times_is_refused_with_a_reason() {
    let path = data("alibaba-gpu-v2023/openb_pod_list_multigpu50.csv");
    let error = read_trace(&path, None, &ReadOptions::default()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.ends_with(
            "openb_pod_list_multigpu50.csv:1: field `creation_time`: the pod list has no column \
             `creation_time`, `deletion_time`, `scheduled_time` (without creation, scheduling and \
             deletion times a pod has neither an arrival nor a duration; \
             openb_pod_list_multigpu50.csv has none: use openb_pod_list_default.csv or \
             openb_pod_list_gpuspec33.csv)"
        ),
        "{message}"
    );
    // Skipping bad lines does not skip a bad header.
    let skip = ReadOptions {
        skip_bad_lines: true,
    };
    assert!(read_trace(&path, Some(TraceFormat::Alibaba), &skip).is_err());
}

#[test]
fn the_node_list_gives_the_cluster_the_pods_ran_on() {
    use spillway_sim::trace::alibaba_nodes::{cluster_spec, gpus_by_model};
    let path = data("alibaba-gpu-v2023/openb_node_list_gpu_node.csv");
    let gpus = gpus_by_model(&path, &std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        cluster_spec(&gpus),
        "a10=2,g2=4392,g3=312,p100=265,t4=842,v100m16=195,v100m32=204"
    );
    assert_eq!(gpus.values().sum::<u32>(), 6_212);
    // Every constraint of the gpuspec33 pods names models of this cluster.
    let (trace, _) = read("openb_pod_list_gpuspec33.csv");
    for job in &trace.jobs {
        if let Some(constraint) = &job.accelerator_constraint {
            assert!(
                constraint.split('|').all(|model| gpus.contains_key(model)),
                "{constraint}"
            );
        }
    }
}
