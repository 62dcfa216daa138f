//! `--contract 'gcp, $10B, 72 months, 30% off, tpu-v5p+tpu-v6e'`: a contract the user names,
//! parsed into a commitment offer with one tier and one start, so that the same model prices
//! it.
//!
//! Parts, separated by commas, in any order after the provider: an amount (`$10B`, `$750M`,
//! `$2.5e9`), a term (`72 months`, `6 years`), a discount (`30% off`), the covered accelerators
//! joined by `+`, and optionally `start 6` (the month it starts; 0 by default).

use crate::error::PlanError;
use crate::file::{CommitmentSection, TierSection};
use serde::Serialize;

/// A contract as named on the command line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractSpec {
    pub text: String,
    pub provider: String,
    pub spend_usd: f64,
    pub term_months: u32,
    pub discount_percent: f64,
    pub accelerators: Vec<String>,
    pub start_month: u32,
}

fn err(text: &str, message: impl Into<String>) -> PlanError {
    PlanError::Contract {
        text: text.to_string(),
        message: message.into(),
    }
}

fn money(part: &str) -> Option<f64> {
    let s = part.trim().strip_prefix('$')?.replace(['_', ','], "");
    let (num, mult) = match s.chars().last()? {
        'k' | 'K' => (&s[..s.len() - 1], 1e3),
        'm' | 'M' => (&s[..s.len() - 1], 1e6),
        'b' | 'B' => (&s[..s.len() - 1], 1e9),
        't' | 'T' => (&s[..s.len() - 1], 1e12),
        _ => (s.as_str(), 1.0),
    };
    num.trim().parse::<f64>().ok().map(|v| v * mult)
}

/// Parses the `--contract` text.
pub fn parse(text: &str) -> Result<ContractSpec, PlanError> {
    let parts: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let Some((provider, rest)) = parts.split_first() else {
        return Err(err(
            text,
            "empty; expected 'PROVIDER, $AMOUNT, N months, P% off, ACC+ACC'",
        ));
    };
    let (mut spend, mut term, mut discount, mut accs, mut start) = (None, None, None, None, 0);
    for part in rest {
        let lower = part.to_ascii_lowercase();
        if part.starts_with('$') {
            spend = Some(money(part).ok_or_else(|| {
                err(
                    text,
                    format!("`{part}` is not an amount; write e.g. $10B, $750M or $2.5e9"),
                )
            })?);
        } else if let Some(n) = lower.strip_suffix("months").or(lower.strip_suffix("month")) {
            term = Some(n.trim().parse::<u32>().map_err(|_| {
                err(
                    text,
                    format!("`{part}` is not a term; write e.g. 72 months"),
                )
            })?);
        } else if let Some(n) = lower.strip_suffix("years").or(lower.strip_suffix("year")) {
            term = Some(
                n.trim().parse::<u32>().map_err(|_| {
                    err(text, format!("`{part}` is not a term; write e.g. 6 years"))
                })? * 12,
            );
        } else if let Some(n) = lower.strip_suffix("off") {
            let n = n.trim().trim_end_matches('%').trim();
            discount = Some(n.parse::<f64>().map_err(|_| {
                err(
                    text,
                    format!("`{part}` is not a discount; write e.g. 30% off"),
                )
            })?);
        } else if let Some(n) = lower.strip_prefix("start") {
            let n = n.trim().trim_start_matches("month").trim();
            start = n.parse::<u32>().map_err(|_| {
                err(
                    text,
                    format!("`{part}` is not a start; write e.g. start 6 (a month)"),
                )
            })?;
        } else {
            accs = Some(
                part.split('+')
                    .map(|a| a.trim().to_string())
                    .collect::<Vec<_>>(),
            );
        }
    }
    let spend = spend.ok_or_else(|| err(text, "no amount; add e.g. $10B"))?;
    let term = term.ok_or_else(|| err(text, "no term; add e.g. 72 months"))?;
    let discount = discount.ok_or_else(|| err(text, "no discount; add e.g. 30% off"))?;
    let accelerators =
        accs.ok_or_else(|| err(text, "no accelerators; add e.g. tpu-v5p+tpu-v6e"))?;
    if !(spend > 0.0 && spend.is_finite()) {
        return Err(err(text, "the amount must be > 0"));
    }
    Ok(ContractSpec {
        text: text.to_string(),
        provider: provider.to_string(),
        spend_usd: spend,
        term_months: term,
        discount_percent: discount,
        accelerators,
        start_month: start,
    })
}

impl ContractSpec {
    /// The commitment table this contract stands for.
    pub fn section(&self) -> CommitmentSection {
        CommitmentSection {
            name: format!("contract: {}", self.text),
            provider: self.provider.clone(),
            term_months: self.term_months,
            accelerators: self.accelerators.clone(),
            regions: None,
            start_months: Some(vec![self.start_month]),
            use_it_or_lose_it: true,
            max_chips: None,
            tiers: vec![TierSection {
                min_spend: self.spend_usd,
                max_spend: Some(self.spend_usd),
                discount_percent: self.discount_percent,
            }],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_issue_example() {
        let c = parse("gcp, $10B, 72 months, 30% off, tpu-v5p+tpu-v6e").unwrap();
        assert_eq!(c.provider, "gcp");
        assert_eq!(c.spend_usd, 1e10);
        assert_eq!(c.term_months, 72);
        assert_eq!(c.discount_percent, 30.0);
        assert_eq!(c.accelerators, vec!["tpu-v5p", "tpu-v6e"]);
        assert_eq!(c.start_month, 0);
        let c = parse("aws, $750M, 3 years, 20 % off, Trainium2, start 6").unwrap();
        assert_eq!((c.spend_usd, c.term_months, c.start_month), (7.5e8, 36, 6));
    }

    #[test]
    fn names_what_is_missing_or_wrong() {
        let e = parse("gcp, 72 months, 30% off, tpu-v5p")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no amount"), "{e}");
        let e = parse("gcp, $ten, 72 months, 30% off, tpu-v5p")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`$ten` is not an amount"), "{e}");
        let e = parse("gcp, $1B, 30% off, tpu-v5p").unwrap_err().to_string();
        assert!(e.contains("no term"), "{e}");
    }
}
