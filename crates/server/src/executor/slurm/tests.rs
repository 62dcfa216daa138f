//! The Slurm executor on plain data: the translation of watcher events and what an attempt
//! submits (the real cluster is exercised by the end-to-end tests in
//! crates/cli/tests/integration/engines.rs).

use super::*;

fn status(
    id: u64,
    state: SlurmJobState,
    restarts: u32,
    exit: Option<ExitStatus>,
) -> SlurmJobStatus {
    SlurmJobStatus {
        job_id: SlurmJobId(id),
        name: "spillway-4-1".into(),
        partition: "batch".into(),
        state,
        reason: "None".into(),
        exit,
        restarts,
        nodes: "n1".into(),
        gres_detail: vec!["gpu:h100:2(IDX:0-1)".into()],
        comment: "spillway:4".into(),
    }
}

fn follow(id: u64) -> (SlurmWatcher, BTreeMap<SlurmJobId, Tracked>) {
    let mut watcher = SlurmWatcher::new();
    watcher.watch(SlurmJobId(id), "4");
    let tracked = Tracked {
        job: JobId(4),
        attempt: 1,
        running: false,
        ran: false,
        restarts: 0,
    };
    (watcher, BTreeMap::from([(SlurmJobId(id), tracked)]))
}

fn step(
    watcher: &mut SlurmWatcher,
    attempts: &mut BTreeMap<SlurmJobId, Tracked>,
    snapshot: &[SlurmJobStatus],
) -> (Vec<ExecEvent>, Vec<SlurmJobId>) {
    let events = watcher.observe(snapshot);
    let (reports, release) = translate(attempts, &events, snapshot);
    (reports.into_iter().map(|r| r.event).collect(), release)
}

#[test]
fn preemption_is_a_requeue_then_a_second_run_and_a_released_hold() {
    use SlurmJobState::*;
    let (mut w, mut a) = follow(9);
    let (ev, _) = step(&mut w, &mut a, &[status(9, Running, 0, None)]);
    assert_eq!(
        ev,
        [ExecEvent::Running {
            detail: "Slurm job 9 running on n1 with gpu:h100:2(IDX:0-1)".into()
        }]
    );
    let (ev, release) = step(&mut w, &mut a, &[status(9, Pending, 1, None)]);
    assert!(matches!(&ev[..], [ExecEvent::Requeued { detail }] if detail.contains("requeue 1")));
    assert_eq!(release, [SlurmJobId(9)]);
    let (ev, _) = step(&mut w, &mut a, &[status(9, Running, 1, None)]);
    assert!(matches!(&ev[..], [ExecEvent::Running { .. }]));
    let (ev, _) = step(
        &mut w,
        &mut a,
        &[status(9, Completed, 1, Some(ExitStatus::Code(0)))],
    );
    assert_eq!(
        ev,
        [ExecEvent::Exited {
            exit_code: Some(0),
            detail: None
        }]
    );
    assert!(a.is_empty());
}

#[test]
fn node_failures_and_signals_say_why_without_an_exit_code() {
    let (mut w, mut a) = follow(3);
    let (ev, _) = step(
        &mut w,
        &mut a,
        &[status(
            3,
            SlurmJobState::NodeFail,
            0,
            Some(ExitStatus::Signal(15)),
        )],
    );
    assert!(matches!(
        &ev[..],
        [ExecEvent::Exited { exit_code: None, detail: Some(d) }] if d.contains("NODE_FAIL")
    ));
}

#[test]
fn a_job_lost_before_it_ran_may_be_submitted_again_and_one_that_ran_is_lost() {
    let (mut w, mut a) = follow(5);
    let (ev, _) = step(&mut w, &mut a, &[]);
    assert!(matches!(&ev[..], [ExecEvent::Vanished { .. }]));

    let (mut w, mut a) = follow(6);
    step(
        &mut w,
        &mut a,
        &[status(6, SlurmJobState::Running, 0, None)],
    );
    let (ev, _) = step(&mut w, &mut a, &[]);
    assert!(matches!(
        &ev[..],
        [ExecEvent::Exited { exit_code: None, detail: Some(d) }] if d.starts_with("lost")
    ));
}

