//! The Spillway broker service: `spillway serve`.
//!
//! - [`config`]: pools, tenants, tokens (TOML, or discovered from this machine);
//! - [`store`]: durable state behind the [`store::Store`] trait (SQLite in WAL mode, or
//!   PostgreSQL shared by replicas);
//! - [`schedule`]: every placement decision, one pure function (interim policy until the
//!   decision core lands);
//! - [`executor`]: carries actions out (local processes) behind the [`executor::Executor`]
//!   trait;
//! - [`service`]: the reactor that ties them together, recovery after a crash, and the
//!   leader lease among replicas on one Postgres;
//! - [`api`]: the HTTP API, metrics and the OpenAPI document.

pub mod accelerators;
pub mod api;
pub mod config;
pub mod executor;
pub mod job;
pub mod lock;
pub mod metrics;
pub mod schedule;
pub mod service;
pub mod store;

use config::Config;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The listen address is unusable.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Without tokens the API is open, so it may only listen on loopback.
    #[error(
        "refusing to listen on {0} with no tokens configured: anyone who can reach it could run commands; listen on 127.0.0.1 or configure admin_tokens / tenant tokens"
    )]
    OpenNonLoopback(SocketAddr),
    /// The service could not start.
    #[error(transparent)]
    Service(#[from] service::ServiceError),
    /// Another server holds the data directory (SQLite store).
    #[error(transparent)]
    Locked(#[from] lock::LockError),
    /// This replica led and another took over its lease: it stopped so that it never acts
    /// on a stale view (restart it, and it follows).
    #[error("lost the leader lease to another replica: stopped (restart to follow)")]
    LostLease,
    /// The address file could not be written.
    #[error("cannot write address file {path}: {source}")]
    AddrFile {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Options of `spillway serve` beyond the config.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Write the bound address (`127.0.0.1:PORT`) to this file once listening.
    pub addr_file: Option<PathBuf>,
}

/// Runs the service until ctrl-c or SIGTERM. Running jobs are left running: a restarted
/// server re-adopts them.
pub async fn serve(config: Config, options: ServeOptions) -> Result<(), ServeError> {
    if !config.has_tokens() {
        // Refuse before binding, so that an open API is never reachable from elsewhere.
        let addrs = tokio::net::lookup_host(&config.listen)
            .await
            .map_err(|source| ServeError::Listen {
                addr: config.listen.clone(),
                source,
            })?;
        if let Some(a) = addrs.into_iter().find(|a| !a.ip().is_loopback()) {
            return Err(ServeError::OpenNonLoopback(a));
        }
    }
    // One server per SQLite data directory, taken before binding so that a second server
    // says who holds it rather than failing on a port. Held until this function returns,
    // or the process ends. Postgres replicas share the directory and elect a leader instead.
    let mut data_lock = match &config.database {
        None => Some(lock::DataDirLock::acquire(&config.data_dir)?),
        Some(_) => None,
    };
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Listen {
        addr: config.listen.clone(),
        source,
    })?;
    if !config.has_tokens() && !addr.ip().is_loopback() {
        return Err(ServeError::OpenNonLoopback(addr));
    }
    if let Some(l) = &mut data_lock {
        l.record(Some(&addr.to_string()))
            .map_err(|source| lock::LockError::Io {
                dir: config.data_dir.display().to_string(),
                path: l.path().display().to_string(),
                source,
            })?;
    }
    let data_dir = config.data_dir.clone();
    let database = config.database.clone();
    let open = !config.has_tokens();
    let service = service::Service::start_at(config, &addr.to_string()).await?;
    println!(
        "spillway listening on http://{addr} (data in {})",
        data_dir.display()
    );
    println!("dashboard at http://{addr}/ in a browser");
    if let Some(url) = &database {
        println!(
            "state in postgres at {}; replicas sharing it elect one leader",
            redact(url)
        );
    }
    if open {
        println!(
            "no tokens configured: the API is open to local users, so it listens on loopback only"
        );
    }
    if let Some(path) = &options.addr_file {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, addr.to_string())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| ServeError::AddrFile {
                path: path.display().to_string(),
                source,
            })?;
    }
    tracing::info!(%addr, "serving");
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = {
        let (service, lost) = (service.clone(), lost.clone());
        async move {
            tokio::select! {
                () = shutdown_signal() => {}
                () = service.lost_leadership() => lost.store(true, std::sync::atomic::Ordering::SeqCst),
            }
        }
    };
    axum::serve(listener, api::router(service))
        .with_graceful_shutdown(stop)
        .await
        .map_err(|source| ServeError::Listen {
            addr: addr.to_string(),
            source,
        })?;
    drop(data_lock);
    if lost.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(ServeError::LostLease);
    }
    Ok(())
}

/// A database URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
