//! Spec parsing tests: both dialects, every accelerator form, and error paths.

use super::*;

fn names() -> AcceleratorNames {
    AcceleratorNames::new([
        "A100",
        "A100-80GB",
        "A10G",
        "H100",
        "H100-MEGA",
        "H200",
        "tpu-v5p",
        "Trainium2",
    ])
}

fn ok(yaml: &str) -> ParsedSpec {
    parse_spec(yaml, &names()).unwrap_or_else(|e| panic!("expected ok, got:\n{e}"))
}

fn err(yaml: &str) -> String {
    parse_spec(yaml, &names())
        .expect_err("expected an error")
        .to_string()
}

#[test]
fn minimal_skypilot_task() {
    let p = ok("run: echo hi\n");
    assert_eq!(p.dialect, Dialect::Skypilot);
    assert_eq!(p.spec.name, "job");
    assert_eq!(p.spec.priority, 500);
    assert!(p.spec.resources.accelerators.is_empty());
}

#[test]
fn skypilot_forms_of_accelerators() {
    let one = ok("run: x\nresources:\n  accelerators: h100:8\n");
    assert_eq!(one.spec.resources.accelerators[0].to_string(), "H100:8");
    let list = ok("run: x\nresources:\n  accelerators: [H100:8, A100-80GB:8]\n");
    assert_eq!(list.spec.resources.order, ChoiceOrder::Ordered);
    assert_eq!(list.spec.resources.accelerators.len(), 2);
    let set = ok("run: x\nresources:\n  accelerators: {H100:8, A100:8}\n");
    assert_eq!(set.spec.resources.order, ChoiceOrder::AnyOf);
    // A set has no order; choices come out sorted by name.
    assert_eq!(set.spec.resources.accelerators[0].to_string(), "A100:8");
    let map = ok("run: x\nresources:\n  accelerators:\n    H100: 4\n    H200: 2\n");
    assert_eq!(map.spec.resources.order, ChoiceOrder::AnyOf);
    assert_eq!(map.spec.resources.accelerators[1].to_string(), "H200:2");
    let any = ok(
        "run: x\nresources:\n  any_of:\n    - accelerators: H100:8\n    - accelerators: A100:8\n      use_spot: true\n",
    );
    assert_eq!(any.spec.resources.order, ChoiceOrder::AnyOf);
    assert!(any.spec.resources.use_spot);
}

#[test]
fn spillway_dialect_fields() {
    let p = ok(r#"
name: train-7b
tenant: research
run: python train.py
setup: pip install -r requirements.txt
envs: {EPOCHS: 3, LR: "1e-4"}
resources:
  accelerators: [H100:8, tpu-v5p:16]
priority: 900
work: 6h
deadline: 2026-12-01T00:00:00Z
budget: "$1,200"
checkpoint: {interval: 30m, resume: python train.py --resume}
max_restarts: 2
"#);
    assert_eq!(p.dialect, Dialect::Spillway);
    assert_eq!(p.spec.envs["EPOCHS"], "3");
    assert_eq!(p.spec.work, Some(WorkEstimate::Seconds(21_600)));
    assert_eq!(p.spec.budget, Some(crate::Usd(1200.0)));
    assert_eq!(
        p.spec.checkpoint.as_ref().unwrap().interval_secs,
        Some(1800)
    );
    assert_eq!(p.spec.deadline, Some(Deadline::AtUnixMs(1_796_083_200_000)));
}

#[test]
fn skypilot_fields_we_ignore_are_warnings() {
    let p = ok(
        "run: x\nfile_mounts: {/data: s3://b}\nresources:\n  cloud: aws\n  accelerators: H100\n",
    );
    let w: Vec<String> = p.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        w,
        [
            "file_mounts: ignored: SkyPilot field that Spillway does not use",
            "resources.cloud: ignored: SkyPilot resource field that Spillway does not use"
        ]
    );
}

#[test]
fn error_names_the_list_item() {
    assert_eq!(
        err("run: x\nresources:\n  accelerators: [H100:8, H10:8]\n"),
        "resources.accelerators[1]: unknown accelerator 'H10': did you mean H100, H200?"
    );
}

#[test]
fn all_errors_are_reported_together() {
    let e = err("runn: x\nnum_nodes: 0\npriority: high\n");
    assert_eq!(
        e,
        "runn: unknown field 'runn': did you mean 'run'?\n\
         run: missing: a job needs the commands to run, e.g. `run: python train.py`\n\
         num_nodes: expected a whole number from 1 to 4096, found 0\n\
         priority: expected a whole number from 0 to 1000, found 'high'"
    );
}

#[test]
fn invalid_yaml_is_an_error_not_a_panic() {
    assert!(err("run: [unclosed\n").starts_with("invalid YAML"));
    assert_eq!(
        err("- just\n- a list\n"),
        "a job spec must be a mapping with at least `run:`, found a list"
    );
}
