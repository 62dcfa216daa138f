//! Local executor tests with real processes: exit codes, environment, the launch fence and
//! recovery of attempts recorded by an earlier server.

use super::*;
use crate::job::AttemptOutcome;
use spillway_model::spec::{AcceleratorNames, parse_spec};
use std::sync::Arc;
use tokio::sync::mpsc;

fn request(
    yaml: &str,
    job: i64,
    accelerator: Option<&str>,
    accelerators: Vec<u32>,
) -> LaunchRequest {
    let names = AcceleratorNames::new(["H100", "tpu-v5p"]);
    LaunchRequest {
        job: JobId(job),
        attempt: 1,
        spec: Arc::new(parse_spec(yaml, &names).unwrap().spec),
        accelerator: accelerator.map(String::from),
        accelerators,
        resume: false,
        restart_count: 0,
        // Tests that look at checkpoints set one; an empty path needs no directory.
        checkpoint_dir: std::path::PathBuf::new(),
    }
}

/// An attempt as recorded for a launch with `handle`.
fn recorded(job: i64, handle: &Handle) -> Attempt {
    let mut a = attempt(job, None, None);
    handle.record(&mut a);
    a
}

fn attempt(job: i64, pid: Option<u32>, pid_start: Option<u64>) -> Attempt {
    Attempt {
        job: JobId(job),
        number: 1,
        pool: "local".into(),
        accelerators: vec![],
        resumed: false,
        pid,
        pid_start,
        external_id: None,
        started_ms: 0,
        ended_ms: None,
        outcome: AttemptOutcome::Starting,
        exit_code: None,
    }
}

#[tokio::test]
async fn every_attempt_gets_the_jobs_checkpoint_dir_and_its_restart_count() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ex = LocalExecutor::new(dir.path().to_path_buf(), tx);
    let ckpt = checkpoint_dir(dir.path(), JobId(8));
    for (attempt, restarts) in [(1, 0), (3, 1)] {
        let mut req = request(
            "run: echo \"$SPILLWAY_RESTART_COUNT\" >> \"$SPILLWAY_CHECKPOINT_DIR/starts\"\n",
            8,
            None,
            vec![],
        );
        req.attempt = attempt;
        req.restart_count = restarts;
        req.checkpoint_dir = ckpt.clone();
        ex.launch(req).await.unwrap();
        assert_eq!(rx.recv().await.unwrap().exit_code(), Some(0));
    }
    assert_eq!(
        std::fs::read_to_string(ckpt.join("starts")).unwrap(),
        "0\n1\n"
    );
}

#[tokio::test]
async fn reports_exit_codes_and_hands_over_devices() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ex = LocalExecutor::new(dir.path().to_path_buf(), tx);
    ex.launch(request("run: echo \"$TPU_VISIBLE_CHIPS|$SPILLWAY_JOB_ID|$GREETING\"; exit 7\nenvs: {GREETING: hi}\n", 5, Some("tpu-v5p"), vec![2, 3]))
        .await
        .unwrap();
    let report = rx.recv().await.unwrap();
    assert_eq!(report, ExecReport::exited(JobId(5), 1, Some(7)));
    let out = std::fs::read_to_string(job_dir(dir.path(), JobId(5)).join("stdout.log")).unwrap();
    assert_eq!(out, "2,3|5|hi\n");
}

#[tokio::test]
async fn setup_failure_skips_run() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ex = LocalExecutor::new(dir.path().to_path_buf(), tx);
    ex.launch(request("setup: exit 4\nrun: echo ran\n", 1, None, vec![]))
        .await
        .unwrap();
    assert_eq!(rx.recv().await.unwrap().exit_code(), Some(4));
    let out = std::fs::read_to_string(job_dir(dir.path(), JobId(1)).join("stdout.log")).unwrap();
    assert_eq!(out, "");
}

#[tokio::test]
async fn recovery_fences_an_interrupted_launch() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ex = LocalExecutor::new(dir.path().to_path_buf(), tx);
    // Recorded, no pid: recovery claims the pid file first, so the launch never happens.
    assert_eq!(
        ex.recover(&attempt(9, None, None)).await,
        Recovered::NotStarted
    );
    let marker = dir.path().join("ran");
    ex.launch(request(
        &format!("run: touch {}\n", marker.display()),
        9,
        None,
        vec![],
    ))
    .await
    .unwrap();
    assert_eq!(rx.recv().await.unwrap().exit_code(), Some(97));
    assert!(!marker.exists(), "a fenced launch must not run the job");
}

#[tokio::test]
async fn recovery_reads_exits_and_detects_lost_processes() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ex = LocalExecutor::new(dir.path().to_path_buf(), tx);
    let handle = ex
        .launch(request("run: exit 3\n", 4, None, vec![]))
        .await
        .unwrap();
    rx.recv().await.unwrap();
    let a = recorded(4, &handle);
    assert_eq!(ex.recover(&a).await, Recovered::Exited(Some(3)));
    // A pid whose process is gone (wrong start time) and no exit file: lost.
    let lost = attempt(8, Some(std::process::id()), Some(1));
    assert_eq!(ex.recover(&lost).await, Recovered::Lost);
}

