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
    let r = &any.spec.resources;
    assert_eq!((r.use_spot_of(0), r.use_spot_of(1)), (false, true));
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
        err("run: x\nresources:\n  accelerators: [H100:8, h100mega:8]\n"),
        "resources.accelerators[1]: unknown accelerator 'h100mega': did you mean H100-MEGA?"
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
fn infra_keeps_skypilot_clouds_and_pool_names_alike() {
    let p = ok("run: x\nresources:\n  infra: gcp/us-central1\n  accelerators: H100\n");
    assert_eq!(p.spec.resources.infra.as_deref(), Some("gcp/us-central1"));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let p = ok("run: x\nresources:\n  infra: slurm\n");
    assert_eq!(p.spec.resources.infra.as_deref(), Some("slurm"));
    assert_eq!(
        err("run: x\nresources:\n  infra: aws//x\n"),
        "resources.infra: invalid infra 'aws//x': write a pool's name, an executor kind (local, slurm, ray) or SkyPilot's cloud[/region[/zone]] such as gcp/us-central1"
    );
}

#[test]
fn each_alternative_keeps_its_own_use_spot_and_infra() {
    // The issue's case: H100 on demand first, else L4 on spot, each as written (the
    // scheduler places each alternative by its own use_spot).
    let p = ok(
        "run: x\nresources:\n  ordered:\n    - {accelerators: H100:1, use_spot: false}\n    - {accelerators: A10G:1, use_spot: true}\n",
    );
    let r = &p.spec.resources;
    assert_eq!(r.order, ChoiceOrder::Ordered);
    assert_eq!(r.accelerators[0].to_string(), "H100:1");
    assert_eq!((r.use_spot_of(0), r.use_spot_of(1)), (false, true));
    assert!(!r.use_spot);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    // Alike in every alternative: folded into the section.
    let p = ok(
        "run: x\nresources:\n  use_spot: true\n  any_of:\n    - {accelerators: H100:1, infra: aws}\n    - {accelerators: A100:1, infra: aws}\n",
    );
    let r = &p.spec.resources;
    assert!(r.use_spot && r.alternatives.is_empty());
    assert_eq!(r.infra.as_deref(), Some("aws"));
    assert_eq!(r.infra_of(1), Some("aws"));
    let p = ok(
        "run: x\nresources:\n  any_of:\n    - {accelerators: H100:1, infra: aws}\n    - {accelerators: A100:1, infra: gcp}\n",
    );
    let r = &p.spec.resources;
    assert_eq!(
        (r.infra_of(0), r.infra_of(1), r.infra.as_deref()),
        (Some("aws"), Some("gcp"), None)
    );
}

#[test]
fn accelerators_combine_with_any_of_as_in_skypilot() {
    // Entries without accelerators take the section's; an entry's own wins.
    let p = ok(
        "run: x\nresources:\n  accelerators: H100:8\n  any_of:\n    - infra: aws\n    - infra: aws\n      use_spot: true\n    - accelerators: A100:8\n      infra: aws\n",
    );
    let r = &p.spec.resources;
    let got: Vec<String> = r.accelerators.iter().map(ToString::to_string).collect();
    assert_eq!(got, ["H100:8", "H100:8", "A100:8"]);
    assert!(r.use_spot_of(1));
    assert!(!r.use_spot_of(2));
    assert_eq!(
        err("run: x\nresources:\n  any_of:\n    - use_spot: true\n"),
        "resources.any_of[0]: missing accelerators: give them here or in resources.accelerators"
    );
}

#[test]
fn one_accelerator_at_several_counts_and_the_gpus_alias() {
    let p = ok("run: x\nresources:\n  accelerators: {H100:1, H100:2, A100:4}\n");
    let got: Vec<String> = p
        .spec
        .resources
        .accelerators
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(got, ["A100:4", "H100:1", "H100:2"]);
    assert_eq!(
        err("run: x\nresources:\n  accelerators: [H100:1, h100:1]\n"),
        "resources.accelerators: H100:1 is listed twice: keep one"
    );
    let p = ok("run: x\nresources:\n  gpus: H100:8\n");
    assert_eq!(p.spec.resources.accelerators[0].to_string(), "H100:8");
    assert_eq!(
        err("run: x\nresources:\n  gpus: H100\n  accelerators: H100\n"),
        "resources.gpus: gpus is another name for accelerators: give one of them"
    );
}