#[test]
fn an_adopted_job_does_not_report_its_past_requeues_again() {
    let (mut w, mut a) = follow(7);
    a.get_mut(&SlurmJobId(7)).unwrap().restarts = 2;
    a.get_mut(&SlurmJobId(7)).unwrap().running = true;
    let (ev, release) = step(
        &mut w,
        &mut a,
        &[status(7, SlurmJobState::Running, 2, None)],
    );
    assert!(ev.is_empty() && release.is_empty(), "{ev:?}");
}

#[test]
fn a_job_that_ran_between_two_listings_still_reports_its_start() {
    let (mut w, mut a) = follow(8);
    let (ev, _) = step(
        &mut w,
        &mut a,
        &[status(
            8,
            SlurmJobState::Completed,
            0,
            Some(ExitStatus::Code(0)),
        )],
    );
    assert!(
        matches!(&ev[..], [ExecEvent::Running { detail }, ExecEvent::Exited { exit_code: Some(0), .. }] if detail.contains("ran on n1")),
        "{ev:?}"
    );
}

fn request(
    yaml: &str,
    accelerator: Option<&str>,
    chips: u32,
    dir: &std::path::Path,
) -> LaunchRequest {
    let names = crate::accelerators::known_accelerators();
    LaunchRequest {
        job: JobId(7),
        attempt: 1,
        spec: Arc::new(spillway_model::spec::parse_spec(yaml, &names).unwrap().spec),
        accelerator: accelerator.map(str::to_string),
        accelerators: (0..chips).collect(),
        resume: false,
        restart_count: 0,
        checkpoint_dir: dir.join("ckpt"),
    }
}

fn settings(toml: &str) -> SlurmSettings {
    let c = crate::config::Config::parse(
        &format!("[[pool]]\nname = \"s\"\nexecutor = \"slurm\"\nslurm_conf = \"/x\"\n{toml}"),
        "t",
    )
    .unwrap();
    match &c.pools[0].engine {
        crate::config::PoolEngine::Slurm(s) => s.clone(),
        other => panic!("{other:?}"),
    }
}

/// What `sbatch` is given for one attempt on the pool `toml` describes.
fn sbatch(toml: &str, yaml: &str, accelerator: Option<&str>, chips: u32) -> (Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let req = request(yaml, accelerator, chips, dir.path());
    let spec = job_spec(&settings(toml), dir.path(), "i", &req).unwrap();
    let args = spec
        .sbatch_args()
        .into_iter()
        .map(|a| a.into_string().unwrap())
        .filter(|a| !a.contains(&*dir.path().to_string_lossy()))
        .collect();
    (args, spec.script())
}

#[test]
fn a_slice_is_asked_by_its_constraint_or_the_pools_gres() {
    let slice = "run: python train.py\nresources:\n  accelerators: tpu-v5p-32\n";
    let (args, script) = sbatch(
        "accelerator = \"tpu-v5p-32\"\nslices = 2\npartition = \"tpu\"\n",
        slice,
        Some("tpu-v5p"),
        16,
    );
    assert_eq!(
        args,
        [
            "--parsable",
            "--export=ALL",
            "--job-name=spillway-i-7-1",
            "--comment=spillway:7",
            "--partition=tpu",
            "--constraint=tpu-v5p-32",
            "--nodes=1",
            "--requeue"
        ]
    );
    assert!(script.starts_with("#!/bin/bash\n"), "{script}");
    // The pool's own feature names, or a GRES of the slice's chips instead.
    let (args, _) = sbatch(
        "accelerator = \"tpu-v5p-32\"\nconstraint = \"v5p-32&2x2x4\"\n",
        slice,
        Some("tpu-v5p"),
        16,
    );
    assert!(
        args.contains(&"--constraint=v5p-32&2x2x4".to_string()),
        "{args:?}"
    );
    let (args, _) = sbatch(
        "accelerator = \"tpu-v5p-32\"\ngres = \"tpu:v5p\"\n",
        slice,
        Some("tpu-v5p"),
        16,
    );
    assert!(args.contains(&"--gres=tpu:v5p:16".to_string()), "{args:?}");
    assert!(
        !args.iter().any(|a| a.starts_with("--constraint")),
        "{args:?}"
    );
    // GPUs keep their GRES.
    let (args, _) = sbatch(
        "accelerator = \"H100\"\ncount = 8\ngres = \"gpu:h100\"\n",
        "run: x\nresources:\n  accelerators: H100:2\n",
        Some("H100"),
        2,
    );
    assert!(args.contains(&"--gres=gpu:h100:2".to_string()), "{args:?}");
    assert!(
        !args.iter().any(|a| a.starts_with("--constraint")),
        "{args:?}"
    );
}

