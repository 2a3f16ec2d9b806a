//! Service endpoints: health, metrics, regions and countries, server
//! capabilities, and the pages behind problem `type` URIs.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Kind};
use crate::state::App;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub regions: Vec<String>,
}

/// Liveness and readiness: answers once every region's store answers.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, body = Health), (status = 503, body = crate::error::ProblemBody)))]
pub async fn healthz(State(app): State<Arc<App>>) -> ApiResult<ApiJson<Health>> {
    for plane in app.locals() {
        plane.store.pending_changes(1).await.map_err(|_| {
            ApiError::new(
                Kind::Unavailable,
                format!("region {} store is not answering", plane.id),
            )
        })?;
    }
    app.catalog
        .hashtag_count("healthz")
        .await
        .map_err(|_| ApiError::new(Kind::Unavailable, "the catalog is not answering"))?;
    Ok(ApiJson(Health {
        status: "ok".into(),
        regions: app.locals().map(|p| p.id.to_string()).collect(),
    }))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "service", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(app): State<Arc<App>>) -> Response {
    let mut text = app.metrics.render();
    text.push_str(&format!(
        "# HELP sovereel_egress_refused_total Outbox changes refused by the egress check (a protected field tried to leave its region).\n# TYPE sovereel_egress_refused_total counter\nsovereel_egress_refused_total {}\n# TYPE sovereel_egress_passed_total counter\nsovereel_egress_passed_total {}\n",
        app.egress.refused_total(),
        app.egress.passed_total()
    ));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

#[derive(Serialize, ToSchema)]
pub struct RegionInfo {
    pub id: String,
    pub name: String,
    pub custodian: String,
    pub countries: Vec<String>,
    pub default: bool,
}

fn region_infos(app: &App) -> Vec<RegionInfo> {
    app.config
        .regions
        .iter()
        .map(|r| RegionInfo {
            id: r.id.clone(),
            name: r.name.clone(),
            custodian: app
                .local(&r.id)
                .map(|p| p.lifecycle.custodian())
                .unwrap_or_else(|| r.custodian.clone()),
            countries: r.countries.clone(),
            default: r.default,
        })
        .collect()
}

#[derive(Serialize, ToSchema)]
pub struct CountryInfo {
    pub code: String,
    pub name: String,
    pub region: String,
}

#[derive(Serialize, ToSchema)]
pub struct CountryList {
    pub items: Vec<CountryInfo>,
}

/// Every country and the region that would hold its users' data.
#[utoipa::path(get, path = "/v1/countries", tag = "service", responses((status = 200, body = CountryList)))]
pub async fn countries(State(app): State<Arc<App>>) -> ApiJson<CountryList> {
    let items = sovereel_model::country::COUNTRIES
        .iter()
        .map(|(code, name)| CountryInfo {
            code: code.to_string(),
            name: name.to_string(),
            region: app.home_of_country(code).to_string(),
        })
        .collect();
    ApiJson(CountryList { items })
}

#[derive(Serialize, ToSchema)]
pub struct ServerInfo {
    pub ffmpeg: bool,
    pub max_upload_bytes: u64,
    pub max_duration_ms: u64,
    /// Seconds between `DELETE /v1/me` and crypto-shredding.
    pub deletion_grace_secs: u64,
    pub regions: Vec<RegionInfo>,
}

/// What this server can do.
#[utoipa::path(get, path = "/v1/server", tag = "service", responses((status = 200, body = ServerInfo)))]
pub async fn server(State(app): State<Arc<App>>) -> ApiJson<ServerInfo> {
    ApiJson(ServerInfo {
        ffmpeg: app.processor.transcodes(),
        max_upload_bytes: app.config.limits.max_upload_bytes,
        max_duration_ms: app.config.limits.max_duration_secs * 1000,
        deletion_grace_secs: app.config.limits.deletion_grace_secs,
        regions: region_infos(&app),
    })
}

/// The human-readable page behind a problem `type`.
#[utoipa::path(get, path = "/problems/{slug}", tag = "service", params(("slug" = String, Path, description = "A problem type's last segment, such as `not-found`")),
    responses((status = 200, description = "A page that explains the problem", content_type = "text/html", body = String), (status = 404, body = crate::error::ProblemBody)))]
pub async fn problem_page(ApiPath(slug): ApiPath<String>) -> ApiResult<Html<String>> {
    let kind = Kind::from_slug(&slug).ok_or_else(|| ApiError::not_found("problem type"))?;
    Ok(Html(format!(
        "<!doctype html><meta charset=utf-8><title>{title}</title><h1>{title}</h1><p>HTTP status {status}.</p><p>{expl}</p><p><code>type: /problems/{slug}</code></p>",
        title = kind.title(),
        status = kind.status().as_u16(),
        expl = kind.explanation(),
        slug = kind.slug()
    )))
}
