//! Cluster-level behaviour on real Slurm: a slurmctld restart in the middle of work, a node
//! failure, and two clusters addressed at once. All use cluster B and hold its lock.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use spillway_engines::slurm::{
    ExitStatus, GresRequest, SlurmEvent, SlurmJobSpec, SlurmJobState, SlurmWatcher,
};

use crate::engines::{CLUSTER_B, slurm_a, slurm_b, unique_id, wait_for, workspace_root};

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn slurm_jobs_survive_a_slurmctld_restart() {
    let _only_user = CLUSTER_B.lock().await;
    let Some(cluster) = slurm_b("slurm_jobs_survive_a_slurmctld_restart").await else {
        return;
    };
    let Some(dir) = cluster.dir.clone() else {
        panic!("SPILLWAY_SLURM_B_DIR is needed to restart cluster B's slurmctld");
    };
    let client = &cluster.client;
    let out = tempfile::tempdir().unwrap();
    // One job runs through the restart, a second waits for its GPUs through it.
    let mut running = SlurmJobSpec::new(
        unique_id("restart-running"),
        format!("sleep 4\necho done > {}/running", out.path().display()),
    );
    running.gres = Some(GresRequest::parse("gpu:h100", 4).unwrap());
    running.output = Some("/dev/null".into());
    let mut waiting = SlurmJobSpec::new(
        unique_id("restart-waiting"),
        format!("echo done > {}/waiting", out.path().display()),
    );
    waiting.gres = Some(GresRequest::parse("gpu:h100", 4).unwrap());
    waiting.output = Some("/dev/null".into());
    let first = client.submit(&running).await.unwrap();
    wait_for(client, first, "running", MINUTE, |s| s.state.is_running()).await;
    let second = client.submit(&waiting).await.unwrap();
    assert_eq!(
        client.status(second).await.unwrap().state,
        SlurmJobState::Pending
    );

    restart_ctld(&dir, &[]);

    for job in [first, second] {
        let done = wait_for(client, job, "finished", MINUTE, |s| s.state.is_terminal()).await;
        assert_eq!(done.state, SlurmJobState::Completed, "{done:?}");
        assert_eq!(done.exit, Some(ExitStatus::Code(0)));
    }
    for file in ["running", "waiting"] {
        let text = std::fs::read_to_string(out.path().join(file)).unwrap();
        assert_eq!(text.trim(), "done", "{file}");
    }
}

