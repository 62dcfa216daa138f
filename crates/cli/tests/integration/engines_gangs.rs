//! Gangs (`num_nodes: 2`) run for real: on the two-node Slurm cluster of
//! `scripts/engines/slurm-gang-start.sh` (started by start-all.sh), one task per node through
//! `srun`, and on the Ray head, one placement-group bundle per node; each node sees its rank,
//! the node count, its GPUs and the node list, as SkyPilot gives them. Skipped with a banner
//! without the engines (see engines.rs).

use crate::engines::{Server, lock_slurm, need_ray, need_slurm, wait};
use spillway_engines::env_file;

/// Prints, on each node, one line with what SkyPilot gives it.
const GANG: &str = "name: gang\nnum_nodes: 2\nsetup: echo \"setup on $SKYPILOT_NODE_RANK\"\n\
run: |\n  echo \"rank=$SKYPILOT_NODE_RANK of=$SKYPILOT_NUM_NODES per=$SKYPILOT_NUM_GPUS_PER_NODE \
ips=$(echo \"$SKYPILOT_NODE_IPS\" | paste -sd, -) gpus=$CUDA_VISIBLE_DEVICES\"\n\
resources:\n  accelerators: H100:2\n";

#[test]
fn a_two_node_gang_runs_on_both_slurm_nodes_each_with_its_rank() {
    let test = "a_two_node_gang_runs_on_both_slurm_nodes_each_with_its_rank";
    let _slurm = lock_slurm();
    let Some(env) = need_slurm(test, &[env_file::SLURM_GANG_CONF]) else {
        return;
    };
    let conf = env.get(env_file::SLURM_GANG_CONF).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &format!(
            "[[pool]]\nname = \"hpc\"\nexecutor = \"slurm\"\nslurm_conf = \"{conf}\"\n\
             partition = \"batch\"\ngres = \"gpu:h100\"\naccelerator = \"H100\"\ncount = 8\n\
             nodes = 2\ntime_limit = \"10m\"\npoll_interval = \"200ms\"\n"
        ),
    );
    // `spillway pools` says how the pool's accelerators split over its nodes.
    let out = server.cli().arg("pools").output().unwrap();
    let pools = String::from_utf8_lossy(&out.stdout);
    assert!(pools.contains("8 = 2x4"), "{pools}");
    let id = server.submit(GANG);
    let d = server.wait_final(&id);
    assert_eq!(d["job"]["state"], "succeeded", "{d:#}");
    let logs = server.logs(&id);
    let mut lines: Vec<&str> = logs.lines().filter(|l| l.starts_with("rank=")).collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "rank=0 of=2 per=2 ips=127.0.0.1,127.0.0.2 gpus=0,1",
            "rank=1 of=2 per=2 ips=127.0.0.1,127.0.0.2 gpus=0,1",
        ],
        "{logs}"
    );
    assert_eq!(logs.matches("setup on ").count(), 2, "{logs}");
    // One node fails (rank 1, exit 4) while the other runs on: --kill-on-bad-exit stops it
    // (SIGTERM, 143, which is what srun returns) and the job's exit code is rank 1's own.
    let id = server.submit(
        "name: failing-gang\nnum_nodes: 2\nrun: |\n  if [ \"$SKYPILOT_NODE_RANK\" = 1 ]; then sleep 1; exit 4; fi\n  sleep 60\n\
         resources:\n  accelerators: H100:1\n",
    );
    let d = server.wait_final(&id);
    assert_eq!(d["job"]["state"], "failed", "{d:#}");
    assert_eq!(d["job"]["exit_code"], 4, "{d:#}");
    // A git workdir is checked out on each node before setup (a local repository: no network).
    let repo = git_repo(dir.path());
    git_gang_runs(&server, &repo);
    // A gang larger than the pool is refused at submit, naming the pool's nodes.
    let out = server
        .cli()
        .args(["submit", "-"])
        .write_stdin(GANG.replace("num_nodes: 2", "num_nodes: 3"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("pool hpc is 2 nodes of 4 H100"),
        "{err}"
    );
}

#[test]
fn a_two_node_gang_runs_on_the_ray_head_one_bundle_per_rank() {
    let test = "a_two_node_gang_runs_on_the_ray_head_one_bundle_per_rank";
    let dir = tempfile::tempdir().unwrap();
    // The head is one node with 4 GPUs: a pool of 2 "nodes" of 2, whose bundles Ray places
    // on the one node (SPREAD where it cannot spread).
    let Some(server) = ray_gang_server(test, dir.path(), "admission_timeout = \"60s\"\n") else {
        return;
    };
    let id = server.submit(GANG);
    let d = server.wait_final(&id);
    let logs = server.logs(&id);
    assert_eq!(d["job"]["state"], "succeeded", "{d:#}\n{logs}");
    let mut ranks: Vec<String> = logs
        .lines()
        .filter_map(|l| l.split_once("rank=").map(|(_, r)| format!("rank={r}")))
        .collect();
    ranks.sort_unstable();
    assert_eq!(ranks.len(), 2, "{logs}");
    // Both bundles are on the head: the same address twice, as Ray names the node.
    for (rank, line) in ranks.iter().enumerate() {
        let rest = line
            .strip_prefix(&format!("rank={rank} of=2 per=2 ips="))
            .unwrap_or_else(|| panic!("{logs}"));
        let ips = rest.split(' ').next().unwrap();
        let ips: Vec<&str> = ips.split(',').collect();
        assert!(
            ips.len() == 2 && ips[0] == ips[1] && !ips[0].is_empty(),
            "{logs}"
        );
    }
    assert_eq!(logs.matches("setup on ").count(), 2, "{logs}");
    assert!(
        logs.lines()
            .filter(|l| l.contains("(node pid="))
            .all(|l| !l.contains('\u{1b}')),
        "no colour codes in the nodes' lines: {logs}"
    );
    git_gang_runs(&server, &git_repo(dir.path()));
}

