//! Reports, the moderation queue and decisions, over HTTP.
//!
//! A report is the reporter's protected data, stored at their home once per
//! target; it joins the one open case on that target at the target's home
//! (the home of the video's, the comment's or the account's owner), which
//! never names the reporter, and the reporter stops seeing the target at
//! once. That region's custodian moderators work the queue (ordered by
//! severity, reporters and age). A moderator reads and plays the item only
//! while the case is open and assigned to them, each time through the
//! gateway, which ledgers it before anything is answered; and decides it
//! exactly once with a statement of reasons (`crate::moderation`).
//! Editorial interventions (demote, restrict, promote) are cases a
//! moderator opens and decides the same way: there is no other path.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sovereel_custody::{AccessContext, CaseContext, OpaqueId, Resource, StaffRole, act};
use sovereel_model::moderation::{
    Action, CaseKind, CaseState, Ground, LabelKind, ReportCategory, TargetKind,
};
use sovereel_store::{CaseRecord, CaseReport, DecisionRecord, QueueCursor, ReportRecord};
use utoipa::{IntoParams, ToSchema};

use crate::access;
use crate::api::staff::StaffUser;
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Kind};
use crate::moderation::{Proposal, Statement};
use crate::plane::LocalPlane;
use crate::state::App;

/// What is reported: exactly one of a video, a comment or an account.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ReportTarget {
    Video {
        video_id: String,
    },
    Comment {
        comment_id: String,
    },
    Account {
        /// The account's handle, without the `@`.
        handle: String,
    },
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    pub target: ReportTarget,
    /// spam, misinformation, harassment, hate, violence, nudity, self_harm or other.
    pub category: String,
    /// What the reporter wants the moderator to know (at most 1000 characters).
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReportAnswer {
    pub id: String,
    /// The case the report joined at the target's home.
    pub case_id: Option<String>,
    pub category: ReportCategory,
    pub created_at: String,
}

/// A resolved report target: its kind, id, owner and home.
struct Resolved {
    kind: TargetKind,
    id: String,
    subject: String,
    home: String,
}

async fn resolve_target(app: &App, user: &AuthUser, t: &ReportTarget) -> ApiResult<Resolved> {
    let resolved = match t {
        ReportTarget::Video { video_id } => {
            let v = access::load_video(app, Some(user), video_id).await?;
            Resolved {
                kind: TargetKind::Video,
                id: v.record.id.clone(),
                subject: v.record.author_id.clone(),
                home: v.home.id().to_string(),
            }
        }
        ReportTarget::Comment { comment_id } => {
            let cid = sovereel_model::CommentId::parse(comment_id)
                .map_err(|_| ApiError::not_found("comment"))?;
            let comment = match app.catalog.comment(comment_id).await? {
                Some(c) => c,
                None => app
                    .plane(cid.region_str())
                    .ok_or_else(|| ApiError::not_found("comment"))?
                    .comment(comment_id, Some(user.id.as_str()))
                    .await?
                    .ok_or_else(|| ApiError::not_found("comment"))?,
            };
            // Only a comment on a video the reporter may see.
            access::load_video(app, Some(user), &comment.video_id).await?;
            Resolved {
                kind: TargetKind::Comment,
                id: comment.id.clone(),
                subject: comment.author_id.clone(),
                home: cid.region_str().to_string(),
            }
        }
        ReportTarget::Account { handle } => {
            let (id, home) = crate::api::social::resolve_user(app, handle).await?;
            if access::blocked(app, Some(user), &id).await? {
                return Err(ApiError::not_found("user"));
            }
            Resolved {
                kind: TargetKind::Account,
                id,
                subject: String::new(),
                home: home.id().to_string(),
            }
            .with_subject_self()
        }
    };
    if resolved.subject == user.id.as_str() {
        return Err(ApiError::new(
            Kind::InvalidField,
            "target: you cannot report your own content or account",
        ));
    }
    Ok(resolved)
}

impl Resolved {
    /// An account is its own subject.
    fn with_subject_self(mut self) -> Self {
        self.subject = self.id.clone();
        self
    }
}

