//! The jurisdiction lifecycle over HTTP: the public state of every region
//! (`GET /v1/regions[/{region}]`), and the staff endpoints of the two
//! parties (`POST /v1/staff/regions/{region}/lifecycle`, `…/{op_id}/approve`,
//! and `…/exports` for an export of every user at once). The rules live in
//! `crate::lifecycle`; this module says who is which party.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sovereel_custody::StaffRole;
use utoipa::ToSchema;

use crate::api::staff::StaffUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Kind};
use crate::lifecycle::{Actor, OpView, Party, Proposal, RegionState, RegionStatus};
use crate::plane::LocalPlane;
use crate::state::App;

/// `{region}` and `{op_id}` of a lifecycle operation.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the OpenAPI derive only: the handler takes a tuple
pub struct OpPath {
    /// A region id, such as `us`.
    pub region: String,
    /// A lifecycle operation's id, as its proposal answered it.
    pub op_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct LogInfo {
    /// The checkpoint origin of the region's transparency log.
    pub origin: String,
    /// The log's verifier key in force (after a hand-over, the new
    /// custodian's; an auditor who pinned the old one follows the chain).
    pub vkey: String,
}

/// A region, its custodian and its lifecycle state.
#[derive(Serialize, ToSchema)]
pub struct RegionDetail {
    pub id: String,
    pub name: String,
    pub custodian: String,
    pub countries: Vec<String>,
    pub default: bool,
    pub state: RegionState,
    pub state_since: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grounds: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wind_down_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handing_over_to: Option<String>,
    /// What the region's users are told (a suspension, a closing date, a
    /// new custodian); the web client shows it as a banner.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<crate::lifecycle::Notice>,
    /// Where an account from one of its countries is made once it closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub successor: Option<String>,
    pub log: LogInfo,
}

#[derive(Serialize, ToSchema)]
pub struct RegionDetailList {
    pub items: Vec<RegionDetail>,
}

fn info(app: &App, r: &crate::config::RegionConfig) -> RegionDetail {
    let (status, vkey) = match app.local(&r.id) {
        Some(p) => (p.lifecycle.status(), p.ledger.vkey()),
        None => (
            // A region served by another process: its configuration.
            RegionStatus {
                state: RegionState::Active,
                state_since: sovereel_model::rfc3339(0),
                grounds: None,
                wind_down_at: None,
                custodian: r.custodian.clone(),
                handing_over_to: None,
                notice: None,
            },
            app.config
                .cluster
                .as_ref()
                .and_then(|c| c.regions.get(&r.id))
                .map(|c| c.log_vkey.clone())
                .unwrap_or_default(),
        ),
    };
    RegionDetail {
        id: r.id.clone(),
        name: r.name.clone(),
        custodian: status.custodian,
        countries: r.countries.clone(),
        default: r.default,
        state: status.state,
        state_since: status.state_since,
        grounds: status.grounds,
        wind_down_at: status.wind_down_at,
        handing_over_to: status.handing_over_to,
        notice: status.notice,
        successor: r.successor.clone(),
        log: LogInfo {
            origin: crate::transparency::log_origin(r),
            vkey,
        },
    }
}

/// Every region, its custodian and its lifecycle state.
#[utoipa::path(get, path = "/v1/regions", tag = "service", responses((status = 200, body = RegionDetailList)))]
pub async fn regions(State(app): State<Arc<App>>) -> ApiJson<RegionDetailList> {
    ApiJson(RegionDetailList {
        items: app.config.regions.iter().map(|r| info(&app, r)).collect(),
    })
}

/// One region, its custodian and its lifecycle state.
#[utoipa::path(get, path = "/v1/regions/{region}", tag = "service", params(crate::api::RegionPath), responses((status = 200, body = RegionDetail), (status = 404, body = crate::error::ProblemBody)))]
pub async fn region(
    State(app): State<Arc<App>>,
    ApiPath(region): ApiPath<String>,
) -> ApiResult<ApiJson<RegionDetail>> {
    let r = app
        .region_config(&region)
        .ok_or_else(|| ApiError::not_found("region"))?;
    Ok(ApiJson(info(&app, r)))
}

/// Which party a staff member is for `region`, if any: a platform
/// operator, or an operator of the region's custodian in force. Everyone
/// else is refused.
fn party_of(app: &App, staff: &StaffUser, region: &str) -> ApiResult<(Actor, Arc<LocalPlane>)> {
    let plane = app
        .local(region)
        .ok_or_else(|| ApiError::not_found("region"))?
        .clone();
    let refused = || {
        ApiError::new(
            Kind::Forbidden,
            "only a platform operator or an operator of the region's custodian takes part in its lifecycle",
        )
    };
    if staff.role != StaffRole::Operator {
        return Err(refused());
    }
    let party = if staff.platform {
        Party::Platform
    } else if staff.plane.id == plane.id && plane.lifecycle.staff_may_act(&staff.org) {
        Party::Custodian
    } else {
        return Err(refused());
    };
    Ok((
        Actor {
            party,
            staff_id: staff.id.clone(),
        },
        plane,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct OpList {
    pub items: Vec<OpView>,
}

/// A region's lifecycle operations, newest first (either party).
#[utoipa::path(get, path = "/v1/staff/regions/{region}/lifecycle", tag = "staff", params(crate::api::RegionPath), responses((status = 200, body = OpList), (status = 403, body = crate::error::ProblemBody)))]
pub async fn operations(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(region): ApiPath<String>,
) -> ApiResult<ApiJson<OpList>> {
    let (_, plane) = party_of(&app, &staff, &region)?;
    Ok(ApiJson(OpList {
        items: plane.lifecycle.ops(),
    }))
}

/// Propose a lifecycle operation: `suspend`, `resume`, `hand_over` (with
/// `custodian: {name}`) or `wind_down` (with `notice_days`), with its
/// grounds. The other party approves it. A suspension the custodian makes
/// alone under a legal order (`legal_order`) takes effect at once.
#[utoipa::path(post, path = "/v1/staff/regions/{region}/lifecycle", tag = "staff", params(crate::api::RegionPath), request_body = Proposal, responses((status = 201, body = OpView), (status = 403, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn propose(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(region): ApiPath<String>,
    ApiJson(body): ApiJson<Proposal>,
) -> ApiResult<Response> {
    let (actor, plane) = party_of(&app, &staff, &region)?;
    let op = plane.lifecycle.propose(&app, &plane, &actor, &body).await?;
    Ok((StatusCode::CREATED, ApiJson(op)).into_response())
}

/// Approve the other party's proposal. The proposer, and anyone on the
/// proposer's side, is refused (403).
#[utoipa::path(post, path = "/v1/staff/regions/{region}/lifecycle/{op_id}/approve", tag = "staff", params(OpPath), responses((status = 200, body = OpView), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody)))]
pub async fn approve(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath((region, op_id)): ApiPath<(String, String)>,
) -> ApiResult<ApiJson<OpView>> {
    let (actor, plane) = party_of(&app, &staff, &region)?;
    Ok(ApiJson(
        plane
            .lifecycle
            .approve(&app, &plane, &actor, &op_id)
            .await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct ExportsStarted {
    /// Exports started now, one per user.
    pub started: u64,
    /// Users who had an export under way already.
    pub under_way: u64,
}

/// Start an export for every user of the region at once (the custodian's
/// operators): each is a data request carried out as the user's own, and
/// each user downloads theirs as usual.
#[utoipa::path(post, path = "/v1/staff/regions/{region}/exports", tag = "staff", params(crate::api::RegionPath), responses((status = 202, body = ExportsStarted), (status = 403, body = crate::error::ProblemBody)))]
pub async fn export_everyone(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(region): ApiPath<String>,
) -> ApiResult<Response> {
    let (actor, plane) = party_of(&app, &staff, &region)?;
    if actor.party != Party::Custodian {
        return Err(ApiError::new(
            Kind::Forbidden,
            "exports are data requests the region's custodian carries out",
        ));
    }
    let (started, under_way) = crate::lifecycle::export_everyone(&app, &plane).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(ExportsStarted { started, under_way }),
    )
        .into_response())
}
