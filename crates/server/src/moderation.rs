//! Decisions about content, as the region that holds the content takes
//! them: exactly once, on the record, with a statement of reasons.
//!
//! A decision is stored at the home of the content's creator (the region
//! that holds the video, the comment or the account) and takes effect in
//! three steps, in this order:
//!
//! 1. **Claim.** One transaction stores the decision without a ledger index
//!    and moves its case from `open` to `deciding`. Only one transaction can
//!    do that, so a concurrent second decision finds the case taken (409).
//! 2. **Record.** The `moderation` entry naming the decision's id is
//!    appended to the region's ledger and is durable before the call returns.
//! 3. **Finish.** One transaction stores the entry's index, closes the case,
//!    marks an appealed decision reversed and enqueues the decision's
//!    effects (labels, removal, restoring) in the outbox.
//!
//! A crash between 1 and 3 leaves a decision without an index. At start-up
//! [`settle_pending`] looks for its entry in the ledger: found, the decision
//! finishes with that index (step 3); not found, it is undone and its case
//! reopens. So a decision takes effect only with its ledger entry, and an
//! entry on the ledger always takes effect: never one without the other.
//!
//! What a target looks like after any number of decisions (its standing) is
//! computed from its decisions that were not reversed, so a reversal is
//! "recompute without the reversed one", and the catalog gets the whole new
//! standing each time.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sovereel_ledger::entry::{Moderation as ModerationEntry, Principal as LedgerPrincipal};
use sovereel_ledger::{Entry, EntryBody};
use sovereel_model::moderation::{
    Action, CaseKind, Ground, LabelKind, MARK_DEMOTED, MARK_PROMOTED, MARK_RESTRICTED,
    ReportCategory, TargetKind,
};
use sovereel_model::{VideoState, Visibility};
use sovereel_store::{
    CaseRecord, Change, CommentRecord, Counts, DecisionEffects, DecisionRecord, OutboxItem, Target,
};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, Kind};
use crate::plane::LocalPlane;
use crate::state::App;

/// The statement of reasons a moderator gives (DSA Art. 17(3)).
#[derive(Debug, Clone)]
pub struct Statement {
    pub ground: Ground,
    pub reference: String,
    pub facts: String,
    pub automated: bool,
}

/// Everything a decision needs besides its case.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub action: Action,
    pub label: Option<LabelKind>,
    pub note: Option<String>,
    pub statement: Statement,
}

/// What a decision applies everywhere: the whole world, since every region
/// serves the same public catalog.
pub const TERRITORIAL_SCOPE: &str = "worldwide: every region of Sovereel";

/// The redress open to the creator (DSA Art. 17(3)(f)).
pub fn redress(app: &App, region: &str, decided_at: i64) -> String {
    let until = sovereel_model::rfc3339(decided_at + sovereel_model::moderation::APPEAL_WINDOW_MS);
    let (custodian, countries) = app
        .region_config(region)
        .map(|r| (r.custodian.clone(), r.countries.join(", ")))
        .unwrap_or_default();
    let courts = if countries.is_empty() {
        "the courts of your country".to_string()
    } else {
        format!("the courts of {countries}")
    };
    format!(
        "You may appeal within six months (until {until}) from \"Decisions about my content\" in the app; \
         a moderator of {custodian} other than the one who decided reviews the appeal. \
         You may also turn to a certified out-of-court dispute settlement body (EU DSA Art. 21) or to {courts}."
    )
}

/// A moderation ledger entry: no personal data, the subject as a pseudonym.
pub fn entry(plane: &LocalPlane, d: &DecisionRecord) -> Entry {
    Entry::now(EntryBody::Moderation(ModerationEntry {
        step: match d.case_kind {
            CaseKind::Appeal => "appeal_decision",
            CaseKind::Intervention => "intervention",
            _ => "decision",
        }
        .into(),
        case_id: d.case_id.clone(),
        action: d.action.as_str().into(),
        content_id: d.target_id.clone(),
        target_kind: Some(d.target_kind.as_str().into()),
        subject: Some(plane.ledger.pseudonym(&d.subject_id)),
        moderator: LedgerPrincipal::CustodianStaff {
            region: plane.id.to_string(),
            role: "moderator".into(),
            staff_id: d.moderator_id.clone(),
        },
        categories: d.categories.iter().map(|c| c.as_str().into()).collect(),
        ground: d.ground.as_str().into(),
        reference: Some(d.reference.clone()),
        facts: d.facts.clone(),
        automated: d.automated,
        redress: d.redress.clone(),
        territorial_scope: Some(d.territorial_scope.clone()),
        label: d.label.map(|l| l.as_str().into()),
        note: d.note.clone(),
        decision_id: Some(d.id.clone()),
        appeal_of: d.appeal_of.clone(),
        case_opened_at: Some(sovereel_model::rfc3339(d.case_opened_at)),
    }))
}

