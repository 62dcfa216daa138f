//! The leader lease: one row in `leader_lease`, taken when free or expired, renewed by its
//! holder, and fencing the holder's writes with its token.
//!
//! Expiry is judged by the database's clock alone, so replicas' clocks may disagree. Taking
//! and renewing are one atomic upsert; the token grows by one at every change of holder, and
//! the store remembers the token it holds (or that it lost it) for the writer to check.

use super::{LOST, UNFENCED};
use crate::store::{LeaseHolder, StoreError};
use std::sync::atomic::{AtomicI64, Ordering};
use tokio_postgres::Client;

/// The database's clock in ms since the epoch, in SQL.
const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

pub(super) async fn take_or_renew(
    client: &Client,
    fence: &AtomicI64,
    holder: &str,
    address: &str,
    ttl_ms: i64,
) -> Result<LeaseHolder, StoreError> {
    let held = fence.load(Ordering::SeqCst).max(UNFENCED);
    let sql = format!(
        "INSERT INTO leader_lease AS l (name, holder, address, token, expires_ms)
         VALUES ('leader', $1, $2, 1, {NOW_MS} + $3)
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, address = EXCLUDED.address,
           token = CASE WHEN l.holder = EXCLUDED.holder AND l.token = $4 THEN l.token ELSE l.token + 1 END,
           expires_ms = EXCLUDED.expires_ms
         WHERE (l.holder = EXCLUDED.holder AND l.token = $4) OR l.expires_ms < {NOW_MS}
         RETURNING token, expires_ms"
    );
    if let Some(row) = client
        .query_opt(&sql, &[&holder, &address, &ttl_ms, &held])
        .await?
    {
        let token: i64 = row.get(0);
        fence.store(token, Ordering::SeqCst);
        return Ok(LeaseHolder {
            holder: holder.to_string(),
            address: address.to_string(),
            token,
            expires_ms: row.get(1),
        });
    }
    // Someone else holds it. If we held it before, we lost it: refuse our writes from now on.
    if held != UNFENCED {
        fence.store(LOST, Ordering::SeqCst);
    }
    let row = client
        .query_one(
            "SELECT holder, address, token, expires_ms FROM leader_lease WHERE name = 'leader'",
            &[],
        )
        .await?;
    Ok(LeaseHolder {
        holder: row.get(0),
        address: row.get(1),
        token: row.get(2),
        expires_ms: row.get(3),
    })
}
