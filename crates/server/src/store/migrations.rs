//! Versioned schema migrations, one list for both databases.
//!
//! Each entry moves the schema from version `i` to `i + 1`; entries are never edited once
//! released, only appended, so every database can be brought up to date. The SQL is written
//! once, in the SQLite dialect it was first released in; [`postgres_sql`] is the only place
//! that knows the differences (64-bit integers, serial keys). SQLite tracks its version in
//! `PRAGMA user_version`, Postgres in the one-row table `spillway_schema`.

use super::StoreError;
use rusqlite::Connection;

/// The migrations, in order.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: jobs, attempts, events, idempotency keys.
    "CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        priority INTEGER NOT NULL,
        spec TEXT NOT NULL,
        submitted_ms INTEGER NOT NULL,
        deadline_ms INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        restarts INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER,
        message TEXT NOT NULL DEFAULT '',
        finished_ms INTEGER
    );
    CREATE INDEX jobs_by_state ON jobs(state, id);
    CREATE INDEX jobs_by_tenant ON jobs(tenant, id);
    CREATE TABLE attempts (
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        number INTEGER NOT NULL,
        pool TEXT NOT NULL,
        accelerators TEXT NOT NULL,
        resumed INTEGER NOT NULL,
        pid INTEGER,
        pid_start INTEGER,
        started_ms INTEGER NOT NULL,
        ended_ms INTEGER,
        outcome TEXT NOT NULL,
        exit_code INTEGER,
        PRIMARY KEY (job_id, number)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        at_ms INTEGER NOT NULL,
        kind TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX events_by_job ON events(job_id, id);
    CREATE TABLE idempotency (
        tenant TEXT NOT NULL,
        key TEXT NOT NULL,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        PRIMARY KEY (tenant, key)
    );",
    // 2: engine ids of attempts run by executors other than local processes.
    "ALTER TABLE attempts ADD COLUMN external_id TEXT;",
    // 3: the leader lease of replicated servers (one row per lease; used on Postgres, kept on
    // SQLite so that both schemas stay the same). `token` grows by one at every change of
    // holder and fences every write of the reactor.
    "CREATE TABLE leader_lease (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        address TEXT NOT NULL,
        token INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
    );",
    // 4: preemptions per job; the charges of attempts on committed pools to their contracts,
    // priced when they are made (a later config change does not reprice what was spent). An
    // attempt's charge is its chips x price x its time, which the attempts table has.
    "ALTER TABLE jobs ADD COLUMN preemptions INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE contract_charges (
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        number INTEGER NOT NULL,
        contract TEXT NOT NULL,
        pool TEXT NOT NULL,
        chips INTEGER NOT NULL,
        usd_per_chip_hour DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (job_id, number)
    );
    CREATE INDEX contract_charges_by_contract ON contract_charges(contract);",
    // 5: the successful runs of a job name, newest first, for work estimates from history
    // (`SUCCEEDED_RUNS_SQL`), without scanning all of a tenant's jobs.
    "CREATE INDEX jobs_by_name ON jobs(tenant, name, state, id);",
    // 6: the attempts that overlap a time window ([`attempts_overlapping_sql`], the dashboard's
    // history), without scanning every attempt ever made. The key is the end, not the start:
    // an attempt overlaps a window that starts at `from` when it ended after `from` or still
    // runs (a null end), a range of the attempts of the window's own time, whereas "started
    // before the window's end" is nearly all of history.
    "CREATE INDEX attempts_by_end ON attempts(ended_ms);",
];

/// Every attempt charged to a contract (`?1` / `$1`: now, ms), in SQL both databases run:
/// attempts that never ran are not charged, running ones count up to now. One row per attempt,
/// so that the contract's rules bill them in time order (terms that end, totals reached).
pub(super) const CONTRACT_USAGE_SQL: &str = "SELECT c.contract, c.pool, c.chips,
        c.usd_per_chip_hour, a.started_ms, COALESCE(a.ended_ms, ?1)
     FROM contract_charges c JOIN attempts a ON a.job_id = c.job_id AND a.number = c.number
     WHERE a.outcome NOT IN ('notstarted', 'nocapacity')
     ORDER BY c.contract, a.started_ms, c.job_id, c.number";

/// Which attempts `Store::attempts_on` reads (`?1` / `$1`: the pool): those that ran, in the
/// order they started.
pub(super) const ATTEMPTS_ON_WHERE: &str = "WHERE pool = ?1 AND outcome NOT IN ('notstarted', 'nocapacity') ORDER BY started_ms, job_id, number";

