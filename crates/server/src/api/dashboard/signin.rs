//! `/ui/session`: sign in with a token (the answer sets the session cookie), ask who the
//! session signs in, sign out.

use super::session::{
    PAGE_HEADER, SESSION_MS, SessionKey, caller_from_cookie, cookie_value, set_cookie,
};
use crate::api::auth::{Caller, caller_for_token};
use crate::api::error::ApiError;
use crate::job::now_ms;
use crate::service::Service;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Who the page acts for.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Session {
    /// `open` (no tokens configured: no sign-in), `admin` or `tenant`.
    pub mode: String,
    /// The tenant, for `tenant`.
    pub tenant: Option<String>,
    /// When the sign-in ends, ms since the epoch (absent in the open mode).
    pub expires_ms: Option<i64>,
    /// The decision core's policy.
    pub policy: String,
    /// The configured tenants the caller may see, for the page's filters.
    pub tenants: Vec<String>,
    /// The configured pools.
    pub pools: Vec<String>,
}

fn session(service: &Service, caller: &Caller, expires_ms: Option<i64>) -> Session {
    let config = &service.config;
    let (mode, tenant) = match caller {
        Caller::Open => ("open", None),
        Caller::Admin => ("admin", None),
        Caller::Tenant(t) => ("tenant", Some(t.clone())),
    };
    Session {
        mode: mode.to_string(),
        tenant,
        expires_ms,
        policy: config.policy.name().to_string(),
        tenants: config
            .tenants
            .iter()
            .map(|t| t.name.clone())
            .filter(|t| caller.may_see(t))
            .collect(),
        pools: config.pools.iter().map(|p| p.name.clone()).collect(),
    }
}

/// The session's expiry, read back from the cookie (already verified by the caller).
fn expiry(headers: &HeaderMap) -> Option<i64> {
    cookie_value(headers)?.split('.').nth(1)?.parse().ok()
}

/// Who the page acts for, or 401 with why not (no session, expired, token revoked).
pub(super) async fn whoami(
    State(service): State<Arc<Service>>,
    parts: Parts,
) -> Result<Json<Session>, ApiError> {
    if !service.config.has_tokens() {
        return Ok(Json(session(&service, &Caller::Open, None)));
    }
    match caller_from_cookie(&parts, &service.config) {
        Some(Ok(caller)) => Ok(Json(session(&service, &caller, expiry(&parts.headers)))),
        Some(Err(e)) => Err(e),
        None => Err(ApiError::unauthorized("sign in with your token")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignIn {
    token: String,
}

/// Signs in with `{"token": "..."}`: sets the session cookie and answers who it signs in.
pub(super) async fn sign_in(
    State(service): State<Arc<Service>>,
    parts: Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    // A cross-site form could post a body that reads as JSON; it cannot add this header.
    if !parts.headers.contains_key(PAGE_HEADER) {
        return Err(ApiError::forbidden(format!(
            "sign in from the dashboard (the request lacks the header {PAGE_HEADER})"
        )));
    }
    let SignIn { token } = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid sign-in body: {e}; expected {{\"token\": \"...\"}}"
        ))
    })?;
    if !service.config.has_tokens() {
        return Ok(Json(session(&service, &Caller::Open, None)).into_response());
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(ApiError::unauthorized("enter your token to sign in"));
    }
    let Some(caller) = caller_for_token(&service.config, token) else {
        return Err(ApiError::unauthorized(
            "this token is not accepted by this server: check it (the CLI's --token or SPILLWAY_TOKEN)",
        ));
    };
    let key = parts
        .extensions
        .get::<SessionKey>()
        .ok_or_else(|| ApiError::unauthorized("this server does not accept dashboard sessions"))?;
    let expires_ms = now_ms() + SESSION_MS;
    let cookie = set_cookie(
        &key.issue(token, expires_ms),
        SESSION_MS / 1000,
        secure(&parts),
    );
    Ok((
        StatusCode::OK,
        [(header::SET_COOKIE, cookie)],
        Json(session(&service, &caller, Some(expires_ms))),
    )
        .into_response())
}

/// Signs out: clears the cookie.
pub(super) async fn sign_out(parts: Parts) -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, set_cookie("", 0, secure(&parts)))],
    )
        .into_response()
}

/// Whether the page was reached over HTTPS (through a proxy that says so): the cookie is
/// then marked Secure. Plain HTTP on loopback cannot keep a Secure cookie.
fn secure(parts: &Parts) -> bool {
    parts
        .headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}
