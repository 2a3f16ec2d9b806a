//! The inbox: notifications kept at their recipient's home region.
//!
//! A notification about something done in another region arrives as a
//! [`Change::Notify`](crate::Change) through that region's outbox, with
//! interop fields only (ids, the kind, the actor's handle and region). The
//! recipient's home decides, when it stores one, what the sender could not:
//! whether the recipient still has an active account here and whether they
//! blocked the actor. A notification made here (a custodian's notice, a
//! moderation decision) may also carry text, which never leaves.
//!
//! The inbox is read as groups ("@a and 12 others liked your video"): the
//! likes of one video, or the follows, within one UTC day, are one group;
//! any other notification is a group of its own.

use async_trait::async_trait;
use sovereel_model::InboxKind;
use sqlx::{Pool, Postgres, Row, Sqlite};

use crate::outbox::{Change, OutboxItem};
use crate::sql::{SqlRegion, parse_enum, placeholders};
use crate::{Result, StoreError};

/// A notification, stored at its recipient's home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: String,
    pub recipient_id: String,
    pub kind: InboxKind,
    pub actor_id: Option<String>,
    pub actor_handle: Option<String>,
    pub actor_region: Option<String>,
    pub video_id: Option<String>,
    pub comment_id: Option<String>,
    /// Only for notices made in the recipient's own region (a custodian's
    /// notice, a moderation decision); never carried between regions.
    pub text: Option<String>,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// How long a group of likes or follows stays open: one per target and
/// UTC day.
pub const NOTIFICATION_WINDOW_MS: i64 = 86_400_000;

impl NotificationRecord {
    /// The rows the inbox shows as one: likes of one video, or follows,
    /// within one window; any other notification stands alone.
    pub fn group_key(&self) -> String {
        if self.kind.groups() {
            format!(
                "{}.{}.{}",
                self.kind.as_str(),
                self.video_id.as_deref().unwrap_or("me"),
                self.created_at.div_euclid(NOTIFICATION_WINDOW_MS)
            )
        } else {
            format!("{}.{}", self.kind.as_str(), self.id)
        }
    }
}

/// One line of the inbox: a group of notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationGroup {
    pub group_key: String,
    /// The newest few of the group, newest first (its latest actors).
    pub recent: Vec<NotificationRecord>,
    pub count: i64,
    pub unread: i64,
}

impl NotificationGroup {
    /// The newest notification of the group.
    pub fn latest(&self) -> &NotificationRecord {
        &self.recent[0]
    }
}

/// Where a list of groups continues: after the group whose newest
/// notification is at `latest` (ms), with this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCursor {
    pub latest: i64,
    pub group_key: String,
}

#[async_trait]
pub trait Inbox: Send + Sync {
    /// Stores notifications, skipping each whose recipient is not an active
    /// account here, is its own actor, has blocked the actor, or already
    /// holds the same like or follow from that actor. Answers how many
    /// were stored.
    async fn add_notifications(&self, items: &[NotificationRecord]) -> Result<u64>;
    /// The recipient's inbox, newest group first, leaving out what
    /// `hidden_actors` did; each group with its `recent` newest few.
    async fn notification_groups(
        &self,
        recipient: &str,
        hidden_actors: &[String],
        after: Option<&GroupCursor>,
        limit: i64,
        recent: i64,
    ) -> Result<Vec<NotificationGroup>>;
    /// How many groups hold an unread notification.
    async fn unread_groups(&self, recipient: &str, hidden_actors: &[String]) -> Result<i64>;
    async fn notification(&self, recipient: &str, id: &str) -> Result<Option<NotificationRecord>>;
    /// Marks read the recipient's notifications ordered at or before
    /// `up_to` (`(created_at, id)`, or every one made by that time when the
    /// id is left out), or all of them; answers how many changed.
    async fn mark_notifications_read(
        &self,
        recipient: &str,
        up_to: Option<(i64, Option<&str>)>,
        now: i64,
    ) -> Result<u64>;
    /// Active accounts homed here, in id order after `after`: the
    /// recipients of a notice to everyone.
    async fn inbox_owners(&self, after: Option<&str>, limit: i64) -> Result<Vec<String>>;
    /// Queues notification changes (`Notify`, `Retract`, `ForgetActor`)
    /// in the outbox on their own, for what is decided after the write it
    /// follows (an approved follow request, an unfollow).
    async fn queue_notifications(&self, items: &[OutboxItem]) -> Result<()>;
}