/// Report a video, a comment or an account. The report stays at the
/// reporter's home; it joins the open case on the target at the target's
/// home (201). Reporting the same target again answers the first report
/// (200). The target is hidden from the reporter from now on.
#[utoipa::path(post, path = "/v1/reports", tag = "safety", request_body = ReportBody,
    responses((status = 201, body = ReportAnswer), (status = 200, body = ReportAnswer), (status = 404, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn report(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiJson(body): ApiJson<ReportBody>,
) -> ApiResult<Response> {
    let category = ReportCategory::parse(&body.category)
        .map_err(|e| ApiError::new(Kind::InvalidField, e.to_string()))?;
    let note = body.note.trim();
    if note.chars().count() > 1000 {
        return Err(ApiError::new(
            Kind::InvalidField,
            "note: at most 1000 characters",
        ));
    }
    let target = resolve_target(&app, &user, &body.target).await?;
    let now = sovereel_model::now_millis();
    let (mut stored, new) = user
        .home
        .store
        .create_report(&ReportRecord {
            id: sovereel_model::ReportId::generate(&user.home.id).to_string(),
            reporter_id: user.id.to_string(),
            target_kind: target.kind,
            target_id: target.id.clone(),
            category,
            details: note.to_string(),
            case_id: None,
            created_at: now,
        })
        .await?;
    // A report that has not reached a case yet (new, or one whose target's
    // home was down last time) joins one now.
    if stored.case_id.is_none() {
        let home = app
            .plane(&target.home)
            .ok_or_else(|| ApiError::not_found("target"))?;
        let case_id = home
            .file_report(&CaseReport {
                target_kind: target.kind,
                target_id: target.id.clone(),
                subject_id: target.subject.clone(),
                category: stored.category,
                at: stored.created_at,
            })
            .await?;
        user.home
            .store
            .set_report_case(&stored.id, &case_id)
            .await?;
        stored.case_id = Some(case_id);
    }
    let answer = ReportAnswer {
        id: stored.id,
        case_id: stored.case_id,
        category: stored.category,
        created_at: sovereel_model::rfc3339(stored.created_at),
    };
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(answer)).into_response())
}

/// At the target's home: the report joins (or opens) the case, and the
/// step is on the ledger.
pub async fn file_report(plane: &LocalPlane, r: &CaseReport) -> ApiResult<String> {
    let new_id = sovereel_model::CaseId::generate(&plane.id).to_string();
    let case = plane.store.join_case(&new_id, r).await?;
    crate::moderation::record_step(plane, "report", &case, &[r.category], None).await?;
    Ok(case.id)
}

#[derive(Serialize, ToSchema)]
pub struct TargetView {
    /// `video`, `comment` or `account`.
    pub kind: TargetKind,
    pub id: String,
}

/// What the queue may show of a target before anyone takes the case:
/// public data only (a public video's caption and poster, a public
/// comment's text, an account's public profile).
#[derive(Serialize, ToSchema, Default)]
pub struct Preview {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poster_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Said when the target is not public (its details need the case).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    /// `report`, `appeal` or `intervention`.
    pub kind: CaseKind,
    pub target: TargetView,
    pub categories: Vec<ReportCategory>,
    /// Reports joined (each from a different reporter).
    pub reports_count: i64,
    /// 1 (least urgent) to 5.
    pub severity: i32,
    pub state: CaseState,
    pub assigned: bool,
    pub assigned_to_me: bool,
    pub created_at: String,
    pub preview: Preview,
    /// For an appeal: the decision appealed and the creator's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal: Option<AppealView>,
}

#[derive(Serialize, ToSchema)]
pub struct AppealView {
    pub decision_id: String,
    pub text: String,
    /// Whether the caller made the decision appealed (and so may not decide the appeal).
    pub decided_by_me: bool,
}

async fn preview(app: &App, c: &CaseRecord) -> Preview {
    let mut p = Preview::default();
    match c.target_kind {
        TargetKind::Video => match app.catalog.video(&c.target_id).await {
            Ok(Some(v)) => {
                p.caption = Some(v.caption);
                p.poster_url = Some(format!("/v1/videos/{}/poster", v.id));
            }
            _ => p.private = Some(true),
        },
        TargetKind::Comment => match app.catalog.comment(&c.target_id).await {
            Ok(Some(cm)) => {
                p.text = Some(cm.text);
                p.handle = Some(cm.author_handle);
            }
            _ => p.private = Some(true),
        },
        TargetKind::Account => {
            if let Ok(Some(profile)) = app.catalog.profile(&c.target_id).await {
                p.handle = Some(profile.handle);
            }
        }
    }
    p
}

