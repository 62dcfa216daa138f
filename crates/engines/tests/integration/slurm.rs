//! The Slurm client against real cluster A: GPUs, exit codes, cancel, preemption.

use std::time::Duration;

use spillway_engines::slurm::{
    CancelOutcome, ExitStatus, GresRequest, SlurmError, SlurmEvent, SlurmJobId, SlurmJobSpec,
    SlurmJobState, SlurmWatcher,
};

use crate::engines::{slurm_a, unique_id, wait_for};

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn slurm_job_runs_with_the_gpus_it_asked_for_and_completes() {
    let Some(cluster) = slurm_a("slurm_job_runs_with_the_gpus_it_asked_for").await else {
        return;
    };
    let client = &cluster.client;
    let out = tempfile::tempdir().unwrap();
    let id = unique_id("gpus");
    let mut spec = SlurmJobSpec::new(
        &id,
        format!(
            "echo \"$CUDA_VISIBLE_DEVICES\" > {dir}/cvd\necho \"$SPILLWAY_JOB_ID $GREETING\" > {dir}/env\nsleep 2",
            dir = out.path().display()
        ),
    );
    spec.partition = Some("batch".into());
    spec.gres = Some(GresRequest::parse("gpu:a100", 2).unwrap());
    spec.time_limit = Some(Duration::from_secs(120));
    spec.output = Some(out.path().join("%j.out"));
    spec.env.insert("GREETING".into(), "hello, world".into());

    let job = client.submit(&spec).await.unwrap();
    let mut watcher = SlurmWatcher::new();
    watcher.watch(job, &id);
    let running = wait_for(client, job, "running", MINUTE, |s| s.state.is_running()).await;
    assert_eq!(running.partition, "batch");
    assert_eq!(running.name, id);
    assert!(
        running
            .gres_detail
            .iter()
            .any(|g| g.starts_with("gpu:a100:2")),
        "{running:?}"
    );
    assert!(matches!(
        watcher.observe(&client.jobs().await.unwrap())[..],
        [SlurmEvent::Started { .. }]
    ));
    assert_eq!(
        client
            .find_by_spillway_id(&id)
            .await
            .unwrap()
            .map(|s| s.job_id),
        Some(job)
    );

    let done = wait_for(client, job, "finished", MINUTE, |s| s.state.is_terminal()).await;
    assert_eq!(done.state, SlurmJobState::Completed);
    assert_eq!(done.exit, Some(ExitStatus::Code(0)));
    let events = watcher.observe(&client.jobs().await.unwrap());
    assert!(
        matches!(
            events[..],
            [SlurmEvent::Finished {
                state: SlurmJobState::Completed,
                ..
            }]
        ),
        "{events:?}"
    );

    // Slurm handed the job two of the four a100 devices (nvidia0-3 in gres.conf).
    let cvd = std::fs::read_to_string(out.path().join("cvd")).unwrap();
    let devices: Vec<u32> = cvd.trim().split(',').map(|d| d.parse().unwrap()).collect();
    assert_eq!(devices.len(), 2, "CUDA_VISIBLE_DEVICES={cvd}");
    assert!(devices.iter().all(|d| *d < 4), "CUDA_VISIBLE_DEVICES={cvd}");
    let env = std::fs::read_to_string(out.path().join("env")).unwrap();
    assert_eq!(env.trim(), format!("{id} hello, world"));
}

/// A pool of TPU slices asks for its slice by node feature: Slurm runs the job on a node that
/// has it, and refuses at submit a feature no node has (the test cluster's node is
/// `Feature=tpu-v5p-8`).
#[tokio::test]
async fn slurm_constraint_picks_nodes_by_feature_and_refuses_unknown_ones() {
    let Some(cluster) = slurm_a("slurm_constraint_picks_nodes_by_feature").await else {
        return;
    };
    let client = &cluster.client;
    let id = unique_id("slice");
    let mut spec = SlurmJobSpec::new(&id, "echo on a slice");
    spec.partition = Some("batch".into());
    spec.constraint = Some("tpu-v5p-8".into());
    spec.time_limit = Some(Duration::from_secs(120));
    let job = client.submit(&spec).await.unwrap();
    let done = wait_for(client, job, "finished", MINUTE, |s| s.state.is_terminal()).await;
    assert_eq!(done.state, SlurmJobState::Completed, "{done:?}");

    spec.spillway_job_id = unique_id("no-slice");
    spec.constraint = Some("tpu-v6e-256".into());
    let err = client.submit(&spec).await.unwrap_err().to_string();
    assert!(err.to_lowercase().contains("feature"), "{err}");
}

