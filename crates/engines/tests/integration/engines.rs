//! Finding the engines, and the SKIPPED / REQUIRED rule.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use spillway_engines::env_file::{self, EnginesEnv};
use spillway_engines::ray::RayClient;
use spillway_engines::slurm::{SlurmClient, SlurmJobId, SlurmJobStatus};

/// The repository root (scripts, default env file).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Serializes the tests that use Slurm cluster B: one of them restarts its slurmctld.
pub(crate) static CLUSTER_B: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Reports an unavailable engine: a failure when engines are required, else a loud skip.
pub(crate) fn unavailable<T>(test: &str, engine: &str, why: &str) -> Option<T> {
    if EnginesEnv::engines_required() {
        panic!(
            "{test}: {engine} is required ({}=1) but not available: {why}",
            env_file::REQUIRE_ENGINES
        );
    }
    // Written to the process's stderr directly, not with eprintln!, which the test harness
    // captures and shows only for failing tests: a skip must be seen.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n******** SKIPPED {test}: {engine} is not available: {why}.\n\
         ******** Start the engines with scripts/engines/start-all.sh; set {}=1 to make \
         this a failure.\n",
        env_file::REQUIRE_ENGINES
    );
    None
}

/// A reachable Slurm cluster: its client and its state directory.
pub(crate) struct Cluster {
    pub(crate) client: SlurmClient,
    pub(crate) dir: Option<PathBuf>,
}

async fn slurm(test: &str, conf_key: &str, dir_key: &str, engine: &str) -> Option<Cluster> {
    let env = EnginesEnv::load(&workspace_root());
    let Some(conf) = env.get(conf_key) else {
        let from = env
            .source()
            .map_or("no env file".to_owned(), |p| p.display().to_string());
        return unavailable(test, engine, &format!("{conf_key} is not set ({from})"));
    };
    let client = SlurmClient::new(conf).with_command_timeout(Duration::from_secs(30));
    if let Err(error) = client.ping().await {
        return unavailable(test, engine, &format!("failed to {error}"));
    }
    Some(Cluster {
        client,
        dir: env.get(dir_key).map(PathBuf::from),
    })
}

/// Slurm cluster A, or `None` after reporting a skip.
pub(crate) async fn slurm_a(test: &str) -> Option<Cluster> {
    slurm(
        test,
        env_file::SLURM_CONF,
        env_file::SLURM_DIR,
        "Slurm cluster A",
    )
    .await
}

/// Slurm cluster B, or `None` after reporting a skip.
pub(crate) async fn slurm_b(test: &str) -> Option<Cluster> {
    slurm(
        test,
        env_file::SLURM_B_CONF,
        env_file::SLURM_B_DIR,
        "Slurm cluster B",
    )
    .await
}

/// The Ray head, or `None` after reporting a skip.
pub(crate) async fn ray(test: &str) -> Option<RayClient> {
    let env = EnginesEnv::load(&workspace_root());
    let Some(address) = env.get(env_file::RAY_ADDRESS) else {
        return unavailable(
            test,
            "Ray",
            &format!("{} is not set", env_file::RAY_ADDRESS),
        );
    };
    let client = match RayClient::new(address) {
        Ok(client) => client,
        Err(error) => return unavailable(test, "Ray", &format!("failed to {error}")),
    };
    match client.ray_version().await {
        Ok(_) => Some(client),
        Err(error) => unavailable(test, "Ray", &format!("failed to {error}")),
    }
}

/// An id no earlier run used: engines keep finished jobs around.
pub(crate) fn unique_id(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t-{test}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// Polls a job until `done` holds; panics with the last status after `limit`. Real engines
/// give no notifications, so tests poll, with limits generous enough for a busy 2-core host.
pub(crate) async fn wait_for(
    client: &SlurmClient,
    job: SlurmJobId,
    what: &str,
    limit: Duration,
    done: impl Fn(&SlurmJobStatus) -> bool,
) -> SlurmJobStatus {
    let since = Instant::now();
    loop {
        let status = client.status(job).await.unwrap();
        if done(&status) {
            return status;
        }
        assert!(
            since.elapsed() < limit,
            "job {job} was not {what} after {limit:?}: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