async fn case_view(app: &App, c: &CaseRecord, staff: &StaffUser) -> CaseView {
    CaseView {
        id: c.id.clone(),
        kind: c.kind,
        target: TargetView {
            kind: c.target_kind,
            id: c.target_id.clone(),
        },
        categories: c.categories.clone(),
        reports_count: c.reports_count,
        severity: c.severity,
        state: c.state,
        assigned: c.assignee.is_some(),
        assigned_to_me: c.assignee.as_deref() == Some(staff.id.as_str()),
        created_at: sovereel_model::rfc3339(c.created_at),
        preview: preview(app, c).await,
        appeal: c.appeal_of.as_ref().map(|d| AppealView {
            decision_id: d.clone(),
            text: c.appeal_text.clone().unwrap_or_default(),
            decided_by_me: c.decided_by.as_deref() == Some(staff.id.as_str()),
        }),
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

#[derive(Serialize, ToSchema)]
pub struct QueueCountsView {
    pub open: i64,
    pub unassigned: i64,
    pub mine: i64,
    pub appeals: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CaseQueue {
    pub items: Vec<CaseView>,
    pub next_cursor: Option<String>,
    pub counts: QueueCountsView,
}

/// The region's open cases, most urgent first: severity of the categories,
/// then the number of reporters, then age. Paged by cursor (at most 100).
#[utoipa::path(get, path = "/v1/staff/cases", tag = "staff", params(crate::api::social::PageQuery),
    responses((status = 200, body = CaseQueue), (status = 403, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn cases(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiQuery(q): ApiQuery<crate::api::social::PageQuery>,
) -> ApiResult<ApiJson<CaseQueue>> {
    moderator_here(&staff)?;
    let limit = crate::api::social::page_limit(q.limit, 20)?;
    let after = q
        .cursor
        .as_deref()
        .map(|c| {
            QueueCursor::decode(c).ok_or_else(|| {
                ApiError::new(
                    Kind::InvalidField,
                    "cursor: not a cursor this server issued",
                )
            })
        })
        .transpose()?;
    let list = staff.plane.store.case_queue(after.as_ref(), limit).await?;
    let next_cursor = (list.len() as i64 == limit)
        .then(|| list.last().map(|c| c.queue_cursor().encode()))
        .flatten();
    let counts = staff.plane.store.queue_counts(&staff.id).await?;
    let mut items = Vec::with_capacity(list.len());
    for c in &list {
        items.push(case_view(&app, c, &staff).await);
    }
    Ok(ApiJson(CaseQueue {
        items,
        next_cursor,
        counts: QueueCountsView {
            open: counts.open,
            unassigned: counts.unassigned,
            mine: counts.mine,
            appeals: counts.appeals,
        },
    }))
}

async fn load_case(staff: &StaffUser, id: &str) -> ApiResult<CaseRecord> {
    staff
        .plane
        .store
        .case(id)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))
}

/// Take a case: it becomes yours while it is open. A case someone else
/// took, or a closed one, answers 409.
#[utoipa::path(post, path = "/v1/staff/cases/{id}/assign", tag = "staff", params(crate::api::CaseIdPath),
    responses((status = 200, body = CaseView), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody)))]
