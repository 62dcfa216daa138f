//! Job endpoints: submit, list, show, cancel, logs, explain. Handlers check who may do what
//! and translate; the decisions are the scheduler's.

use super::auth::{Caller, DEFAULT_TENANT};
use super::error::{ApiError, ErrorBody};
use super::redact::Redactor;
use super::types::{
    Explanation, JobDetail, JobList, JobView, LogChunk, SubmitRequest, SubmitResponse,
};
use crate::executor::job_dir;
use crate::job::{Job, JobId, JobState};
use crate::service::Service;
use crate::store::JobFilter;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use spillway_model::spec::{Dialect, SubmitValues, fill_at_submit, parse_spec, parse_spec_value};
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;
use std::time::Instant;

/// Largest log chunk returned at once.
const MAX_LOG_CHUNK: u64 = 1 << 20;

/// Most jobs in one page of `GET /v1/jobs`; follow `next_before` for more.
pub const MAX_PAGE: u32 = 1000;

/// Largest request body the API reads (a submitted spec): 2 MiB. Each text of a spec is
/// bounded far below this by the spec parser (what one process's arguments can hold).
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// Axum's query rejections, reworded in our style.
fn query_error(e: axum::extract::rejection::QueryRejection) -> ApiError {
    let text = e.body_text();
    let detail = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text);
    ApiError::bad_request(format!("invalid query string: {detail}"))
}

fn parse_id(raw: &str) -> Result<JobId, ApiError> {
    raw.parse::<JobId>().map_err(ApiError::bad_request)
}

/// Loads a job the caller may see; others' jobs are "not found" so that ids do not leak.
async fn visible_job(service: &Service, caller: &Caller, id: JobId) -> Result<Job, ApiError> {
    match service.store.job(id).await? {
        Some(j) if caller.may_see(&j.tenant) => Ok(j),
        _ => Err(ApiError::not_found(format!("job {id} not found"))),
    }
}

/// Submit a job.
#[utoipa::path(
    post,
    path = "/v1/jobs",
    request_body(content = SubmitRequest, description = "The spec as YAML text or a JSON object; a raw YAML body with Content-Type application/yaml also works"),
    params(("Idempotency-Key" = Option<String>, Header, description = "A retried submit with the same key returns the same job")),
    responses(
        (status = 201, description = "Stored durably and queued", body = SubmitResponse),
        (status = 200, description = "The job an earlier submit with this Idempotency-Key created", body = SubmitResponse),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 401, description = "Missing or unknown token", body = ErrorBody),
        (status = 403, description = "Spec names another tenant", body = ErrorBody),
        (status = 409, description = "Idempotency-Key reused with a different spec", body = ErrorBody),
        (status = 422, description = "Invalid spec, or no pool can ever run it", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn submit(
    State(service): State<Arc<Service>>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<SubmitResponse>), ApiError> {
    let started = Instant::now();
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the request body is over the limit of {MAX_BODY_BYTES} bytes (2 MiB): a spec must be smaller"
                ),
            )
        } else {
            ApiError::bad_request(format!("cannot read the request body: {}", e.body_text()))
        }
    })?;
    let is_yaml = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("yaml"));
    let mut values = SubmitValues::default();
    let mut after = None;
    let parsed = if is_yaml {
        let text = std::str::from_utf8(&body)
            .map_err(|_| ApiError::bad_request("body is not UTF-8 text"))?;
        parse_spec(text, &service.names)
    } else {
        let req: SubmitRequest = serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "invalid JSON body: {e}; expected {{\"yaml\": \"...\"}} or {{\"spec\": {{...}}}}"
            ))
        })?;
        values.envs = req.envs;
        values.secrets = req.secrets;
        after = req.after;
        match (req.yaml, req.spec) {
            (Some(y), None) => parse_spec(&y, &service.names),
            (None, Some(v)) => parse_spec_value(&v, &service.names),
            (Some(_), Some(_)) => {
                return Err(ApiError::bad_request("give either yaml or spec, not both"));
            }
            (None, None) => {
                return Err(ApiError::bad_request(
                    "missing spec: send {\"yaml\": \"...\"} or {\"spec\": {...}}",
                ));
            }
        }
    }
    .map_err(|e| ApiError::invalid_spec(e.to_string()))?;
    let mut parsed = parsed;
    let secrets =
        fill_at_submit(&mut parsed, &values).map_err(|e| ApiError::invalid_spec(e.to_string()))?;
    parsed.spec.after = after;

    let tenant = match (&caller, parsed.spec.tenant.as_deref()) {
        (Caller::Tenant(t), Some(s)) if s != t => {
            return Err(ApiError::forbidden(format!(
                "tenant: the spec names tenant '{s}' but the token belongs to '{t}'"
            )));
        }
        (Caller::Tenant(t), _) => t.clone(),
        (_, Some(s)) => {
            if !service.config.tenants.is_empty()
                && !service.config.tenants.iter().any(|t| t.name == s)
            {
                return Err(ApiError::invalid_spec(format!(
                    "tenant: unknown tenant '{s}': it is not in the config"
                )));
            }
            s.to_string()
        }
        (_, None) => DEFAULT_TENANT.to_string(),
    };
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v
                .to_str()
                .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?;
            if k.is_empty() || k.len() > 200 {
                return Err(ApiError::bad_request(
                    "Idempotency-Key must be 1 to 200 characters",
                ));
            }
            Some(k.to_string())
        }
    };
    let submitted = service
        .submit_with(tenant, parsed.spec, key, &secrets)
        .await?;
    if submitted.created {
        service
            .metrics
            .submitted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    service.metrics.submit_latency.observe(started.elapsed());
    let status = if submitted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(SubmitResponse {
            id: submitted.job.id.0,
            state: submitted.job.state,
            created: submitted.created,
            dialect: match parsed.dialect {
                Dialect::Skypilot => "skypilot".into(),
                Dialect::Spillway => "spillway".into(),
            },
            warnings: parsed.warnings.iter().map(ToString::to_string).collect(),
        }),
    ))
}

