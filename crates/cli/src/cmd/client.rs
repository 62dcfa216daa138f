//! The blocking HTTP client the service subcommands share: server address and token from
//! flags or `SPILLWAY_SERVER` / `SPILLWAY_TOKEN`, and API errors turned into readable ones.

use anyhow::{Context, anyhow};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Where the server is and who we are.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ClientArgs {
    /// The server's base URL.
    #[arg(long, env = "SPILLWAY_SERVER", default_value = "http://127.0.0.1:7070")]
    pub(crate) server: String,
    /// Bearer token (a tenant's or an admin's).
    #[arg(long, env = "SPILLWAY_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
}

/// A connection to the server.
pub(crate) struct Api {
    base: String,
    token: Option<String>,
    http: Client,
}

impl Api {
    pub(crate) fn new(args: &ClientArgs) -> anyhow::Result<Api> {
        let base = args.server.trim_end_matches('/').to_string();
        let base = if base.contains("://") {
            base
        } else {
            format!("http://{base}")
        };
        let http = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .context("failed to build the HTTP client")?;
        Ok(Api {
            base,
            token: args.token.clone(),
            http,
        })
    }

    pub(crate) fn get(&self, path: &str) -> RequestBuilder {
        self.auth(self.http.get(format!("{}{path}", self.base)))
    }

    pub(crate) fn post(&self, path: &str) -> RequestBuilder {
        self.auth(self.http.post(format!("{}{path}", self.base)))
    }

    fn auth(&self, rb: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// Sends a request and decodes a successful JSON answer.
    pub(crate) fn send<T: DeserializeOwned>(&self, rb: RequestBuilder) -> anyhow::Result<T> {
        let resp = self.send_raw(rb)?;
        resp.json::<T>()
            .context("failed to decode the server's answer")
    }

    /// Sends a request; a non-2xx answer becomes an error with the server's message.
    pub(crate) fn send_raw(&self, rb: RequestBuilder) -> anyhow::Result<Response> {
        let resp = rb.send().map_err(|e| {
            anyhow!(
                "cannot reach the spillway server at {}: {e}\n(is `spillway serve` running? set --server or SPILLWAY_SERVER)",
                self.base
            )
        })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status();
        let text = resp.text().unwrap_or_default();
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) if v["error"]["message"].is_string() => Err(anyhow!(
                "{} ({}, HTTP {})",
                crate::table::printable(v["error"]["message"].as_str().unwrap_or_default()),
                v["error"]["code"].as_str().unwrap_or_default(),
                status.as_u16()
            )),
            _ => Err(anyhow!(
                "the server answered HTTP {status}: {}",
                crate::table::printable(&text)
            )),
        }
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`: the zone is said, so that a
/// reader in another one does not take it for local time.
pub(crate) fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_times() {
        assert_eq!(super::time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::time(1_796_083_200_000), "2026-12-01 00:00:00 UTC");
    }
}
