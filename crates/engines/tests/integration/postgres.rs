//! The PostgreSQL server of `scripts/engines/postgres-start.sh` answers on its URL. The
//! store's own tests (in the service crates) run their suite against it; this one checks
//! the setup they rely on.

use spillway_engines::env_file::{self, EnginesEnv};

use crate::engines::{unavailable, workspace_root};

#[tokio::test]
async fn postgres_answers_on_the_test_url_with_a_writable_database() {
    let test = "postgres_answers_on_the_test_url";
    let env = EnginesEnv::load(&workspace_root());
    let Some(url) = env.get(env_file::DATABASE_URL) else {
        return unavailable(
            test,
            "PostgreSQL",
            &format!("{} is not set", env_file::DATABASE_URL),
        )
        .unwrap_or(());
    };
    let table = format!("spillway_probe_{}", std::process::id());
    let sql = format!(
        "CREATE TABLE {table} (id int); INSERT INTO {table} VALUES (42); \
         SELECT id FROM {table}; DROP TABLE {table}; SHOW server_version_num;"
    );
    let output = match tokio::process::Command::new("psql")
        .args([
            url,
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &sql,
        ])
        .output()
        .await
    {
        Ok(output) => output,
        Err(error) => {
            return unavailable(test, "PostgreSQL", &format!("failed to run psql: {error}"))
                .unwrap_or(());
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return unavailable(
            test,
            "PostgreSQL",
            &format!("psql {url}: {}", stderr.trim()),
        )
        .unwrap_or(());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"42"), "{stdout}");
    let version: u32 = lines.last().unwrap().parse().unwrap();
    assert!(
        version >= 150_000,
        "PostgreSQL 15 or later expected, got {version}"
    );
}