/// Query of `GET /v1/jobs`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only jobs in this state.
    state: Option<String>,
    /// Only this tenant's jobs (admins; a tenant always sees only its own).
    tenant: Option<String>,
    /// At most this many (default and most: 1000).
    limit: Option<u32>,
    /// Only jobs with a smaller id: the previous page's `next_before`.
    before: Option<i64>,
}

/// List jobs, newest first.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    params(ListQuery),
    responses((status = 200, body = JobList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(
    State(service): State<Arc<Service>>,
    caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<JobList>, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    let state = q
        .state
        .as_deref()
        .map(str::parse::<JobState>)
        .transpose()
        .map_err(ApiError::bad_request)?;
    let tenant = match caller.only_tenant() {
        Some(t) => Some(t.to_string()),
        None => q.tenant,
    };
    let limit = q.limit.unwrap_or(MAX_PAGE);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit: {limit} is out of range: ask for 1 to {MAX_PAGE} jobs per page, and follow next_before for more"
        )));
    }
    let jobs = service
        .store
        .jobs(JobFilter {
            tenant,
            state,
            limit: Some(limit),
            before: q.before.map(JobId),
        })
        .await?;
    // The short wait reasons live in the reactor; a follower replica has none to give.
    let queued: Vec<JobId> = jobs
        .iter()
        .filter(|j| j.state == JobState::Queued)
        .map(|j| j.id)
        .collect();
    let reasons = if queued.is_empty() {
        Default::default()
    } else {
        service.wait_reasons(queued).await.unwrap_or_default()
    };
    // The pool of each listed job's latest attempt (one read per job that has run).
    let mut pools = BTreeMap::new();
    for j in jobs.iter().filter(|j| j.attempts > 0) {
        if let Some(a) = service.store.attempts(j.id).await?.last() {
            pools.insert(j.id, a.pool.clone());
        }
    }
    let redact = Redactor::new(&service, &caller, jobs.iter().map(|j| j.message.as_str())).await?;
    let next_before = match jobs.last() {
        Some(last) if jobs.len() == limit as usize => Some(last.id.0),
        _ => None,
    };
    Ok(Json(JobList {
        jobs: jobs
            .iter()
            .map(|j| {
                let mut v = JobView::from(j);
                v.message = redact.text(&v.message);
                v.reason = reasons.get(&j.id).cloned();
                v.pool = pools.remove(&j.id);
                v
            })
            .collect(),
        next_before,
    }))
}

