//! What each outbox change carries, field by field, for the egress check:
//! the check reads each field's class from the data-class registry, so a
//! change that would carry a protected column is refused before it leaves.

use sovereel_custody::EgressField;
use sovereel_ledger::entry::DataClass as LedgerClass;
use sovereel_model::{DataClass, Db};
use sovereel_store::Change;

pub fn ledger_class(c: DataClass) -> LedgerClass {
    match c {
        DataClass::Protected => LedgerClass::Protected,
        DataClass::Public => LedgerClass::Public,
        DataClass::Aggregate => LedgerClass::Aggregate,
        DataClass::Interop => LedgerClass::Interop,
    }
}

fn f<'a>(db: Db, table: &'a str, column: &'a str, value: &'a [u8]) -> EgressField<'a> {
    EgressField {
        db,
        table,
        column,
        value,
    }
}

fn opt(v: &Option<String>) -> &[u8] {
    v.as_deref().unwrap_or_default().as_bytes()
}

/// The fields a change writes at its destination (`db` is the destination's kind).
pub fn fields(change: &Change, db: Db) -> Vec<EgressField<'_>> {
    const NUM: &[u8] = b"";
    match change {
        Change::UpsertProfile {
            user_id,
            handle,
            display_name,
            bio,
            region,
            ..
        } => vec![
            f(db, "profiles", "user_id", user_id.as_bytes()),
            f(db, "profiles", "handle", handle.as_bytes()),
            f(db, "profiles", "display_name", display_name.as_bytes()),
            f(db, "profiles", "bio", bio.as_bytes()),
            f(db, "profiles", "private", NUM),
            f(db, "profiles", "region", region.as_bytes()),
            f(db, "profiles", "created_at", NUM),
        ],
        Change::SetProfileHidden { user_id, .. } => vec![
            f(db, "profiles", "user_id", user_id.as_bytes()),
            f(db, "profiles", "hidden", NUM),
        ],
        Change::PublishVideo {
            id,
            author_id,
            caption,
            comments_policy,
            ..
        } => vec![
            f(db, "videos", "id", id.as_bytes()),
            f(db, "videos", "author_id", author_id.as_bytes()),
            f(db, "videos", "caption", caption.as_bytes()),
            f(db, "videos", "hashtags", NUM),
            f(db, "videos", "mentions", NUM),
            f(
                db,
                "videos",
                "comments_policy",
                comments_policy.as_str().as_bytes(),
            ),
            f(db, "videos", "duration_ms", NUM),
            f(db, "videos", "width", NUM),
            f(db, "videos", "height", NUM),
            f(db, "videos", "created_at", NUM),
        ],
        Change::EditVideo {
            id,
            caption,
            comments_policy,
            ..
        } => vec![
            f(db, "videos", "id", id.as_bytes()),
            f(db, "videos", "caption", caption.as_bytes()),
            f(db, "videos", "hashtags", NUM),
            f(db, "videos", "mentions", NUM),
            f(
                db,
                "videos",
                "comments_policy",
                comments_policy.as_str().as_bytes(),
            ),
        ],
        Change::UnpublishVideo { id, author_id } => vec![
            f(db, "videos", "id", id.as_bytes()),
            f(db, "videos", "author_id", author_id.as_bytes()),
        ],
        Change::VideoCounts { video_id, .. } => vec![
            f(db, "videos", "id", video_id.as_bytes()),
            f(db, "videos", "likes", NUM),
            f(db, "videos", "comments", NUM),
            f(db, "videos", "shares", NUM),
            f(db, "videos", "views", NUM),
        ],
        Change::ProfileCounts { user_id, .. } => vec![
            f(db, "profiles", "user_id", user_id.as_bytes()),
            f(db, "profiles", "followers", NUM),
            f(db, "profiles", "following", NUM),
            f(db, "profiles", "likes", NUM),
        ],
        Change::InsertComment { comment } => vec![
            f(db, "comments", "id", comment.id.as_bytes()),
            f(db, "comments", "video_id", comment.video_id.as_bytes()),
            f(db, "comments", "author_id", comment.author_id.as_bytes()),
            f(
                db,
                "comments",
                "author_handle",
                comment.author_handle.as_bytes(),
            ),
            f(db, "comments", "text", comment.text.as_bytes()),
            f(db, "comments", "parent_id", NUM),
            f(db, "comments", "created_at", NUM),
        ],
        Change::SetLabels { video_id, note, .. } => vec![
            f(db, "videos", "id", video_id.as_bytes()),
            f(db, "videos", "labels", NUM),
            f(db, "videos", "label_note", opt(note)),
        ],
        Change::WithdrawVideo { id, author_id } => vec![
            f(db, "videos", "id", id.as_bytes()),
            f(db, "videos", "author_id", author_id.as_bytes()),
        ],
        // Two ids and nothing else: interop wherever they go (a video's
        // owner deletes a comment kept at its author's home).
        Change::DeleteComment { id, video_id } => vec![
            f(Db::Catalog, "comments", "id", id.as_bytes()),
            f(Db::Catalog, "comments", "video_id", video_id.as_bytes()),
        ],
        Change::PurgeUser { user_id, handle } => vec![
            f(db, "profiles", "user_id", user_id.as_bytes()),
            f(db, "profiles", "handle", handle.as_bytes()),
        ],
        // Into the recipient's inbox: ids, the kind and who acted, nothing
        // else (the text column of a notification is protected; a change
        // cannot name it).
        Change::Notify {
            id,
            recipient_id,
            kind,
            actor_id,
            actor_handle,
            actor_region,
            video_id,
            comment_id,
            ..
        } => vec![
            f(db, "notifications", "id", id.as_bytes()),
            f(db, "notifications", "recipient_id", recipient_id.as_bytes()),
            f(db, "notifications", "kind", kind.as_str().as_bytes()),
            f(db, "notifications", "actor_id", actor_id.as_bytes()),
            f(db, "notifications", "actor_handle", actor_handle.as_bytes()),
            f(db, "notifications", "actor_region", actor_region.as_bytes()),
            f(db, "notifications", "video_id", opt(video_id)),
            f(db, "notifications", "comment_id", opt(comment_id)),
            f(db, "notifications", "created_at", NUM),
        ],
        Change::Retract {
            recipient_id,
            kind,
            actor_id,
            video_id,
        } => vec![
            f(db, "notifications", "recipient_id", recipient_id.as_bytes()),
            f(db, "notifications", "kind", kind.as_str().as_bytes()),
            f(db, "notifications", "actor_id", actor_id.as_bytes()),
            f(db, "notifications", "video_id", opt(video_id)),
        ],
        Change::ForgetActor {
            recipient_id,
            actor_id,
        } => vec![
            f(db, "notifications", "recipient_id", recipient_id.as_bytes()),
            f(db, "notifications", "actor_id", actor_id.as_bytes()),
        ],
    }
}
