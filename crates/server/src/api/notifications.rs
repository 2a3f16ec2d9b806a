//! The inbox: what others did with your videos and your account, the
//! decisions about your content, and your custodian's notices.
//!
//! A notification is the recipient's data and lives at the recipient's
//! home. The action that causes one writes it into the actor's outbox in
//! the same transaction as the action itself (a like, a comment, a follow),
//! as a [`Change::Notify`] for the recipient's home; the relay carries it
//! there (NATS between region services), through the egress check, with
//! interop fields only: ids, the kind, the actor's handle and region. The
//! recipient's home stores it unless the recipient blocked the actor; the
//! actor's side leaves out anyone the actor blocked. Text is stored only
//! with notices made at the recipient's home ([`notify`]: moderation
//! decisions, custodian notices); a comment's text is read from the public
//! catalog when the inbox is listed, so a comment on a non-public video
//! never leaves its author's home this way.
//!
//! Clients poll `GET /v1/me/notifications/unread` (see ARCHITECTURE.md for
//! why polling rather than a stream).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sovereel_model::{InboxKind, NotificationId, RegionId};
use sovereel_store::{
    Change, GroupCursor, NotificationGroup, NotificationRecord, OutboxItem, ProfileRecord, Target,
};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult, Kind};
use crate::plane::LocalPlane;
use crate::state::App;

/// How many of a group's latest actors a list shows.
const RECENT_ACTORS: i64 = 3;
/// At most this many people are told of one caption's or comment's
/// mentions.
const MAX_MENTIONS: usize = 20;
/// A custodian's notice, in characters.
const MAX_NOTICE_CHARS: usize = 1000;

/// Who did what a notification tells of.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub handle: String,
}

impl Actor {
    /// The signed-in user as the actor of what they are doing.
    pub async fn of(app: &App, user: &AuthUser) -> ApiResult<Actor> {
        let p = app
            .catalog
            .profile(user.id.as_str())
            .await?
            .ok_or_else(|| ApiError::internal("profile missing"))?;
        Ok(Actor {
            id: user.id.to_string(),
            handle: p.handle,
        })
    }
}

fn region_of(id: &str) -> &str {
    id.split('_').next().unwrap_or_default()
}

/// The outbox item that tells `recipient` (at their home) what `actor`
/// did, to be written in the same transaction as the action; none for an
/// action on one's own video or account.
pub fn notification(
    recipient: &str,
    kind: InboxKind,
    actor: &Actor,
    video_id: Option<&str>,
    comment_id: Option<&str>,
    now: i64,
) -> Option<OutboxItem> {
    if recipient == actor.id {
        return None;
    }
    let home = RegionId::parse(region_of(recipient)).ok()?;
    Some(OutboxItem::new(
        Target::Region(home.to_string()),
        Change::Notify {
            id: NotificationId::generate(&home).to_string(),
            recipient_id: recipient.to_string(),
            kind,
            actor_id: actor.id.clone(),
            actor_handle: actor.handle.clone(),
            actor_region: region_of(&actor.id).to_string(),
            video_id: video_id.map(str::to_string),
            comment_id: comment_id.map(str::to_string),
            created_at: now,
        },
    ))
}

/// Takes back a like's or a follow's notification (an unlike, an
/// unfollow, a request withdrawn or settled).
pub fn retraction(
    recipient: &str,
    kind: InboxKind,
    actor_id: &str,
    video_id: Option<&str>,
) -> OutboxItem {
    OutboxItem::new(
        Target::Region(region_of(recipient).to_string()),
        Change::Retract {
            recipient_id: recipient.to_string(),
            kind,
            actor_id: actor_id.to_string(),
            video_id: video_id.map(str::to_string),
        },
    )
}

