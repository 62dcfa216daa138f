//! The period of `spillway replay`: `--since DURATION`, or `--from`/`--to` in RFC 3339.

use anyhow::{Result, anyhow};

/// `30d`, `12h`, `90m`, `45s`, `2w` (or a bare number of seconds) in ms.
pub(crate) fn parse_duration(text: &str) -> Result<i64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let unit_s = match unit.trim() {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        "w" => 604_800.0,
        other => {
            return Err(anyhow!(
                "unknown unit '{other}' in '{text}': use s, m, h, d or w (e.g. 30d)"
            ));
        }
    };
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n > 0.0)
        .ok_or_else(|| anyhow!("expected a positive duration like 30d or 12h, found '{text}'"))?;
    Ok((n * unit_s * 1000.0).round() as i64)
}

/// An RFC 3339 time (`2026-11-01T00:00:00Z`) in ms since the epoch.
pub(crate) fn parse_time(flag: &str, text: &str) -> Result<i64> {
    text.trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| {
            anyhow!(
                "{flag}: expected an RFC 3339 time like 2026-11-01T00:00:00Z, found '{text}': {e}"
            )
        })
}

/// ms since the epoch, for messages.
pub(crate) fn show(ms: i64) -> String {
    crate::cmd::client::time(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times() {
        assert_eq!(parse_duration("30d").unwrap(), 30 * 86_400_000);
        assert_eq!(parse_duration("1.5h").unwrap(), 5_400_000);
        assert_eq!(parse_duration("90").unwrap(), 90_000);
        assert!(
            parse_duration("3y")
                .unwrap_err()
                .to_string()
                .contains("unknown unit")
        );
        assert!(parse_duration("-1d").is_err());
        assert_eq!(parse_time("--from", "1970-01-01T00:00:01Z").unwrap(), 1000);
        assert!(parse_time("--from", "yesterday").is_err());
    }
}
