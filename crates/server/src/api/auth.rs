//! Bearer tokens to callers. With no tokens configured every request acts as the `default`
//! tenant with admin rights (the server then listens on loopback only).

use super::error::ApiError;
use crate::config::Config;
use crate::service::Service;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::sync::Arc;

/// Tenant used when no tokens are configured and a spec names none.
pub const DEFAULT_TENANT: &str = "default";

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An admin token: sees and cancels every job.
    Admin,
    /// A tenant's token: sees and cancels only its own jobs.
    Tenant(String),
    /// No tokens are configured: the open, loopback-only mode.
    Open,
}

impl Caller {
    /// Whether the caller may see a job of `tenant`.
    pub fn may_see(&self, tenant: &str) -> bool {
        match self {
            Caller::Admin | Caller::Open => true,
            Caller::Tenant(t) => t == tenant,
        }
    }

    /// The tenant a caller's own listing is limited to.
    pub fn only_tenant(&self) -> Option<&str> {
        match self {
            Caller::Tenant(t) => Some(t),
            _ => None,
        }
    }
}

impl FromRequestParts<Arc<Service>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        service: &Arc<Service>,
    ) -> Result<Caller, ApiError> {
        let config = &service.config;
        if !config.has_tokens() {
            return Ok(Caller::Open);
        }
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            // The dashboard's requests carry a session cookie instead of the token.
            if let Some(caller) = super::dashboard::caller_from_cookie(parts, config) {
                return caller;
            }
            return Err(ApiError::unauthorized(
                "missing bearer token: send `Authorization: Bearer TOKEN` (the CLI reads --token or SPILLWAY_TOKEN)",
            ));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized("malformed Authorization header: expected `Bearer TOKEN`")
            })?;
        caller_for_token(config, token)
            .ok_or_else(|| ApiError::unauthorized("unknown token: check --token or SPILLWAY_TOKEN"))
    }
}

/// Whose a token is: an admin's, a tenant's, or nobody's.
pub(crate) fn caller_for_token(config: &Config, token: &str) -> Option<Caller> {
    if config.admin_tokens.iter().any(|t| t == token) {
        return Some(Caller::Admin);
    }
    config
        .tenants
        .iter()
        .find(|t| t.tokens.iter().any(|x| x == token))
        .map(|t| Caller::Tenant(t.name.clone()))
}
