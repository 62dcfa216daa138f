//! Filtering and sorting offers, as `spillway offers` does: the filters resolve names with
//! did-you-mean errors, and the order is total (ties broken by provider, region, zone,
//! instance) so listings are deterministic.

use crate::catalog::Catalog;
use crate::error::CatalogError;
use crate::left_out::{LeftOutCount, count_by_reason};
use crate::offer::Offer;
use spillway_model::Precision;
use std::cmp::Ordering;

/// What to sort offers by (cheapest first; offers without the figure last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// Price per chip-hour.
    #[default]
    PricePerChipHour,
    /// Price per hour of one peak PFLOP/s at the query's precision.
    PricePerPflopHour,
    /// Price of the whole unit per hour.
    Price,
}

/// Filters and order for a listing of offers. Names are matched case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct OfferQuery {
    /// Only this accelerator.
    pub accelerator: Option<String>,
    /// Only this provider.
    pub provider: Option<String>,
    /// Only this region.
    pub region: Option<String>,
    /// Only this zone.
    pub zone: Option<String>,
    /// Only offers with a spot price, and sort by spot prices.
    pub spot: bool,
    /// Only accelerators with at least this much memory per chip (offers whose memory is
    /// unknown are excluded).
    pub min_memory_gib: Option<f64>,
    /// Sort order.
    pub sort: SortKey,
    /// Precision for per-PFLOP prices.
    pub precision: Option<Precision>,
}

/// The offers a query selected, and the bundled rows left out that it would have selected.
#[derive(Debug, Clone)]
pub struct QueryResult<'c> {
    /// Matching offers, in order.
    pub offers: Vec<&'c Offer>,
    /// Left-out rows of the matching provider / accelerator / region / zone, per reason.
    pub left_out: Vec<LeftOutCount>,
}

impl OfferQuery {
    /// The sort figure of `offer` under this query.
    pub fn sort_value(&self, offer: &Offer) -> Option<f64> {
        let precision = self.precision.unwrap_or(Precision::Bf16);
        match (self.sort, self.spot) {
            (SortKey::PricePerChipHour, false) => offer.price_per_chip_hour().map(|p| p.0),
            (SortKey::PricePerChipHour, true) => offer.spot_price_per_chip_hour().map(|p| p.0),
            (SortKey::PricePerPflopHour, false) => {
                offer.price_per_pflop_hour(precision).map(|p| p.0)
            }
            (SortKey::PricePerPflopHour, true) => {
                offer.spot_price_per_pflop_hour(precision).map(|p| p.0)
            }
            (SortKey::Price, false) => offer.price_per_hour.map(|p| p.0),
            (SortKey::Price, true) => offer.spot_price_per_hour.map(|p| p.0),
        }
    }
}

/// Rounds a price to millionths of a dollar so that equal prices computed along different
/// paths (16.80 / 4 and 2419.2 / 576) tie, and the fixed order decides between them.
fn micro(price: f64) -> f64 {
    (price * 1e6).round()
}

impl Catalog {
    /// Runs `query`. Errors when a name in it is unknown (with the closest names).
    pub fn query(&self, query: &OfferQuery) -> Result<QueryResult<'_>, CatalogError> {
        let accelerator = query
            .accelerator
            .as_deref()
            .map(|a| self.accelerator_name(a))
            .transpose()?;
        let provider = query
            .provider
            .as_deref()
            .map(|p| self.provider(p))
            .transpose()?;
        let region = query
            .region
            .as_deref()
            .map(|r| self.region(r))
            .transpose()?;
        let zone = query.zone.as_deref().map(|z| self.zone(z)).transpose()?;
        // `tpu-v5p-32`: the generation's offers of that slice size only.
        let slice_chips = query
            .accelerator
            .as_deref()
            .and_then(spillway_model::spec::tpu::parse_slice)
            .and_then(Result::ok)
            .map(|s| s.chips);
        let place = |p: &str, a: Option<&str>, r: &str, z: &str| {
            provider.is_none_or(|want| want == p)
                && accelerator.is_none_or(|want| Some(want) == a)
                && region.is_none_or(|want| want == r)
                && zone.is_none_or(|want| want == z)
        };

