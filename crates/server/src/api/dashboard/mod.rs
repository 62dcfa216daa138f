//! The web dashboard of `spillway serve`: one page at `/` with its script and style built into
//! the binary (no CDN, no build step), a token sign-in kept in a signed session cookie, and
//! two read-only views the JSON API lacks (job rows with where each runs and why it waits;
//! utilization, spend and failover blocks over time). Everything else the page shows it reads
//! from `/v1` with the session cookie, under the same authorization as a bearer token.

mod assets;
mod history;
mod jobs;
mod session;
mod signin;

pub use session::SessionKey;
pub(crate) use session::caller_from_cookie;

use crate::service::Service;
use axum::Router;
use axum::routing::get;
use std::sync::Arc;

/// The dashboard's routes: the page and its assets, `/ui/session`, `/ui/jobs`, `/ui/history`.
pub(crate) fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/", get(assets::index))
        .route("/ui/{file}", get(assets::file))
        .route(
            "/ui/session",
            get(signin::whoami)
                .post(signin::sign_in)
                .delete(signin::sign_out),
        )
        .route("/ui/jobs", get(jobs::rows))
        .route("/ui/history", get(history::history))
}