#[test]
fn fractional_counts_are_refused_with_what_to_ask_for() {
    assert_eq!(
        err("run: x\nresources:\n  accelerators: H100:0.5\n"),
        "resources.accelerators: fractional count '0.5' of H100: Spillway hands out whole accelerators and never shares one between jobs: ask for H100:1"
    );
}

#[test]
fn memory_takes_skypilots_units() {
    for (written, kept) in [
        ("32", "32"),
        ("32GB", "32"),
        ("80GB+", "80+"),
        ("64 GiB", "64"),
        ("1TB", "1024"),
        ("16+", "16+"),
    ] {
        let p = ok(&format!("run: x\nresources:\n  memory: {written}\n"));
        assert_eq!(p.spec.resources.memory.as_deref(), Some(kept), "{written}");
    }
    assert!(
        err("run: x\nresources:\n  memory: lots\n")
            .starts_with("resources.memory: invalid amount 'lots'")
    );
}

#[test]
fn fields_skypilot_has_and_spillway_does_not_use_are_warnings() {
    let p = ok(
        "run: x\nvolume_mounts: []\nmanaged_secrets: {}\nfile_mounts_mapping: {}\napi_server_access: true\nvolumes: {}\npool: p\nresources:\n  ephemeral_storage: 100\n  local_disk: nvme\n  max_hourly_cost: 3\n  priority_class: high\n",
    );
    let paths: Vec<&str> = p.warnings.iter().map(|w| w.path.as_str()).collect();
    for field in [
        "volume_mounts",
        "managed_secrets",
        "file_mounts_mapping",
        "api_server_access",
        "volumes",
        "pool",
        "resources.ephemeral_storage",
        "resources.local_disk",
        "resources.max_hourly_cost",
        "resources.priority_class",
    ] {
        assert!(paths.contains(&field), "{field} not in {paths:?}");
    }
}

#[test]
fn workdir_says_where_it_is_read_and_git_is_checked_out() {
    let p = ok("run: x\nworkdir: ~/code\n");
    assert!(p.warnings[0].message.contains("home directory of the user"));
    let p = ok("run: x\nworkdir: ./code\n");
    assert!(
        p.warnings[0]
            .message
            .contains("relative to the working directory of the Spillway server")
    );
    assert!(ok("run: x\nworkdir: /srv/code\n").warnings.is_empty());
    let p = ok("run: x\nworkdir: {url: https://github.com/x/y, ref: main}\n");
    assert_eq!(p.spec.workdir, None);
    assert_eq!(
        p.spec.workdir_git,
        Some(crate::spec::GitWorkdir {
            url: "https://github.com/x/y".into(),
            git_ref: Some("main".into())
        })
    );
    assert!(
        p.warnings[0]
            .message
            .starts_with("a git checkout of https://github.com/x/y at main is made in the job's own fresh directory before setup"),
        "{:?}",
        p.warnings
    );
    assert_eq!(
        err("run: x\nworkdir: {ref: main}\n"),
        "workdir.url: missing: a git workdir needs the repository's url"
    );
    assert_eq!(
        err("run: x\nworkdir: {url: u, branch: main}\n"),
        "workdir.branch: unknown field: a git workdir has url and ref"
    );
    assert_eq!(
        err("run: x\nworkdir: {url: --upload-pack=x}\n"),
        "workdir.url: must not start with '-' (git would read it as an option)"
    );
    assert_eq!(
        expand_workdir("~/code", Some(std::path::Path::new("/home/u"))),
        std::path::PathBuf::from("/home/u/code")
    );
    assert_eq!(
        expand_workdir("~x", Some(std::path::Path::new("/h"))),
        std::path::PathBuf::from("~x")
    );
}