pub async fn assign(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<CaseView>> {
    moderator_here(&staff)?;
    let c = load_case(&staff, &id).await?;
    if c.kind == CaseKind::Appeal && c.decided_by.as_deref() == Some(staff.id.as_str()) {
        return Err(ApiError::new(
            Kind::Forbidden,
            "an appeal is decided by a moderator other than the one who made the decision",
        ));
    }
    if !staff.plane.store.assign_case(&id, &staff.id).await? {
        return Err(ApiError::new(
            Kind::Conflict,
            "the case is closed, or another moderator has it",
        ));
    }
    Ok(ApiJson(
        case_view(&app, &load_case(&staff, &id).await?, &staff).await,
    ))
}

/// The gateway's view of a case, as loaded from the store.
fn case_context(c: &CaseRecord, purpose: &str) -> ApiResult<AccessContext> {
    let mut ctx = AccessContext::case(CaseContext {
        case_id: OpaqueId::parse(&c.id).map_err(ApiError::internal)?,
        open: c.state == CaseState::Open,
        assignee: OpaqueId::parse(c.assignee.as_deref().unwrap_or("unassigned"))
            .map_err(ApiError::internal)?,
        subject: sovereel_model::UserId::parse(&c.subject_id).map_err(ApiError::internal)?,
    })
    .with_purpose(purpose);
    if let Some(d) = &c.decided_by {
        ctx = ctx.with_decider(OpaqueId::parse(d).map_err(ApiError::internal)?);
    }
    Ok(ctx)
}

async fn grant<A: sovereel_custody::GatedAction>(
    app: &App,
    staff: &StaffUser,
    c: &CaseRecord,
    action: A,
    purpose: &str,
) -> ApiResult<sovereel_custody::Authorized<A>> {
    let subject = sovereel_model::UserId::parse(&c.subject_id).map_err(ApiError::internal)?;
    crate::custody::authorize(
        &app.gateway,
        &staff.plane,
        &staff.principal()?,
        action,
        &Resource::protected(&subject),
        &case_context(c, purpose)?,
    )
    .await
}

#[derive(Serialize, ToSchema)]
pub struct CaseVideo {
    pub id: String,
    pub caption: String,
    pub hashtags: Vec<String>,
    pub visibility: sovereel_model::Visibility,
    pub state: sovereel_model::VideoState,
    pub duration_ms: Option<i64>,
    pub labels: Vec<crate::moderation::LabelView>,
    /// Play it here while the case is yours and open (each request is a
    /// ledgered access).
    pub stream_url: String,
    pub poster_url: Option<String>,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CaseComment {
    pub id: String,
    pub text: String,
    pub author_handle: String,
    pub video_id: String,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CaseAccount {
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub state: sovereel_model::AccountState,
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CaseItem {
    pub case: CaseView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<CaseVideo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<CaseComment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<CaseAccount>,
    /// Earlier decisions on the same target, oldest first.
    pub history: Vec<crate::api::decisions::StatementView>,
    /// For an appeal: the decision appealed, with its statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appealed: Option<crate::api::decisions::StatementView>,
    /// What this case may be settled with.
    pub actions: Vec<Action>,
    pub labels: Vec<LabelKind>,
}

fn allowed_actions(c: &CaseRecord) -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|a| a.settles(c.kind))
        .filter(|a| match c.target_kind {
            // Labels belong on videos; accounts and comments are removed,
            // restricted or left.
            TargetKind::Video => true,
            TargetKind::Comment => {
                matches!(a, Action::Remove | Action::Dismiss) || c.kind == CaseKind::Appeal
            }
            TargetKind::Account => *a != Action::Label,
        })
        .collect()
}

/// The reported item, only while the case is open and assigned to the
/// caller. The access is in the region's ledger before this answers.
#[utoipa::path(get, path = "/v1/staff/cases/{id}/item", tag = "staff", params(crate::api::CaseIdPath),
    responses((status = 200, body = CaseItem), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody)))]
pub async fn item(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<ApiJson<CaseItem>> {
    let c = load_case(&staff, &id).await?;
    let _grant = grant(&app, &staff, &c, act::ReadCaseItem, "report case").await?;
    let plane = &staff.plane;
    let (mut video, mut comment, mut account) = (None, None, None);
    match c.target_kind {
        TargetKind::Video => {
            if let Some(v) = plane.store.video(&c.target_id).await? {
                let public = app.catalog.video(&v.id).await?;
                video = Some(CaseVideo {
                    stream_url: format!("/v1/staff/cases/{}/stream", c.id),
                    poster_url: v
                        .poster_key
                        .as_ref()
                        .map(|_| format!("/v1/staff/cases/{}/poster", c.id)),
                    labels: public
                        .as_ref()
                        .map(|p| {
                            crate::moderation::viewer_labels(&p.labels, p.label_note.as_deref())
                        })
                        .unwrap_or_default(),
                    id: v.id,
                    caption: v.caption,
                    hashtags: v.hashtags,
                    visibility: v.visibility,
                    state: v.state,
                    duration_ms: v.duration_ms,
                    created_at: sovereel_model::rfc3339(v.created_at),
                });
            }
        }
        TargetKind::Comment => {
            let found = crate::moderation::find_comment(&app, plane, &c.target_id).await?;
            // A removed comment is shown from what its removal kept.
            let found = match found {
                Some((cm, _)) => Some(cm),
                None => removed_comment(plane, &c).await?,
            };
            comment = found.map(|cm| CaseComment {
                id: cm.id,
                text: cm.text,
                author_handle: cm.author_handle,
                video_id: cm.video_id,
                created_at: sovereel_model::rfc3339(cm.created_at),
            });
        }
        TargetKind::Account => {
            if let Some(u) = plane.store.user(&c.target_id).await? {
                account = Some(CaseAccount {
                    handle: u.handle,
                    display_name: u.display_name,
                    bio: u.bio,
                    state: u.state,
                    created_at: sovereel_model::rfc3339(u.created_at),
                });
            }
        }
    }
    let mut history = vec![];
    for d in plane
        .store
        .decisions_on(c.target_kind, &c.target_id)
        .await?
    {
        history.push(crate::api::decisions::statement_view(&app, plane, &d).await?);
    }
    let appealed = match &c.appeal_of {
        Some(d) => match plane.store.decision(d).await? {
            Some(d) => Some(crate::api::decisions::statement_view(&app, plane, &d).await?),
            None => None,
        },
        None => None,
    };
    Ok(ApiJson(CaseItem {
        actions: allowed_actions(&c),
        labels: LabelKind::ALL.to_vec(),
        case: case_view(&app, &c, &staff).await,
        video,
        comment,
        account,
        history,
        appealed,
    }))
}

async fn removed_comment(
    plane: &LocalPlane,
    c: &CaseRecord,
) -> ApiResult<Option<sovereel_store::CommentRecord>> {
    for d in plane
        .store
        .decisions_on(c.target_kind, &c.target_id)
        .await?
    {
        if let Some(crate::moderation::Restore::Comment { comment, .. }) = d
            .restore
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
        {
            return Ok(Some(comment));
        }
    }
    Ok(None)
}

/// Play the case's video (with `Range`), while the case is open and yours.
/// Each request passes the gateway and is ledgered before a byte is sent.
#[utoipa::path(get, path = "/v1/staff/cases/{id}/stream", tag = "staff", operation_id = "case_stream", params(crate::api::CaseIdPath),
    responses((status = 200), (status = 206), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody)))]