/// A block: each side's inbox forgets the other.
pub fn forget_each_other(a: &str, b: &str) -> Vec<OutboxItem> {
    [(a, b), (b, a)]
        .into_iter()
        .map(|(recipient, actor)| {
            OutboxItem::new(
                Target::Region(region_of(recipient).to_string()),
                Change::ForgetActor {
                    recipient_id: recipient.to_string(),
                    actor_id: actor.to_string(),
                },
            )
        })
        .collect()
}

/// Everyone the user blocked, from this request's block set when it was
/// asked for already, otherwise from the user's home (where their own
/// blocks are kept). Whoever blocked the user is checked at their home
/// when a notification arrives there.
pub async fn blocked_by(user: &AuthUser) -> ApiResult<HashSet<String>> {
    if let Some(set) = user.blocks.get() {
        return Ok(set.users.clone());
    }
    Ok(user
        .home
        .store
        .blocked_by(user.id.as_str())
        .await?
        .into_iter()
        .collect())
}

/// Notifications for the handles a caption or comment mentions: each one
/// that exists, is not the actor, is not in `skip` (told already, say as
/// the video's author) and was not blocked by the actor.
#[allow(clippy::too_many_arguments)]
pub async fn mentions(
    app: &App,
    actor: &Actor,
    blocked: &HashSet<String>,
    handles: &[String],
    skip: &[&str],
    video_id: &str,
    comment_id: Option<&str>,
    now: i64,
) -> ApiResult<Vec<OutboxItem>> {
    let mut out = vec![];
    let mut told: HashSet<String> = skip.iter().map(|s| s.to_string()).collect();
    for handle in handles.iter().take(MAX_MENTIONS) {
        let Ok(h) = sovereel_model::Handle::parse(handle) else {
            continue;
        };
        let Some((id, _)) = app.catalog.resolve_handle(h.as_str()).await? else {
            continue;
        };
        if blocked.contains(&id) || !told.insert(id.clone()) {
            continue;
        }
        out.extend(notification(
            &id,
            InboxKind::Mention,
            actor,
            Some(video_id),
            comment_id,
            now,
        ));
    }
    Ok(out)
}