/// The columns both backends read an attempt from, in the order their `attempt_from_row`
/// reads them.
pub(super) const ATTEMPT_COLUMNS: &str = "job_id, number, pool, accelerators, resumed, pid, pid_start, started_ms, ended_ms, outcome, exit_code, external_id";

/// How many columns a comma-separated list names.
const fn columns_in(list: &str) -> usize {
    let bytes = list.as_bytes();
    let (mut i, mut n) = (0, 1);
    while i < bytes.len() {
        if bytes[i] == b',' {
            n += 1;
        }
        i += 1;
    }
    n
}

/// Where a row of [`attempts_overlapping_sql`] has its job's tenant: after the attempt's
/// columns.
pub(super) const OVERLAPPING_TENANT_COLUMN: usize = columns_in(ATTEMPT_COLUMNS);

/// The statement that reads the attempts overlapping the window `[?1, ?2)` (ms; `$1`, `$2` on
/// Postgres): started before its end, and still running or ended after its start. Each row is
/// the attempt's [`ATTEMPT_COLUMNS`] and then its job's tenant (column
/// [`OVERLAPPING_TENANT_COLUMN`]), in the order they started (then job and number). The end is
/// tested alone against the window's start, so that the planner reads `attempts_by_end`: the
/// rows read are the window's attempts and the running ones, not the whole table.
pub(super) fn attempts_overlapping_sql() -> String {
    format!(
        "SELECT {ATTEMPT_COLUMNS}, (SELECT tenant FROM jobs WHERE jobs.id = attempts.job_id)
         FROM attempts WHERE (ended_ms > ?1 OR ended_ms IS NULL) AND started_ms < ?2
         ORDER BY started_ms, job_id, number"
    )
}

/// The attempts that ran (`?1` / `$1`: tenant, `?2`: job name, `?3`: at most this many jobs)
/// of a tenant's latest successful jobs of one name, newest job first, each job's attempts
/// first first. A job with no attempt that ran still has one row, with a null pool: the
/// reader skips it as malformed instead of counting a run of no time.
pub(super) const SUCCEEDED_RUNS_SQL: &str =
    "SELECT j.id, a.pool, a.resumed, a.started_ms, a.ended_ms
     FROM (SELECT id FROM jobs WHERE tenant = ?1 AND name = ?2 AND state = 'succeeded'
           ORDER BY id DESC LIMIT ?3) j
     LEFT JOIN attempts a ON a.job_id = j.id AND a.outcome NOT IN ('notstarted', 'nocapacity')
     ORDER BY j.id DESC, a.number";

/// How many successful jobs of one name a tenant has (`?1`: tenant, `?2`: job name).
pub(super) const SUCCEEDED_COUNT_SQL: &str =
    "SELECT COUNT(*) FROM jobs WHERE tenant = ?1 AND name = ?2 AND state = 'succeeded'";

/// A query of this module in Postgres's spelling of parameters: `$1` for `?1`. (The queries
/// hold no other `?`.)
pub(super) fn postgres_params(sql: &str) -> String {
    sql.replace('?', "$")
}

/// The latest schema version this build knows.
pub(super) fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// A migration in the Postgres dialect: SQLite's `INTEGER` is 64 bits, Postgres's is 32, and
/// Postgres spells an auto-incremented key `BIGSERIAL`.
pub(super) fn postgres_sql(sqlite: &str) -> String {
    sqlite
        .replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
        .replace("INTEGER", "BIGINT")
}

/// Brings a SQLite schema up to the latest version, one transaction per migration.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = latest();
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer_schemas() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        conn.pragma_update(None, "user_version", 99).unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn an_old_database_keeps_its_rows_when_migrated() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO jobs (tenant, name, state, priority, spec, submitted_ms) VALUES ('t', 'j', 'running', 500, '{}', 1);
             INSERT INTO attempts (job_id, number, pool, accelerators, resumed, started_ms, outcome) VALUES (1, 1, 'local', '[]', 0, 1, 'running');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (pool, external): (String, Option<String>) = conn
            .query_row("SELECT pool, external_id FROM attempts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((pool.as_str(), external), ("local", None));
    }

    #[test]
    fn the_postgres_dialect_uses_64_bit_integers_and_serial_keys() {
        let pg = postgres_sql(MIGRATIONS[0]);
        assert!(pg.contains("id BIGSERIAL PRIMARY KEY,"), "{pg}");
        assert!(pg.contains("submitted_ms BIGINT NOT NULL"), "{pg}");
        assert!(!pg.contains("INTEGER"), "{pg}");
        assert!(!pg.contains("AUTOINCREMENT"), "{pg}");
    }
}