        let mut offers: Vec<&Offer> = self
            .offers()
            .iter()
            .filter(|o| place(&o.provider, Some(&o.accelerator), &o.region, &o.zone))
            .filter(|o| slice_chips.is_none_or(|c| o.chips == c))
            .filter(|o| !query.spot || o.spot_price_per_hour.is_some())
            .filter(|o| {
                query
                    .min_memory_gib
                    .is_none_or(|min| o.memory_gib.is_some_and(|m| m >= min))
            })
            .collect();
        offers.sort_by(|a, b| {
            match (query.sort_value(a), query.sort_value(b)) {
                (Some(x), Some(y)) => micro(x).total_cmp(&micro(y)),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
            .then_with(|| a.identity_cmp(b))
        });

        // Memory and spot filters do not apply to rows that never became offers; the place
        // filters do, so "left out" speaks of the rows the user was asking about.
        let left_out = count_by_reason(self.left_out_rows().iter().filter(|row| {
            place(
                row.provider,
                row.accelerator.as_deref(),
                &row.region,
                &row.zone,
            )
        }));
        Ok(QueryResult { offers, left_out })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::left_out::LeftOutReason;

    fn run(query: OfferQuery) -> Vec<(String, String, f64)> {
        let catalog = Catalog::bundled();
        let result = catalog.query(&query).unwrap();
        result
            .offers
            .iter()
            .map(|o| {
                (
                    o.instance.clone(),
                    o.zone.clone(),
                    query.sort_value(o).unwrap_or(f64::NAN),
                )
            })
            .collect()
    }

    #[test]
    fn a_slice_name_lists_that_slice_only() {
        let query = OfferQuery {
            accelerator: Some("tpu-v5p-32".into()),
            ..OfferQuery::default()
        };
        let catalog = Catalog::bundled();
        let offers = catalog.query(&query).unwrap().offers;
        assert!(!offers.is_empty());
        assert!(
            offers
                .iter()
                .all(|o| o.instance == "tpu-v5p-32" && o.chips == 16)
        );
    }

    #[test]
    fn filters_resolve_names_case_insensitively() {
        let rows = run(OfferQuery {
            accelerator: Some("TPU-V5P".into()),
            region: Some("US-EAST5".into()),
            ..OfferQuery::default()
        });
        assert!(!rows.is_empty());
        assert!(
            rows.iter()
                .all(|(_, zone, _)| zone.starts_with("us-east5-"))
        );
        assert_eq!(
            rows[0].0, "tpu-v5p-8",
            "4.20/chip-hour: the cheapest there, first in name order"
        );
    }

    #[test]
    fn sorted_cheapest_first_with_ties_in_fixed_order() {
        let rows = run(OfferQuery {
            accelerator: Some("H100".into()),
            ..OfferQuery::default()
        });
        assert!(rows.windows(2).all(|w| w[0].2 <= w[1].2));
    }

    #[test]
    fn spot_keeps_only_offers_with_a_spot_price_and_sorts_by_it() {
        let catalog = Catalog::bundled();
        let query = OfferQuery {
            accelerator: Some("h200".into()),
            spot: true,
            ..OfferQuery::default()
        };
        let result = catalog.query(&query).unwrap();
        assert!(
            result
                .offers
                .iter()
                .all(|o| o.spot_price_per_hour.is_some())
        );
        let all = catalog
            .offers()
            .iter()
            .filter(|o| o.accelerator == "H200")
            .count();
        assert!(
            result.offers.len() < all,
            "some H200 offers have no spot price"
        );
    }

    #[test]
    fn min_memory_excludes_smaller_and_unknown() {
        let catalog = Catalog::bundled();
        let query = OfferQuery {
            min_memory_gib: Some(100.0),
            ..OfferQuery::default()
        };
        let result = catalog.query(&query).unwrap();
        assert!(result.offers.iter().all(|o| o.memory_gib.unwrap() >= 100.0));
        assert!(
            result.offers.iter().any(|o| o.accelerator == "B300"),
            "row memory counts"
        );
        assert!(!result.offers.iter().any(|o| o.accelerator == "H100"));
    }

    #[test]
    fn left_out_counts_follow_the_place_filters() {
        let catalog = Catalog::bundled();
        let query = OfferQuery {
            accelerator: Some("B200".into()),
            provider: Some("gcp".into()),
            ..OfferQuery::default()
        };
        let result = catalog.query(&query).unwrap();
        assert!(
            result.offers.is_empty(),
            "every GCP B200 VM has an unknown host price"
        );
        assert_eq!(result.left_out.len(), 1);
        assert_eq!(result.left_out[0].reason, LeftOutReason::UnknownHostPrice);
        assert_eq!(result.left_out[0].rows, 11);
    }

    #[test]
    fn duplicates_and_placeholders_are_reported_where_they_are() {
        let catalog = Catalog::bundled();
        let query = OfferQuery {
            accelerator: Some("v6e".into()),
            zone: Some("us-central2-b".into()),
            ..OfferQuery::default()
        };
        let result = catalog.query(&query).unwrap();
        assert!(result.offers.is_empty());
        let counts: Vec<_> = result.left_out.iter().map(|c| (c.reason, c.rows)).collect();
        // 8 slice sizes, each listed twice at the $700 placeholder.
        assert_eq!(
            counts,
            vec![
                (LeftOutReason::DuplicateRow, 8),
                (LeftOutReason::PlaceholderPrice, 8)
            ]
        );
    }

    #[test]
    fn unknown_names_are_errors_with_suggestions() {
        let catalog = Catalog::bundled();
        let query = OfferQuery {
            region: Some("us-central".into()),
            ..OfferQuery::default()
        };
        let err = catalog.query(&query).unwrap_err().to_string();
        assert!(
            err.starts_with("unknown region 'us-central': did you mean us-central1, us-central2"),
            "{err}"
        );
    }
}
