//! The web dashboard: its sign-in and views over HTTP in process (`http`), and in a real
//! headless Chromium driven through chromedriver (`browser`): jobs with their reasons, a log
//! followed live, a cancel by clicking, a tenant who sees only its own jobs, a server that
//! restarts under the page, and a screenshot of each page (in
//! `target/dashboard-screenshots`). The browser tests are SKIPPED loudly without `chromium`
//! and `chromedriver`, and fail without them when `SPILLWAY_REQUIRE_ENGINES=1` (as in CI).

mod browser;
mod http;
mod webdriver;

use spillway_server::config::Config;
use spillway_server::service::Service;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Two tenants, an admin, a committed pool under a contract whose zone is out of capacity at
/// first (so the failover memory blocks it) and an on-demand pool.
fn config_text() -> String {
    // The contract's term runs from ten days ago, so that its schedule has started.
    let start = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .checked_sub(jiff::Span::new().days(10))
        .unwrap();
    format!(
        "admin_tokens = [\"admin-token-1\"]\n\
         [scheduler]\nfailover_half_life_s = 600\n\
         [[contract]]\nname = \"gcp-commit\"\nprovider = \"gcp\"\ntotal_usd = 5000\nstart = {start}\nterm_months = 1\ndiscount_percent = 30\n\
         [[pool]]\nname = \"commit\"\naccelerator = \"H100\"\ncount = 2\nprovider = \"gcp\"\nprice = {{ plan = \"committed\", usd_per_chip_hour = 1.5 }}\n\
         [pool.faults]\nstockouts = [{{ start_s = 0, end_s = 3600 }}]\n\
         [[pool]]\nname = \"od\"\naccelerator = \"H100\"\ncount = 4\nprice = {{ plan = \"on_demand\", usd_per_chip_hour = 2.5 }}\n\
         [[tenant]]\nname = \"research\"\ntokens = [\"research-token-1\"]\n\
         [[tenant]]\nname = \"vision\"\ntokens = [\"vision-token-1\"]\n"
    )
}

/// A service on a fresh data directory (kept while the guard lives).
async fn service(config: &str) -> (Arc<Service>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::parse(config, "test").unwrap();
    config.data_dir = dir.path().to_path_buf();
    (Service::start(config).await.unwrap(), dir)
}

/// The API and dashboard served on a loopback port, until [`Listening::stop`].
struct Listening {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Listening {
    /// Serves on `addr` (`127.0.0.1:0` for any free port).
    async fn start(service: Arc<Service>, addr: SocketAddr) -> Listening {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let router = spillway_server::api::router(service);
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Listening { addr, stop, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops listening and closes every connection (bounded).
    async fn stop(self) -> SocketAddr {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the server did not stop within 20 s")
            .unwrap();
        self.addr
    }
}