/// A step that is not a decision (a report joining a case, an appeal),
/// recorded at the content's home.
pub async fn record_step(
    plane: &LocalPlane,
    step: &str,
    case: &CaseRecord,
    categories: &[ReportCategory],
    appeal_of: Option<&str>,
) -> ApiResult<u64> {
    let e = Entry::now(EntryBody::Moderation(ModerationEntry {
        step: step.into(),
        case_id: case.id.clone(),
        action: step.into(),
        content_id: case.target_id.clone(),
        target_kind: Some(case.target_kind.as_str().into()),
        subject: Some(plane.ledger.pseudonym(&case.subject_id)),
        // The log names neither reporters nor appellants.
        moderator: LedgerPrincipal::System {
            component: format!("{step}s"),
        },
        categories: categories.iter().map(|c| c.as_str().into()).collect(),
        ground: String::new(),
        reference: None,
        facts: String::new(),
        automated: false,
        redress: String::new(),
        territorial_scope: None,
        label: None,
        note: None,
        decision_id: None,
        appeal_of: appeal_of.map(str::to_string),
        case_opened_at: Some(sovereel_model::rfc3339(case.created_at)),
    }));
    append(plane, &e).await
}

async fn append(plane: &LocalPlane, e: &Entry) -> ApiResult<u64> {
    plane
        .ledger
        .log
        .append_entry(e)
        .await
        .map(|r| r.index)
        .map_err(|e| {
            tracing::error!(error = %e, "a moderation step could not be recorded");
            ApiError::new(
                Kind::Unavailable,
                "the step could not be recorded in the transparency ledger, so it was not taken",
            )
        })
}

/// A target's moderation standing: what its decisions that stand add up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    pub labels: BTreeSet<LabelKind>,
    pub note: Option<String>,
    pub restricted: bool,
    pub demoted: bool,
    pub promoted: bool,
    pub removed: bool,
}

impl Standing {
    /// Folds decisions in order; reversed ones (and appeal verdicts, which
    /// act through what they reverse) add nothing.
    pub fn of<'a>(decisions: impl IntoIterator<Item = &'a DecisionRecord>) -> Standing {
        let mut s = Standing::default();
        for d in decisions {
            if d.reversed_at.is_some() {
                continue;
            }
            match d.action {
                Action::Label => {
                    if let Some(l) = d.label {
                        s.labels.insert(l);
                    }
                    if d.note.is_some() {
                        s.note = d.note.clone();
                    }
                }
                Action::Restrict => s.restricted = true,
                Action::Demote => {
                    s.demoted = true;
                    s.promoted = false;
                }
                Action::Promote => {
                    s.promoted = true;
                    s.demoted = false;
                }
                Action::Remove => s.removed = true,
                Action::Dismiss | Action::Uphold | Action::Reverse => {}
            }
        }
        s
    }

    /// The catalog's label list: labels viewers see, then ranking markers.
    pub fn catalog_labels(&self, account: &Standing) -> Vec<String> {
        let mut out: Vec<String> = self.labels.iter().map(|l| l.as_str().to_string()).collect();
        if self.restricted || account.restricted {
            out.push(MARK_RESTRICTED.into());
        }
        let demoted = self.demoted || (account.demoted && !self.promoted);
        let promoted = !demoted && (self.promoted || account.promoted);
        if demoted {
            out.push(MARK_DEMOTED.into());
        }
        if promoted {
            out.push(MARK_PROMOTED.into());
        }
        out
    }
}

