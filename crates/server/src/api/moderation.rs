//! Reports and case-bound moderation. A report is the reporter's protected
//! data (stored at their home); it opens a case at the reported video's
//! home, which does not name the reporter. That region's custodian
//! moderators take cases; a moderator reads the reported item only while the
//! case is open and assigned to them (the gateway decides, the ledger
//! records it before anything is answered), and every action carries a
//! statement of reasons and is a `moderation` ledger entry.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sovereel_custody::{AccessContext, CaseContext, OpaqueId, Resource, StaffRole, act};
use sovereel_ledger::entry::Moderation as ModerationEntry;
use sovereel_ledger::{Entry, EntryBody};
use sovereel_store::{CaseRecord, Change, OutboxItem, Target};
use utoipa::ToSchema;

use crate::access;
use crate::api::staff::StaffUser;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Kind};
use crate::plane::LocalPlane;
use crate::state::App;

const CATEGORIES: &[&str] = &[
    "spam",
    "misinformation",
    "harassment",
    "hate",
    "violence",
    "nudity",
    "self_harm",
    "other",
];

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    pub video_id: String,
    /// spam, misinformation, harassment, hate, violence, nudity, self_harm or other.
    pub category: String,
    #[serde(default)]
    pub details: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReportAnswer {
    pub id: String,
    pub status: String,
}

/// Report a video. The report stays at the reporter's home; a case opens at
/// the video's home for its custodian's moderators.
#[utoipa::path(post, path = "/v1/reports", tag = "safety", request_body = ReportBody, responses((status = 201, body = ReportAnswer), (status = 404, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn report(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiJson(body): ApiJson<ReportBody>,
) -> ApiResult<Response> {
    if !CATEGORIES.contains(&body.category.as_str()) {
        return Err(ApiError::new(
            Kind::InvalidField,
            format!("category: must be one of {}", CATEGORIES.join(", ")),
        ));
    }
    if body.details.chars().count() > 1000 {
        return Err(ApiError::new(
            Kind::InvalidField,
            "details: at most 1000 characters",
        ));
    }
    let v = access::load_video(&app, Some(&user), &body.video_id).await?;
    let now = sovereel_model::now_millis();
    let report_id = sovereel_model::ReportId::generate(&user.home.id).to_string();
    user.home
        .store
        .create_report(
            &report_id,
            user.id.as_str(),
            &body.video_id,
            &body.category,
            body.details.trim(),
            now,
        )
        .await?;
    let case = CaseRecord {
        id: sovereel_model::CaseId::generate(v.home.id()).to_string(),
        video_id: body.video_id.clone(),
        subject_id: v.record.author_id.clone(),
        category: body.category.clone(),
        state: "open".into(),
        assignee: None,
        created_at: now,
        closed_at: None,
    };
    v.home.open_case(&case).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(ReportAnswer {
            id: report_id,
            status: "received".into(),
        }),
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    pub video_id: String,
    pub category: String,
    pub state: String,
    pub assigned_to_me: bool,
    pub assigned: bool,
    pub created_at: String,
}

fn case_view(c: &CaseRecord, staff: &StaffUser) -> CaseView {
    CaseView {
        id: c.id.clone(),
        video_id: c.video_id.clone(),
        category: c.category.clone(),
        state: c.state.clone(),
        assigned_to_me: c.assignee.as_deref() == Some(staff.id.as_str()),
        assigned: c.assignee.is_some(),
        created_at: sovereel_model::rfc3339(c.created_at),
    }
}

fn moderator_here(staff: &StaffUser) -> ApiResult<()> {
    if staff.platform || staff.role != StaffRole::Moderator {
        return Err(ApiError::new(
            Kind::Forbidden,
            "only this region's custodian moderators work its cases",
        ));
    }
    Ok(())
}

