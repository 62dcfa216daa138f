//! Leadership among replicas that share one store (Postgres): only the holder of the leader
//! lease schedules and launches; the others serve reads and accept submits.
//!
//! A task takes or renews the lease every `RENEW_EVERY` (1 s); the lease lasts `LEASE_TTL_MS` (4 s)
//! by the database's clock, so a leader that stops renewing (killed, partitioned) is replaced
//! within about that time. A leader that cannot renew before its lease would expire, or that
//! finds another holder, has lost it for good: its writes are already refused by the store's
//! fence, and the server stops (fail-stop) so that a supervisor restarts it as a follower with
//! a clean slate. Leadership is never regained in place.
//!
//! On becoming leader the reactor runs recovery (re-adopting the old leader's processes, which
//! share the data directory, or requeueing them per their restart policy), then schedules.
//! While leading it also picks up, every tick, jobs that other replicas accepted.

use super::reactor::{LiveJob, Reactor};
use super::{Command, ServiceError};
use crate::executor::ExecReport;
use crate::store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::watch;

/// How often the leader renews its lease (and a follower tries to take it).
pub(crate) const RENEW_EVERY: Duration = Duration::from_millis(1_000);
/// How long a lease lasts without renewal.
pub(crate) const LEASE_TTL_MS: i64 = 4_000;

/// This server's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Another replica leads (its API address, when known).
    Follower(Option<String>),
    /// This server leads with this fencing token.
    Leader(i64),
    /// This server led and lost the lease: it must stop.
    Lost,
}

/// A unique id for this server process: host, pid and start time.
pub(crate) fn holder_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!("{host}:{}:{}", std::process::id(), crate::job::now_ms())
}

/// Starts the lease task; the receiver follows this server's role.
pub(crate) fn start(store: Arc<dyn Store>, address: String) -> watch::Receiver<Role> {
    let (tx, rx) = watch::channel(Role::Follower(None));
    let me = holder_id();
    tokio::spawn(async move {
        // When the last renewal that succeeded was sent: the lease holds until then + TTL.
        let mut renewed_at: Option<Instant> = None;
        loop {
            let sent = Instant::now();
            let held = match *tx.borrow() {
                Role::Leader(token) => Some(token),
                _ => None,
            };
            let leading = held.is_some();
            match store.lease(&me, &address, LEASE_TTL_MS).await {
                // Ours again, but under a new token: another replica led in between (this
                // one stalled past its expiry), so what this one holds in memory is stale.
                Ok(l) if l.holder == me && held.is_some_and(|t| t != l.token) => {
                    tracing::error!(
                        token = l.token,
                        "the leader lease changed hands while this server stalled"
                    );
                    tx.send_replace(Role::Lost);
                    return;
                }
                Ok(l) if l.holder == me => {
                    renewed_at = Some(sent);
                    if !leading {
                        tracing::info!(token = l.token, holder = %me, "took the leader lease");
                        tx.send_replace(Role::Leader(l.token));
                    }
                }
                Ok(l) => {
                    if leading {
                        tracing::error!(holder = %l.holder, "lost the leader lease to another replica");
                        tx.send_replace(Role::Lost);
                        return;
                    }
                    let role = Role::Follower(Some(l.address));
                    if *tx.borrow() != role {
                        tracing::info!(leader = %l.holder, "following");
                        tx.send_replace(role);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "failed to renew the leader lease");
                    // Stop before the lease could have expired in the database, with a margin
                    // of one renewal period for the database's clock.
                    let limit = Duration::from_millis(LEASE_TTL_MS as u64) - RENEW_EVERY;
                    if leading && renewed_at.is_none_or(|t| t.elapsed() >= limit) {
                        tracing::error!("could not renew the leader lease in time: stepping down");
                        tx.send_replace(Role::Lost);
                        return;
                    }
                }
            }
            if tx.is_closed() {
                return;
            }
            tokio::time::sleep(RENEW_EVERY.saturating_sub(sent.elapsed())).await;
        }
    });
    rx
}

impl Reactor {
    /// Serves commands as a follower until this server becomes leader; false when the
    /// service stops first. Submits need nothing here: they are in the store, where the
    /// leader (or this server's recovery, once it leads) finds them.
    pub(super) async fn follow(
        &mut self,
        inbox: &mut UnboundedReceiver<Command>,
        role: &mut watch::Receiver<Role>,
    ) -> bool {
        loop {
            let leader = match &*role.borrow_and_update() {
                Role::Leader(_) => return true,
                Role::Lost => return false,
                Role::Follower(address) => address.clone(),
            };
            tokio::select! {
                cmd = inbox.recv() => match cmd {
                    Some(Command::Submitted(_)) => {}
                    Some(Command::Cancel(_, reply)) => {
                        let _ = reply.send(Err(ServiceError::NotLeader(leader)));
                    }
                    Some(Command::Explain(_, reply)) => drop(reply.send(None)),
                    Some(Command::WaitReasons(_, reply)) => drop(reply.send(Default::default())),
                    // Dropping the reply answers "unavailable"; `Service::pools` says why first.
                    Some(Command::Pools(_)) => {}
                    None => return false,
                },
                changed = role.changed() => if changed.is_err() { return false },
            }
        }
    }

    /// Loads the queued jobs that other replicas accepted and this leader does not know yet.
    pub(super) async fn adopt_queued(&mut self) {
        let ids = match self.store.queued_ids().await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(error = %e, "failed to look for jobs submitted to other replicas");
                return;
            }
        };
        for id in ids {
            if self.jobs.contains_key(&id) {
                continue;
            }
            match self.store.job(id).await {
                Ok(Some(job)) if job.state == crate::job::JobState::Queued => {
                    self.from_store.insert(id);
                    self.track_queued(LiveJob::queued(job)).await;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(job = %id, error = %e, "failed to load a queued job"),
            }
        }
    }

    /// Whether a `Submitted` command names a job already loaded from the store (by recovery
    /// or [`Reactor::adopt_queued`]), which must not be queued a second time.
    pub(super) fn known_from_store(&mut self, id: crate::job::JobId) -> bool {
        self.jobs.contains_key(&id) || self.from_store.remove(&id)
    }
}

/// Runs a reactor over a shared store: follow until leading, recover, then lead until the
/// lease is lost or the service stops.
pub(super) async fn run_replica(
    mut reactor: Reactor,
    mut inbox: UnboundedReceiver<Command>,
    exits: UnboundedReceiver<ExecReport>,
    mut role: watch::Receiver<Role>,
) {
    if !reactor.follow(&mut inbox, &mut role).await {
        return;
    }
    let started = Instant::now();
    if let Err(e) = reactor.recover().await {
        tracing::error!(error = %e, "recovery after taking the lease failed");
        return;
    }
    tracing::info!(
        recovery_ms = started.elapsed().as_millis() as u64,
        jobs = reactor.jobs.len(),
        "leading: recovered the jobs of the previous leader"
    );
    // Jobs whose local submit is still on its way to the inbox are now known from the store.
    let recovered: Vec<_> = reactor.jobs.keys().copied().collect();
    reactor.from_store.extend(recovered);
    reactor.publish_gauges();
    reactor.run(inbox, exits, Some(role)).await;
}