/// Show one job with its attempts and events.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = JobDetail), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn show(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobDetail>, ApiError> {
    let job = visible_job(&service, &caller, parse_id(&id)?).await?;
    let attempts = service.store.attempts(job.id).await?;
    let events = service.store.events(job.id).await?;
    let texts = events.iter().map(|e| e.message.as_str());
    let redact = Redactor::new(&service, &caller, texts.chain([job.message.as_str()])).await?;
    let mut view = JobView::from(&job);
    view.message = redact.text(&view.message);
    view.pool = attempts.last().map(|a| a.pool.clone());
    Ok(Json(JobDetail {
        job: view,
        attempts: attempts.into_iter().map(Into::into).collect(),
        events: redact.events(events),
    }))
}

/// Cancel a job: a queued job at once, a running one by stopping its processes.
#[utoipa::path(
    post,
    path = "/v1/jobs/{id}/cancel",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = JobView), (status = 404, body = ErrorBody), (status = 409, description = "Already finished", body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn cancel(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    let job = visible_job(&service, &caller, parse_id(&id)?).await?;
    let job = service.cancel(job.id).await?;
    Ok(Json(JobView::from(&job)))
}

/// Query of the logs endpoint.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    /// `stdout` (default) or `stderr`.
    stream: Option<String>,
    /// Byte offset to read from (default 0); pass the previous `next_offset` to follow.
    offset: Option<u64>,
}

/// Read a job's log from an offset; poll with `next_offset` to follow it.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/logs",
    params(("id" = i64, Path, description = "Job id"), LogsQuery),
    responses((status = 200, body = LogChunk), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn logs(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<LogsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<LogChunk>, ApiError> {
    let Query(q) = query.map_err(query_error)?;
    let file = match q.stream.as_deref().unwrap_or("stdout") {
        "stdout" => "stdout.log",
        "stderr" => "stderr.log",
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown stream '{other}': use stdout or stderr"
            )));
        }
    };
    let job = visible_job(&service, &caller, parse_id(&id)?).await?;
    let path = job_dir(&service.config.data_dir, job.id).join(file);
    let offset = q.offset.unwrap_or(0);
    let data = tokio::task::spawn_blocking(move || -> std::io::Result<Option<Vec<u8>>> {
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(Vec::new())),
            Err(e) => return Err(e),
        };
        // A log only grows, and a follower only passes offsets it was given: an offset past
        // the end is a client's mistake (and seeking far past it fails on some filesystems).
        let len = f.metadata()?.len();
        if offset > len {
            return Ok(None);
        }
        f.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::new();
        f.take(MAX_LOG_CHUNK).read_to_end(&mut buf)?;
        Ok(Some(buf))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
    .map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("cannot read log: {e}"),
        )
    })?
    .ok_or_else(|| {
        ApiError::bad_request(format!(
            "offset: {offset} is past the end of the {file}: pass 0 or a next_offset the server returned"
        ))
    })?;
    let next_offset = offset + data.len() as u64;
    Ok(Json(LogChunk {
        eof: job.state.is_final() && (data.len() as u64) < MAX_LOG_CHUNK,
        data: String::from_utf8_lossy(&data).into_owned(),
        next_offset,
        state: job.state,
    }))
}

/// Why a job waits, or why it runs where it runs.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/explain",
    params(("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = Explanation), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn explain(
    State(service): State<Arc<Service>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Explanation>, ApiError> {
    let job = visible_job(&service, &caller, parse_id(&id)?).await?;
    let live = service.explain(job.id).await?;
    // The job may have finished between the two reads: re-read it for a consistent answer.
    let (job, reason, work) = match live {
        Some(r) => (job, r.reason, Some(r.work)),
        None => {
            let j = service.store.job(job.id).await?.unwrap_or(job);
            let r = format!("{}: {}", j.state, j.message);
            (j, r, None)
        }
    };
    let events = service.store.events(job.id).await?;
    let texts = events.iter().map(|e| e.message.as_str());
    let redact = Redactor::new(&service, &caller, texts.chain([reason.as_str()])).await?;
    Ok(Json(Explanation {
        id: job.id.0,
        state: job.state,
        reason: redact.text(&reason),
        policy: service.config.policy.name().to_string(),
        // It names the job's own tenant and name, no job ids: nothing to redact.
        work,
        events: redact.events(events),
    }))
}