#[tokio::test]
async fn adopted_process_is_watched_until_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let first = LocalExecutor::new(dir.path().to_path_buf(), tx);
    let handle = first
        .launch(request("run: sleep 0.3; exit 5\n", 6, None, vec![]))
        .await
        .unwrap();
    // A second executor (as after a restart) adopts the same process by pid and start time.
    let (tx2, mut rx2) = mpsc::unbounded_channel();
    let second = LocalExecutor::new(dir.path().to_path_buf(), tx2);
    let a = recorded(6, &handle);
    assert_eq!(second.recover(&a).await, Recovered::Running(handle));
    assert_eq!(rx2.recv().await.unwrap().exit_code(), Some(5));
    assert_eq!(rx.recv().await.unwrap().exit_code(), Some(5));
}

/// A job's environment reaches its commands, never the wrapper: its `BASH_ENV` is read by the
/// shells that run `setup` and `run` (after the pid-file fence), not by the wrapper before it;
/// and its `PATH` does not decide how the wrapper records the exit code.
#[tokio::test]
async fn the_jobs_environment_stays_out_of_the_wrapper() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ex = LocalExecutor::new(dir.path().to_path_buf(), tx);
    let marker = dir.path().join("sourced");
    let rc = dir.path().join("rc.sh");
    // $0 is the wrapper's name (spillway-job) inside the wrapper, bash's path in a job's shell.
    std::fs::write(&rc, format!("echo \"$0\" >> '{}'\n", marker.display())).unwrap();
    let yaml = format!(
        "setup: 'true'\nrun: 'echo \"$GREETING\"; exit 3'\nenvs:\n  BASH_ENV: '{}'\n  PATH: /nonexistent\n  GREETING: hello\n",
        rc.display()
    );
    let handle = ex.launch(request(&yaml, 21, None, vec![])).await.unwrap();
    assert_eq!(rx.recv().await.unwrap().exit_code(), Some(3));
    assert!(matches!(handle, Handle::Process { .. }));
    let sourced = std::fs::read_to_string(&marker).unwrap();
    // Sourced twice (setup, run), each time by a job's shell, never by the wrapper.
    assert_eq!(sourced.lines().count(), 2, "{sourced}");
    assert!(!sourced.contains("spillway-job"), "{sourced}");
    let adir = attempt_dir(dir.path(), JobId(21), 1);
    // The wrapper found `mv` on the server's PATH, not the job's, and recorded the exit.
    assert_eq!(
        std::fs::read_to_string(adir.join("exit")).unwrap().trim(),
        "3"
    );
    let out = std::fs::read_to_string(job_dir(dir.path(), JobId(21)).join("stdout.log")).unwrap();
    assert_eq!(out, "hello\n");
}

/// A git repository in `dir/repo` with `hello.txt` on branch `main` ("main") and on branch
/// `other` ("other"); its path.
pub(crate) fn git_repo(dir: &std::path::Path) -> std::path::PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir(&repo).unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(ok.status.success(), "git {args:?}: {ok:?}");
    };
    git(&["init", "-q"]);
    std::fs::write(repo.join("hello.txt"), "main\n").unwrap();
    git(&["add", "hello.txt"]);
    git(&["commit", "-qm", "main"]);
    git(&["checkout", "-qb", "other"]);
    std::fs::write(repo.join("hello.txt"), "other\n").unwrap();
    git(&["commit", "-qam", "other"]);
    git(&["checkout", "-q", "main"]);
    repo
}

#[tokio::test]
async fn a_git_workdir_is_checked_out_before_setup_and_kept_for_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let repo = git_repo(dir.path());
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ex = LocalExecutor::new(dir.path().join("data"), tx);
    let yaml = format!(
        "workdir: {{url: 'file://{}', ref: other}}\nsetup: cat hello.txt\nrun: cat hello.txt; echo run >> ran.txt\n",
        repo.display()
    );
    for attempt in [1, 2] {
        let mut req = request(&yaml, 6, None, vec![]);
        req.attempt = attempt;
        ex.launch(req).await.unwrap();
        assert_eq!(rx.recv().await.unwrap().exit_code(), Some(0));
    }
    let jdir = job_dir(&dir.path().join("data"), JobId(6));
    let out = std::fs::read_to_string(jdir.join("stdout.log")).unwrap();
    assert_eq!(out, "other\nother\nother\nother\n");
    // The second attempt ran in the first one's checkout.
    assert_eq!(
        std::fs::read_to_string(jdir.join("work/ran.txt")).unwrap(),
        "run\nrun\n"
    );
    // A ref that does not exist ends the attempt before setup.
    let yaml = format!(
        "workdir: {{url: '{}', ref: nope}}\nsetup: echo setup\nrun: echo ran\n",
        repo.display()
    );
    ex.launch(request(&yaml, 7, None, vec![])).await.unwrap();
    assert_ne!(rx.recv().await.unwrap().exit_code(), Some(0));
    let out =
        std::fs::read_to_string(job_dir(&dir.path().join("data"), JobId(7)).join("stdout.log"))
            .unwrap();
    assert_eq!(out, "");
}
