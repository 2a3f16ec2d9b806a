//! Staff: they sign in separately from users (`POST /v1/staff/sessions`,
//! a `sovereel_staff` cookie or bearer token `staff.<region>.<random>`) and
//! act only through the policy gateway. Each decision that touches someone
//! else's protected data, and every denial, is in the region's ledger before
//! anything is answered.
//!
//! * support sees account status, never content or history;
//! * an operator reads a user's protected data only under that user's data
//!   request id (an export request);
//! * platform staff see public content and aggregates, and nothing
//!   protected in any region;
//! * a region's custodian operator installs and activates approved
//!   algorithm releases.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sovereel_custody::{
    AccessContext, OpaqueId, Principal, RequestContext, Resource, StaffRole, act,
};
use utoipa::ToSchema;

use crate::auth;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Kind};
use crate::plane::LocalPlane;
use crate::state::App;

pub const COOKIE: &str = "sovereel_staff";

/// A signed-in staff member, resolved at the region that holds their account.
pub struct StaffUser {
    pub id: String,
    pub handle: String,
    pub role: StaffRole,
    pub platform: bool,
    /// `platform`, `custodian` or `custodian:<name>` (`lifecycle.rs`).
    pub org: String,
    pub plane: Arc<LocalPlane>,
    token_hash: String,
}

impl StaffUser {
    pub fn principal(&self) -> ApiResult<Principal> {
        let id = OpaqueId::parse(&self.id).map_err(ApiError::internal)?;
        Ok(if self.platform {
            Principal::platform_staff(id, self.role)
        } else {
            Principal::custodian_staff(id, self.plane.id.clone(), self.role)
        })
    }
}

fn staff_token(parts: &Parts) -> Option<String> {
    if let Some(t) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_string());
    }
    for v in parts.headers.get_all(header::COOKIE) {
        let Ok(s) = v.to_str() else { continue };
        for pair in s.split(';') {
            if let Some((k, val)) = pair.trim().split_once('=')
                && k == COOKIE
                && !val.is_empty()
            {
                return Some(val.to_string());
            }
        }
    }
    None
}

