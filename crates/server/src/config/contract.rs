//! Committed-spend contracts of the service (`[[contract]]`): the same keys as a scenario's
//! contracts (docs/economics.md: `overage_discount_percent` and `renewals` included), except
//! that the term starts on a date (`start`) instead of an offset into a simulated run. Pools with `price.plan = "committed"` are charged to one.
//!
//! Contracts become the core's [`Contract`], on a clock of microseconds since the Unix epoch
//! (the service's [`spillway_core::SimTime`]).

use super::{ConfigError, field};
use crate::accelerators::known_accelerators;
use serde::Deserialize;
use spillway_core::SimTime;
use spillway_core::econ::{Contract, ContractTerms};

/// `[[contract]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ContractFile {
    name: String,
    provider: String,
    total_usd: f64,
    start: DateFile,
    term_months: f64,
    discount_percent: f64,
    overage_discount_percent: Option<f64>,
    renewals: Option<u32>,
    #[serde(default)]
    accelerators: Vec<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    burn_points: Vec<(f64, f64)>,
}

/// A TOML date (`start = 2026-01-01`) or a string (`"2026-01-01"`, `"2026-01-01T12:00:00Z"`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DateFile {
    Toml(toml::value::Datetime),
    Text(String),
}

/// Microseconds since the epoch of a date (midnight UTC) or an RFC 3339 time.
fn parse_start(text: &str) -> Option<SimTime> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(SimTime(ts.as_microsecond()));
    }
    let date = text.parse::<jiff::civil::Date>().ok()?;
    let ts = format!("{date}T00:00:00Z")
        .parse::<jiff::Timestamp>()
        .ok()?;
    Some(SimTime(ts.as_microsecond()))
}

