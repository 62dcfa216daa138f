//! Where the engines of `scripts/engines/start-all.sh` are: the variables it writes to
//! `target/engines.env` (`KEY=VALUE` lines), overridable one by one from the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `SLURM_CONF` of the first local Slurm cluster.
pub const SLURM_CONF: &str = "SPILLWAY_SLURM_CONF";
/// The state directory of the first cluster (for `slurm-restart-ctld.sh`).
pub const SLURM_DIR: &str = "SPILLWAY_SLURM_DIR";
/// `SLURM_CONF` of the second local Slurm cluster.
pub const SLURM_B_CONF: &str = "SPILLWAY_SLURM_B_CONF";
pub const SLURM_B_DIR: &str = "SPILLWAY_SLURM_B_DIR";
/// `SLURM_CONF` of the local Slurm cluster of two nodes (gangs, `num_nodes: 2`).
pub const SLURM_GANG_CONF: &str = "SPILLWAY_SLURM_GANG_CONF";
/// The Ray dashboard (Jobs API) address, e.g. `http://127.0.0.1:8265`.
pub const RAY_ADDRESS: &str = "SPILLWAY_RAY_ADDRESS";
/// The Python that runs the Ray head (with `ray` installed): a Ray pool's `ray_python`.
pub const RAY_PYTHON: &str = "SPILLWAY_RAY_PYTHON";
/// A PostgreSQL URL for tests, e.g. `postgres://spillway:spillway@127.0.0.1:55432/spillway`.
pub const DATABASE_URL: &str = "SPILLWAY_TEST_DATABASE_URL";
/// Which file to read instead of `target/engines.env`.
pub const ENV_FILE: &str = "SPILLWAY_ENGINES_ENV";
/// Set to `1` to make a missing engine a test failure instead of a skip.
pub const REQUIRE_ENGINES: &str = "SPILLWAY_REQUIRE_ENGINES";

/// The engine addresses known to this process.
#[derive(Clone, Debug, Default)]
pub struct EnginesEnv {
    values: BTreeMap<String, String>,
    source: Option<PathBuf>,
}

impl EnginesEnv {
    /// Reads `$SPILLWAY_ENGINES_ENV`, or `target/engines.env` under `workspace_root`, then
    /// lets the process environment override each value. A missing file is not an error:
    /// the engines may be given by the environment alone, or not at all.
    pub fn load(workspace_root: &Path) -> Self {
        let path = std::env::var_os(ENV_FILE)
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root.join("target/engines.env"));
        let mut env = match std::fs::read_to_string(&path) {
            Ok(text) => Self {
                values: parse(&text),
                source: Some(path),
            },
            Err(_) => Self::default(),
        };
        for key in [
            SLURM_CONF,
            SLURM_DIR,
            SLURM_B_CONF,
            SLURM_B_DIR,
            SLURM_GANG_CONF,
            RAY_ADDRESS,
            RAY_PYTHON,
            DATABASE_URL,
        ] {
            if let Some(value) = std::env::var(key).ok().filter(|v| !v.is_empty()) {
                env.values.insert(key.to_owned(), value);
            }
        }
        env
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The file the values came from, if one was read.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Whether `SPILLWAY_REQUIRE_ENGINES=1` asks for missing engines to fail.
    pub fn engines_required() -> bool {
        std::env::var(REQUIRE_ENGINES).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    }
}

/// Parses `KEY=VALUE` lines; blank lines, `#` comments and an `export ` prefix are allowed,
/// and a value may be wrapped in single or double quotes.
fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, value) = line.split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some((key.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines_parse_with_comments_exports_and_quotes() {
        let values = parse(
            "# written by start-all.sh\nSPILLWAY_SLURM_CONF=/tmp/a/slurm.conf\n\n\
             export SPILLWAY_RAY_ADDRESS=\"http://127.0.0.1:8265\"\nX='y z'\nnot a line\n",
        );
        assert_eq!(values["SPILLWAY_SLURM_CONF"], "/tmp/a/slurm.conf");
        assert_eq!(values["SPILLWAY_RAY_ADDRESS"], "http://127.0.0.1:8265");
        assert_eq!(values["X"], "y z");
        assert_eq!(values.len(), 3);
    }
}