pub async fn stream(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    case_media(&app, &staff, &id, crate::plane::MediaKind::Stream, &headers).await
}

/// The poster frame of the case's video, on the same terms as the stream.
#[utoipa::path(get, path = "/v1/staff/cases/{id}/poster", tag = "staff", operation_id = "case_poster", params(crate::api::CaseIdPath),
    responses((status = 200), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody)))]
pub async fn poster(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    case_media(&app, &staff, &id, crate::plane::MediaKind::Poster, &headers).await
}

async fn case_media(
    app: &App,
    staff: &StaffUser,
    id: &str,
    kind: crate::plane::MediaKind,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let c = load_case(staff, id).await?;
    if c.target_kind != TargetKind::Video {
        return Err(ApiError::not_found("video in this case"));
    }
    let purpose = match kind {
        crate::plane::MediaKind::Stream => "report case: playing the reported video",
        crate::plane::MediaKind::Poster => "report case: the reported video's poster",
    };
    let g = grant(app, staff, &c, act::ReadCaseItem, purpose).await?;
    let plane = &staff.plane;
    let v = plane
        .store
        .video(&c.target_id)
        .await?
        .ok_or_else(|| ApiError::not_found("video"))?;
    let key = if v.visibility == sovereel_model::Visibility::Public {
        None
    } else {
        let owner = sovereel_model::UserId::parse(&v.author_id).map_err(ApiError::internal)?;
        Some(Arc::new(crate::custody::key_for(plane, &g, &owner)?))
    };
    let range = headers.get(header::RANGE).and_then(|h| h.to_str().ok());
    let mut resp = plane.serve_media(&v, kind, key, range, true).await?;
    // Case material is never cached outside the moderator's browser session.
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

/// The statement of reasons, as a moderator writes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatementBody {
    /// `terms` (incompatible with the terms of service) or `law` (illegal).
    pub ground: String,
    /// The clause of the terms or the law relied on (required for `law`).
    #[serde(default)]
    pub reference: Option<String>,
    /// The facts and circumstances relied on (1 to 2000 characters).
    pub facts: String,
    /// Whether automated means detected or decided this.
    #[serde(default)]
    pub automated: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// `label`, `restrict`, `remove` or `dismiss` for reports; `uphold` or
    /// `reverse` for appeals; `demote`, `restrict` or `promote` for
    /// interventions.
    pub action: String,
    /// For `label`: `unverified`, `misleading`, `graphic` or `sensitive`.
    #[serde(default)]
    pub label: Option<String>,
    /// For `label`: an optional fact-check note shown beside it (at most 500 characters).
    #[serde(default)]
    pub note: Option<String>,
    pub statement: StatementBody,
}