#[tokio::test]
async fn slurm_two_clusters_are_addressed_at_once() {
    let _shared = CLUSTER_B.lock().await;
    let Some(a) = slurm_a("slurm_two_clusters_are_addressed_at_once").await else {
        return;
    };
    let Some(b) = slurm_b("slurm_two_clusters_are_addressed_at_once").await else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let spec = |cluster: &str| {
        let mut spec = SlurmJobSpec::new(
            unique_id(&format!("two-{cluster}")),
            format!(
                "echo $SLURM_CLUSTER_NAME > {}/{cluster}",
                out.path().display()
            ),
        );
        spec.output = Some("/dev/null".into());
        spec
    };
    let (spec_a, spec_b) = (spec("a"), spec("b"));
    let (job_a, job_b) = tokio::join!(a.client.submit(&spec_a), b.client.submit(&spec_b));
    let (job_a, job_b) = (job_a.unwrap(), job_b.unwrap());
    let (done_a, done_b) = tokio::join!(
        wait_for(&a.client, job_a, "finished", MINUTE, |s| s
            .state
            .is_terminal()),
        wait_for(&b.client, job_b, "finished", MINUTE, |s| s
            .state
            .is_terminal()),
    );
    assert_eq!(done_a.state, SlurmJobState::Completed);
    assert_eq!(done_b.state, SlurmJobState::Completed);
    let ran_on = |file: &str| std::fs::read_to_string(out.path().join(file)).unwrap();
    assert_eq!(ran_on("a").trim(), "spillway-a");
    assert_eq!(ran_on("b").trim(), "spillway-b");

    // Each cluster knows only its own job, even where the numeric ids coincide.
    assert!(
        a.client
            .find_by_spillway_id(&spec_b.spillway_job_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        b.client
            .find_by_spillway_id(&spec_a.spillway_job_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn slurm_node_failure_requeues_requeueable_jobs_and_fails_the_others() {
    let _only_user = CLUSTER_B.lock().await;
    let Some(cluster) = slurm_b("slurm_node_failure_requeues_requeueable_jobs").await else {
        return;
    };
    let client = &cluster.client;
    let spec = |name: &str, requeue: bool| {
        let mut spec = SlurmJobSpec::new(unique_id(name), "sleep 300");
        spec.requeue = requeue;
        spec.output = Some("/dev/null".into());
        spec
    };
    let (kept_spec, lost_spec) = (spec("node-kept", true), spec("node-lost", false));
    let kept = client.submit(&kept_spec).await.unwrap();
    let lost = client.submit(&lost_spec).await.unwrap();
    let mut watcher = SlurmWatcher::new();
    watcher.watch(kept, &kept_spec.spillway_job_id);
    watcher.watch(lost, &lost_spec.spillway_job_id);
    let node = wait_for(client, kept, "running", MINUTE, |s| s.state.is_running())
        .await
        .nodes;
    wait_for(client, lost, "running", MINUTE, |s| s.state.is_running()).await;
    watcher.observe(&client.jobs().await.unwrap());

    // An operator (or slurmctld, when slurmd stops answering) marks the node DOWN.
    scontrol(
        client.conf(),
        &[
            "update",
            &format!("NodeName={node}"),
            "State=DOWN",
            "Reason=spillway-test",
        ],
    );
    let requeued = wait_for(client, kept, "requeued", MINUTE, |s| s.restarts >= 1).await;
    assert!(!requeued.state.is_terminal(), "{requeued:?}");
    let failed = wait_for(client, lost, "failed", MINUTE, |s| s.state.is_terminal()).await;
    assert_eq!(failed.state, SlurmJobState::NodeFail);
    let events = watcher.observe(&client.jobs().await.unwrap());
    assert!(
        events.contains(&SlurmEvent::Finished {
            job: lost,
            state: SlurmJobState::NodeFail,
            exit: failed.exit,
        }),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SlurmEvent::Requeued { job, restarts: 1, .. } if *job == kept)),
        "{events:?}"
    );

    // Put the node back for the other tests (with ReturnToService=2 a node whose slurmd
    // still answers may already be back, and then RESUME is refused).
    let _ = scontrol_status(
        client.conf(),
        &["update", &format!("NodeName={node}"), "State=RESUME"],
    );
    client.cancel(kept).await.unwrap();
    for _ in 0..300 {
        let state = Command::new("sinfo")
            .args(["-h", "-n", &node, "-o", "%T"])
            .env("SLURM_CONF", client.conf())
            .output()
            .unwrap();
        let state = String::from_utf8_lossy(&state.stdout);
        if ["idle", "mixed", "allocated"].contains(&state.trim()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("node {node} did not come back after the test");
}

fn scontrol_status(conf: &Path, args: &[&str]) -> std::process::Output {
    Command::new("scontrol")
        .args(args)
        .env("SLURM_CONF", conf)
        .output()
        .unwrap()
}

fn scontrol(conf: &Path, args: &[&str]) {
    let output = scontrol_status(conf, args);
    assert!(
        output.status.success(),
        "scontrol {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn slurm_jobs_forgotten_by_a_crashed_slurmctld_are_reported_lost_not_confused() {
    let _only_user = CLUSTER_B.lock().await;
    let Some(cluster) = slurm_b("slurm_jobs_forgotten_by_a_crashed_slurmctld").await else {
        return;
    };
    let Some(dir) = cluster.dir.clone() else {
        panic!("SPILLWAY_SLURM_B_DIR is needed to crash cluster B's slurmctld");
    };
    let client = &cluster.client;
    // CPU-only jobs: whatever a crash leaves behind never blocks the other tests' GPUs.
    let spec = |name: &str| {
        let mut spec = SlurmJobSpec::new(unique_id(name), "sleep 1");
        spec.output = Some("/dev/null".into());
        spec
    };
    // Jobs submitted right before slurmctld is killed: sbatch has their ids, but slurmctld
    // may not have saved them yet.
    let specs: Vec<SlurmJobSpec> = (0..4).map(|i| spec(&format!("crash-{i}"))).collect();
    let mut watcher = SlurmWatcher::new();
    let mut submitted = Vec::new();
    for spec in &specs {
        let job = client.submit(spec).await.unwrap();
        watcher.watch(job, &spec.spillway_job_id);
        submitted.push((job, spec.spillway_job_id.clone()));
    }
    restart_ctld(&dir, &["--crash"]);
    // A new submission after the restart may be given the id of a forgotten job.
    let after = spec("crash-after");
    let after_job = client.submit(&after).await.unwrap();

    let events = watcher.observe(&client.jobs().await.unwrap());
    let lost: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            SlurmEvent::Lost { job } => Some(*job),
            _ => None,
        })
        .collect();
    eprintln!(
        "slurmctld crash: {} of {} fresh jobs lost",
        lost.len(),
        submitted.len()
    );
    for (job, spillway_id) in &submitted {
        let found = client.find_by_spillway_id(spillway_id).await.unwrap();
        if lost.contains(job) {
            assert!(
                found.is_none(),
                "job {job} reported lost but found: {found:?}"
            );
        } else {
            assert_eq!(found.map(|s| s.job_id), Some(*job), "{spillway_id}");
        }
    }
    let found_after = client
        .find_by_spillway_id(&after.spillway_job_id)
        .await
        .unwrap();
    assert_eq!(found_after.map(|s| s.job_id), Some(after_job));
    // Everything left finishes normally.
    for job in watcher
        .watched()
        .collect::<Vec<_>>()
        .into_iter()
        .chain([after_job])
    {
        let done = wait_for(client, job, "finished", MINUTE, |s| s.state.is_terminal()).await;
        assert_eq!(done.state, SlurmJobState::Completed, "{done:?}");
    }
}

fn restart_ctld(dir: &Path, args: &[&str]) {
    let restart = Command::new(workspace_root().join("scripts/engines/slurm-restart-ctld.sh"))
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        restart.status.success(),
        "restart failed: {}",
        String::from_utf8_lossy(&restart.stderr)
    );
}