#[test]
fn a_gang_asks_for_its_nodes_and_runs_the_wrapper_on_each_through_srun() {
    let (args, script) = sbatch(
        "accelerator = \"H100\"\ncount = 16\nnodes = 2\ngres = \"gpu:h100\"\n",
        "run: x\nnum_nodes: 2\nresources:\n  accelerators: H100:8\n",
        Some("H100"),
        16,
    );
    // GRES is per node: 8 on each of 2 nodes.
    assert!(args.contains(&"--gres=gpu:h100:8".to_string()), "{args:?}");
    assert!(args.contains(&"--nodes=2".to_string()), "{args:?}");
    assert!(
        script.contains(
            "\nsrun --nodes=2 --ntasks=2 --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c 'trap : HUP INT TERM\n("
        ),
        "{script}"
    );
    // One node: the wrapper runs in the batch script itself.
    let (_, script) = sbatch(
        "accelerator = \"H100\"\ncount = 16\nnodes = 2\ngres = \"gpu:h100\"\n",
        "run: x\nresources:\n  accelerators: H100:8\n",
        Some("H100"),
        8,
    );
    assert!(!script.contains("srun"), "{script}");
}

/// Runs a gang's batch body with a stand-in `srun` that runs the task on each of 2 nodes
/// (`SLURM_NODEID` 0 and 1) and returns the highest code, as srun does; `run` is the job's
/// run text. Returns the batch script's exit code.
fn gang_exit(run: &str, srun_runs_tasks: bool) -> i32 {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let srun = bin.join("srun");
    let body = if srun_runs_tasks {
        "script=\"${@: -1}\"; max=0\nfor n in 0 1; do SLURM_NODEID=$n bash -c \"$script\"; c=$?; [ $c -gt $max ] && max=$c; done\nexit $max\n"
    } else {
        "exit 5\n"
    };
    std::fs::write(&srun, format!("#!/bin/bash\n{body}")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&srun, std::fs::Permissions::from_mode(0o755)).unwrap();
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(batch_body(2))
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .env("SPILLWAY_NODE_CODES", dir.path().join("codes"))
        .env("SPILLWAY_RUN", run)
        .env("SPILLWAY_NODE_IPS", "127.0.0.1")
        .status()
        .unwrap();
    status.code().unwrap()
}

#[test]
fn a_gangs_exit_code_is_the_worst_nodes_own_not_sruns() {
    // Node 1 fails with 4; node 0 is stopped with SIGTERM (143) by --kill-on-bad-exit and
    // srun says 143: the attempt's code is node 1's.
    assert_eq!(
        gang_exit(r#"[ "$SLURM_NODEID" = 1 ] && exit 4; exit 143"#, true),
        4
    );
    // The worst of several failures below 128; a signal only when no node failed itself.
    assert_eq!(gang_exit(r#"exit $((SLURM_NODEID + 2))"#, true), 3);
    assert_eq!(
        gang_exit(r#"[ "$SLURM_NODEID" = 1 ] && exit 137; exit 0"#, true),
        137
    );
    assert_eq!(gang_exit("exit 0", true), 0);
    // No node wrote its code (stopped before its wrapper ended): srun's.
    assert_eq!(gang_exit("exit 0", false), 5);
}