fn text_field(name: &str, v: &str, max: usize) -> ApiResult<String> {
    let t = v.trim();
    let n = t.chars().count();
    if n == 0 || n > max {
        return Err(ApiError::new(
            Kind::InvalidField,
            format!("{name}: needs 1 to {max} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::new(
            Kind::InvalidField,
            format!("{name}: control characters are not allowed"),
        ));
    }
    Ok(t.to_string())
}

fn parse_statement(s: &StatementBody) -> ApiResult<Statement> {
    let ground = Ground::parse(&s.ground)
        .map_err(|e| ApiError::new(Kind::InvalidField, format!("statement.{e}")))?;
    let reference = match (&s.reference, ground) {
        (Some(r), _) => text_field("statement.reference", r, 500)?,
        (None, Ground::Terms) => "Sovereel Terms of Service".into(),
        (None, Ground::Law) => {
            return Err(ApiError::new(
                Kind::InvalidField,
                "statement.reference: name the law the item breaks",
            ));
        }
    };
    Ok(Statement {
        ground,
        reference,
        facts: text_field("statement.facts", &s.facts, 2000)?,
        automated: s.automated,
    })
}

/// Parses an action body for a case of `kind` about `target`.
fn parse_proposal(body: &ActionBody, c: &CaseRecord) -> ApiResult<Proposal> {
    let action = Action::parse(&body.action)
        .map_err(|e| ApiError::new(Kind::InvalidField, e.to_string()))?;
    if !allowed_actions(c).contains(&action) {
        let names: Vec<&str> = allowed_actions(c).iter().map(|a| a.as_str()).collect();
        return Err(ApiError::new(
            Kind::InvalidField,
            format!(
                "action: this {} case about a {} is settled with {}",
                c.kind,
                c.target_kind,
                names.join(", ")
            ),
        ));
    }
    let label = match (&body.label, action) {
        (Some(l), Action::Label) => Some(
            LabelKind::parse(l).map_err(|e| ApiError::new(Kind::InvalidField, e.to_string()))?,
        ),
        (None, Action::Label) => {
            return Err(ApiError::new(
                Kind::InvalidField,
                "label: a label action names the label (unverified, misleading, graphic, sensitive)",
            ));
        }
        (Some(_), _) => {
            return Err(ApiError::new(
                Kind::InvalidField,
                "label: only a label action takes a label",
            ));
        }
        (None, _) => None,
    };
    let note = match (&body.note, action) {
        (Some(n), Action::Label) if !n.trim().is_empty() => Some(text_field("note", n, 500)?),
        (Some(n), _) if !n.trim().is_empty() => {
            return Err(ApiError::new(
                Kind::InvalidField,
                "note: only a label action takes a fact-check note",
            ));
        }
        _ => None,
    };
    Ok(Proposal {
        action,
        label,
        note,
        statement: parse_statement(&body.statement)?,
    })
}

#[derive(Serialize, ToSchema)]
pub struct ActionAnswer {
    pub case: CaseView,
    pub decision: crate::api::decisions::StatementView,
    pub ledger_index: u64,
}

async fn act(
    app: &App,
    staff: &StaffUser,
    c: &CaseRecord,
    body: &ActionBody,
) -> ApiResult<DecisionRecord> {
    // The assignee's second decision on a case that one already claimed is
    // a conflict of state, not of permission (it would otherwise meet the
    // gateway's "only open cases" and be logged as a refused access).
    if c.state != CaseState::Open && c.assignee.as_deref() == Some(staff.id.as_str()) {
        return Err(ApiError::new(
            Kind::Conflict,
            "the case was decided already, or it is not assigned to you",
        ));
    }
    let proposal = parse_proposal(body, c)?;
    // A label is seen on a public video only; a followers-only or private
    // video can be removed, not labelled or ranked.
    if c.target_kind == TargetKind::Video
        && matches!(
            proposal.action,
            Action::Label | Action::Restrict | Action::Demote | Action::Promote
        )
        && app.catalog.video(&c.target_id).await?.is_none()
    {
        return Err(ApiError::new(
            Kind::Conflict,
            "labels and ranking decisions apply to public videos; this one is not public",
        ));
    }
    let _grant = grant(app, staff, c, act::ActOnCase, "moderation decision").await?;
    let d = crate::moderation::decide(app, &staff.plane, c, &staff.id, proposal).await?;
    // The creator is told (DSA Art. 17): in their inbox, at their home,
    // which is where the content and the decision are. The decision stands
    // whether or not the notice could be stored.
    if d.action.restricts() || d.case_kind == CaseKind::Appeal {
        let text = crate::api::decisions::notice_text(&d);
        let video = (d.target_kind == TargetKind::Video).then_some(d.target_id.as_str());
        if let Err(e) = crate::api::notifications::notify(
            &staff.plane,
            &d.subject_id,
            sovereel_model::InboxKind::Decision,
            Some(&text),
            video,
        )
        .await
        {
            tracing::warn!(decision = %d.id, error = %e.detail, "the creator's notice of a decision was not stored");
        }
    }
    Ok(d)
}

/// Decide an open case assigned to you, with a statement of reasons. The
/// decision closes the case exactly once (a concurrent second one gets
/// 409), is a `moderation` entry on the ledger, and takes effect only with
/// that entry.
#[utoipa::path(post, path = "/v1/staff/cases/{id}/actions", tag = "staff", params(crate::api::CaseIdPath), request_body = ActionBody,
    responses((status = 200, body = ActionAnswer), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn act_on_case(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ActionBody>,
) -> ApiResult<ApiJson<ActionAnswer>> {
    let c = load_case(&staff, &id).await?;
    let d = act(&app, &staff, &c, &body).await?;
    let c = load_case(&staff, &id).await?;
    Ok(ApiJson(ActionAnswer {
        case: case_view(&app, &c, &staff).await,
        ledger_index: d.ledger_index.unwrap_or_default() as u64,
        decision: crate::api::decisions::statement_view(&app, &staff.plane, &d).await?,
    }))
}

/// What an editorial intervention is about: a public video or an account.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum InterventionTarget {
    Video { video_id: String },
    Account { handle: String },
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterventionBody {
    pub target: InterventionTarget,
    /// `demote`, `restrict` (from For You) or `promote`.
    pub action: String,
    pub statement: StatementBody,
}

/// An editorial intervention in ranking, possible only this way: a case
/// the moderator opens about a video or an account of this region, decided
/// at once with a statement of reasons, on the ledger like any decision.
#[utoipa::path(post, path = "/v1/staff/interventions", tag = "staff", request_body = InterventionBody,
    responses((status = 201, body = ActionAnswer), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn intervene(
    State(app): State<Arc<App>>,
    staff: StaffUser,
    ApiJson(body): ApiJson<InterventionBody>,
) -> ApiResult<Response> {
    moderator_here(&staff)?;
    let plane = staff.plane.clone();
    let (target_kind, target_id, subject) = match &body.target {
        InterventionTarget::Video { video_id } => {
            let v = app
                .catalog
                .video(video_id)
                .await?
                .filter(|v| access::home_of(&v.id) == plane.id.as_str())
                .ok_or_else(|| ApiError::not_found("public video of this region"))?;
            (TargetKind::Video, v.id, v.author_id)
        }
        InterventionTarget::Account { handle } => {
            let (id, home) = crate::api::social::resolve_user(&app, handle).await?;
            if home.id() != &plane.id {
                return Err(ApiError::not_found("account of this region"));
            }
            (TargetKind::Account, id.clone(), id)
        }
    };
    let c = CaseRecord {
        id: sovereel_model::CaseId::generate(&plane.id).to_string(),
        kind: CaseKind::Intervention,
        target_kind,
        target_id,
        subject_id: subject,
        categories: vec![ReportCategory::Other],
        reports_count: 0,
        severity: 0,
        state: CaseState::Open,
        assignee: Some(staff.id.clone()),
        created_at: sovereel_model::now_millis(),
        closed_at: None,
        appeal_of: None,
        appeal_text: None,
        decided_by: None,
    };
    let action = ActionBody {
        action: body.action.clone(),
        label: None,
        note: None,
        statement: StatementBody {
            ground: body.statement.ground.clone(),
            reference: body.statement.reference.clone(),
            facts: body.statement.facts.clone(),
            automated: body.statement.automated,
        },
    };
    // Checked before the case exists, so a refused body leaves nothing.
    parse_proposal(&action, &c)?;
    plane.store.create_case(&c).await?;
    // Should the decision fail (the ledger unavailable), the intervention
    // waits in the moderator's queue, open and theirs, to be decided again.
    let d = act(&app, &staff, &c, &action).await?;
    let c = load_case(&staff, &c.id).await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(ActionAnswer {
            case: case_view(&app, &c, &staff).await,
            ledger_index: d.ledger_index.unwrap_or_default() as u64,
            decision: crate::api::decisions::statement_view(&app, &plane, &d).await?,
        }),
    )
        .into_response())
}

/// `{id}` and `{comment_id}` of a comment on a video.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CommentPath {
    /// The video's id.
    pub id: String,
    /// The comment's id.
    pub comment_id: String,
}

