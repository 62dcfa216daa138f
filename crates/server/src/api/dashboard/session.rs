//! Dashboard sessions: a token typed into the sign-in form becomes a signed, HttpOnly,
//! SameSite=Strict cookie, so that the page's scripts never hold the token.
//!
//! The cookie carries no identity of its own: `v1.<expiry ms>.<token tag>.<mac>`, where the
//! tag is an HMAC of the token and the mac covers the rest, both keyed by a secret kept in the
//! data directory. Each request finds the configured token whose tag matches, so a token
//! removed from the config ends its sessions at the next restart, and sessions outlive a
//! restart of the same server (the key stays in its data directory).

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::config::Config;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

/// Name of the session cookie.
pub(crate) const COOKIE: &str = "spillway_session";
/// Header the page sends with every request it makes. Cross-site forms cannot send custom
/// headers, so a request that changes something and arrives with the cookie but without this
/// header was not made by the dashboard (a second guard against cross-site requests, behind
/// SameSite=Strict).
pub(crate) const PAGE_HEADER: &str = "x-spillway-dashboard";
/// How long a sign-in lasts.
pub(crate) const SESSION_MS: i64 = 12 * 3600 * 1000;
/// File under the data directory that holds the signing key.
const KEY_FILE: &str = "dashboard-session.key";

type HmacSha256 = Hmac<Sha256>;

/// The secret that signs session cookies: one per data directory, so that sessions survive a
/// restart of the server. Reaches the [`Caller`] extractor as a request extension.
#[derive(Clone)]
pub struct SessionKey(Arc<[u8; 32]>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

impl SessionKey {
    /// Reads the key under `data_dir`, or makes one there (owner-readable only). When the
    /// directory cannot hold it the key lives in memory: sessions then end at a restart.
    pub fn load_or_create(data_dir: &Path) -> SessionKey {
        let path = data_dir.join(KEY_FILE);
        if let Ok(bytes) = std::fs::read(&path)
            && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
        {
            return SessionKey(Arc::new(key));
        }
        let key: [u8; 32] = rand::random();
        let written = std::fs::create_dir_all(data_dir).and_then(|()| write_private(&path, &key));
        if let Err(e) = written {
            tracing::warn!(
                path = %path.display(),
                error = %e,
                "cannot keep the dashboard's session key: sign-ins end when the server restarts"
            );
        }
        SessionKey(Arc::new(key))
    }

    /// A key that lives in memory only (tests).
    pub fn ephemeral() -> SessionKey {
        SessionKey(Arc::new(rand::random()))
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(self.0.as_slice())
            .expect("HMAC takes a key of any length");
        for p in parts {
            mac.update(p);
            mac.update(b"\0");
        }
        mac
    }

    fn tag(&self, token: &str) -> String {
        let bytes = self
            .mac(&[b"token", token.as_bytes()])
            .finalize()
            .into_bytes();
        B64.encode(&bytes[..16])
    }

    /// The cookie value for a sign-in with `token`, valid until `expires_ms`.
    pub(crate) fn issue(&self, token: &str, expires_ms: i64) -> String {
        let body = format!("v1.{expires_ms}.{}", self.tag(token));
        let mac = self
            .mac(&[b"session", body.as_bytes()])
            .finalize()
            .into_bytes();
        format!("{body}.{}", B64.encode(mac))
    }

    /// Who a session cookie signs in, at `now_ms`.
    pub(crate) fn verify(
        &self,
        config: &Config,
        cookie: &str,
        now_ms: i64,
    ) -> Result<Caller, SessionError> {
        let (body, mac) = cookie.rsplit_once('.').ok_or(SessionError::Invalid)?;
        let mac = B64.decode(mac).map_err(|_| SessionError::Invalid)?;
        self.mac(&[b"session", body.as_bytes()])
            .verify_slice(&mac)
            .map_err(|_| SessionError::Invalid)?;
        let mut fields = body.split('.');
        let (Some("v1"), Some(expires), Some(tag), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(SessionError::Invalid);
        };
        let expires: i64 = expires.parse().map_err(|_| SessionError::Invalid)?;
        if expires <= now_ms {
            return Err(SessionError::Expired);
        }
        if config.admin_tokens.iter().any(|t| self.tag(t) == tag) {
            return Ok(Caller::Admin);
        }
        config
            .tenants
            .iter()
            .find(|t| t.tokens.iter().any(|x| self.tag(x) == tag))
            .map(|t| Caller::Tenant(t.name.clone()))
            .ok_or(SessionError::Revoked)
    }
}

fn write_private(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path)?;
    f.write_all(key)?;
    f.sync_all()
}

