//! What an engine runs for an attempt: one fixed wrapper script, with the job's `setup` and
//! `run` (and working directory) handed over in its environment, so that no spec field is
//! ever interpolated into a script or a command line. Shared by the Slurm and Ray executors;
//! the local executor passes the same texts as positional arguments instead.

use super::LaunchRequest;
use std::collections::BTreeMap;
use std::path::Path;

/// Exports the job's secrets from `SPILLWAY_SECRETS_FILE` (`NAME BASE64` lines, see
/// `secrets.rs`), so that their values never sit in the engine's record of the job; a file
/// that cannot be read ends the attempt (exit 97) rather than run it without them.
macro_rules! secrets_line {
    () => {
        r#"if [ -n "${SPILLWAY_SECRETS_FILE:-}" ]; then while read -r k v; do export "$k=$(printf %s "$v" | base64 -d)"; done < "$SPILLWAY_SECRETS_FILE" || exit 97; fi"#
    };
}

/// SkyPilot's per-node variables, from the engine's own: the node's rank (Slurm's
/// `SLURM_NODEID`, else 0) and the nodes' addresses, one per line, rank 0 first (Slurm's node
/// list, each node's address as Slurm reaches it (`NodeAddr`) resolved to IPv4, else this
/// node's first address). A gang's driver on Ray gives both as `SPILLWAY_NODE_RANK` and
/// `SPILLWAY_NODE_IPS` (see `ray_gang.rs`), which win.
macro_rules! skypilot_node_lines {
    () => {
        r#"export SKYPILOT_NODE_RANK="${SPILLWAY_NODE_RANK:-${SLURM_NODEID:-0}}"
SKYPILOT_NODE_IPS="${SPILLWAY_NODE_IPS:-}"
if [ -z "$SKYPILOT_NODE_IPS" ] && [ -n "${SLURM_JOB_NODELIST:-}" ] && command -v scontrol >/dev/null 2>&1; then SKYPILOT_NODE_IPS=$(for h in $(scontrol show hostnames "$SLURM_JOB_NODELIST"); do a=$(sinfo -h -N -n "$h" -o %o 2>/dev/null | head -n 1); getent ahostsv4 "${a:-$h}" | { read -r ip _ && echo "$ip"; }; done); fi
if [ -z "${SKYPILOT_NODE_IPS:-}" ]; then read -r SKYPILOT_NODE_IPS _ < <(hostname -I 2>/dev/null); fi
export SKYPILOT_NODE_IPS="${SKYPILOT_NODE_IPS:-127.0.0.1}""#
    };
}

/// The secrets line alone, for tests.
#[cfg(test)]
pub(super) const SECRETS_LINE: &str = secrets_line!();

/// The wrapper body. Setup and run each run under their own `bash -c`, as locally: a failed
/// setup skips the run and its code is the attempt's. A git `workdir` is cloned on each node
/// into a fresh directory of its own under `$TMPDIR` (per job, attempt and rank, so that the
/// nodes of a gang sharing a file system never clone into one directory), checked out at its
/// ref, and the job runs there; a failed clone or checkout ends the attempt with 95.
///
/// The checkout is removed when the attempt ends: on success, on failure (95 included) and
/// when the engine stops it. Slurm (`scancel`, `--kill-on-bad-exit`) and Ray (`ray job stop`,
/// and the gang driver, see `ray_gang.py`) send SIGTERM to the wrapper and its commands; the
/// traps turn a SIGTERM, SIGINT or SIGHUP into an ordinary exit (143, 130, 129) once the
/// running command has ended, so that the exit trap runs. Only a SIGKILL (an engine's last
/// resort when the commands outlive its grace time: Slurm's `KillWait`, Ray's
/// `RAY_JOB_STOP_WAIT_TIME_S`) leaves a checkout behind.
pub(super) const WRAPPER: &str = concat!(
    r#"rc=0
"#,
    secrets_line!(),
    "\n",
    skypilot_node_lines!(),
    r#"
case "${SPILLWAY_WORKDIR:-}" in "~" | "~/"*) SPILLWAY_WORKDIR="$HOME${SPILLWAY_WORKDIR#"~"}" ;; esac
if [ -n "${SPILLWAY_WORKDIR:-}" ]; then cd "$SPILLWAY_WORKDIR" || exit 96; fi
if [ -n "${SPILLWAY_GIT_URL:-}" ]; then g="${TMPDIR:-/tmp}/spillway-git-${SPILLWAY_JOB_ID:-job}-${SPILLWAY_ATTEMPT:-0}-$SKYPILOT_NODE_RANK"; spillway_git_clean() { cd / && rm -rf "$g"; }; trap spillway_git_clean EXIT; trap "exit 129" HUP; trap "exit 130" INT; trap "exit 143" TERM; rm -rf "$g" && git clone -q -- "$SPILLWAY_GIT_URL" "$g" && cd "$g" && { [ -z "${SPILLWAY_GIT_REF:-}" ] || git checkout -q "$SPILLWAY_GIT_REF" --; } || exit 95; fi
if [ -n "${SPILLWAY_SETUP:-}" ]; then bash -c "$SPILLWAY_SETUP" || rc=$?; fi
if [ "$rc" -eq 0 ]; then bash -c "$SPILLWAY_RUN"; rc=$?; fi
exit "$rc""#
);

