//! Test databases: a fresh schema on the test server per test, so that tests are
//! independent, and the SKIPPED / REQUIRED rule of the engine tests when there is none.

use spillway_engines::env_file::{self, EnginesEnv};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The test server's URL (`SPILLWAY_TEST_DATABASE_URL`, from the environment or
/// `target/engines.env`), or `None` after a loud skip; a failure with
/// `SPILLWAY_REQUIRE_ENGINES=1`.
pub(crate) fn database_url(test: &str) -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let env = EnginesEnv::load(&root);
    if let Some(url) = env.get(env_file::DATABASE_URL) {
        return Some(url.to_string());
    }
    let why = format!("{} is not set", env_file::DATABASE_URL);
    if EnginesEnv::engines_required() {
        panic!(
            "{test}: PostgreSQL is required ({}=1) but not available: {why}",
            env_file::REQUIRE_ENGINES
        );
    }
    // Straight to stderr: the harness hides eprintln! output of passing tests.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n******** SKIPPED {test}: PostgreSQL is not available: {why}.\n\
         ******** Start it with scripts/engines/start-all.sh; set {}=1 to make this a failure.\n",
        env_file::REQUIRE_ENGINES
    );
    None
}

/// A URL whose tables live in a new, empty schema, or `None` (after a loud skip).
pub(crate) async fn fresh_url(test: &str) -> Option<String> {
    let base = database_url(test)?;
    let schema = format!(
        "t_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        test.chars()
            .filter(char::is_ascii_alphanumeric)
            .take(24)
            .collect::<String>()
    )
    .to_lowercase();
    match super::PostgresStore::create_schema(&base, &schema).await {
        Ok(url) => Some(url),
        Err(e) if !EnginesEnv::engines_required() => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "\n******** SKIPPED {test}: PostgreSQL at {base} does not answer: {e}.\n"
            );
            None
        }
        Err(e) => panic!("{test}: failed to create a schema on {base}: {e}"),
    }
}