/// A label as viewers see it on a video.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
pub struct LabelView {
    /// `unverified`, `misleading`, `graphic` or `sensitive`.
    pub kind: String,
    /// The words shown on the video.
    pub text: String,
    /// The fact-check note beside it, if the decision gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The labels of a catalog label list that viewers see (ranking markers
/// are not for them). Labels from before typed labels read as `unverified`.
pub fn viewer_labels(labels: &[String], note: Option<&str>) -> Vec<LabelView> {
    let mut out: Vec<LabelView> = vec![];
    for l in labels {
        let kind = match l.as_str() {
            "misinformation" => Some(LabelKind::Unverified),
            other => LabelKind::parse(other).ok(),
        };
        if let Some(k) = kind
            && !out.iter().any(|v| v.kind == k.as_str())
        {
            out.push(LabelView {
                kind: k.as_str().into(),
                text: k.text().into(),
                note: note.map(str::to_string),
            });
        }
    }
    out
}

/// Whether a catalog label list keeps a video out of For You: any label
/// viewers see, or a restriction.
pub fn excluded_from_for_you(labels: &[String]) -> bool {
    labels
        .iter()
        .any(|l| l == MARK_RESTRICTED || l == "misinformation" || LabelKind::parse(l).is_ok())
}

/// What a reversal of a removal needs, captured when the removal is decided.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Restore {
    /// A public video's counters in the catalog when it was withdrawn.
    VideoCounts { counts: Counts },
    /// A removed comment, and whether it lived in the public catalog.
    Comment {
        comment: CommentRecord,
        public: bool,
    },
}

/// Where a comment homed here is, for a moderator: the catalog for comments
/// on public videos, this region otherwise.
pub async fn find_comment(
    app: &App,
    plane: &LocalPlane,
    id: &str,
) -> ApiResult<Option<(CommentRecord, bool)>> {
    if let Some(c) = app.catalog.comment(id).await? {
        return Ok(Some((c, true)));
    }
    Ok(plane.store.comment(id).await?.map(|c| (c, false)))
}

/// Captured before a removal takes effect, so a reversal can put it back.
pub async fn restore_snapshot(
    app: &App,
    plane: &LocalPlane,
    case: &CaseRecord,
    action: Action,
) -> ApiResult<Option<String>> {
    if action != Action::Remove {
        return Ok(None);
    }
    let r = match case.target_kind {
        TargetKind::Video => app
            .catalog
            .video(&case.target_id)
            .await?
            .map(|v| Restore::VideoCounts { counts: v.counts }),
        TargetKind::Comment => find_comment(app, plane, &case.target_id)
            .await?
            .map(|(comment, public)| Restore::Comment { comment, public }),
        TargetKind::Account => None,
    };
    r.map(|r| serde_json::to_string(&r).map_err(ApiError::internal))
        .transpose()
}

