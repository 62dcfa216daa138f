//! `/ui/jobs`: the job list as the dashboard shows it. The same jobs and the same visibility
//! as `GET /v1/jobs`, each with the pool of its latest attempt and the scheduler's reason in
//! words (what `explain` says for a live job, the last message for a finished one), filtered
//! by state, tenant, pool and a search in names.

use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::types::JobView;
use crate::job::JobState;
use crate::service::Service;
use crate::store::JobFilter;
use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Most rows at once.
const MAX_ROWS: u32 = 500;

/// Query of `/ui/jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RowsQuery {
    state: Option<String>,
    tenant: Option<String>,
    pool: Option<String>,
    /// Part of the name, any case.
    q: Option<String>,
    limit: Option<u32>,
}

/// One row of the job list.
#[derive(Debug, Serialize)]
pub(super) struct JobRow {
    #[serde(flatten)]
    job: JobView,
    /// Where it runs or ran: the pool of its latest attempt, unless it is queued again (a
    /// refused or preempted attempt says where it was, not where it is).
    pool: Option<String>,
    /// Why it waits or runs where it runs, or how it ended.
    reason: String,
}

/// The rows.
#[derive(Debug, Serialize)]
pub(super) struct JobRows {
    jobs: Vec<JobRow>,
    /// Whether more jobs matched than were returned.
    truncated: bool,
}

pub(super) async fn rows(
    State(service): State<Arc<Service>>,
    caller: Caller,
    query: Result<Query<RowsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<JobRows>, ApiError> {
    let Query(q) =
        query.map_err(|e| ApiError::bad_request(format!("invalid query: {}", e.body_text())))?;
    let state = q
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(str::parse::<JobState>)
        .transpose()
        .map_err(ApiError::bad_request)?;
    let tenant = match caller.only_tenant() {
        Some(t) => Some(t.to_string()),
        None => q.tenant.filter(|t| !t.is_empty()),
    };
    let limit = q.limit.unwrap_or(200).clamp(1, MAX_ROWS);
    let needle = q.q.unwrap_or_default().trim().to_lowercase();
    let pool = q.pool.filter(|p| !p.is_empty());
    // Name and pool filters apply after the store's: read more than shown when they are set.
    let filtered = !needle.is_empty() || pool.is_some();
    let jobs = service
        .store
        .jobs(JobFilter {
            tenant,
            state,
            limit: Some(if filtered { 5_000 } else { limit + 1 }),
            before: None,
        })
        .await?;
    let mut rows = Vec::new();
    let mut truncated = false;
    for job in jobs {
        if !caller.may_see(&job.tenant)
            || (!needle.is_empty() && !job.spec.name.to_lowercase().contains(&needle))
        {
            continue;
        }
        let last_pool = if job.attempts > 0 && job.state != JobState::Queued {
            service.store.attempts(job.id).await?.pop().map(|a| a.pool)
        } else {
            None
        };
        if pool.is_some() && last_pool != pool {
            continue;
        }
        if rows.len() as u32 == limit {
            truncated = true;
            break;
        }
        let reason = if job.state.is_final() {
            job.message.clone()
        } else {
            // A follower has no live state: fall back to the stored message.
            match service.explain(job.id).await {
                Ok(Some(r)) => r.reason,
                _ => job.message.clone(),
            }
        };
        rows.push(JobRow {
            job: JobView::from(&job),
            pool: last_pool,
            reason,
        });
    }
    Ok(Json(JobRows {
        jobs: rows,
        truncated,
    }))
}