#[test]
fn a_strict_spread_gang_waits_for_machines_the_one_node_ray_head_does_not_have() {
    let test = "a_strict_spread_gang_waits_for_machines_the_one_node_ray_head_does_not_have";
    let dir = tempfile::tempdir().unwrap();
    // `ray_gang_spread = "strict"`: each bundle on a machine of its own. The head is one
    // machine, so the placement group is never placed and the attempt ends with 75.
    let extra = "ray_gang_spread = \"strict\"\nadmission_timeout = \"5s\"\n";
    let Some(server) = ray_gang_server(test, dir.path(), extra) else {
        return;
    };
    let id = server.submit(GANG);
    let d = server.wait_final(&id);
    let logs = server.logs(&id);
    assert_eq!(d["job"]["state"], "failed", "{d:#}\n{logs}");
    assert_eq!(d["job"]["exit_code"], 75, "{d:#}\n{logs}");
    assert!(!logs.contains("rank="), "{logs}");
}

/// A git repository in `dir/repo` whose `hello.txt` says "from git".
fn git_repo(dir: &std::path::Path) -> std::path::PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir(&repo).unwrap();
    std::fs::write(repo.join("hello.txt"), "from git\n").unwrap();
    for args in [
        &["init", "-q"][..],
        &["add", "hello.txt"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "x",
        ],
    ] {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(&repo)
            .status()
            .unwrap();
        assert!(ok.success(), "git {args:?}");
    }
    repo
}

/// A gang with `repo` as its git workdir: each node reads the checkout in setup and runs in
/// a checkout of its own, under the job's `TMPDIR`, which is empty again once the attempt has
/// ended: when it succeeds, when a node fails, and when it is cancelled while it runs.
fn git_gang_runs(server: &Server, repo: &std::path::Path) {
    let tmp = tempfile::tempdir().unwrap();
    let spec = |name: &str, run: &str| {
        format!(
            "name: {name}\nnum_nodes: 2\nworkdir: {{url: 'file://{}'}}\nenvs: {{TMPDIR: '{}'}}\n\
             setup: cat hello.txt\nrun: |\n  {run}\nresources:\n  accelerators: H100:1\n",
            repo.display(),
            tmp.path().display()
        )
    };
    let checkouts = || -> Vec<String> {
        std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("spillway-git-"))
            .collect()
    };
    // The wrapper removes its checkout before the node's task ends, but the engine may report
    // the job's end a moment before the other node's task has ended: wait for it.
    let removed = |what: &str| {
        wait(&format!("the checkouts of {what} removed"), || {
            checkouts().is_empty().then_some(())
        })
    };
    let id = server.submit(&spec(
        "git-gang",
        "echo \"rank $SKYPILOT_NODE_RANK in $(basename $PWD)\"",
    ));
    let d = server.wait_final(&id);
    assert_eq!(d["job"]["state"], "succeeded", "{d:#}");
    let logs = server.logs(&id);
    assert_eq!(logs.matches("from git").count(), 2, "{logs}");
    assert!(logs.contains("rank 1 in spillway-git-"), "{logs}");
    removed("a gang that succeeded");
    // Rank 1 fails while rank 0 runs on: the engine stops rank 0 with SIGTERM.
    let id = server.submit(&spec(
        "git-gang-fails",
        "if [ \"$SKYPILOT_NODE_RANK\" = 1 ]; then sleep 1; exit 4; fi; sleep 60",
    ));
    let d = server.wait_final(&id);
    assert_eq!(
        (d["job"]["state"].as_str(), d["job"]["exit_code"].as_i64()),
        (Some("failed"), Some(4)),
        "{d:#}"
    );
    removed("a gang whose node failed");
    // Cancelled once both nodes run.
    let id = server.submit(&spec(
        "git-gang-cancelled",
        "touch \"$TMPDIR/started-$SKYPILOT_NODE_RANK\"; sleep 60",
    ));
    wait("both nodes running", || {
        (0..2)
            .all(|r| tmp.path().join(format!("started-{r}")).exists())
            .then_some(())
    });
    assert_eq!(checkouts().len(), 2, "{:?}", checkouts());
    server.cli().args(["cancel", &id]).assert().success();
    let d = server.wait_final(&id);
    assert_eq!(d["job"]["state"], "cancelled", "{d:#}");
    removed("a cancelled gang");
}

/// A server with one Ray pool of 2 nodes of 2 H100 on the test Ray head, plus the pool lines
/// `extra`; `None` (the test skipped) without a Ray head.
fn ray_gang_server(test: &str, dir: &std::path::Path, extra: &str) -> Option<Server> {
    let env = need_ray(test)?;
    let address = env.get(env_file::RAY_ADDRESS).unwrap();
    let python = env.get(env_file::RAY_PYTHON).unwrap_or("python3");
    Some(Server::start(
        dir,
        &format!(
            "[[pool]]\nname = \"ray\"\nexecutor = \"ray\"\naddress = \"{address}\"\n\
             ray_python = \"{python}\"\naccelerator = \"H100\"\ncount = 4\nnodes = 2\n\
             {extra}poll_interval = \"200ms\"\n"
        ),
    ))
}