impl ContractFile {
    /// Validates the `i`-th contract.
    pub(super) fn validate(self, i: usize) -> Result<Contract, ConfigError> {
        let at = |f: &str| format!("contract[{i}].{f}");
        let text = match &self.start {
            DateFile::Toml(d) => d.to_string(),
            DateFile::Text(s) => s.clone(),
        };
        let start = parse_start(&text).ok_or_else(|| {
            field(
                at("start"),
                format!(
                    "invalid date '{text}': write a date (2026-01-01) or a UTC time (2026-01-01T00:00:00Z)"
                ),
            )
        })?;
        let names = known_accelerators();
        let terms = ContractTerms {
            name: self.name,
            provider: self.provider,
            total_usd: self.total_usd,
            term_months: self.term_months,
            discount_percent: self.discount_percent,
            overage_discount_percent: self.overage_discount_percent,
            renewals: self.renewals,
            accelerators: self.accelerators,
            regions: self.regions,
            burn_points: self.burn_points,
        };
        terms
            .into_contract(start, |a| {
                names
                    .canonical(a)
                    .map(str::to_string)
                    .ok_or_else(|| names.unknown_message(a))
            })
            .map_err(|e| field(at(&e.field), e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use spillway_core::econ::BurnSchedule;

    const CONTRACT: &str = "[[contract]]\nname = \"gcp-tpu\"\nprovider = \"GCP\"\ntotal_usd = 1000000\nstart = 2026-01-01\nterm_months = 12\ndiscount_percent = 30\naccelerators = [\"tpu-v5p\"]\nregions = [\"us-east5\"]\nburn_points = [[6, 0.25], [12, 1.0]]\n";

    fn pool(extra: &str) -> String {
        format!(
            "[[pool]]\nname = \"tpu\"\naccelerator = \"tpu-v5p\"\ncount = 4\nprice = {{ plan = \"committed\", usd_per_chip_hour = 2.94 }}\n{extra}"
        )
    }

    fn error(config: &str) -> String {
        Config::parse(config, "t").unwrap_err().to_string()
    }

    #[test]
    fn committed_pools_are_charged_to_the_contract_that_covers_them() {
        let c = Config::parse(
            &format!(
                "{CONTRACT}{}",
                pool("provider = \"gcp\"\nregion = \"us-east5\"\n")
            ),
            "t",
        )
        .unwrap();
        let k = &c.contracts[0];
        assert_eq!(k.provider, "gcp");
        assert_eq!(k.start, parse_start("2026-01-01").unwrap());
        assert_eq!(k.accelerators, ["tpu-v5p"]);
        assert!(matches!(k.burn, BurnSchedule::Points(_)));
        assert_eq!(c.pools[0].contract.as_deref(), Some("gcp-tpu"));
        assert_eq!((k.renewals, k.overage_discount), (0, 0.0));
        let c = Config::parse(
            &format!(
                "{CONTRACT}renewals = 2\noverage_discount_percent = 10\n{}",
                pool("provider = \"gcp\"\nregion = \"us-east5\"\n")
            ),
            "t",
        )
        .unwrap();
        assert_eq!(
            (c.contracts[0].renewals, c.contracts[0].overage_discount),
            (2, 0.1)
        );
        // A string date and a named contract work too.
        let text = CONTRACT.replace("start = 2026-01-01", "start = \"2026-01-01T06:00:00Z\"");
        let c = Config::parse(
            &format!(
                "{text}{}",
                pool("provider = \"gcp\"\nregion = \"us-east5\"\ncontract = \"gcp-tpu\"\n")
            ),
            "t",
        )
        .unwrap();
        assert_eq!(c.contracts[0].start.0 % 86_400_000_000, 6 * 3_600_000_000);
    }

    #[test]
    fn contract_errors_name_the_field() {
        // No contract covers a committed pool in another region.
        let e = error(&format!("{CONTRACT}{}", pool("provider = \"gcp\"\n")));
        assert!(
            e.starts_with("invalid config: pool[0].price.plan: a committed pool is charged to a contract, and no [[contract]] covers provider gcp, accelerator tpu-v5p, region tpu"),
            "{e}"
        );
        let e = error(&format!("{CONTRACT}{}", pool("contract = \"aws\"\n")));
        assert_eq!(
            e,
            "invalid config: pool[0].contract: no [[contract]] named 'aws' (declared: gcp-tpu)"
        );
        let e = error(&format!("{CONTRACT}{}", pool("contract = \"gcp-tpu\"\n")));
        assert!(
            e.contains("does not cover this pool (local, tpu-v5p, region tpu)"),
            "{e}"
        );
        let e = error(&format!(
            "{CONTRACT}[[pool]]\nname = \"h\"\naccelerator = \"H100\"\ncount = 1\ncontract = \"gcp-tpu\"\n"
        ));
        assert!(e.contains("pool[0].contract: only a committed pool"), "{e}");
        let e = error(&CONTRACT.replace("2026-01-01", "\"next year\""));
        assert!(
            e.contains("contract[0].start: invalid date 'next year'"),
            "{e}"
        );
        let e = error(&CONTRACT.replace("discount_percent = 30", "discount_percent = 130"));
        assert!(
            e.contains("contract[0].discount_percent: must be in [0, 100)"),
            "{e}"
        );
        let e = error(&CONTRACT.replace("[[6, 0.25], [12, 1.0]]", "[[6, 0.5], [3, 1.0]]"));
        assert!(e.contains("contract[0].burn_points[1]: [3, 1]"), "{e}");
        let e = error(&CONTRACT.replace("tpu-v5p\"]", "tpu-v9\"]"));
        assert!(
            e.contains("contract[0].accelerators: unknown accelerator 'tpu-v9'"),
            "{e}"
        );
        let e = error(&CONTRACT.replace("term_months = 12", "term_months = -12"));
        assert!(
            e.contains("contract[0].term_months: must be a length in months"),
            "{e}"
        );
        let e = error(&format!("{CONTRACT}overage_discount_percent = 35\n"));
        assert!(
            e.contains(
                "contract[0].overage_discount_percent: must be in [0, discount_percent = 30]"
            ),
            "{e}"
        );
        let e = error(&format!("{CONTRACT}renewals = -1\n"));
        assert!(e.contains("renewals"), "{e}");
        let e = error(&format!("{CONTRACT}term = 3\n"));
        assert!(
            e.contains("unknown field `term`") && e.contains("line 11"),
            "{e}"
        );
    }

    #[test]
    fn starts_are_dates_at_midnight_utc_or_times() {
        assert_eq!(parse_start("1970-01-02"), Some(SimTime(86_400_000_000)));
        assert_eq!(
            parse_start("1970-01-01T00:00:01Z"),
            Some(SimTime(1_000_000))
        );
        assert_eq!(parse_start("soon"), None);
    }
}
