//! `GET /v1/history`: the jobs submitted in a period with their attempts, a page at a time,
//! oldest first: what `spillway replay --server` replays. A tenant sees only its own jobs.

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::types::{AttemptView, JobView};
use crate::service::Service;
use crate::store::HistoryQuery;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// Most jobs one page holds.
const MAX_PAGE: u32 = 5_000;

/// Query of `GET /v1/history`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// First submit time included, ms since the epoch (default 0).
    from_ms: Option<i64>,
    /// First submit time excluded, ms since the epoch (default: no end).
    to_ms: Option<i64>,
    /// Only jobs with a greater id: the previous page's `next_after`.
    after: Option<i64>,
    /// At most this many jobs (default and most 5000).
    limit: Option<u32>,
}

/// One job of the history with its attempts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryJob {
    /// The job.
    pub job: JobView,
    /// Its attempts, first first.
    pub attempts: Vec<AttemptView>,
}

/// A page of the history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryPage {
    /// The jobs, oldest first.
    pub jobs: Vec<HistoryJob>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

/// Jobs submitted in a period with their attempts, oldest first, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/history",
    params(HistoryParams),
    responses((status = 200, body = HistoryPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn history(
    State(service): State<Arc<Service>>,
    caller: Caller,
    query: Result<Query<HistoryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<HistoryPage>, ApiError> {
    let Query(q) = query
        .map_err(|e| ApiError::bad_request(format!("invalid query string: {}", e.body_text())))?;
    let limit = q.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
    let page = service
        .store
        .history(HistoryQuery {
            from_ms: q.from_ms.unwrap_or(0),
            to_ms: q.to_ms.unwrap_or(i64::MAX),
            after: q.after.map(crate::job::JobId),
            limit,
        })
        .await?;
    let full = page.len() as u32 == limit;
    let next_after = page.last().map(|(j, _)| j.id.0).filter(|_| full);
    Ok(Json(HistoryPage {
        jobs: page
            .into_iter()
            .filter(|(j, _)| caller.may_see(&j.tenant))
            .map(|(j, attempts)| HistoryJob {
                job: JobView::from(&j),
                attempts: attempts.into_iter().map(Into::into).collect(),
            })
            .collect(),
        next_after,
    }))
}
