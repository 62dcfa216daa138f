//! `spillway serve`: the control plane (HTTP API, store, scheduling loop, executors).

use anyhow::Context;
use spillway_server::config::Config;
use std::path::PathBuf;

/// Flags of `spillway serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed at start).
    #[arg(long, env = "SPILLWAY_LISTEN")]
    listen: Option<String>,
    /// Where the database and job logs live [default: $XDG_DATA_HOME/spillway or
    /// ~/.local/share/spillway].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Keep all state in this PostgreSQL database (`postgres://USER:PASSWORD@HOST:PORT/DB`,
    /// no TLS) instead of SQLite under the data directory; replicas sharing one elect a
    /// leader that schedules, the others serve reads and take over when it dies.
    #[arg(long, env = "SPILLWAY_DATABASE", value_name = "URL")]
    database: Option<String>,
    /// Config file (pools, tenants, tokens); without one, a local pool of this machine's
    /// accelerators.
    #[arg(long, env = "SPILLWAY_CONFIG")]
    config: Option<PathBuf>,
    /// Write the bound address to this file once listening (for scripts and tests).
    #[arg(long)]
    addr_file: Option<PathBuf>,
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::discovered(),
    };
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(d) = args.data_dir {
        config.data_dir = d;
    }
    if let Some(db) = args.database {
        config.database = Some(db);
    }
    for p in &config.pools {
        let acc = p
            .accelerator
            .as_deref()
            .map_or("no accelerators".to_string(), |a| {
                format!("{} x {a}", p.count)
            });
        let executor = serde_json::to_value(p.executor)?;
        println!(
            "pool {}: {} executor, {acc}, up to {} jobs",
            p.name,
            executor.as_str().unwrap_or_default(),
            p.max_jobs
        );
    }
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    runtime.block_on(spillway_server::serve(
        config,
        spillway_server::ServeOptions {
            addr_file: args.addr_file,
        },
    ))?;
    Ok(())
}