/// The changes that bring a target from its standing before `d` to its
/// standing after it.
async fn effects(app: &App, plane: &LocalPlane, d: &DecisionRecord) -> ApiResult<DecisionEffects> {
    let finished = plane
        .store
        .decisions_on(d.target_kind, &d.target_id)
        .await?;
    let before = Standing::of(&finished);
    let mut after_list: Vec<DecisionRecord> = finished.clone();
    // What `d` reverses no longer stands; what `d` decides now does.
    let reversed = (d.action == Action::Reverse)
        .then(|| d.appeal_of.clone())
        .flatten();
    for x in &mut after_list {
        if Some(&x.id) == reversed.as_ref() {
            x.reversed_at = Some(d.created_at);
        }
    }
    after_list.push(d.clone());
    let after = Standing::of(&after_list);
    // A reversal of a removal needs what the removal captured.
    let restore: Option<Restore> = match &reversed {
        Some(id) => plane
            .store
            .decision(id)
            .await?
            .and_then(|x| x.restore)
            .and_then(|r| serde_json::from_str(&r).ok()),
        None => None,
    };
    let mut fx = DecisionEffects::default();
    match d.target_kind {
        TargetKind::Video => {
            let Some(v) = plane.store.video(&d.target_id).await? else {
                return Ok(fx);
            };
            let account = account_standing(plane, &v.author_id).await?;
            let public = v.visibility == Visibility::Public;
            if after.removed && !before.removed {
                fx.video_state = Some((
                    v.id.clone(),
                    VideoState::Removed,
                    Some(format!("Removed by a moderation decision ({})", d.case_id)),
                ));
                if public {
                    fx.outbox.push(OutboxItem::new(
                        Target::Catalog,
                        Change::WithdrawVideo {
                            id: v.id.clone(),
                            author_id: v.author_id.clone(),
                        },
                    ));
                }
            } else if !after.removed && before.removed {
                fx.video_state = Some((v.id.clone(), VideoState::Ready, None));
                if public {
                    fx.outbox
                        .push(OutboxItem::new(Target::Catalog, Change::publish(&v)));
                    if let Some(Restore::VideoCounts { counts }) = &restore {
                        fx.outbox.push(OutboxItem::new(
                            Target::Catalog,
                            Change::VideoCounts {
                                video_id: v.id.clone(),
                                likes: counts.likes,
                                comments: counts.comments,
                                shares: counts.shares,
                                views: counts.views,
                            },
                        ));
                        fx.outbox.push(OutboxItem::new(
                            Target::Catalog,
                            Change::ProfileCounts {
                                user_id: v.author_id.clone(),
                                followers: 0,
                                following: 0,
                                likes: counts.likes,
                            },
                        ));
                    }
                }
            }
            if public && !after.removed {
                fx.outbox.push(OutboxItem::new(
                    Target::Catalog,
                    Change::SetLabels {
                        video_id: v.id.clone(),
                        labels: after.catalog_labels(&account),
                        note: after.note.clone(),
                    },
                ));
            }
        }
        TargetKind::Comment => {
            if after.removed && !before.removed {
                if let Some((c, public)) = find_comment(app, plane, &d.target_id).await? {
                    let gone = 1 + if c.parent_id.is_none() {
                        c.replies_count
                    } else {
                        0
                    };
                    let target = if public {
                        Target::Catalog
                    } else {
                        Target::Region(plane.id.to_string())
                    };
                    fx.outbox.push(OutboxItem::new(
                        target,
                        Change::DeleteComment {
                            id: c.id.clone(),
                            video_id: c.video_id.clone(),
                        },
                    ));
                    fx.outbox.push(comment_count(&c.video_id, public, -gone));
                }
            } else if !after.removed
                && before.removed
                && let Some(Restore::Comment { comment, public }) = &restore
            {
                let comment = CommentRecord {
                    replies_count: 0,
                    ..comment.clone()
                };
                let target = if *public {
                    Target::Catalog
                } else {
                    Target::Region(plane.id.to_string())
                };
                fx.outbox.push(OutboxItem::new(
                    target,
                    Change::InsertComment {
                        comment: comment.clone(),
                    },
                ));
                fx.outbox.push(comment_count(&comment.video_id, *public, 1));
            }
        }
        TargetKind::Account => {
            if after.removed != before.removed {
                fx.outbox.push(OutboxItem::new(
                    Target::Catalog,
                    Change::SetProfileHidden {
                        user_id: d.target_id.clone(),
                        hidden: after.removed,
                    },
                ));
            }
            let ranking = |s: &Standing| (s.restricted, s.demoted, s.promoted);
            if ranking(&after) != ranking(&before) {
                // The account's standing reaches each of its public videos.
                let mut cursor: Option<sovereel_store::Cursor> = None;
                loop {
                    let page = app
                        .catalog
                        .videos_by_authors(std::slice::from_ref(&d.target_id), cursor.as_ref(), 200)
                        .await?;
                    for v in &page {
                        let own = Standing::of(
                            &plane.store.decisions_on(TargetKind::Video, &v.id).await?,
                        );
                        fx.outbox.push(OutboxItem::new(
                            Target::Catalog,
                            Change::SetLabels {
                                video_id: v.id.clone(),
                                labels: own.catalog_labels(&after),
                                note: own.note.clone(),
                            },
                        ));
                    }
                    match page.last() {
                        Some(v) if page.len() == 200 => {
                            cursor = Some(sovereel_store::Cursor {
                                key: v.created_at as f64,
                                id: v.id.clone(),
                            })
                        }
                        _ => break,
                    }
                }
            }
        }
    }
    Ok(fx)
}

fn comment_count(video_id: &str, public: bool, delta: i64) -> OutboxItem {
    let target = if public {
        Target::Catalog
    } else {
        Target::Region(crate::access::home_of(video_id).to_string())
    };
    OutboxItem::new(
        target,
        Change::VideoCounts {
            video_id: video_id.to_string(),
            likes: 0,
            comments: delta,
            shares: 0,
            views: 0,
        },
    )
}

