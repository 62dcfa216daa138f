//! Cluster-level behaviour on real Slurm: a slurmctld restart in the middle of work, and two
//! clusters addressed at once. Both use cluster B and hold its lock.

use std::process::Command;
use std::time::Duration;

use spillway_engines::slurm::{ExitStatus, GresRequest, SlurmJobSpec, SlurmJobState};

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

    let restart = Command::new(workspace_root().join("scripts/engines/slurm-restart-ctld.sh"))
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        restart.status.success(),
        "restart failed: {}",
        String::from_utf8_lossy(&restart.stderr)
    );

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
