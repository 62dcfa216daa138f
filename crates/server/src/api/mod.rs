//! The HTTP API under `/v1`, plus `/healthz`, `/metrics`, `/openapi.json` and the web
//! dashboard (`/` and `/ui`).

mod auth;
mod dashboard;
mod error;
mod history;
mod jobs;
mod redact;
mod types;

pub use auth::{Caller, DEFAULT_TENANT};
pub use dashboard::SessionKey;
pub use error::{ErrorBody, ErrorDetail};
pub use history::{HistoryJob, HistoryPage};
pub use jobs::{MAX_BODY_BYTES, MAX_PAGE};
pub use types::*;

use crate::service::Service;
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use error::ApiError;
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::OpenApi;

/// The OpenAPI document, generated from the handlers and types.
#[derive(OpenApi)]
#[openapi(
    info(title = "Spillway", description = "The Spillway broker API: submit AI jobs, follow them, see pools and usage."),
    paths(jobs::submit, jobs::list, jobs::show, jobs::cancel, jobs::logs, jobs::explain, history::history, pools, usage, contracts),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document as pretty JSON (what `/openapi.json` serves and the repo checks in).
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serializes")
}

/// The router with every endpoint and the dashboard.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/v1/jobs", post(jobs::submit).get(jobs::list))
        .route("/v1/jobs/{id}", get(jobs::show))
        .route("/v1/jobs/{id}/cancel", post(jobs::cancel))
        .route("/v1/jobs/{id}/logs", get(jobs::logs))
        .route("/v1/jobs/{id}/explain", get(jobs::explain))
        .route("/v1/history", get(history::history))
        .route("/v1/pools", get(pools))
        .route("/v1/usage", get(usage))
        .route("/v1/contracts", get(contracts))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], openapi_json()) }),
        )
        .merge(dashboard::routes())
        .fallback(|| async { ApiError::not_found("no such endpoint: see /openapi.json") })
        // Dashboard sessions are signed with a key kept in the data directory.
        .layer(axum::Extension(SessionKey::load_or_create(
            &service.config.data_dir,
        )))
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint does not take that method: see /openapi.json",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(service)
}

/// The pools and what runs on them.
#[utoipa::path(
    get,
    path = "/v1/pools",
    responses((status = 200, body = PoolList), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn pools(
    State(service): State<Arc<Service>>,
    _caller: Caller,
) -> Result<Json<PoolList>, ApiError> {
    Ok(Json(PoolList {
        policy: service.config.policy.name().to_string(),
        pools: service.pools().await?,
    }))
}

/// Accelerator-hours and spend per tenant and pool (a tenant sees only its own), and for pools
/// rented by VMs, the VMs' rented time and its cost.
#[utoipa::path(
    get,
    path = "/v1/usage",
    responses((status = 200, body = UsageReport), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn usage(
    State(service): State<Arc<Service>>,
    caller: Caller,
) -> Result<Json<UsageReport>, ApiError> {
    let rows = service.store.usage(crate::job::now_ms()).await?;
    let mut by_tenant: BTreeMap<String, TenantUsage> = BTreeMap::new();
    for row in rows.into_iter().filter(|r| caller.may_see(&r.tenant)) {
        let chip_hours = row.chip_ms as f64 / 3_600_000.0;
        let price = service.config.pool(&row.pool).map_or(0.0, |p| p.price.0);
        let t = by_tenant
            .entry(row.tenant.clone())
            .or_insert_with(|| TenantUsage {
                tenant: row.tenant.clone(),
                pools: Vec::new(),
                chip_hours: 0.0,
                usd: 0.0,
            });
        t.chip_hours += chip_hours;
        t.usd += chip_hours * price;
        t.pools.push(PoolUsage {
            pool: row.pool,
            chip_hours,
            usd: chip_hours * price,
            attempts: row.attempts,
        });
    }
    Ok(Json(UsageReport {
        tenants: by_tenant.into_values().collect(),
        rented: service.rented().await?,
    }))
}

/// Each committed-spend contract from real usage: spent against its burn schedule, the
/// projection to the end of its term (on track, shortfall in dollars that would be lost, or
/// when it would be used up) and the share of the work it carried.
#[utoipa::path(
    get,
    path = "/v1/contracts",
    responses((status = 200, body = ContractList), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn contracts(
    State(service): State<Arc<Service>>,
    _caller: Caller,
) -> Result<Json<ContractList>, ApiError> {
    let (at_ms, contracts) = service.contracts().await?;
    Ok(Json(ContractList { at_ms, contracts }))
}

/// Prometheus metrics: open to anyone only where the config says so (`public_metrics`, or no
/// tokens at all); otherwise any valid token reads them.
async fn metrics(
    State(service): State<Arc<Service>>,
    caller: Result<Caller, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    if !service.config.public_metrics {
        caller?;
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        service.metrics.render(),
    ))
}