impl FromRequestParts<Arc<App>> for StaffUser {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let invalid = || ApiError::new(Kind::Unauthorized, "a valid staff session is required");
        let token = staff_token(parts).ok_or_else(invalid)?;
        let rest = token.strip_prefix("staff.").ok_or_else(invalid)?;
        let (region, _) = rest.split_once('.').ok_or_else(invalid)?;
        let plane = app.local(region).ok_or_else(invalid)?.clone();
        let token_hash = auth::token_hash(&token);
        let st = plane
            .store
            .staff_session(&token_hash, sovereel_model::now_millis())
            .await?
            .ok_or_else(invalid)?;
        let role = StaffRole::parse(&st.role).map_err(|_| invalid())?;
        if !plane.lifecycle.staff_may_act(&st.org) {
            // Handed over: the outgoing custodian's staff no longer act here.
            return Err(ApiError::new(
                Kind::Forbidden,
                "your organisation no longer holds this region",
            ));
        }
        Ok(StaffUser {
            id: st.id,
            handle: st.handle,
            role,
            platform: st.org == "platform",
            org: st.org,
            plane,
            token_hash,
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffLogin {
    /// The region holding the staff account (`global` for platform staff).
    pub region: String,
    pub handle: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct StaffSession {
    pub token: String,
    pub handle: String,
    pub role: String,
    /// `platform` or `custodian`.
    pub org: String,
    pub region: String,
}

/// Staff sign-in, separate from users.
#[utoipa::path(post, path = "/v1/staff/sessions", tag = "staff", operation_id = "staff_login", request_body = StaffLogin, responses((status = 200, body = StaffSession), (status = 401, body = crate::error::ProblemBody)))]
pub async fn login(
    State(app): State<Arc<App>>,
    ApiJson(body): ApiJson<StaffLogin>,
) -> ApiResult<Response> {
    let bad = || ApiError::new(Kind::BadCredentials, "wrong region, handle or password");
    let plane = app.local(&body.region).ok_or_else(bad)?.clone();
    let st = plane
        .store
        .staff_by_handle(&body.handle.to_ascii_lowercase())
        .await?;
    let hash = st
        .as_ref()
        .map(|s| s.password_hash.clone())
        .unwrap_or(crate::auth::decoy_hash().await?);
    let pw = body.password.clone();
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&pw, &hash))
        .await
        .map_err(ApiError::internal)?;
    let Some(st) = st.filter(|_| ok) else {
        return Err(bad());
    };
    if !plane.lifecycle.staff_may_act(&st.org) {
        return Err(ApiError::new(
            Kind::Forbidden,
            "your organisation no longer holds this region",
        ));
    }
    let token = format!("staff.{}", auth::new_token(plane.id.as_str()));
    let now = sovereel_model::now_millis();
    // Staff sessions last eight hours.
    plane
        .store
        .create_staff_session(&auth::token_hash(&token), &st.id, now, now + 8 * 3_600_000)
        .await?;
    let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=28800");
    let answer = StaffSession {
        token,
        handle: st.handle,
        role: st.role,
        org: st.org,
        region: plane.id.to_string(),
    };
    Ok(([(header::SET_COOKIE, cookie)], ApiJson(answer)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct AccountStatus {
    pub handle: String,
    pub region: String,
    pub state: sovereel_model::AccountState,
    pub private: bool,
    pub created_at: String,
}

/// Account status (support, operators, moderators of the user's region).
/// Never content or history.
#[utoipa::path(get, path = "/v1/staff/users/{handle}/status", tag = "staff", params(crate::api::HandlePath), responses((status = 200, body = AccountStatus), (status = 403, body = crate::error::ProblemBody)))]
pub async fn account_status(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(handle): ApiPath<String>,
) -> ApiResult<ApiJson<AccountStatus>> {
    let (id, home) = crate::api::social::resolve_local_user(&app, &handle).await?;
    let user = sovereel_model::UserId::parse(&id).map_err(ApiError::internal)?;
    let resource = Resource::of_class(
        sovereel_model::DataClass::Protected,
        home.id.clone(),
        Some(user),
    );
    let _grant = crate::custody::authorize(
        &app.gateway,
        &home,
        &staff.principal()?,
        act::ReadAccountStatus,
        &resource,
        &AccessContext::none().with_purpose("account status"),
    )
    .await?;
    let rec = home
        .store
        .user(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(ApiJson(AccountStatus {
        handle: rec.handle,
        region: home.id.to_string(),
        state: rec.state,
        private: rec.private,
        created_at: sovereel_model::rfc3339(rec.created_at),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// The user's data request (export) this access carries out.
    pub request_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProtectedProfile {
    pub handle: String,
    pub email: String,
    pub birthdate: String,
    pub country: String,
    pub request_id: String,
}

/// An operator reads a user's protected account fields, only under that
/// user's data request id (an export they asked for).
#[utoipa::path(get, path = "/v1/staff/users/{handle}/protected", tag = "staff", params(crate::api::HandlePath, RequestQuery), responses((status = 200, body = ProtectedProfile), (status = 403, body = crate::error::ProblemBody)))]
pub async fn protected_profile(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(handle): ApiPath<String>,
    ApiQuery(q): ApiQuery<RequestQuery>,
) -> ApiResult<ApiJson<ProtectedProfile>> {
    let (id, home) = crate::api::social::resolve_local_user(&app, &handle).await?;
    let user = sovereel_model::UserId::parse(&id).map_err(ApiError::internal)?;
    // The request is looked up here, never taken on the caller's word.
    let request = q
        .request_id
        .as_deref()
        .and_then(|r| app.exports.get(r))
        .filter(|j| j.owner == id);
    let context = match (&request, &q.request_id) {
        (Some(j), _) => AccessContext::data_request(RequestContext {
            request_id: OpaqueId::parse(&j.id).map_err(ApiError::internal)?,
            subject: user.clone(),
        })
        .with_purpose("data request"),
        _ => AccessContext::none().with_purpose("no data request"),
    };
    let grant = crate::custody::authorize(
        &app.gateway,
        &home,
        &staff.principal()?,
        act::RunDataRequest,
        &Resource::protected(&user),
        &context,
    )
    .await?;
    let key = crate::custody::key_for(&home, &grant, &user)?;
    let rec = home
        .store
        .user(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let open = |f: &str, v: &str| {
        key.decrypt_field(f, v)
            .map(|z| z.to_string())
            .map_err(ApiError::internal)
    };
    Ok(ApiJson(ProtectedProfile {
        handle: rec.handle.clone(),
        email: open("users.email", &rec.email)?,
        birthdate: open("users.birthdate", &rec.birthdate)?,
        country: open("users.country", &rec.country)?,
        request_id: request.map(|j| j.id).unwrap_or_default(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct RegionAggregate {
    pub region: String,
    /// Accounts homed in the region, or null when fewer than 50 (k-anonymity).
    pub accounts: Option<i64>,
    pub public_videos: i64,
}

/// Aggregates for platform staff: counts with k-anonymity ≥ 50.
#[utoipa::path(get, path = "/v1/staff/aggregates", tag = "staff", responses((status = 200, body = Vec<RegionAggregate>), (status = 403, body = crate::error::ProblemBody)))]
pub async fn aggregates(
    State(app): State<Arc<App>>,
    staff: StaffUser,
) -> ApiResult<ApiJson<Vec<RegionAggregate>>> {
    let mut out = vec![];
    for plane in app.locals() {
        let counts = app.catalog.region_counts(plane.id.as_str()).await?;
        let resource =
            Resource::of_class(sovereel_model::DataClass::Aggregate, plane.id.clone(), None);
        let k = counts.0.max(0) as u32;
        let allowed = crate::custody::authorize(
            &app.gateway,
            plane,
            &staff.principal()?,
            act::ReadAggregate,
            &resource,
            &AccessContext::k_anonymity(k),
        )
        .await
        .is_ok();
        out.push(RegionAggregate {
            region: plane.id.to_string(),
            accounts: allowed.then_some(counts.0),
            public_videos: counts.1,
        });
    }
    Ok(ApiJson(out))
}

#[derive(Serialize, ToSchema)]
pub struct ReleaseList {
    pub region: String,
    pub active: String,
    pub installed: Vec<String>,
    pub platform_vkey: String,
    pub custodian_vkey: String,
}

async fn release_grant(app: &App, staff: &StaffUser, region: &str) -> ApiResult<Arc<LocalPlane>> {
    let plane = app
        .local(region)
        .ok_or_else(|| ApiError::not_found("region"))?
        .clone();
    let resource = Resource::release_manifest(plane.id.clone());
    let _grant = crate::custody::authorize(
        &app.gateway,
        &plane,
        &staff.principal()?,
        act::ApproveRelease,
        &resource,
        &AccessContext::none().with_purpose("release activation"),
    )
    .await?;
    Ok(plane)
}

/// The releases a region has installed and the one it runs.
#[utoipa::path(get, path = "/v1/staff/regions/{region}/releases", tag = "staff", params(crate::api::RegionPath), responses((status = 200, body = ReleaseList), (status = 403, body = crate::error::ProblemBody)))]
pub async fn releases(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(region): ApiPath<String>,
) -> ApiResult<ApiJson<ReleaseList>> {
    let plane = release_grant(&app, &staff, &region).await?;
    let engine = plane.recs.lock();
    Ok(ApiJson(ReleaseList {
        region: plane.id.to_string(),
        active: engine.release_id().to_string(),
        installed: engine.installed_releases(),
        platform_vkey: plane.recs.platform_vkey.clone(),
        custodian_vkey: plane.recs.custodian_vkey.clone(),
    }))
}

/// Install an approved release note (the body, as text) and activate it
/// now. A note not signed by the platform and approved by this region's
/// custodian is refused, and the running release stays.
#[utoipa::path(post, path = "/v1/staff/regions/{region}/releases", tag = "staff", params(crate::api::RegionPath), request_body(content = String, content_type = "text/plain"), responses((status = 200, body = ReleaseList), (status = 403, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn activate_release(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(region): ApiPath<String>,
    body: String,
) -> ApiResult<ApiJson<ReleaseList>> {
    let plane = release_grant(&app, &staff, &region).await?;
    if body.len() > 64 * 1024 {
        return Err(ApiError::new(
            Kind::PayloadTooLarge,
            "a release note is at most 64 KiB",
        ));
    }
    crate::recommend::stage_activation(&app.config, plane.id.as_str(), body.as_bytes())
        .map_err(|e| ApiError::new(Kind::InvalidField, format!("release refused: {e}")))?;
    plane
        .recs
        .follow_activation(plane.id.as_str(), &plane.ledger)
        .await;
    releases(State(app.clone()), staff, ApiPath(region)).await
}

/// End the staff session.
#[utoipa::path(delete, path = "/v1/staff/sessions/current", tag = "staff", operation_id = "staff_logout", responses((status = 204)))]
pub async fn logout(staff: StaffUser) -> ApiResult<Response> {
    staff
        .plane
        .store
        .delete_staff_session(&staff.token_hash)
        .await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        )],
    )
        .into_response())
}

/// Platform step: platform staff (operators) sign a release manifest (JSON)
/// with the platform's key; answers the signed note. The proposal is
/// recorded in every region's ledger.
#[utoipa::path(post, path = "/v1/staff/releases", tag = "staff", request_body(content = String, content_type = "application/json"), responses((status = 201, body = String, content_type = "text/plain"), (status = 403, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn sign_release(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    body: String,
) -> ApiResult<Response> {
    let home = staff.plane.clone();
    let resource = Resource::release_manifest(home.id.clone());
    let _grant = crate::custody::authorize(
        &app.gateway,
        &home,
        &staff.principal()?,
        act::PublishRelease,
        &resource,
        &AccessContext::none().with_purpose("release signing"),
    )
    .await?;
    if body.len() > 64 * 1024 {
        return Err(ApiError::new(
            Kind::PayloadTooLarge,
            "a manifest is at most 64 KiB",
        ));
    }
    let manifest: sovereel_recs::Manifest = serde_json::from_str(&body)
        .map_err(|e| ApiError::new(Kind::InvalidField, format!("manifest: {e}")))?;
    manifest
        .validate()
        .map_err(|e| ApiError::new(Kind::InvalidField, format!("manifest: {e}")))?;
    let ledgers: Vec<&crate::transparency::RegionLedger> =
        app.locals().map(|p| p.ledger.as_ref()).collect();
    let note = crate::recommend::sign_as_platform(&app.config, &manifest, &ledgers, &staff.id)
        .await
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        String::from_utf8_lossy(&note).to_string(),
    )
        .into_response())
}

/// Custodian step: the region's operator approves (cosigns) a platform-signed
/// release for the region; it is installed, and activated with
/// `POST /v1/staff/regions/{region}/releases`.
#[utoipa::path(post, path = "/v1/staff/regions/{region}/approvals", tag = "staff", params(crate::api::RegionPath), request_body(content = String, content_type = "text/plain"), responses((status = 201, body = String, content_type = "text/plain"), (status = 403, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn approve_release(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(region): ApiPath<String>,
    body: String,
) -> ApiResult<Response> {
    let plane = release_grant(&app, &staff, &region).await?;
    if body.len() > 64 * 1024 {
        return Err(ApiError::new(
            Kind::PayloadTooLarge,
            "a release note is at most 64 KiB",
        ));
    }
    let approved = crate::recommend::approve_as_custodian(
        &app.config,
        plane.id.as_str(),
        body.as_bytes(),
        &plane.ledger,
        &staff.id,
    )
    .await
    .map_err(|e| ApiError::new(Kind::InvalidField, format!("release refused: {e}")))?;
    Ok((
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        approved,
    )
        .into_response())
}
