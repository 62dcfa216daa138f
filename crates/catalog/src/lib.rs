//! The accelerator catalog: accelerator specs and the offers (ways to rent them) built from the
//! bundled public price data, plus user overrides.
//!
//! Start from [`Catalog::bundled`] (the data embedded in the binary) or [`Catalog::load`]
//! (bundled plus the user's overrides file), then look up specs ([`Catalog::accelerator`]),
//! offers ([`Catalog::offers`], [`Catalog::query`]) and prices ([`Offer::price_per_chip_hour`]).
//! How prices are derived and which rows are left out is documented in `docs/catalog.md`.

mod catalog;
mod error;
mod left_out;
mod names;
mod offer;
mod overrides;
mod query;
mod source;

#[cfg(test)]
mod bundled_tests;

pub use catalog::{Catalog, OVERRIDES_ENV, default_overrides_path};
pub use error::{CatalogError, NameKind};
pub use left_out::{LeftOutCount, LeftOutReason, LeftOutRow, count_by_reason};
pub use offer::{OWNED_PROVIDER, Offer, Pricing, UsdPerPflopHour};
pub use query::{OfferQuery, QueryResult, SortKey};
pub use source::BUNDLED_DATA_DATE;
