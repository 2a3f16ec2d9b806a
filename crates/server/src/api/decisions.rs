//! What a creator is told about decisions on their content, and how they
//! appeal. Every decision that restricts a user's content carries a
//! statement of reasons with the fields of EU DSA Art. 17: the decision,
//! its territorial scope, the facts relied on, whether automated means were
//! used, the legal or contractual ground, and the redress open. Within six
//! months the creator may appeal (Art. 20); the appeal is a case in the same
//! queue, decided by a moderator other than the one who decided, with
//! `uphold` or `reverse`, and a reversal restores the content.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sovereel_model::moderation::{
    APPEAL_WINDOW_MS, Action, CaseKind, CaseState, Ground, LabelKind, ReportCategory, TargetKind,
};
use sovereel_store::{CaseRecord, Cursor, DecisionRecord};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Kind};
use crate::plane::LocalPlane;
use crate::state::App;

#[derive(Serialize, ToSchema)]
pub struct DecidedTarget {
    /// `video`, `comment` or `account`.
    pub kind: TargetKind,
    pub id: String,
    /// A video's caption, or a comment's text, so the creator knows which.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionPart {
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<LabelKind>,
    /// The fact-check note shown beside the label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What was decided, in a sentence.
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct GroundPart {
    /// `terms` (incompatible with the terms of service) or `law` (illegal).
    pub kind: Ground,
    /// The clause or the law relied on.
    pub reference: String,
}

#[derive(Serialize, ToSchema)]
pub struct AppealState {
    pub case_id: String,
    /// `open` while a moderator reviews it, `closed` once decided.
    pub state: CaseState,
    /// `uphold` or `reverse`, once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Action>,
}

#[derive(Serialize, ToSchema)]
pub struct RedressPart {
    pub text: String,
    /// The last moment an appeal is accepted.
    pub appeal_until: String,
    /// Whether an appeal can be made now (in time, not appealed yet, and a
    /// decision that can be appealed).
    pub can_appeal: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal: Option<AppealState>,
}

/// A statement of reasons (DSA Art. 17).
#[derive(Serialize, ToSchema)]
pub struct StatementView {
    pub id: String,
    pub case_id: String,
    pub target: DecidedTarget,
    /// The decision.
    pub decision: DecisionPart,
    /// Where it applies.
    pub territorial_scope: String,
    /// The facts and circumstances relied on.
    pub facts: String,
    /// Whether automated means were used, and a sentence saying so.
    pub automated: bool,
    pub automated_text: String,
    /// The legal or contractual ground.
    pub ground: GroundPart,
    /// The report categories the case was about.
    pub categories: Vec<ReportCategory>,
    /// The redress open to the creator.
    pub redress: RedressPart,
    pub decided_at: String,
    /// Set when an appeal reversed this decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reversed_at: Option<String>,
    /// For a decision on an appeal: the decision appealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal_of: Option<String>,
    /// The `moderation` entry recording it in the region's log.
    pub ledger_index: i64,
}

fn decision_text(d: &DecisionRecord) -> String {
    let what = match d.target_kind {
        TargetKind::Video => "Your video",
        TargetKind::Comment => "Your comment",
        TargetKind::Account => "Your account",
    };
    match d.action {
        Action::Label => format!(
            "{what} was labelled \"{}\". It stays up, is not recommended in For You, and viewers are asked before they share it.",
            d.label.map(|l| l.text()).unwrap_or("labelled")
        ),
        Action::Restrict => format!("{what} is no longer recommended in For You. It stays up."),
        Action::Remove => format!("{what} was removed. Nobody else can see it."),
        Action::Demote => format!("{what} is recommended less in For You."),
        Action::Promote => format!("{what} is recommended more in For You."),
        Action::Dismiss => "The reports were dismissed; nothing changes.".into(),
        Action::Uphold => "Your appeal was rejected: the decision stands.".into(),
        Action::Reverse => {
            "Your appeal was accepted: the decision was reversed and your content restored.".into()
        }
    }
}

/// The inbox notice of a decision: what was decided, and where to read
/// the statement of reasons and appeal.
pub fn notice_text(d: &DecisionRecord) -> String {
    let next = if d.case_kind == CaseKind::Appeal {
        "The statement of reasons is under \"Decisions about my content\"."
    } else {
        "Read the statement of reasons, and appeal within six months, under \"Decisions about my content\"."
    };
    format!("{} {next}", decision_text(d))
}

async fn target_summary(app: &App, plane: &LocalPlane, d: &DecisionRecord) -> Option<String> {
    match d.target_kind {
        TargetKind::Video => plane
            .store
            .video(&d.target_id)
            .await
            .ok()
            .flatten()
            .map(|v| v.caption),
        TargetKind::Comment => {
            match crate::moderation::find_comment(app, plane, &d.target_id).await {
                Ok(Some((c, _))) => Some(c.text),
                _ => d
                    .restore
                    .as_deref()
                    .and_then(|r| serde_json::from_str::<crate::moderation::Restore>(r).ok())
                    .and_then(|r| match r {
                        crate::moderation::Restore::Comment { comment, .. } => Some(comment.text),
                        _ => None,
                    }),
            }
        }
        TargetKind::Account => None,
    }
}

/// Whether `d` can be appealed at `now`, ignoring whether it was already.
fn appealable(d: &DecisionRecord, now: i64) -> bool {
    d.action.restricts()
        && d.case_kind != CaseKind::Appeal
        && d.reversed_at.is_none()
        && now <= d.created_at + APPEAL_WINDOW_MS
}

pub async fn statement_view(
    app: &App,
    plane: &LocalPlane,
    d: &DecisionRecord,
) -> ApiResult<StatementView> {
    let appeal = match plane.store.appeal_case(&d.id).await? {
        Some(c) => Some(AppealState {
            outcome: match plane.store.decision_of_case(&c.id).await? {
                Some(x) if x.ledger_index.is_some() => Some(x.action),
                _ => None,
            },
            case_id: c.id,
            state: c.state,
        }),
        None => None,
    };
    let now = sovereel_model::now_millis();
    Ok(StatementView {
        id: d.id.clone(),
        case_id: d.case_id.clone(),
        target: DecidedTarget {
            kind: d.target_kind,
            id: d.target_id.clone(),
            summary: target_summary(app, plane, d).await,
        },
        decision: DecisionPart {
            action: d.action,
            label: d.label,
            note: d.note.clone(),
            text: decision_text(d),
        },
        territorial_scope: d.territorial_scope.clone(),
        facts: d.facts.clone(),
        automated: d.automated,
        automated_text: if d.automated {
            "Automated means were used to detect or decide this.".into()
        } else {
            "No automated means were used: a moderator reviewed the content and decided.".into()
        },
        ground: GroundPart {
            kind: d.ground,
            reference: d.reference.clone(),
        },
        categories: d.categories.clone(),
        redress: RedressPart {
            text: d.redress.clone(),
            appeal_until: sovereel_model::rfc3339(d.created_at + APPEAL_WINDOW_MS),
            can_appeal: appealable(d, now) && appeal.is_none(),
            appeal,
        },
        decided_at: sovereel_model::rfc3339(d.created_at),
        reversed_at: d.reversed_at.map(sovereel_model::rfc3339),
        appeal_of: d.appeal_of.clone(),
        ledger_index: d.ledger_index.unwrap_or_default(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct StatementList {
    pub items: Vec<StatementView>,
    pub next_cursor: Option<String>,
}

/// The statements of reasons for decisions about your content (those that
/// restricted it, and those on your appeals), newest first.
#[utoipa::path(get, path = "/v1/me/decisions", tag = "safety", params(crate::api::social::PageQuery),
    responses((status = 200, body = StatementList), (status = 401, body = crate::error::ProblemBody)))]
pub async fn my_decisions(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<crate::api::social::PageQuery>,
) -> ApiResult<ApiJson<StatementList>> {
    let limit = crate::api::social::page_limit(q.limit, 20)?;
    let mut before = crate::api::social::parse_cursor(q.cursor.as_deref())?;
    let mut items = vec![];
    let mut next_cursor = None;
    // Dismissals and promotions restrict nothing and owe no statement;
    // pages skip them.
    'pages: loop {
        let batch = user
            .home
            .store
            .decisions_about(user.id.as_str(), before.as_ref(), limit)
            .await?;
        let full = batch.len() as i64 == limit;
        for d in &batch {
            before = Some(Cursor {
                key: d.created_at as f64,
                id: d.id.clone(),
            });
            if !(d.action.restricts() || d.case_kind == CaseKind::Appeal) {
                continue;
            }
            items.push(statement_view(&app, &user.home, d).await?);
            if items.len() as i64 == limit {
                next_cursor = before.as_ref().map(Cursor::encode);
                break 'pages;
            }
        }
        if !full {
            break;
        }
    }
    Ok(ApiJson(StatementList { items, next_cursor }))
}

/// `{id}` of a decision.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DecisionIdPath {
    /// A decision's id, as `GET /v1/me/decisions` lists it.
    pub id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealBody {
    /// Why the decision is wrong (1 to 2000 characters).
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct AppealAnswer {
    /// The appeal's case, in the moderation queue.
    pub case_id: String,
    pub decision_id: String,
    pub state: CaseState,
    pub created_at: String,
}

/// Appeal a decision about your content, within six months of it. A
/// moderator other than the one who decided reviews it; a second appeal of
/// the same decision, or one after six months, answers 409.
#[utoipa::path(post, path = "/v1/me/decisions/{id}/appeal", tag = "safety", params(DecisionIdPath), request_body = AppealBody,
    responses((status = 201, body = AppealAnswer), (status = 404, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn appeal(
    State(_app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<AppealBody>,
) -> ApiResult<Response> {
    let text = body.text.trim();
    let n = text.chars().count();
    if n == 0 || n > 2000 {
        return Err(ApiError::new(
            Kind::InvalidField,
            "text: an appeal needs 1 to 2000 characters",
        ));
    }
    let plane = &user.home;
    // Decisions are kept at the creator's home: this user's own region.
    let d = plane
        .store
        .decision(&id)
        .await?
        .filter(|d| d.subject_id == user.id.as_str() && d.ledger_index.is_some())
        .ok_or_else(|| ApiError::not_found("decision"))?;
    let now = sovereel_model::now_millis();
    if !d.action.restricts() || d.case_kind == CaseKind::Appeal {
        return Err(ApiError::new(
            Kind::Conflict,
            "this decision did not restrict your content, or it already decided an appeal",
        ));
    }
    if d.reversed_at.is_some() {
        return Err(ApiError::new(
            Kind::Conflict,
            "this decision was reversed already",
        ));
    }
    if now > d.created_at + APPEAL_WINDOW_MS {
        return Err(ApiError::new(
            Kind::Conflict,
            format!(
                "the six months to appeal this decision ended at {}",
                sovereel_model::rfc3339(d.created_at + APPEAL_WINDOW_MS)
            ),
        ));
    }
    if plane.store.appeal_case(&d.id).await?.is_some() {
        return Err(ApiError::new(
            Kind::Conflict,
            "this decision was appealed already",
        ));
    }
    let severity = d.categories.iter().map(|c| c.severity()).max().unwrap_or(1);
    let case = CaseRecord {
        id: sovereel_model::CaseId::generate(&plane.id).to_string(),
        kind: CaseKind::Appeal,
        target_kind: d.target_kind,
        target_id: d.target_id.clone(),
        subject_id: d.subject_id.clone(),
        categories: if d.categories.is_empty() {
            vec![ReportCategory::Other]
        } else {
            d.categories.clone()
        },
        reports_count: 0,
        severity,
        state: CaseState::Open,
        assignee: None,
        created_at: now,
        closed_at: None,
        appeal_of: Some(d.id.clone()),
        appeal_text: Some(text.to_string()),
        decided_by: Some(d.moderator_id.clone()),
    };
    // On the ledger first: an appeal that exists is always on the record.
    crate::moderation::record_step(plane, "appeal", &case, &d.categories, Some(&d.id)).await?;
    match plane.store.create_case(&case).await {
        Err(sovereel_store::StoreError::Conflict(_)) => {
            return Err(ApiError::new(
                Kind::Conflict,
                "this decision was appealed already",
            ));
        }
        r => r?,
    }
    Ok((
        StatusCode::CREATED,
        ApiJson(AppealAnswer {
            case_id: case.id,
            decision_id: d.id,
            state: case.state,
            created_at: sovereel_model::rfc3339(now),
        }),
    )
        .into_response())
}