/// Delete a comment: its author may, and so may the owner of the video it
/// is on; anyone else gets 404 (nothing is revealed). Its replies go with a
/// top-level comment.
#[utoipa::path(delete, path = "/v1/videos/{id}/comments/{comment_id}", tag = "videos", params(CommentPath),
    responses((status = 204), (status = 404, body = crate::error::ProblemBody)))]
pub async fn delete_comment(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath((video_id, comment_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    use sovereel_store::{Change, OutboxItem, Target};
    let v = access::load_video(&app, Some(&user), &video_id).await?;
    let cid = sovereel_model::CommentId::parse(&comment_id)
        .map_err(|_| ApiError::not_found("comment"))?;
    let public = v.is_public();
    let comment = if public {
        app.catalog.comment(&comment_id).await?
    } else {
        match app.plane(cid.region_str()) {
            Some(p) => p.comment(&comment_id, Some(user.id.as_str())).await?,
            None => None,
        }
    }
    .filter(|c| c.video_id == video_id)
    .ok_or_else(|| ApiError::not_found("comment"))?;
    let is_author = comment.author_id == user.id.as_str();
    let is_owner = v.record.author_id == user.id.as_str();
    if !is_author && !is_owner {
        return Err(ApiError::not_found("comment"));
    }
    let gone = 1 + if comment.parent_id.is_none() {
        comment.replies_count
    } else {
        0
    };
    let mut out = vec![];
    let delete = Change::DeleteComment {
        id: comment.id.clone(),
        video_id: video_id.clone(),
    };
    if public {
        out.push(OutboxItem::new(Target::Catalog, delete.clone()));
    }
    // At the author's home: the comment itself (non-public videos) and the
    // author's link to it.
    out.push(OutboxItem::new(
        Target::Region(cid.region_str().to_string()),
        delete,
    ));
    out.push(OutboxItem::new(
        if public {
            Target::Catalog
        } else {
            Target::Region(v.home.id().to_string())
        },
        Change::VideoCounts {
            video_id: video_id.clone(),
            likes: 0,
            comments: -gone,
            shares: 0,
            views: 0,
        },
    ));
    user.home.store.append_events(&[], &out).await?;
    app.relay(&user.home).await.map_err(ApiError::internal)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ShareBody {
    /// Sent after the viewer saw the label and chose to share anyway.
    #[serde(default)]
    pub confirm: bool,
}

/// Sharing a labelled video asks first: until the client repeats the share
/// with `{"confirm": true}`, it is refused with 409
/// `/problems/share-confirmation-required`, whose detail names the labels.
pub async fn share_gate(app: &App, video_id: &str, body: &[u8]) -> ApiResult<()> {
    let confirm = if body.iter().all(u8::is_ascii_whitespace) {
        false
    } else {
        serde_json::from_slice::<ShareBody>(body)
            .map_err(|e| ApiError::new(Kind::MalformedJson, format!("share body: {e}")))?
            .confirm
    };
    if confirm {
        return Ok(());
    }
    let Some(v) = app.catalog.video(video_id).await? else {
        return Ok(());
    };
    let labels = crate::moderation::viewer_labels(&v.labels, v.label_note.as_deref());
    if labels.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = labels.iter().map(|l| l.text.as_str()).collect();
    Err(ApiError::new(
        Kind::ShareConfirmationRequired,
        format!(
            "this video is labelled ({}); share it anyway by repeating the request with {{\"confirm\": true}}",
            names.join("; ")
        ),
    ))
}

/// The targets a viewer reported, hidden from them at once.
#[derive(Default, Clone)]
pub struct Reported {
    pub videos: std::collections::HashSet<String>,
    pub comments: std::collections::HashSet<String>,
    pub accounts: std::collections::HashSet<String>,
}

pub async fn reported_by(user: &AuthUser) -> ApiResult<Reported> {
    let mut r = Reported::default();
    for (kind, id) in user.home.store.reported_by(user.id.as_str(), 5000).await? {
        match kind {
            TargetKind::Video => r.videos.insert(id),
            TargetKind::Comment => r.comments.insert(id),
            TargetKind::Account => r.accounts.insert(id),
        };
    }
    Ok(r)
}
