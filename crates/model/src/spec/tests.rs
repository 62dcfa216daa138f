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

fn tpu_names() -> AcceleratorNames {
    AcceleratorNames::new([
        "H100",
        "A100",
        "tpu-v2",
        "tpu-v4",
        "tpu-v5p",
        "tpu-v5litepod",
        "tpu-v6e",
    ])
}

fn tpu_ok(yaml: &str) -> ParsedSpec {
    parse_spec(yaml, &tpu_names()).unwrap_or_else(|e| panic!("expected ok, got:\n{e}"))
}

#[test]
fn tpu_slice_names_become_a_gang_of_chips_shown_in_both_forms() {
    let p = tpu_ok("run: x\nresources:\n  accelerators: tpu-v5p-32\n");
    let r = &p.spec.resources;
    assert_eq!(r.accelerators[0].to_string(), "tpu-v5p:16");
    assert_eq!(r.tpu_slices["tpu-v5p"], "tpu-v5p-32");
    assert_eq!(r.describe(&r.accelerators[0]), "tpu-v5p-32 = 16 chips");
    let p = tpu_ok("run: x\nresources:\n  accelerators: [tpu-v6e-8, TPU-V2-32]\n");
    let r = &p.spec.resources;
    assert_eq!(r.describe(&r.accelerators[0]), "tpu-v6e-8 = 8 chips");
    assert_eq!(r.describe(&r.accelerators[1]), "tpu-v2-32 = 16 chips");
    // Written as chips, shown with the slice name too.
    let p = tpu_ok("run: x\nresources:\n  accelerators: tpu-v5p:16\n");
    let r = &p.spec.resources;
    assert_eq!(r.describe(&r.accelerators[0]), "tpu-v5p:16 = tpu-v5p-32");
    assert_eq!(
        r.describe(&AcceleratorChoice {
            accelerator: "H100".into(),
            count: 8
        }),
        "H100:8"
    );
}

#[test]
fn tpu_slice_errors_name_the_field() {
    let e = parse_spec(
        "run: x\nresources:\n  accelerators: tpu-v5p-32:2\n",
        &tpu_names(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "resources.accelerators: tpu-v5p-32 names a whole slice (16 chips): write it without a count, or ask for tpu-v5p:N chips"
    );
    let e = parse_spec(
        "run: x\nresources:\n  accelerators: tpu-v3-8\n",
        &tpu_names(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("resources.accelerators: tpu-v3-8: unknown accelerator 'tpu-v3'"),
        "{e}"
    );
}

#[test]
fn accelerator_args_are_kept_and_the_topology_checked() {
    let p = tpu_ok(
        "run: x\nresources:\n  accelerators: tpu-v5p-32\n  accelerator_args:\n    runtime_version: v2-alpha-tpuv5\n    tpu_vm: true\n    topology: 2x2x4\n",
    );
    let args = p.spec.resources.accelerator_args.unwrap();
    assert_eq!(args.runtime_version.as_deref(), Some("v2-alpha-tpuv5"));
    assert_eq!(args.tpu_vm, Some(true));
    assert_eq!(args.topology.as_deref(), Some("2x2x4"));
    let e = parse_spec(
        "run: x\nresources:\n  accelerators: tpu-v5p-32\n  accelerator_args: {topology: 2x2x2}\n",
        &tpu_names(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "resources.accelerator_args.topology: topology 2x2x2 is 8 chips, but the slice has 16: they must match (tpu-v5p-32 = 16 chips)"
    );
}

#[test]
fn candidates_are_ordered_alternatives_with_a_note() {
    let p = tpu_ok(
        "run: x\nresources:\n  candidates:\n    - {accelerators: H100:8, instance_type: p5.48xlarge}\n    - {accelerators: tpu-v6e-8}\n",
    );
    assert_eq!(p.spec.resources.order, ChoiceOrder::Ordered);
    assert_eq!(p.spec.resources.accelerators.len(), 2);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.path == "resources.candidates" && w.message.contains("older spelling"))
    );
}

#[test]
fn negative_counts_are_not_called_fractional() {
    assert_eq!(
        err("run: x\nresources:\n  accelerators: H100:-2\n"),
        "resources.accelerators: count of H100 must be at least 1, found -2"
    );
}

#[test]
fn pipelines_are_several_jobs_and_job_groups_are_refused() {
    let text = "name: pipe\n---\nname: prep\nrun: a\n---\nname: train\nrun: b\nresources: {accelerators: H100:8}\n";
    let jobs = parse_specs(text, &names()).unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[1].spec.name, "train");
    assert!(
        parse_spec(text, &names())
            .unwrap_err()
            .to_string()
            .contains("pipeline of 2 tasks")
    );
    let e = parse_specs(
        "name: g\nexecution: parallel\n---\nrun: a\n---\nrun: b\n",
        &names(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("execution: this file is a job group"), "{e}");
    let e = parse_specs("run: a\n---\nrunn: b\n", &names())
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("tasks[1].runn: unknown field"), "{e}");
}

#[test]
fn skypilot_cloud_infra_is_a_warning_and_a_pool_name_is_kept() {
    let p = ok("run: x\nresources:\n  infra: gcp/us-central1\n  accelerators: H100\n");
    assert_eq!(p.spec.resources.infra, None);
    assert_eq!(
        p.warnings[0].to_string(),
        "resources.infra: ignored: names a SkyPilot cloud; Spillway's infra names a pool or an executor kind"
    );
    let p = ok("run: x\nresources:\n  infra: slurm\n");
    assert_eq!(p.spec.resources.infra.as_deref(), Some("slurm"));
}