/// Why a session cookie signs nobody in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SessionError {
    /// Signed by another key, edited, or not ours.
    #[error(
        "your dashboard session is not valid here (it was made by another server or its key changed): sign in again"
    )]
    Invalid,
    /// Past its expiry.
    #[error("your dashboard session expired (sign-ins last 12 hours): sign in again")]
    Expired,
    /// The token it was made from is no longer in the config.
    #[error(
        "the token of your dashboard session is no longer accepted by this server: sign in with a current token"
    )]
    Revoked,
}

/// The session cookie's value, if the request carries one.
pub(crate) fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

/// The caller a request's session cookie signs in, for the [`Caller`] extractor when a
/// request has no `Authorization` header; `None` when it carries no session cookie.
pub(crate) fn caller_from_cookie(
    parts: &Parts,
    config: &Config,
) -> Option<Result<Caller, ApiError>> {
    let cookie = cookie_value(&parts.headers)?;
    let Some(key) = parts.extensions.get::<SessionKey>() else {
        return Some(Err(ApiError::unauthorized(
            "this server does not accept dashboard sessions: send `Authorization: Bearer TOKEN`",
        )));
    };
    let caller = match key.verify(config, cookie, crate::job::now_ms()) {
        Ok(c) => c,
        Err(e) => return Some(Err(ApiError::unauthorized(e.to_string()))),
    };
    let safe = matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    if !safe && !parts.headers.contains_key(PAGE_HEADER) {
        return Some(Err(ApiError::forbidden(format!(
            "a request that changes something with a dashboard session must come from the dashboard (header {PAGE_HEADER}); scripts send `Authorization: Bearer TOKEN`"
        ))));
    }
    Some(Ok(caller))
}

/// The `Set-Cookie` value that signs in with `value` (or signs out, with an empty value).
pub(crate) fn set_cookie(value: &str, max_age_s: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={value}; Path=/; Max-Age={max_age_s}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::parse(
            "admin_tokens = [\"admin-secret\"]\n\
             [[pool]]\nname = \"p\"\n\
             [[tenant]]\nname = \"lab\"\ntokens = [\"lab-secret-1\"]\n",
            "test",
        )
        .unwrap()
    }

    #[test]
    fn a_cookie_signs_in_whoever_owns_its_token_until_it_expires() {
        let (key, config) = (SessionKey::ephemeral(), config());
        let lab = key.issue("lab-secret-1", 2_000);
        assert_eq!(
            key.verify(&config, &lab, 1_999),
            Ok(Caller::Tenant("lab".into()))
        );
        assert_eq!(key.verify(&config, &lab, 2_000), Err(SessionError::Expired));
        let admin = key.issue("admin-secret", 2_000);
        assert_eq!(key.verify(&config, &admin, 0), Ok(Caller::Admin));
        // The cookie does not contain the token.
        assert!(!lab.contains("lab-secret"));
    }

    #[test]
    fn an_edited_foreign_or_revoked_cookie_signs_in_nobody() {
        let (key, config) = (SessionKey::ephemeral(), config());
        let lab = key.issue("lab-secret-1", 2_000);
        let later = lab.replacen("2000", "9000", 1);
        assert_eq!(key.verify(&config, &later, 0), Err(SessionError::Invalid));
        assert_eq!(
            SessionKey::ephemeral().verify(&config, &lab, 0),
            Err(SessionError::Invalid)
        );
        assert_eq!(key.verify(&config, "junk", 0), Err(SessionError::Invalid));
        let gone = key.issue("an-old-token", 2_000);
        assert_eq!(key.verify(&config, &gone, 0), Err(SessionError::Revoked));
    }

    #[test]
    fn the_key_is_kept_in_the_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let a = SessionKey::load_or_create(dir.path());
        let b = SessionKey::load_or_create(dir.path());
        assert_eq!(a.0, b.0);
        let cookie = a.issue("admin-secret", 5);
        assert_eq!(b.verify(&config(), &cookie, 0), Ok(Caller::Admin));
    }
}