/// The mentions of a video's caption, when it goes public: told as the
/// video's author.
pub async fn caption_mentions(
    app: &App,
    plane: &LocalPlane,
    video: &sovereel_store::VideoRecord,
) -> anyhow::Result<Vec<OutboxItem>> {
    if video.mentions.is_empty() {
        return Ok(vec![]);
    }
    let Some(author) = plane.store.user(&video.author_id).await? else {
        return Ok(vec![]);
    };
    let blocked: HashSet<String> = plane
        .store
        .blocked_by(&video.author_id)
        .await?
        .into_iter()
        .collect();
    let actor = Actor {
        id: author.id,
        handle: author.handle,
    };
    mentions(
        app,
        &actor,
        &blocked,
        &video.mentions,
        &[],
        &video.id,
        None,
        sovereel_model::now_millis(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{}", e.detail))
}

/// Queues notification changes decided after the write they follow (an
/// approved request, an unfollow) at `plane`, and relays them.
pub async fn send(app: &App, plane: &LocalPlane, items: &[OutboxItem]) -> ApiResult<()> {
    if items.is_empty() {
        return Ok(());
    }
    plane.store.queue_notifications(items).await?;
    app.relay(plane).await.map_err(ApiError::internal)
}

/// The hook for notices made in the recipient's own region: a moderation
/// decision about their content ([`InboxKind::Decision`], with the video
/// it concerns) or a notice of their custodian. Stored at once, with its
/// text, which never leaves the region. Answers whether it was stored (not
/// for an unknown or deleting account). The recipient must be homed at
/// `plane`.
pub async fn notify(
    plane: &LocalPlane,
    recipient: &str,
    kind: InboxKind,
    text: Option<&str>,
    video_id: Option<&str>,
) -> ApiResult<bool> {
    if region_of(recipient) != plane.id.as_str() {
        return Err(ApiError::internal(
            "a notice with text is stored at its recipient's home only",
        ));
    }
    let n = NotificationRecord {
        id: NotificationId::generate(&plane.id).to_string(),
        recipient_id: recipient.to_string(),
        kind,
        actor_id: None,
        actor_handle: None,
        actor_region: None,
        video_id: video_id.map(str::to_string),
        comment_id: None,
        text: text.map(str::to_string),
        created_at: sovereel_model::now_millis(),
        read_at: None,
    };
    Ok(plane.store.add_notifications(&[n]).await? == 1)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ActorView {
    pub handle: String,
    pub display_name: String,
    /// The actor's home region.
    pub region: String,
}

/// One line of the inbox: a notification, or a group of likes or follows
/// of one day ("@a and 12 others liked your video").
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    /// The newest notification of the line; `up_to` this id marks the line
    /// and everything older read.
    pub id: String,
    pub kind: InboxKind,
    /// Who did it (the latest of a group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<ActorView>,
    /// The latest few who did it, newest first.
    pub actors: Vec<ActorView>,
    /// How many notifications the line stands for.
    pub count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<String>,
    /// A public comment's text, or the text of a decision or notice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The line in words, for clients that show it as it is.
    pub summary: String,
    pub created_at: String,
    /// False while any notification of the line is unread.
    pub read: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationView>,
    pub next_cursor: Option<String>,
    /// Lines with something unread, in the whole inbox.
    pub unread: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    /// Lines of the inbox with something unread.
    pub unread: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    pub cursor: Option<String>,
    /// How many lines, 1 to 100.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

fn encode_cursor(c: &GroupCursor) -> String {
    format!("{}~{}", c.latest, c.group_key)
}

fn decode_cursor(s: &str) -> ApiResult<GroupCursor> {
    let bad = || {
        ApiError::new(
            Kind::InvalidField,
            "cursor: not a cursor this server issued",
        )
    };
    let (t, key) = s.split_once('~').ok_or_else(bad)?;
    let latest: i64 = t.parse().map_err(|_| bad())?;
    let ok = !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if !ok {
        return Err(bad());
    }
    Ok(GroupCursor {
        latest,
        group_key: key.to_string(),
    })
}

fn actor_view(
    n: &NotificationRecord,
    profiles: &HashMap<String, ProfileRecord>,
) -> Option<ActorView> {
    let id = n.actor_id.as_ref()?;
    let p = profiles.get(id).filter(|p| !p.hidden)?;
    Some(ActorView {
        handle: p.handle.clone(),
        display_name: p.display_name.clone(),
        region: p.region.clone(),
    })
}

fn summary(kind: InboxKind, actors: &[ActorView], count: i64, text: Option<&str>) -> String {
    let who = match actors.first() {
        Some(a) if count > 1 => {
            let others = count - 1;
            format!(
                "@{} and {others} {}",
                a.handle,
                if others == 1 { "other" } else { "others" }
            )
        }
        Some(a) => format!("@{}", a.handle),
        None => String::new(),
    };
    match kind {
        InboxKind::Like => format!("{who} liked your video"),
        InboxKind::Comment => format!("{who} commented on your video"),
        InboxKind::Reply => format!("{who} replied to your comment"),
        InboxKind::Mention => format!("{who} mentioned you"),
        InboxKind::Follow => format!("{who} started following you"),
        InboxKind::FollowRequest => format!("{who} asked to follow you"),
        InboxKind::FollowApproved => format!("{who} approved your follow request"),
        InboxKind::Decision => format!(
            "A decision about your content: {}",
            text.unwrap_or("see your decisions")
        ),
        InboxKind::RegionNotice => {
            format!(
                "A notice from your region's custodian: {}",
                text.unwrap_or("")
            )
        }
    }
}

async fn views(app: &App, groups: &[NotificationGroup]) -> ApiResult<Vec<NotificationView>> {
    let mut ids: Vec<String> = groups
        .iter()
        .flat_map(|g| g.recent.iter().filter_map(|n| n.actor_id.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    let profiles: HashMap<String, ProfileRecord> = app
        .catalog
        .profiles(&ids)
        .await?
        .into_iter()
        .map(|p| (p.user_id.clone(), p))
        .collect();
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let latest = g.latest();
        let actors: Vec<ActorView> = g
            .recent
            .iter()
            .filter_map(|n| actor_view(n, &profiles))
            .collect();
        // Something an account did that is gone (deleted, or deleting)
        // is not shown.
        if latest.actor_id.is_some() && actors.is_empty() {
            continue;
        }
        let text = match (&latest.text, &latest.comment_id) {
            (Some(t), _) => Some(t.clone()),
            // Only public comments are readable here, from the catalog.
            (None, Some(c)) => app.catalog.comment(c).await?.map(|c| c.text),
            (None, None) => None,
        };
        out.push(NotificationView {
            id: latest.id.clone(),
            kind: latest.kind,
            actor: actors.first().cloned(),
            summary: summary(latest.kind, &actors, g.count, text.as_deref()),
            actors,
            count: g.count,
            video_id: latest.video_id.clone(),
            comment_id: latest.comment_id.clone(),
            text,
            created_at: sovereel_model::rfc3339(latest.created_at),
            read: g.unread == 0,
        });
    }
    Ok(out)
}

/// The inbox, newest first: likes of one video and follows are grouped
/// per day, with the latest actors and a count.
#[utoipa::path(get, path = "/v1/me/notifications", tag = "inbox", params(InboxQuery),
    responses((status = 200, body = NotificationList), (status = 401, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn list(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> ApiResult<ApiJson<NotificationList>> {
    let limit = crate::api::social::page_limit(q.limit, 20)?;
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    // Hidden: everyone blocked either way, as of now (a block made after
    // a notification arrived hides it too).
    let blocks = crate::access::block_set(&app, &user).await?;
    let hidden: Vec<String> = blocks.users.iter().cloned().collect();
    let store = &user.home.store;
    let groups = store
        .notification_groups(
            user.id.as_str(),
            &hidden,
            after.as_ref(),
            limit,
            RECENT_ACTORS,
        )
        .await?;
    let next_cursor = (groups.len() as i64 == limit)
        .then(|| {
            groups.last().map(|g| {
                encode_cursor(&GroupCursor {
                    latest: g.latest().created_at,
                    group_key: g.group_key.clone(),
                })
            })
        })
        .flatten();
    let shown: Vec<NotificationGroup> = groups
        .into_iter()
        .filter(|g| {
            g.latest()
                .actor_id
                .as_deref()
                .is_none_or(|a| !blocks.hides(a))
        })
        .collect();
    let items = views(&app, &shown).await?;
    let unread = store.unread_groups(user.id.as_str(), &hidden).await?;
    Ok(ApiJson(NotificationList {
        items,
        next_cursor,
        unread,
    }))
}

/// How many lines of the inbox have something unread: cheap enough to
/// poll (the caller's own blocks are left out; a block either way also
/// clears both inboxes of each other).
#[utoipa::path(get, path = "/v1/me/notifications/unread", tag = "inbox",
    responses((status = 200, body = UnreadCount), (status = 401, body = crate::error::ProblemBody)))]
pub async fn unread(State(_app): State<Arc<App>>, user: AuthUser) -> ApiResult<Response> {
    let own_blocks = user.home.store.blocked_by(user.id.as_str()).await?;
    let unread = user
        .home
        .store
        .unread_groups(user.id.as_str(), &own_blocks)
        .await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "private, no-store")],
        ApiJson(UnreadCount { unread }),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// A notification id (that one and everything older) or an RFC 3339
    /// time (everything made by then). Without it, everything.
    pub up_to: Option<String>,
}

/// Marks notifications read: all (no body, or `{}`), or up to an id or a
/// time.
#[utoipa::path(post, path = "/v1/me/notifications/read", tag = "inbox", request_body = ReadBody,
    responses((status = 200, body = UnreadCount), (status = 400, body = crate::error::ProblemBody), (status = 401, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn read(
    State(_app): State<Arc<App>>,
    user: AuthUser,
    body: axum::body::Bytes,
) -> ApiResult<ApiJson<UnreadCount>> {
    let body: ReadBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReadBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            if e.is_data() {
                let m = e.to_string();
                ApiError::new(
                    Kind::InvalidField,
                    m.split(" at line ").next().unwrap_or(&m).to_string(),
                )
            } else {
                ApiError::new(Kind::MalformedJson, "the body is not valid JSON")
            }
        })?
    };
    let store = &user.home.store;
    let me = user.id.as_str();
    let up_to = match body.up_to.as_deref() {
        None => None,
        Some(s) if NotificationId::parse(s).is_ok() => {
            let n = store.notification(me, s).await?.ok_or_else(|| {
                ApiError::new(
                    Kind::InvalidField,
                    "up_to: no such notification in your inbox",
                )
            })?;
            Some((n.created_at, Some(n.id)))
        }
        Some(s) => {
            let at = sovereel_model::parse_rfc3339(s).ok_or_else(|| {
                ApiError::new(
                    Kind::InvalidField,
                    "up_to: must be a notification id or an RFC 3339 time",
                )
            })?;
            Some((at, None))
        }
    };
    store
        .mark_notifications_read(
            me,
            up_to.as_ref().map(|(at, id)| (*at, id.as_deref())),
            sovereel_model::now_millis(),
        )
        .await?;
    let own_blocks = store.blocked_by(me).await?;
    Ok(ApiJson(UnreadCount {
        unread: store.unread_groups(me, &own_blocks).await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeBody {
    /// What every user of the region is told, 1 to 1000 characters.
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeSent {
    /// The accounts of the region that were told.
    pub recipients: u64,
}

/// A notice from the region's custodian to every active account of the
/// region, by one of the custodian's operators. Kept in each inbox at the
/// region; nothing of it leaves.
#[utoipa::path(post, path = "/v1/staff/notices", tag = "staff", request_body = NoticeBody,
    responses((status = 201, body = NoticeSent), (status = 401, body = crate::error::ProblemBody), (status = 403, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn post_notice(
    staff: crate::api::staff::StaffUser,
    ApiJson(body): ApiJson<NoticeBody>,
) -> ApiResult<Response> {
    if staff.platform || staff.role != sovereel_custody::StaffRole::Operator {
        return Err(ApiError::new(
            Kind::Forbidden,
            "only an operator of the region's custodian posts notices to its users",
        ));
    }
    let text = body.text.trim();
    let n = text.chars().count();
    if n == 0 || n > MAX_NOTICE_CHARS {
        return Err(ApiError::new(
            Kind::InvalidField,
            format!("text: must be 1 to {MAX_NOTICE_CHARS} characters"),
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::new(
            Kind::InvalidField,
            "text: must not contain control characters",
        ));
    }
    let plane = &staff.plane;
    let now = sovereel_model::now_millis();
    let mut after: Option<String> = None;
    let mut recipients = 0;
    loop {
        let page = plane.store.inbox_owners(after.as_deref(), 500).await?;
        let Some(last) = page.last().cloned() else {
            break;
        };
        let batch: Vec<NotificationRecord> = page
            .into_iter()
            .map(|id| NotificationRecord {
                id: NotificationId::generate(&plane.id).to_string(),
                recipient_id: id,
                kind: InboxKind::RegionNotice,
                actor_id: None,
                actor_handle: None,
                actor_region: None,
                video_id: None,
                comment_id: None,
                text: Some(text.to_string()),
                created_at: now,
                read_at: None,
            })
            .collect();
        recipients += plane.store.add_notifications(&batch).await?;
        after = Some(last);
    }
    tracing::info!(region = %plane.id, staff = %staff.handle, recipients, "custodian notice posted");
    Ok((StatusCode::CREATED, ApiJson(NoticeSent { recipients })).into_response())
}