/// The region's open cases (the moderator's own region).
#[utoipa::path(get, path = "/v1/staff/cases", tag = "staff", responses((status = 200, body = Vec<CaseView>), (status = 403, body = crate::error::ProblemBody)))]
pub async fn cases(staff: StaffUser) -> ApiResult<ApiJson<Vec<CaseView>>> {
    moderator_here(&staff)?;
    let list = staff.plane.store.open_cases(200).await?;
    Ok(ApiJson(list.iter().map(|c| case_view(c, &staff)).collect()))
}

async fn load_case(staff: &StaffUser, id: &str) -> ApiResult<CaseRecord> {
    staff
        .plane
        .store
        .case(id)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))
}

/// Take a case.
#[utoipa::path(post, path = "/v1/staff/cases/{id}/assign", tag = "staff", params(crate::api::CaseIdPath), responses((status = 200, body = CaseView), (status = 403, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody)))]
pub async fn assign(
    staff: StaffUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<CaseView>> {
    moderator_here(&staff)?;
    if !staff.plane.store.assign_case(&id, &staff.id).await? {
        return Err(ApiError::new(
            Kind::Conflict,
            "the case is closed or does not exist",
        ));
    }
    Ok(ApiJson(case_view(&load_case(&staff, &id).await?, &staff)))
}

fn case_context(c: &CaseRecord) -> ApiResult<AccessContext> {
    Ok(AccessContext::case(CaseContext {
        case_id: OpaqueId::parse(&c.id).map_err(ApiError::internal)?,
        open: c.state == "open",
        assignee: OpaqueId::parse(c.assignee.as_deref().unwrap_or("unassigned"))
            .map_err(ApiError::internal)?,
        subject: sovereel_model::UserId::parse(&c.subject_id).map_err(ApiError::internal)?,
    })
    .with_purpose("report case"))
}

#[derive(Serialize, ToSchema)]
pub struct CaseItem {
    pub case: CaseView,
    pub video_id: String,
    pub caption: String,
    pub hashtags: Vec<String>,
    pub visibility: sovereel_model::Visibility,
    pub state: sovereel_model::VideoState,
    pub labels: Vec<String>,
}

/// The reported item, only while the case is open and assigned to the
/// caller. The access is in the region's ledger before this answers.
#[utoipa::path(get, path = "/v1/staff/cases/{id}/item", tag = "staff", params(crate::api::CaseIdPath), responses((status = 200, body = CaseItem), (status = 403, body = crate::error::ProblemBody)))]
pub async fn item(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<CaseItem>> {
    let c = load_case(&staff, &id).await?;
    let subject = sovereel_model::UserId::parse(&c.subject_id).map_err(ApiError::internal)?;
    let _grant = crate::custody::authorize(
        &app.gateway,
        &staff.plane,
        &staff.principal()?,
        act::ReadCaseItem,
        &Resource::protected(&subject),
        &case_context(&c)?,
    )
    .await?;
    let v = staff
        .plane
        .store
        .video(&c.video_id)
        .await?
        .ok_or_else(|| ApiError::not_found("reported video"))?;
    let labels = app
        .catalog
        .video(&v.id)
        .await?
        .map(|p| p.labels)
        .unwrap_or_default();
    Ok(ApiJson(CaseItem {
        case: case_view(&c, &staff),
        video_id: v.id,
        caption: v.caption,
        hashtags: v.hashtags,
        visibility: v.visibility,
        state: v.state,
        labels,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// `label` (unverified content / misinformation), `remove`, or `dismiss`.
    pub action: String,
    /// The statement of reasons sent to the creator: the ground (law or term broken)…
    pub ground: String,
    /// …and the facts relied on.
    pub facts: String,
}

#[derive(Serialize, ToSchema)]
pub struct ActionAnswer {
    pub case: CaseView,
    pub ledger_index: u64,
}

async fn record(
    plane: &LocalPlane,
    staff: &StaffUser,
    c: &CaseRecord,
    body: &ActionBody,
) -> ApiResult<u64> {
    let moderator = sovereel_ledger::entry::Principal::CustodianStaff {
        region: plane.id.to_string(),
        role: "moderator".into(),
        staff_id: staff.id.clone(),
    };
    let entry = Entry::now(EntryBody::Moderation(ModerationEntry {
        case_id: c.id.clone(),
        action: body.action.clone(),
        content_id: c.video_id.clone(),
        subject: Some(plane.ledger.pseudonym(&c.subject_id)),
        moderator,
        ground: body.ground.clone(),
        facts: body.facts.clone(),
        automated: false,
        redress: "Appeal within 6 months from your profile's privacy centre; the custodian reviews appeals with a different moderator.".into(),
    }));
    let receipt = plane.ledger.log.append_entry(&entry).await.map_err(|e| {
        tracing::error!(error = %e, "moderation could not be recorded; refusing it");
        ApiError::new(
            Kind::Unavailable,
            "the action could not be recorded in the transparency ledger, so it was not taken",
        )
    })?;
    Ok(receipt.index)
}

/// Act on an assigned, open case with a statement of reasons; the action is
/// a `moderation` ledger entry (recorded before it takes effect).
#[utoipa::path(post, path = "/v1/staff/cases/{id}/actions", tag = "staff", params(crate::api::CaseIdPath), request_body = ActionBody, responses((status = 200, body = ActionAnswer), (status = 403, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn act_on_case(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ActionBody>,
) -> ApiResult<ApiJson<ActionAnswer>> {
    if !["label", "remove", "dismiss"].contains(&body.action.as_str()) {
        return Err(ApiError::new(
            Kind::InvalidField,
            "action: must be label, remove or dismiss",
        ));
    }
    for (name, v) in [("ground", &body.ground), ("facts", &body.facts)] {
        let n = v.trim().chars().count();
        if n == 0 || n > 2000 {
            return Err(ApiError::new(
                Kind::InvalidField,
                format!("{name}: the statement of reasons needs 1 to 2000 characters"),
            ));
        }
    }
    let c = load_case(&staff, &id).await?;
    let subject = sovereel_model::UserId::parse(&c.subject_id).map_err(ApiError::internal)?;
    let _grant = crate::custody::authorize(
        &app.gateway,
        &staff.plane,
        &staff.principal()?,
        act::ActOnCase,
        &Resource::protected(&subject),
        &case_context(&c)?,
    )
    .await?;
    let index = record(&staff.plane, &staff, &c, &body).await?;
    match body.action.as_str() {
        "label" => {
            let public = app.catalog.video(&c.video_id).await?;
            if let Some(v) = public {
                let mut labels = v.labels.clone();
                if !labels.iter().any(|l| l == "misinformation") {
                    labels.push("misinformation".into());
                }
                let out = [OutboxItem::new(
                    Target::Catalog,
                    Change::SetLabels {
                        video_id: c.video_id.clone(),
                        labels,
                    },
                )];
                // The outbox carries the label to the catalog (no events are written).
                staff.plane.store.append_events(&[], &out).await?;
                app.relay(&staff.plane).await.map_err(ApiError::internal)?;
            }
        }
        "remove" => {
            if let Some(v) = staff.plane.store.video(&c.video_id).await? {
                let mut out = vec![];
                if v.visibility == sovereel_model::Visibility::Public {
                    out.push(OutboxItem::new(
                        Target::Catalog,
                        Change::UnpublishVideo {
                            id: v.id.clone(),
                            author_id: v.author_id.clone(),
                        },
                    ));
                }
                staff.plane.store.delete_video(&v.id, &out).await?;
                app.relay(&staff.plane).await.map_err(ApiError::internal)?;
                for key in [&v.media_key, &v.poster_key].into_iter().flatten() {
                    let _ = staff.plane.media.delete(key).await;
                }
            }
        }
        _ => {}
    }
    staff
        .plane
        .store
        .close_case(&c.id, sovereel_model::now_millis())
        .await?;
    let c = load_case(&staff, &id).await?;
    Ok(ApiJson(ActionAnswer {
        case: case_view(&c, &staff),
        ledger_index: index,
    }))
}