/// The standing of an account homed here (its decisions that stand).
pub async fn account_standing(plane: &LocalPlane, user_id: &str) -> ApiResult<Standing> {
    Ok(Standing::of(
        &plane
            .store
            .decisions_on(TargetKind::Account, user_id)
            .await?,
    ))
}

/// Takes a decision on an open case assigned to `moderator_id`: claim,
/// record, finish (see the module header). Answers the finished decision.
pub async fn decide(
    app: &App,
    plane: &LocalPlane,
    case: &CaseRecord,
    moderator_id: &str,
    p: Proposal,
) -> ApiResult<DecisionRecord> {
    let now = sovereel_model::now_millis();
    let restore = restore_snapshot(app, plane, case, p.action).await?;
    let mut d = DecisionRecord {
        id: sovereel_model::CaseId::generate(&plane.id).to_string(),
        case_id: case.id.clone(),
        case_kind: case.kind,
        subject_id: case.subject_id.clone(),
        target_kind: case.target_kind,
        target_id: case.target_id.clone(),
        action: p.action,
        label: p.label,
        note: p.note,
        categories: case.categories.clone(),
        ground: p.statement.ground,
        reference: p.statement.reference,
        facts: p.statement.facts,
        automated: p.statement.automated,
        territorial_scope: TERRITORIAL_SCOPE.into(),
        redress: redress(app, plane.id.as_str(), now),
        moderator_id: moderator_id.to_string(),
        appeal_of: case.appeal_of.clone(),
        restore,
        case_opened_at: case.created_at,
        ledger_index: None,
        created_at: now,
        reversed_at: None,
    };
    // 1. Claim: exactly one decision moves the case out of `open`.
    if !plane.store.claim_case(&d, moderator_id).await? {
        return Err(ApiError::new(
            Kind::Conflict,
            "the case was decided already, or it is not assigned to you",
        ));
    }
    // 2. Record: the entry is durable before anything takes effect.
    let index = match append(plane, &entry(plane, &d)).await {
        Ok(i) => i,
        Err(e) => {
            if let Err(undo) = plane.store.abandon_decision(&d.id).await {
                tracing::error!(error = %undo, decision = %d.id, "undoing an unrecorded decision failed; start-up settles it");
            }
            return Err(e);
        }
    };
    // 3. Finish: index, close, effects, in one transaction.
    finish(app, plane, &d, index).await?;
    d.ledger_index = Some(index as i64);
    Ok(d)
}

async fn finish(app: &App, plane: &LocalPlane, d: &DecisionRecord, index: u64) -> ApiResult<()> {
    let fx = effects(app, plane, d).await?;
    plane
        .store
        .finish_decision(&d.id, index as i64, &fx, sovereel_model::now_millis())
        .await?;
    app.relay(plane).await.map_err(ApiError::internal)?;
    Ok(())
}

/// At start-up: every decision claimed but not finished is finished when
/// its ledger entry exists, and undone when it does not.
pub async fn settle_pending(app: &App) {
    for plane in app.locals() {
        let pending = match plane.store.pending_decisions().await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(region = %plane.id, error = %e, "reading pending decisions failed");
                continue;
            }
        };
        for d in pending {
            let outcome = match recorded_index(plane, &d.id).await {
                Some(index) => finish(app, plane, &d, index).await.map(|_| "finished"),
                None => plane
                    .store
                    .abandon_decision(&d.id)
                    .await
                    .map(|_| "undone")
                    .map_err(ApiError::from),
            };
            match outcome {
                Ok(what) => {
                    tracing::warn!(region = %plane.id, decision = %d.id, "an interrupted decision was {what}")
                }
                Err(e) => {
                    tracing::error!(region = %plane.id, decision = %d.id, error = %e.detail, "settling an interrupted decision failed")
                }
            }
        }
    }
}

/// The index of the `moderation` entry that records decision `id`, if any.
async fn recorded_index(plane: &LocalPlane, id: &str) -> Option<u64> {
    let mut after = None;
    loop {
        let batch = plane.ledger.log.entries_by_kind("moderation", after, 512);
        if batch.is_empty() {
            return None;
        }
        for i in &batch {
            if let Ok(bytes) = plane.ledger.log.entry(*i).await
                && let Ok(e) = Entry::parse(&bytes)
                && let EntryBody::Moderation(m) = e.body
                && m.decision_id.as_deref() == Some(id)
            {
                return Some(*i);
            }
        }
        after = batch.last().copied();
    }
}
