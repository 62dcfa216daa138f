//! The page, its script and its style, compiled into the binary, served with headers that
//! keep them from being framed, sniffed or extended by anything not served from here.

use crate::api::error::ApiError;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const CHARTS_JS: &str = include_str!("assets/charts.js");
const STYLE_CSS: &str = include_str!("assets/style.css");
const ICON_SVG: &str = include_str!("assets/icon.svg");

/// Only what this server serves runs in the page; no inline script, no frames.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn serve(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            // Small files: revalidate each time, so that an upgraded server is never shown
            // with a stale script.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The page.
pub(super) async fn index() -> Response {
    serve(INDEX, "text/html; charset=utf-8")
}

/// One of the page's assets.
pub(super) async fn file(Path(name): Path<String>) -> Result<Response, ApiError> {
    Ok(match name.as_str() {
        "app.js" => serve(APP_JS, "text/javascript; charset=utf-8"),
        "charts.js" => serve(CHARTS_JS, "text/javascript; charset=utf-8"),
        "style.css" => serve(STYLE_CSS, "text/css; charset=utf-8"),
        "icon.svg" => serve(ICON_SVG, "image/svg+xml"),
        _ => return Err(ApiError::not_found(format!("no dashboard file {name}"))),
    })
}
