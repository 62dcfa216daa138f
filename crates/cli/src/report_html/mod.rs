//! Self-contained HTML reports (`--html FILE`) of `simulate`, `plan` and `replay`: one page
//! each, with the dashboard's look and charts and nothing fetched from anywhere. [`page`]
//! builds a page; the commands fill it with their figures ([`plan`] here; `simulate` and
//! `replay` in their own modules, next to their figures).

pub(crate) mod buckets;
pub(crate) mod page;
pub(crate) mod plan;

pub(crate) use page::{Chart, ChartKind, Page, Series, Unit};