const COLS: &str = "id, recipient_id, kind, actor_id, actor_handle, actor_region, video_id, comment_id, text, group_key, created_at, read_at";

/// `AND (actor_id IS NULL OR actor_id NOT IN ($start…))`, or nothing.
fn hidden_clause(start: usize, hidden: &[String]) -> String {
    if hidden.is_empty() {
        String::new()
    } else {
        format!(
            "AND (actor_id IS NULL OR actor_id NOT IN ({}))",
            placeholders(start, hidden.len())
        )
    }
}

macro_rules! impl_inbox {
    ($DB:ty) => {
        fn notification_row(r: &<$DB as sqlx::Database>::Row) -> Result<NotificationRecord> {
            Ok(NotificationRecord {
                id: r.try_get("id")?,
                recipient_id: r.try_get("recipient_id")?,
                kind: parse_enum(&r.try_get::<String, _>("kind")?, InboxKind::parse)?,
                actor_id: r.try_get("actor_id")?,
                actor_handle: r.try_get("actor_handle")?,
                actor_region: r.try_get("actor_region")?,
                video_id: r.try_get("video_id")?,
                comment_id: r.try_get("comment_id")?,
                text: r.try_get("text")?,
                created_at: r.try_get("created_at")?,
                read_at: r.try_get("read_at")?,
            })
        }

        impl SqlRegion<$DB> {
            /// Stores one notification inside the caller's transaction (the
            /// relay's, for one from the outbox), under the rules of
            /// [`Inbox::add_notifications`]. True when stored.
            pub(crate) async fn insert_notification(
                tx: &mut sqlx::Transaction<'_, $DB>,
                n: &NotificationRecord,
            ) -> Result<bool> {
                let same = if n.kind.groups() {
                    "AND NOT EXISTS (SELECT 1 FROM notifications o WHERE o.recipient_id = $2 AND o.kind = $3 \
                     AND o.actor_id = $4 AND COALESCE(o.video_id, '') = COALESCE($7, ''))"
                } else {
                    ""
                };
                let sql = format!(
                    "INSERT INTO notifications ({COLS}) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 \
                     WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = $2 AND u.state = 'active') \
                     AND COALESCE($4, '') <> $2 \
                     AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $2 AND b.blocked_id = $4) {same} \
                     ON CONFLICT (id) DO NOTHING"
                );
                let r = sqlx::query(&sql)
                    .bind(&n.id)
                    .bind(&n.recipient_id)
                    .bind(n.kind.as_str())
                    .bind(&n.actor_id)
                    .bind(&n.actor_handle)
                    .bind(&n.actor_region)
                    .bind(&n.video_id)
                    .bind(&n.comment_id)
                    .bind(&n.text)
                    .bind(n.group_key())
                    .bind(n.created_at)
                    .bind(n.read_at)
                    .execute(&mut **tx)
                    .await?;
                Ok(r.rows_affected() == 1)
            }

            fn pool(&self) -> &Pool<$DB> {
                &self.reader
            }
        }

        #[async_trait]
        impl Inbox for SqlRegion<$DB> {
            async fn add_notifications(&self, items: &[NotificationRecord]) -> Result<u64> {
                let mut tx = self.writer.begin().await?;
                let mut stored = 0;
                for n in items {
                    stored += u64::from(Self::insert_notification(&mut tx, n).await?);
                }
                tx.commit().await?;
                Ok(stored)
            }

            async fn notification_groups(
                &self,
                recipient: &str,
                hidden: &[String],
                after: Option<&GroupCursor>,
                limit: i64,
                recent: i64,
            ) -> Result<Vec<NotificationGroup>> {
                let hide = hidden_clause(2, hidden);
                let n = 2 + hidden.len();
                let (having, lim) = match after {
                    Some(_) => (
                        format!("HAVING (MAX(created_at), group_key) < (${n}, ${})", n + 1),
                        n + 2,
                    ),
                    None => (String::new(), n),
                };
                // First the page of groups, by their newest notification…
                let sql = format!(
                    "SELECT group_key, MAX(created_at) AS latest, COUNT(*) AS n, \
                     SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END) AS unread \
                     FROM notifications WHERE recipient_id = $1 {hide} GROUP BY group_key {having} \
                     ORDER BY latest DESC, group_key DESC LIMIT ${lim}"
                );
                let mut q = sqlx::query(&sql).bind(recipient);
                for h in hidden {
                    q = q.bind(h);
                }
                if let Some(c) = after {
                    q = q.bind(c.latest).bind(&c.group_key);
                }
                let heads = q.bind(limit).fetch_all(self.pool()).await?;
                if heads.is_empty() {
                    return Ok(vec![]);
                }
                let mut groups: Vec<(String, i64, i64)> = Vec::with_capacity(heads.len());
                for r in &heads {
                    groups.push((r.try_get("group_key")?, r.try_get("n")?, r.try_get("unread")?));
                }
                // …then the newest few of each, in one query.
                let keys = placeholders(2 + hidden.len(), groups.len());
                let m = 2 + hidden.len() + groups.len();
                let sql = format!(
                    "SELECT {COLS} FROM (SELECT {COLS}, ROW_NUMBER() OVER \
                     (PARTITION BY group_key ORDER BY created_at DESC, id DESC) AS rn \
                     FROM notifications WHERE recipient_id = $1 {hide} AND group_key IN ({keys})) x \
                     WHERE rn <= ${m} ORDER BY created_at DESC, id DESC"
                );
                let mut q = sqlx::query(&sql).bind(recipient);
                for h in hidden {
                    q = q.bind(h);
                }
                for (k, _, _) in &groups {
                    q = q.bind(k);
                }
                let rows = q.bind(recent.max(1)).fetch_all(self.pool()).await?;
                let mut by_key: std::collections::HashMap<String, Vec<NotificationRecord>> =
                    Default::default();
                for r in &rows {
                    let rec = notification_row(r)?;
                    by_key.entry(rec.group_key()).or_default().push(rec);
                }
                Ok(groups
                    .into_iter()
                    .filter_map(|(group_key, count, unread)| {
                        let recent = by_key.remove(&group_key).filter(|r| !r.is_empty())?;
                        Some(NotificationGroup { group_key, recent, count, unread })
                    })
                    .collect())
            }

            async fn unread_groups(&self, recipient: &str, hidden: &[String]) -> Result<i64> {
                let sql = format!(
                    "SELECT COUNT(DISTINCT group_key) AS n FROM notifications \
                     WHERE recipient_id = $1 AND read_at IS NULL {}",
                    hidden_clause(2, hidden)
                );
                let mut q = sqlx::query(&sql).bind(recipient);
                for h in hidden {
                    q = q.bind(h);
                }
                Ok(q.fetch_one(self.pool()).await?.try_get("n")?)
            }

            async fn notification(
                &self,
                recipient: &str,
                id: &str,
            ) -> Result<Option<NotificationRecord>> {
                let row = sqlx::query(&format!(
                    "SELECT {COLS} FROM notifications WHERE recipient_id = $1 AND id = $2"
                ))
                .bind(recipient)
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
                row.as_ref().map(notification_row).transpose()
            }

            async fn mark_notifications_read(
                &self,
                recipient: &str,
                up_to: Option<(i64, Option<&str>)>,
                now: i64,
            ) -> Result<u64> {
                let sql = match up_to {
                    None => String::new(),
                    Some((_, None)) => "AND created_at <= $3".to_string(),
                    Some((_, Some(_))) => "AND (created_at, id) <= ($3, $4)".to_string(),
                };
                let sql = format!(
                    "UPDATE notifications SET read_at = $2 WHERE recipient_id = $1 AND read_at IS NULL {sql}"
                );
                let mut q = sqlx::query(&sql).bind(recipient).bind(now);
                if let Some((at, id)) = up_to {
                    q = q.bind(at);
                    if let Some(id) = id {
                        q = q.bind(id);
                    }
                }
                Ok(q.execute(&self.writer).await?.rows_affected())
            }

            async fn queue_notifications(&self, items: &[OutboxItem]) -> Result<()> {
                if let Some(other) = items.iter().find(|i| {
                    !matches!(
                        i.change,
                        Change::Notify { .. } | Change::Retract { .. } | Change::ForgetActor { .. }
                    )
                }) {
                    return Err(StoreError::Corrupt(format!(
                        "not a notification change: {:?}",
                        other.change
                    )));
                }
                let mut tx = self.writer.begin().await?;
                Self::enqueue(&mut tx, items, sovereel_model::now_millis()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn inbox_owners(&self, after: Option<&str>, limit: i64) -> Result<Vec<String>> {
                let rows = sqlx::query(
                    "SELECT id FROM users WHERE state = 'active' AND id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after.unwrap_or(""))
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
                Ok(rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?)
            }
        }
    };
}

mod sqlite_impl {
    use super::*;
    impl_inbox!(Sqlite);
}

mod postgres_impl {
    use super::*;
    impl_inbox!(Postgres);
}