#[tokio::test]
async fn slurm_failing_job_reports_its_exit_code_and_stderr() {
    let Some(cluster) = slurm_a("slurm_failing_job_reports_its_exit_code").await else {
        return;
    };
    let client = &cluster.client;
    let out = tempfile::tempdir().unwrap();
    let mut spec = SlurmJobSpec::new(unique_id("fail"), "echo 'disk full' >&2\nexit 7");
    spec.error = Some(out.path().join("err"));
    spec.output = Some(out.path().join("out"));
    let job = client.submit(&spec).await.unwrap();
    let done = wait_for(client, job, "finished", MINUTE, |s| s.state.is_terminal()).await;
    assert_eq!(done.state, SlurmJobState::Failed);
    assert_eq!(done.exit, Some(ExitStatus::Code(7)));
    assert_eq!(done.reason, "NonZeroExitCode");
    let stderr = std::fs::read_to_string(out.path().join("err")).unwrap();
    assert_eq!(stderr.trim(), "disk full");
}

#[tokio::test]
async fn slurm_cancel_ends_a_running_job_and_is_idempotent() {
    let Some(cluster) = slurm_a("slurm_cancel_ends_a_running_job").await else {
        return;
    };
    let client = &cluster.client;
    let mut spec = SlurmJobSpec::new(unique_id("cancel"), "sleep 300");
    spec.output = Some("/dev/null".into());
    let job = client.submit(&spec).await.unwrap();
    wait_for(client, job, "running", MINUTE, |s| s.state.is_running()).await;
    assert_eq!(client.cancel(job).await.unwrap(), CancelOutcome::Requested);
    let done = wait_for(client, job, "finished", MINUTE, |s| s.state.is_terminal()).await;
    assert_eq!(done.state, SlurmJobState::Cancelled);
    assert_eq!(done.exit, Some(ExitStatus::Signal(15)));
    assert_eq!(
        client.cancel(job).await.unwrap(),
        CancelOutcome::AlreadyFinished
    );

    let unknown = client.cancel(SlurmJobId(987_654_321)).await.unwrap_err();
    assert!(
        matches!(&unknown, SlurmError::Cancel { message, .. } if message.contains("Invalid job id")),
        "{unknown}"
    );
}

#[tokio::test]
async fn slurm_preemption_by_urgent_partition_requeues_the_batch_job() {
    // The only test on cluster A that uses the h100 GPUs, so no other test is preempted.
    let Some(cluster) = slurm_a("slurm_preemption_requeues_the_batch_job").await else {
        return;
    };
    let client = &cluster.client;
    let out = tempfile::tempdir().unwrap();
    let starts = out.path().join("starts");
    let mut batch = SlurmJobSpec::new(
        unique_id("preempted"),
        format!(
            "echo \"start ${{SLURM_RESTART_COUNT:-0}}\" >> {}\nsleep 300",
            starts.display()
        ),
    );
    batch.partition = Some("batch".into());
    batch.gres = Some(GresRequest::parse("gpu:h100", 4).unwrap());
    batch.requeue = true;
    batch.output = Some("/dev/null".into());
    let batch_job = client.submit(&batch).await.unwrap();
    let mut watcher = SlurmWatcher::new();
    watcher.watch(batch_job, &batch.spillway_job_id);
    wait_for(client, batch_job, "running", MINUTE, |s| {
        s.state.is_running()
    })
    .await;
    watcher.observe(&client.jobs().await.unwrap());

    let mut urgent = SlurmJobSpec::new(unique_id("urgent"), "sleep 1");
    urgent.partition = Some("urgent".into());
    urgent.gres = Some(GresRequest::parse("gpu:h100", 4).unwrap());
    urgent.output = Some("/dev/null".into());
    let urgent_job = client.submit(&urgent).await.unwrap();

    // Slurm requeues the batch job: it goes back to PENDING with its restart count raised.
    let requeued = wait_for(client, batch_job, "requeued", MINUTE, |s| s.restarts >= 1).await;
    assert!(!requeued.state.is_terminal(), "{requeued:?}");
    let events = watcher.observe(&client.jobs().await.unwrap());
    assert!(
        events.iter().any(
            |e| matches!(e, SlurmEvent::Requeued { job, restarts: 1, .. } if *job == batch_job)
        ),
        "{events:?}"
    );
    let urgent_done = wait_for(client, urgent_job, "finished", MINUTE, |s| {
        s.state.is_terminal()
    })
    .await;
    assert_eq!(urgent_done.state, SlurmJobState::Completed);

    // A requeued job waits about two minutes (BeginTime) before Slurm runs it again; the
    // broker can release it at once.
    client.release_requeued(batch_job).await.unwrap();
    let rerun = wait_for(client, batch_job, "running again", MINUTE, |s| {
        s.state.is_running() && s.restarts == 1
    })
    .await;
    assert!(
        rerun
            .gres_detail
            .iter()
            .any(|g| g.starts_with("gpu:h100:4")),
        "{rerun:?}"
    );
    let text = wait_for_lines(&starts, 2).await;
    assert_eq!(text, "start 0\nstart 1\n");
    client.cancel(batch_job).await.unwrap();
    wait_for(client, batch_job, "finished", MINUTE, |s| {
        s.state.is_terminal()
    })
    .await;
}

/// Waits until the file has `n` lines (the job writes it as it starts).
async fn wait_for_lines(path: &std::path::Path, n: usize) -> String {
    for _ in 0..300 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().count() >= n {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} did not get {n} lines", path.display());
}