/// The text the attempt runs: `resume` instead of `run` when resuming from a checkpoint.
pub(super) fn run_text(req: &LaunchRequest) -> String {
    match (&req.spec.checkpoint, req.resume) {
        (Some(c), true) => c.resume.clone().unwrap_or_else(|| req.spec.run.clone()),
        _ => req.spec.run.clone(),
    }
}

/// The environment of an attempt on an engine, besides `SPILLWAY_JOB_ID` (which the engine
/// clients set) and what the engine sets itself (`CUDA_VISIBLE_DEVICES` from Slurm's GRES or
/// Ray's GPU assignment).
pub(super) fn attempt_env(req: &LaunchRequest, workdir: Option<&Path>) -> BTreeMap<String, String> {
    let mut env = req.spec.envs.clone();
    for (k, v) in req.skypilot_env() {
        env.insert(k.into(), v);
    }
    env.insert("SPILLWAY_ATTEMPT".into(), req.attempt.to_string());
    env.insert(
        "SPILLWAY_RESUMED".into(),
        if req.resume { "1" } else { "0" }.into(),
    );
    env.insert(
        "SPILLWAY_RESTART_COUNT".into(),
        req.restart_count.to_string(),
    );
    env.insert(
        "SPILLWAY_CHECKPOINT_DIR".into(),
        req.checkpoint_dir.display().to_string(),
    );
    env.insert("SPILLWAY_RUN".into(), run_text(req));
    if let Some(setup) = req.spec.setup.as_deref().filter(|s| !s.is_empty()) {
        env.insert("SPILLWAY_SETUP".into(), setup.to_string());
    }
    if let Some(git) = &req.spec.workdir_git {
        env.insert("SPILLWAY_GIT_URL".into(), git.url.clone());
        if let Some(r) = &git.git_ref {
            env.insert("SPILLWAY_GIT_REF".into(), r.clone());
        }
    }
    if let Some(dir) = workdir {
        env.insert("SPILLWAY_WORKDIR".into(), dir.display().to_string());
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobId;
    use std::process::Command;
    use std::sync::Arc;

    fn request(spec: &str) -> LaunchRequest {
        let names = crate::accelerators::known_accelerators();
        LaunchRequest {
            job: JobId(3),
            attempt: 2,
            spec: Arc::new(spillway_model::spec::parse_spec(spec, &names).unwrap().spec),
            accelerator: None,
            accelerators: vec![],
            resume: false,
            restart_count: 0,
            checkpoint_dir: "/tmp/ckpt".into(),
        }
    }

    fn run(env: &BTreeMap<String, String>) -> (Option<i32>, String) {
        let out = Command::new("bash")
            .arg("-c")
            .arg(WRAPPER)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    }

    #[test]
    fn wrapper_runs_setup_then_run_in_the_workdir_without_interpolation() {
        let dir = tempfile::tempdir().unwrap();
        let req = request(
            "setup: echo setup $SPILLWAY_ATTEMPT\nrun: echo \"$(pwd) '$X'\"; exit 3\nenvs: {X: \"$(false)\"}\n",
        );
        let env = attempt_env(&req, Some(dir.path()));
        let (code, out) = run(&env);
        assert_eq!(code, Some(3));
        let cwd = dir.path().canonicalize().unwrap();
        assert_eq!(out, format!("setup 2\n{} '$(false)'\n", cwd.display()));
    }

    #[test]
    fn failed_setup_skips_run() {
        let req = request("setup: exit 4\nrun: echo ran\n");
        let (code, out) = run(&attempt_env(&req, None));
        assert_eq!((code, out.as_str()), (Some(4), ""));
    }

    #[test]
    fn the_job_sees_skypilots_variables() {
        let mut req = request(
            "run: echo $SKYPILOT_TASK_ID $SKYPILOT_NUM_NODES $SKYPILOT_NUM_GPUS_PER_NODE $SKYPILOT_NODE_RANK; echo \"$SKYPILOT_NODE_IPS\" | wc -l\nenvs: {SKYPILOT_NUM_NODES: 9}\n",
        );
        req.accelerators = vec![0, 1];
        let (code, out) = run(&attempt_env(&req, None));
        assert_eq!((code, out.as_str()), (Some(0), "spillway-job-3 1 2 0\n1\n"));
    }

    #[test]
    fn a_workdir_under_home_is_the_nodes_home() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join("w")).unwrap();
        let req = request("run: pwd\n");
        let mut env = attempt_env(&req, Some(Path::new("~/w")));
        env.insert("HOME".into(), home.path().display().to_string());
        let (code, out) = run(&env);
        let want = home.path().join("w").canonicalize().unwrap();
        assert_eq!((code, out.trim()), (Some(0), want.to_str().unwrap()));
    }

    #[test]
    fn a_git_workdir_is_cloned_per_node_and_checked_out_at_its_ref() {
        let dir = tempfile::tempdir().unwrap();
        let repo = crate::executor::local::tests::git_repo(dir.path());
        let req = request(&format!(
            "workdir: {{url: '{}', ref: other}}\nsetup: cat hello.txt\nrun: pwd\n",
            repo.display()
        ));
        let mut env = attempt_env(&req, None);
        env.insert("TMPDIR".into(), dir.path().display().to_string());
        env.insert("SPILLWAY_JOB_ID".into(), "3".into());
        env.insert("SLURM_NODEID".into(), "1".into());
        let (code, out) = run(&env);
        let want = dir
            .path()
            .canonicalize()
            .unwrap()
            .join("spillway-git-3-2-1");
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(out, format!("other\n{}\n", want.display()));
        assert!(
            !want.exists(),
            "the checkout is removed when the attempt ends"
        );
        // A repository that is not there: 95, before setup.
        let req = request("workdir: {url: /nonexistent/repo}\nsetup: echo setup\nrun: echo ran\n");
        let mut env = attempt_env(&req, None);
        env.insert("TMPDIR".into(), dir.path().display().to_string());
        assert_eq!(run(&env), (Some(95), String::new()));
    }

    /// The `spillway-git-*` entries under `dir`.
    fn checkouts(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("spillway-git-"))
            .collect();
        names.sort();
        names
    }

    /// The environment of an attempt of `spec` (with `repo` as its git workdir) whose
    /// checkouts go under `tmp`.
    fn git_env(repo: &Path, tmp: &Path, commands: &str) -> BTreeMap<String, String> {
        let req = request(&format!(
            "workdir: {{url: '{}'}}\n{commands}",
            repo.display()
        ));
        let mut env = attempt_env(&req, None);
        env.insert("TMPDIR".into(), tmp.display().to_string());
        env
    }

    #[test]
    fn a_git_checkout_is_removed_after_a_failed_setup_or_run_keeping_the_code() {
        let dir = tempfile::tempdir().unwrap();
        let repo = crate::executor::local::tests::git_repo(dir.path());
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        for (commands, want) in [
            ("setup: exit 4\nrun: echo ran\n", 4),
            ("run: ls hello.txt; exit 3\n", 3),
        ] {
            let (code, _) = run(&git_env(&repo, &tmp, commands));
            assert_eq!(code, Some(want), "{commands}");
            assert_eq!(checkouts(&tmp), Vec::<String>::new(), "{commands}");
        }
    }

    #[test]
    fn a_git_checkout_is_removed_when_the_engine_stops_the_attempt() {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let repo = crate::executor::local::tests::git_repo(dir.path());
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let started = dir.path().join("started");
        let env = git_env(
            &repo,
            &tmp,
            &format!("run: touch '{}'; sleep 60\n", started.display()),
        );
        // As Slurm's scancel and Ray's job stop do: SIGTERM to the wrapper and its commands
        // (its process group).
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(WRAPPER)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(&env)
            .process_group(0)
            .spawn()
            .unwrap();
        // Waits for the run to have started (a condition, not a guess at a duration).
        while !started.exists() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the attempt ended early"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(checkouts(&tmp).len(), 1);
        let group = i32::try_from(child.id()).unwrap();
        let killed = Command::new("kill")
            .args(["-TERM", "--", &format!("-{group}")])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(143));
        assert_eq!(checkouts(&tmp), Vec::<String>::new());
    }
}
