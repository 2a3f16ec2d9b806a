//! The SQL implementation of the storage traits.
//!
//! SQLite and PostgreSQL run the same statements (both accept `$n`
//! placeholders, `ON CONFLICT`, `RETURNING` and row-value comparisons), so
//! the implementation is written once in `impl_stores!` and compiled for each
//! backend. Differences live in the per-backend migrations and in `open_*`.
//!
//! SQLite durability: WAL journal with `synchronous = FULL`, so a commit is
//! on disk (WAL fsynced) before the call returns and survives `kill -9` and
//! power loss. Writes go through a pool of one connection, which serialises
//! writers inside the process and avoids `SQLITE_BUSY` upgrades; reads use a
//! separate pool and run concurrently under WAL.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Postgres, Row, Sqlite};

pub(crate) mod bulk;

use crate::outbox::{Change, OutboxItem, PendingChange, Target};
use crate::records::*;
use crate::traits::*;
use crate::{Result, StoreError, hot_score};
use sovereel_model::moderation::{
    Action, CaseKind, CaseState, Ground, LabelKind, ReportCategory, TargetKind,
};
use sovereel_model::{AccountState, CommentPolicy, VideoState, Visibility};

/// Which SQL backend a storage URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Reads the scheme of a storage URL; unknown schemes are an error that
    /// names the scheme.
    pub fn of_url(url: &str) -> Result<Self> {
        let scheme = url.split(':').next().unwrap_or("");
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            other => Err(StoreError::Config(format!(
                "unknown storage scheme `{other}:` (expected sqlite: or postgres://)"
            ))),
        }
    }
}

pub(crate) mod counting;

pub struct SqlRegion<DB: sqlx::Database> {
    pub(crate) writer: Pool<DB>,
    pub(crate) reader: Pool<DB>,
}

pub struct SqlCatalog<DB: sqlx::Database> {
    writer: Pool<DB>,
    reader: Pool<DB>,
}

async fn sqlite_pools(url: &str) -> Result<(Pool<Sqlite>, Pool<Sqlite>)> {
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        // Freed pages are overwritten with zeros, so deleted rows (a
        // deleted account's bio, a deleted video's caption) do not linger
        // in the file.
        .pragma("secure_delete", "ON")
        .busy_timeout(Duration::from_secs(10));
    if let Some(parent) = opts.get_filename().parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", parent.display())))?;
    }
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts.clone())
        .await?;
    let reader = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts.read_only(false))
        .await?;
    Ok((writer, reader))
}

async fn postgres_pool(url: &str) -> Result<Pool<Postgres>> {
    let opts = PgConnectOptions::from_str(url)?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts.clone())
        .await;
    match pool {
        Ok(p) => Ok(p),
        // A missing database is created, so a fresh PostgreSQL server needs
        // no manual setup; any other error is returned as it is.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {
            let name = opts.get_database().unwrap_or("postgres").to_string();
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(StoreError::Config(format!(
                    "database name `{name}` must be letters, digits and _"
                )));
            }
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .connect_with(opts.clone().database("postgres"))
                .await?;
            let created = sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                .execute(&admin)
                .await;
            admin.close().await;
            match created {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
                Err(e) => return Err(e.into()),
            }
            Ok(PgPoolOptions::new()
                .max_connections(16)
                .connect_with(opts)
                .await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens (creating and migrating if needed) a region database.
pub async fn open_region(url: &str) -> Result<Arc<dyn RegionStore>> {
    match Backend::of_url(url)? {
        Backend::Sqlite => {
            let (writer, reader) = sqlite_pools(url).await?;
            sqlx::migrate!("./migrations/sqlite/region")
                .run(&writer)
                .await?;
            Ok(Arc::new(SqlRegion { writer, reader }))
        }
        Backend::Postgres => {
            let pool = postgres_pool(url).await?;
            sqlx::migrate!("./migrations/postgres/region")
                .run(&pool)
                .await?;
            Ok(Arc::new(SqlRegion {
                writer: pool.clone(),
                reader: pool,
            }))
        }
    }
}

/// Opens (creating and migrating if needed) the public catalog.
pub async fn open_catalog(url: &str) -> Result<Arc<dyn CatalogStore>> {
    match Backend::of_url(url)? {
        Backend::Sqlite => {
            let (writer, reader) = sqlite_pools(url).await?;
            sqlx::migrate!("./migrations/sqlite/catalog")
                .run(&writer)
                .await?;
            let catalog = SqlCatalog { writer, reader };
            catalog.backfill_skeletons().await?;
            Ok(Arc::new(catalog))
        }
        Backend::Postgres => {
            let pool = postgres_pool(url).await?;
            sqlx::migrate!("./migrations/postgres/catalog")
                .run(&pool)
                .await?;
            let catalog = SqlCatalog {
                writer: pool.clone(),
                reader: pool,
            };
            catalog.backfill_skeletons().await?;
            Ok(Arc::new(catalog))
        }
    }
}

/// The tables a data export reads, with the column naming the user.
const EXPORT_TABLES: &[(&str, &str)] = &[
    ("users", "id"),
    ("videos", "author_id"),
    ("likes", "user_id"),
    ("follows", "follower_id"),
    ("blocks", "blocker_id"),
    ("comments", "author_id"),
    ("my_comments", "user_id"),
    ("shares", "user_id"),
    ("events", "user_id"),
    ("notifications", "recipient_id"),
    ("reports", "reporter_id"),
    ("decisions", "subject_id"),
    ("content_filters", "user_id"),
];

/// `$start, $start+1, …` for `n` values.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn parse_list(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("list column: {e}")))
}

/// Reads a column that holds one of a closed set of names.
pub(crate) fn parse_enum<T>(
    s: &str,
    parse: fn(&str) -> std::result::Result<T, sovereel_model::InvalidValue>,
) -> Result<T> {
    parse(s).map_err(|e| StoreError::Corrupt(format!("enum column: {e}")))
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

const USER_COLS: &str = "id, handle, display_name, bio, private, email, birthdate, country, password_hash, non_profiled, state, delete_after, created_at";
const VIDEO_COLS: &str = "id, author_id, caption, hashtags, mentions, visibility, comments_policy, state, state_reason, duration_ms, width, height, media_key, poster_key, content_type, sha256, size_bytes, transcoded, created_at, likes, comments, shares, views, draft";
const CVIDEO_COLS: &str = "id, author_id, caption, hashtags, mentions, comments_policy, duration_ms, width, height, labels, created_at, likes, comments, shares, views, hot, label_note";
const PROFILE_COLS: &str = "user_id, handle, display_name, bio, private, region, hidden, created_at, followers, following, videos, likes";
const REPORT_COLS: &str =
    "id, reporter_id, target_kind, target_id, category, details, case_id, created_at";
const CASE_COLS: &str = "id, kind, target_kind, target_id, subject_id, category, reports_count, severity, state, assignee, created_at, closed_at, appeal_of, appeal_text, decided_by";
const DECISION_COLS: &str = "id, case_id, case_kind, subject_id, target_kind, target_id, action, label, note, categories, ground, reference, facts, automated, territorial_scope, redress, moderator_id, appeal_of, restore, case_opened_at, ledger_index, created_at, reversed_at";
const COMMENT_COLS: &str =
    "id, video_id, author_id, author_handle, text, parent_id, created_at, replies_count";

macro_rules! impl_stores {
    ($DB:ty) => {

        async fn compact_db(pool: &Pool<$DB>) -> Result<()> {
            if std::any::type_name::<$DB>().contains("Sqlite") {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
            } else {
                for t in ["users", "videos", "comments", "events", "likes", "follows", "notifications", "profiles", "directory", "video_hashtags"] {
                    // Tables of the other kind of database do not exist here.
                    let _ = sqlx::query(&format!("VACUUM {t}")).execute(pool).await;
                }
            }
            Ok(())
        }

        fn staff_row(r: &<$DB as sqlx::Database>::Row) -> Result<StaffRecord> {
            Ok(StaffRecord { id: r.try_get("id")?, handle: r.try_get("handle")?, org: r.try_get("org")?, role: r.try_get("role")?, password_hash: r.try_get("password_hash")?, created_at: r.try_get("created_at")? })
        }

        /// A case row; its categories are read separately (`case_categories`).
        fn case_row(r: &<$DB as sqlx::Database>::Row) -> Result<CaseRecord> {
            let first = parse_enum(&r.try_get::<String, _>("category")?, ReportCategory::parse)?;
            Ok(CaseRecord {
                id: r.try_get("id")?,
                kind: parse_enum(&r.try_get::<String, _>("kind")?, CaseKind::parse)?,
                target_kind: parse_enum(&r.try_get::<String, _>("target_kind")?, TargetKind::parse)?,
                target_id: r.try_get("target_id")?,
                subject_id: r.try_get("subject_id")?,
                categories: vec![first],
                reports_count: r.try_get("reports_count")?,
                severity: r.try_get("severity")?,
                state: parse_enum(&r.try_get::<String, _>("state")?, CaseState::parse)?,
                assignee: r.try_get("assignee")?,
                created_at: r.try_get("created_at")?,
                closed_at: r.try_get("closed_at")?,
                appeal_of: r.try_get("appeal_of")?,
                appeal_text: r.try_get("appeal_text")?,
                decided_by: r.try_get("decided_by")?,
            })
        }

        fn report_row(r: &<$DB as sqlx::Database>::Row) -> Result<ReportRecord> {
            Ok(ReportRecord {
                id: r.try_get("id")?,
                reporter_id: r.try_get("reporter_id")?,
                target_kind: parse_enum(&r.try_get::<String, _>("target_kind")?, TargetKind::parse)?,
                target_id: r.try_get("target_id")?,
                category: parse_enum(&r.try_get::<String, _>("category")?, ReportCategory::parse)?,
                details: r.try_get("details")?,
                case_id: r.try_get("case_id")?,
                created_at: r.try_get("created_at")?,
            })
        }

        fn decision_row(r: &<$DB as sqlx::Database>::Row) -> Result<DecisionRecord> {
            let categories = parse_list(&r.try_get::<String, _>("categories")?)?
                .iter()
                .map(|c| parse_enum(c, ReportCategory::parse))
                .collect::<Result<Vec<_>>>()?;
            Ok(DecisionRecord {
                id: r.try_get("id")?,
                case_id: r.try_get("case_id")?,
                case_kind: parse_enum(&r.try_get::<String, _>("case_kind")?, CaseKind::parse)?,
                subject_id: r.try_get("subject_id")?,
                target_kind: parse_enum(&r.try_get::<String, _>("target_kind")?, TargetKind::parse)?,
                target_id: r.try_get("target_id")?,
                action: parse_enum(&r.try_get::<String, _>("action")?, Action::parse)?,
                label: r.try_get::<Option<String>, _>("label")?.map(|l| parse_enum(&l, LabelKind::parse)).transpose()?,
                note: r.try_get("note")?,
                categories,
                ground: parse_enum(&r.try_get::<String, _>("ground")?, Ground::parse)?,
                reference: r.try_get("reference")?,
                facts: r.try_get("facts")?,
                automated: r.try_get("automated")?,
                territorial_scope: r.try_get("territorial_scope")?,
                redress: r.try_get("redress")?,
                moderator_id: r.try_get("moderator_id")?,
                appeal_of: r.try_get("appeal_of")?,
                restore: r.try_get("restore")?,
                case_opened_at: r.try_get("case_opened_at")?,
                ledger_index: r.try_get("ledger_index")?,
                created_at: r.try_get("created_at")?,
                reversed_at: r.try_get("reversed_at")?,
            })
        }

        /// Fills in each case's categories, most severe first.
        async fn with_categories<'e, E>(exec: E, mut cases: Vec<CaseRecord>) -> Result<Vec<CaseRecord>>
        where
            E: sqlx::Executor<'e, Database = $DB>,
        {
            if cases.is_empty() {
                return Ok(cases);
            }
            let sql = format!("SELECT case_id, category FROM case_categories WHERE case_id IN ({})", placeholders(1, cases.len()));
            let mut q = sqlx::query(&sql);
            for c in &cases { q = q.bind(&c.id); }
            let rows = q.fetch_all(exec).await?;
            for c in &mut cases {
                let mut cats: Vec<ReportCategory> = vec![];
                for r in &rows {
                    if r.try_get::<String, _>("case_id")? == c.id {
                        let cat = parse_enum(&r.try_get::<String, _>("category")?, ReportCategory::parse)?;
                        if !cats.contains(&cat) { cats.push(cat); }
                    }
                }
                if !cats.is_empty() {
                    cats.sort_by_key(|k| (std::cmp::Reverse(k.severity()), *k));
                    c.categories = cats;
                }
            }
            Ok(cases)
        }

        async fn insert_case(tx: &mut sqlx::Transaction<'_, $DB>, c: &CaseRecord) -> std::result::Result<(), sqlx::Error> {
            let first = c.categories.first().copied().unwrap_or(ReportCategory::Other);
            sqlx::query(&format!("INSERT INTO cases ({CASE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"))
                .bind(&c.id).bind(c.kind.as_str()).bind(c.target_kind.as_str()).bind(&c.target_id).bind(&c.subject_id)
                .bind(first.as_str()).bind(c.reports_count).bind(c.severity).bind(c.state.as_str()).bind(&c.assignee)
                .bind(c.created_at).bind(c.closed_at).bind(&c.appeal_of).bind(&c.appeal_text).bind(&c.decided_by)
                .execute(&mut **tx).await?;
            for cat in &c.categories {
                sqlx::query("INSERT INTO case_categories (case_id, category) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(&c.id).bind(cat.as_str()).execute(&mut **tx).await?;
            }
            Ok(())
        }

        fn comment_row(r: &<$DB as sqlx::Database>::Row) -> Result<CommentRecord> {
            Ok(CommentRecord {
                id: r.try_get("id")?,
                video_id: r.try_get("video_id")?,
                author_id: r.try_get("author_id")?,
                author_handle: r.try_get("author_handle")?,
                text: r.try_get("text")?,
                parent_id: r.try_get("parent_id")?,
                created_at: r.try_get("created_at")?,
                replies_count: r.try_get("replies_count")?,
            })
        }

        /// Comments of a video (top level when `parent_id` is None), oldest first.
        async fn comments_query(pool: &Pool<$DB>, video_id: &str, parent_id: Option<&str>, after: Option<&Cursor>, limit: i64) -> Result<Vec<CommentRecord>> {
            let parent_cond = if parent_id.is_some() { "parent_id = $2" } else { "parent_id IS NULL AND $2 IS NULL" };
            let (cur, lim) = if after.is_some() { ("AND (created_at, id) > ($3, $4)", "$5") } else { ("", "$3") };
            let sql = format!("SELECT {COMMENT_COLS} FROM comments WHERE video_id = $1 AND {parent_cond} {cur} ORDER BY created_at, id LIMIT {lim}");
            let mut q = sqlx::query(&sql).bind(video_id).bind(parent_id);
            if let Some(c) = after {
                q = q.bind(c.key as i64).bind(&c.id);
            }
            let rows = q.bind(limit).fetch_all(pool).await?;
            rows.iter().map(comment_row).collect()
        }

        async fn insert_comment(tx: &mut sqlx::Transaction<'_, $DB>, c: &CommentRecord) -> Result<()> {
            let r = sqlx::query(&format!("INSERT INTO comments ({COMMENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 0) ON CONFLICT DO NOTHING"))
                .bind(&c.id).bind(&c.video_id).bind(&c.author_id).bind(&c.author_handle).bind(&c.text).bind(&c.parent_id).bind(c.created_at)
                .execute(&mut **tx).await?;
            if r.rows_affected() == 1 {
                if let Some(p) = &c.parent_id {
                    sqlx::query("UPDATE comments SET replies_count = replies_count + 1 WHERE id = $1").bind(p).execute(&mut **tx).await?;
                }
            }
            Ok(())
        }
        /// Deletes a comment and the replies stored in the same database; a
        /// reply takes one from its parent's count.
        async fn delete_comment(tx: &mut sqlx::Transaction<'_, $DB>, id: &str) -> Result<()> {
            let row = sqlx::query("DELETE FROM comments WHERE id = $1 RETURNING parent_id").bind(id).fetch_optional(&mut **tx).await?;
            if let Some(r) = row {
                match r.try_get::<Option<String>, _>("parent_id")? {
                    Some(p) => {
                        sqlx::query("UPDATE comments SET replies_count = replies_count - 1 WHERE id = $1").bind(p).execute(&mut **tx).await?;
                    }
                    None => {
                        sqlx::query("DELETE FROM comments WHERE parent_id = $1").bind(id).execute(&mut **tx).await?;
                    }
                }
            }
            Ok(())
        }

        impl SqlRegion<$DB> {
            fn user_row(r: &<$DB as sqlx::Database>::Row) -> Result<UserRecord> {
                Ok(UserRecord {
                    id: r.try_get("id")?,
                    handle: r.try_get("handle")?,
                    display_name: r.try_get("display_name")?,
                    bio: r.try_get("bio")?,
                    private: r.try_get("private")?,
                    email: r.try_get("email")?,
                    birthdate: r.try_get("birthdate")?,
                    country: r.try_get("country")?,
                    password_hash: r.try_get("password_hash")?,
                    non_profiled: r.try_get("non_profiled")?,
                    state: parse_enum(&r.try_get::<String, _>("state")?, AccountState::parse)?,
                    delete_after: r.try_get("delete_after")?,
                    created_at: r.try_get("created_at")?,
                })
            }

            fn video_row(r: &<$DB as sqlx::Database>::Row) -> Result<VideoRecord> {
                Ok(VideoRecord {
                    id: r.try_get("id")?,
                    author_id: r.try_get("author_id")?,
                    caption: r.try_get("caption")?,
                    hashtags: parse_list(&r.try_get::<String, _>("hashtags")?)?,
                    mentions: parse_list(&r.try_get::<String, _>("mentions")?)?,
                    visibility: parse_enum(&r.try_get::<String, _>("visibility")?, Visibility::parse)?,
                    comments_policy: parse_enum(&r.try_get::<String, _>("comments_policy")?, CommentPolicy::parse)?,
                    state: parse_enum(&r.try_get::<String, _>("state")?, VideoState::parse)?,
                    state_reason: r.try_get("state_reason")?,
                    duration_ms: r.try_get("duration_ms")?,
                    width: r.try_get("width")?,
                    height: r.try_get("height")?,
                    media_key: r.try_get("media_key")?,
                    poster_key: r.try_get("poster_key")?,
                    content_type: r.try_get("content_type")?,
                    sha256: r.try_get("sha256")?,
                    size_bytes: r.try_get("size_bytes")?,
                    transcoded: r.try_get("transcoded")?,
                    created_at: r.try_get("created_at")?,
                    counts: Counts {
                        likes: r.try_get("likes")?,
                        comments: r.try_get("comments")?,
                        shares: r.try_get("shares")?,
                        views: r.try_get("views")?,
                    },
                    draft: r.try_get("draft")?,
                })
            }

            /// Writes outbox items inside the caller's transaction.
            pub(crate) async fn enqueue(tx: &mut sqlx::Transaction<'_, $DB>, items: &[OutboxItem], now: i64) -> Result<()> {
                for item in items {
                    let payload = serde_json::to_string(&item.change)
                        .map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?;
                    sqlx::query("INSERT INTO outbox (target, payload, created_at) VALUES ($1, $2, $3)")
                        .bind(item.target.encode())
                        .bind(payload)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }
        }

        impl RegionStore for SqlRegion<$DB> {}

        #[async_trait]
        impl Accounts for SqlRegion<$DB> {
            async fn user_ids(&self, after: Option<&str>, limit: i64) -> Result<Vec<String>> {
                let rows = sqlx::query("SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after.unwrap_or("")).bind(limit).fetch_all(&self.reader).await?;
                Ok(rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?)
            }

            async fn create_user(&self, u: &UserRecord, outbox: &[OutboxItem]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                let res = sqlx::query(&format!("INSERT INTO users ({USER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"))
                    .bind(&u.id).bind(&u.handle).bind(&u.display_name).bind(&u.bio).bind(u.private)
                    .bind(&u.email).bind(&u.birthdate).bind(&u.country).bind(&u.password_hash)
                    .bind(u.non_profiled).bind(u.state.as_str()).bind(u.delete_after).bind(u.created_at)
                    .execute(&mut *tx)
                    .await;
                match res {
                    Err(e) if StoreError::is_unique_violation(&e) => return Err(StoreError::Conflict("handle")),
                    r => { r?; }
                }
                Self::enqueue(&mut tx, outbox, u.created_at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn user(&self, id: &str) -> Result<Option<UserRecord>> {
                let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"))
                    .bind(id).fetch_optional(&self.reader).await?;
                row.as_ref().map(Self::user_row).transpose()
            }

            async fn user_by_handle(&self, handle: &str) -> Result<Option<UserRecord>> {
                let row = sqlx::query(&format!("SELECT {USER_COLS} FROM users WHERE handle = $1"))
                    .bind(handle).fetch_optional(&self.reader).await?;
                row.as_ref().map(Self::user_row).transpose()
            }

            async fn update_profile(&self, id: &str, p: &ProfilePatch, outbox: &[OutboxItem]) -> Result<UserRecord> {
                let mut tx = self.writer.begin().await?;
                let row = sqlx::query(&format!(
                    "UPDATE users SET display_name = COALESCE($2, display_name), bio = COALESCE($3, bio), \
                     private = COALESCE($4, private), non_profiled = COALESCE($5, non_profiled) \
                     WHERE id = $1 RETURNING {USER_COLS}"))
                    .bind(id).bind(&p.display_name).bind(&p.bio).bind(p.private).bind(p.non_profiled)
                    .fetch_optional(&mut *tx).await?;
                let user = row.as_ref().map(Self::user_row).transpose()?.ok_or(StoreError::NotFound)?;
                Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                tx.commit().await?;
                Ok(user)
            }

        }

        #[async_trait]
        impl Deletion for SqlRegion<$DB> {
            async fn schedule_deletion(&self, id: &str, delete_after: i64, outbox: &[OutboxItem]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                let r = sqlx::query("UPDATE users SET state = 'deleting', delete_after = $2 WHERE id = $1")
                    .bind(id).bind(delete_after).execute(&mut *tx).await?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
                Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn cancel_deletion(&self, id: &str, outbox: &[OutboxItem]) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let r = sqlx::query("UPDATE users SET state = 'active', delete_after = NULL WHERE id = $1 AND state = 'deleting'")
                    .bind(id).execute(&mut *tx).await?;
                let cancelled = r.rows_affected() == 1;
                if cancelled {
                    Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                }
                tx.commit().await?;
                Ok(cancelled)
            }

            async fn due_for_deletion(&self, now: i64, limit: i64) -> Result<Vec<String>> {
                let rows = sqlx::query("SELECT id FROM users WHERE state = 'deleting' AND delete_after <= $1 ORDER BY delete_after LIMIT $2")
                    .bind(now).bind(limit).fetch_all(&self.reader).await?;
                Ok(rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?)
            }

            async fn purge_user(&self, id: &str, outbox: &[OutboxItem]) -> Result<Vec<String>> {
                let mut tx = self.writer.begin().await?;
                let keys = sqlx::query("SELECT media_key, poster_key FROM videos WHERE author_id = $1").bind(id).fetch_all(&mut *tx).await?;
                let mut media = vec![];
                for r in keys {
                    media.extend(r.try_get::<Option<String>, _>("media_key")?);
                    media.extend(r.try_get::<Option<String>, _>("poster_key")?);
                }
                for sql in [
                    "DELETE FROM comments WHERE video_id IN (SELECT id FROM videos WHERE author_id = $1)",
                    "DELETE FROM comments WHERE author_id = $1",
                    "DELETE FROM videos WHERE author_id = $1",
                    "DELETE FROM likes WHERE user_id = $1",
                    "DELETE FROM follows WHERE follower_id = $1 OR followee_id = $1",
                    "DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1",
                    "DELETE FROM shares WHERE user_id = $1",
                    "DELETE FROM my_comments WHERE user_id = $1",
                    "DELETE FROM events WHERE user_id = $1",
                    "DELETE FROM notifications WHERE recipient_id = $1 OR actor_id = $1",
                    "DELETE FROM reports WHERE reporter_id = $1",
                    "DELETE FROM case_categories WHERE case_id IN (SELECT id FROM cases WHERE subject_id = $1)",
                    "DELETE FROM cases WHERE subject_id = $1",
                    "DELETE FROM decisions WHERE subject_id = $1",
                    "DELETE FROM sessions WHERE user_id = $1",
                    "DELETE FROM content_filters WHERE user_id = $1",
                    "DELETE FROM users WHERE id = $1",
                ] {
                    sqlx::query(sql).bind(id).execute(&mut *tx).await?;
                }
                Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                tx.commit().await?;
                Ok(media)
            }
        }

        #[async_trait]
        impl Export for SqlRegion<$DB> {
            async fn export_user(&self, user_id: &str) -> Result<Vec<ExportRow>> {
                let mut out = vec![];
                for (table, user_col) in EXPORT_TABLES {
                    let cols: Vec<&str> = sovereel_model::COLUMNS
                        .iter()
                        .filter(|c| c.db == sovereel_model::Db::Region && c.table == *table)
                        .map(|c| c.column)
                        .collect();
                    let select = cols.iter().map(|c| format!("CAST({c} AS TEXT) AS {c}")).collect::<Vec<_>>().join(", ");
                    let rows = sqlx::query(&format!("SELECT {select} FROM {table} WHERE {user_col} = $1"))
                        .bind(user_id).fetch_all(&self.reader).await?;
                    for r in rows {
                        let mut values = vec![];
                        for c in &cols {
                            values.push((c.to_string(), r.try_get::<Option<String>, _>(*c)?));
                        }
                        out.push(ExportRow { table: table.to_string(), values });
                    }
                }
                Ok(out)
            }
        }

        #[async_trait]
        impl Staff for SqlRegion<$DB> {
            async fn create_staff(&self, st: &StaffRecord) -> Result<()> {
                let r = sqlx::query("INSERT INTO staff (id, handle, org, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(&st.id).bind(&st.handle).bind(&st.org).bind(&st.role).bind(&st.password_hash).bind(st.created_at)
                    .execute(&self.writer).await;
                match r {
                    Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict("staff handle")),
                    r => { r?; Ok(()) }
                }
            }

            async fn staff_by_handle(&self, handle: &str) -> Result<Option<StaffRecord>> {
                let row = sqlx::query("SELECT id, handle, org, role, password_hash, created_at FROM staff WHERE handle = $1")
                    .bind(handle).fetch_optional(&self.reader).await?;
                row.as_ref().map(staff_row).transpose()
            }

            async fn create_staff_session(&self, token_hash: &str, staff_id: &str, now: i64, expires_at: i64) -> Result<()> {
                sqlx::query("INSERT INTO staff_sessions (token_hash, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(token_hash).bind(staff_id).bind(now).bind(expires_at).execute(&self.writer).await?;
                Ok(())
            }

            async fn end_staff_sessions_except(&self, keep_org: &str) -> Result<u64> {
                let r = sqlx::query("DELETE FROM staff_sessions WHERE staff_id IN (SELECT id FROM staff WHERE org <> 'platform' AND org <> $1)")
                    .bind(keep_org).execute(&self.writer).await?;
                Ok(r.rows_affected())
            }

            async fn delete_staff_session(&self, token_hash: &str) -> Result<()> {
                sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1").bind(token_hash).execute(&self.writer).await?;
                Ok(())
            }

            async fn staff_session(&self, token_hash: &str, now: i64) -> Result<Option<StaffRecord>> {
                let row = sqlx::query("SELECT s.id, s.handle, s.org, s.role, s.password_hash, s.created_at FROM staff_sessions t JOIN staff s ON s.id = t.staff_id WHERE t.token_hash = $1 AND t.expires_at > $2")
                    .bind(token_hash).bind(now).fetch_optional(&self.reader).await?;
                row.as_ref().map(staff_row).transpose()
            }
        }

        #[async_trait]
        impl Moderation for SqlRegion<$DB> {
            async fn create_report(&self, r: &ReportRecord) -> Result<(ReportRecord, bool)> {
                let res = sqlx::query(&format!("INSERT INTO reports ({REPORT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (reporter_id, target_kind, target_id) DO NOTHING"))
                    .bind(&r.id).bind(&r.reporter_id).bind(r.target_kind.as_str()).bind(&r.target_id)
                    .bind(r.category.as_str()).bind(&r.details).bind(&r.case_id).bind(r.created_at)
                    .execute(&self.writer).await?;
                if res.rows_affected() == 1 {
                    return Ok((r.clone(), true));
                }
                let row = sqlx::query(&format!("SELECT {REPORT_COLS} FROM reports WHERE reporter_id = $1 AND target_kind = $2 AND target_id = $3"))
                    .bind(&r.reporter_id).bind(r.target_kind.as_str()).bind(&r.target_id)
                    .fetch_one(&self.writer).await?;
                Ok((report_row(&row)?, false))
            }

            async fn set_report_case(&self, report_id: &str, case_id: &str) -> Result<()> {
                sqlx::query("UPDATE reports SET case_id = $2 WHERE id = $1").bind(report_id).bind(case_id).execute(&self.writer).await?;
                Ok(())
            }

            async fn reported_by(&self, reporter_id: &str, limit: i64) -> Result<Vec<(TargetKind, String)>> {
                let rows = sqlx::query("SELECT target_kind, target_id FROM reports WHERE reporter_id = $1 ORDER BY created_at DESC LIMIT $2")
                    .bind(reporter_id).bind(limit).fetch_all(&self.reader).await?;
                rows.iter()
                    .map(|r| Ok((parse_enum(&r.try_get::<String, _>("target_kind")?, TargetKind::parse)?, r.try_get("target_id")?)))
                    .collect()
            }

            async fn join_case(&self, new_id: &str, rep: &CaseReport) -> Result<CaseRecord> {
                // A concurrent first report on the same target can win the
                // race to open the case (the unique index on open report
                // cases says so); the loser then joins it.
                for _ in 0..3 {
                    let mut tx = self.writer.begin().await?;
                    let joined = sqlx::query("UPDATE cases SET reports_count = reports_count + 1, \
                                              severity = CASE WHEN severity < $3 THEN $3 ELSE severity END \
                                              WHERE target_kind = $1 AND target_id = $2 AND kind = 'report' AND state <> 'closed' RETURNING id")
                        .bind(rep.target_kind.as_str()).bind(&rep.target_id).bind(rep.category.severity())
                        .fetch_optional(&mut *tx).await?;
                    let id = match joined {
                        Some(row) => {
                            let id: String = row.try_get("id")?;
                            sqlx::query("INSERT INTO case_categories (case_id, category) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                                .bind(&id).bind(rep.category.as_str()).execute(&mut *tx).await?;
                            id
                        }
                        None => {
                            let case = CaseRecord::from_report(new_id.to_string(), rep);
                            match insert_case(&mut tx, &case).await {
                                Ok(()) => case.id,
                                Err(e) if StoreError::is_unique_violation(&e) => continue,
                                Err(e) => return Err(e.into()),
                            }
                        }
                    };
                    let row = sqlx::query(&format!("SELECT {CASE_COLS} FROM cases WHERE id = $1")).bind(&id).fetch_one(&mut *tx).await?;
                    let case = case_row(&row)?;
                    let case = with_categories(&mut *tx, vec![case]).await?.remove(0);
                    tx.commit().await?;
                    return Ok(case);
                }
                Err(StoreError::Conflict("case"))
            }

            async fn create_case(&self, c: &CaseRecord) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                match insert_case(&mut tx, c).await {
                    Err(e) if StoreError::is_unique_violation(&e) => return Err(StoreError::Conflict("appeal")),
                    r => r?,
                }
                tx.commit().await?;
                Ok(())
            }

            async fn case(&self, id: &str) -> Result<Option<CaseRecord>> {
                let row = sqlx::query(&format!("SELECT {CASE_COLS} FROM cases WHERE id = $1")).bind(id).fetch_optional(&self.writer).await?;
                match row {
                    Some(r) => Ok(with_categories(&self.writer, vec![case_row(&r)?]).await?.pop()),
                    None => Ok(None),
                }
            }

            async fn case_queue(&self, after: Option<&QueueCursor>, limit: i64) -> Result<Vec<CaseRecord>> {
                // Highest severity, then most reports, then oldest; the
                // keyset compares the negated counts so one row-value
                // comparison serves all three directions.
                let (cond, lim) = if after.is_some() {
                    ("AND (-severity, -reports_count, created_at, id) > ($1, $2, $3, $4)", "$5")
                } else {
                    ("", "$1")
                };
                let sql = format!("SELECT {CASE_COLS} FROM cases WHERE state = 'open' {cond} ORDER BY severity DESC, reports_count DESC, created_at, id LIMIT {lim}");
                let mut q = sqlx::query(&sql);
                if let Some(c) = after {
                    q = q.bind(-c.severity).bind(-c.reports).bind(c.created_at).bind(&c.id);
                }
                let rows = q.bind(limit).fetch_all(&self.reader).await?;
                let cases = rows.iter().map(case_row).collect::<Result<Vec<_>>>()?;
                with_categories(&self.reader, cases).await
            }

            async fn queue_counts(&self, staff_id: &str) -> Result<QueueCounts> {
                let r = sqlx::query("SELECT COUNT(*) AS open, \
                                     SUM(CASE WHEN assignee IS NULL THEN 1 ELSE 0 END) AS unassigned, \
                                     SUM(CASE WHEN assignee = $1 THEN 1 ELSE 0 END) AS mine, \
                                     SUM(CASE WHEN kind = 'appeal' THEN 1 ELSE 0 END) AS appeals \
                                     FROM cases WHERE state = 'open'")
                    .bind(staff_id).fetch_one(&self.reader).await?;
                Ok(QueueCounts {
                    open: r.try_get("open")?,
                    unassigned: r.try_get::<Option<i64>, _>("unassigned")?.unwrap_or(0),
                    mine: r.try_get::<Option<i64>, _>("mine")?.unwrap_or(0),
                    appeals: r.try_get::<Option<i64>, _>("appeals")?.unwrap_or(0),
                })
            }

            async fn assign_case(&self, id: &str, staff_id: &str) -> Result<bool> {
                let r = sqlx::query("UPDATE cases SET assignee = $2 WHERE id = $1 AND state = 'open' AND (assignee IS NULL OR assignee = $2)")
                    .bind(id).bind(staff_id).execute(&self.writer).await?;
                Ok(r.rows_affected() == 1)
            }

            async fn claim_case(&self, d: &DecisionRecord, staff_id: &str) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                // The one step that makes a decision exactly-once: only one
                // transaction moves the case out of `open`. A concurrent one
                // waits for this row and then finds it taken.
                let r = sqlx::query("UPDATE cases SET state = 'deciding' WHERE id = $1 AND state = 'open' AND assignee = $2")
                    .bind(&d.case_id).bind(staff_id).execute(&mut *tx).await?;
                if r.rows_affected() != 1 {
                    return Ok(false);
                }
                let cats: Vec<String> = d.categories.iter().map(|c| c.as_str().to_string()).collect();
                let ins = sqlx::query(&format!("INSERT INTO decisions ({DECISION_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"))
                    .bind(&d.id).bind(&d.case_id).bind(d.case_kind.as_str()).bind(&d.subject_id).bind(d.target_kind.as_str()).bind(&d.target_id)
                    .bind(d.action.as_str()).bind(d.label.map(|l| l.as_str())).bind(&d.note).bind(json_list(&cats))
                    .bind(d.ground.as_str()).bind(&d.reference).bind(&d.facts).bind(d.automated).bind(&d.territorial_scope)
                    .bind(&d.redress).bind(&d.moderator_id).bind(&d.appeal_of).bind(&d.restore).bind(d.case_opened_at)
                    .bind(Option::<i64>::None).bind(d.created_at).bind(d.reversed_at)
                    .execute(&mut *tx).await;
                match ins {
                    Err(e) if StoreError::is_unique_violation(&e) => return Ok(false),
                    r => { r?; }
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn finish_decision(&self, id: &str, ledger_index: i64, fx: &DecisionEffects, now: i64) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let row = sqlx::query("UPDATE decisions SET ledger_index = $2 WHERE id = $1 AND ledger_index IS NULL RETURNING case_id, action, appeal_of")
                    .bind(id).bind(ledger_index).fetch_optional(&mut *tx).await?;
                let Some(row) = row else { return Ok(false) };
                let case_id: String = row.try_get("case_id")?;
                sqlx::query("UPDATE cases SET state = 'closed', closed_at = $2 WHERE id = $1").bind(&case_id).bind(now).execute(&mut *tx).await?;
                let action = parse_enum(&row.try_get::<String, _>("action")?, Action::parse)?;
                if action == Action::Reverse
                    && let Some(appealed) = row.try_get::<Option<String>, _>("appeal_of")?
                {
                    sqlx::query("UPDATE decisions SET reversed_at = $2 WHERE id = $1").bind(appealed).bind(now).execute(&mut *tx).await?;
                }
                if let Some((video, state, reason)) = &fx.video_state {
                    sqlx::query("UPDATE videos SET state = $2, state_reason = $3 WHERE id = $1")
                        .bind(video).bind(state.as_str()).bind(reason).execute(&mut *tx).await?;
                }
                Self::enqueue(&mut tx, &fx.outbox, now).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn abandon_decision(&self, id: &str) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let row = sqlx::query("DELETE FROM decisions WHERE id = $1 AND ledger_index IS NULL RETURNING case_id")
                    .bind(id).fetch_optional(&mut *tx).await?;
                let Some(row) = row else { return Ok(false) };
                let case_id: String = row.try_get("case_id")?;
                sqlx::query("UPDATE cases SET state = 'open' WHERE id = $1 AND state = 'deciding'").bind(case_id).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn pending_decisions(&self) -> Result<Vec<DecisionRecord>> {
                let rows = sqlx::query(&format!("SELECT {DECISION_COLS} FROM decisions WHERE ledger_index IS NULL ORDER BY created_at"))
                    .fetch_all(&self.writer).await?;
                rows.iter().map(decision_row).collect()
            }

            async fn decision(&self, id: &str) -> Result<Option<DecisionRecord>> {
                let row = sqlx::query(&format!("SELECT {DECISION_COLS} FROM decisions WHERE id = $1")).bind(id).fetch_optional(&self.writer).await?;
                row.as_ref().map(decision_row).transpose()
            }

            async fn decision_of_case(&self, case_id: &str) -> Result<Option<DecisionRecord>> {
                let row = sqlx::query(&format!("SELECT {DECISION_COLS} FROM decisions WHERE case_id = $1")).bind(case_id).fetch_optional(&self.writer).await?;
                row.as_ref().map(decision_row).transpose()
            }

            async fn appeal_case(&self, decision_id: &str) -> Result<Option<CaseRecord>> {
                let row = sqlx::query(&format!("SELECT {CASE_COLS} FROM cases WHERE appeal_of = $1")).bind(decision_id).fetch_optional(&self.writer).await?;
                match row {
                    Some(r) => Ok(with_categories(&self.writer, vec![case_row(&r)?]).await?.pop()),
                    None => Ok(None),
                }
            }

            async fn decisions_about(&self, subject_id: &str, before: Option<&Cursor>, limit: i64) -> Result<Vec<DecisionRecord>> {
                let (cur, lim) = if before.is_some() { ("AND (created_at, id) < ($2, $3)", "$4") } else { ("", "$2") };
                let sql = format!("SELECT {DECISION_COLS} FROM decisions WHERE subject_id = $1 AND ledger_index IS NOT NULL {cur} ORDER BY created_at DESC, id DESC LIMIT {lim}");
                let mut q = sqlx::query(&sql).bind(subject_id);
                if let Some(c) = before {
                    q = q.bind(c.key as i64).bind(&c.id);
                }
                let rows = q.bind(limit).fetch_all(&self.reader).await?;
                rows.iter().map(decision_row).collect()
            }

            async fn decisions_on(&self, target_kind: TargetKind, target_id: &str) -> Result<Vec<DecisionRecord>> {
                let rows = sqlx::query(&format!("SELECT {DECISION_COLS} FROM decisions WHERE target_kind = $1 AND target_id = $2 AND ledger_index IS NOT NULL ORDER BY created_at, id"))
                    .bind(target_kind.as_str()).bind(target_id).fetch_all(&self.writer).await?;
                rows.iter().map(decision_row).collect()
            }
        }

        #[async_trait]
        impl Compact for SqlRegion<$DB> {
            async fn compact(&self) -> Result<()> {
                compact_db(&self.writer).await
            }
        }

        #[async_trait]
        impl Compact for SqlCatalog<$DB> {
            async fn compact(&self) -> Result<()> {
                compact_db(&self.writer).await
            }
        }

        #[async_trait]
        impl Sessions for SqlRegion<$DB> {
            async fn create_session(&self, token_hash: &str, user_id: &str, now: i64, expires_at: i64) -> Result<()> {
                sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(token_hash).bind(user_id).bind(now).bind(expires_at)
                    .execute(&self.writer).await?;
                Ok(())
            }

            async fn session_user(&self, token_hash: &str, now: i64) -> Result<Option<String>> {
                let row = sqlx::query("SELECT s.user_id FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2")
                    .bind(token_hash).bind(now).fetch_optional(&self.reader).await?;
                Ok(row.map(|r| r.try_get("user_id")).transpose()?)
            }

            async fn delete_session(&self, token_hash: &str) -> Result<bool> {
                let r = sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.writer).await?;
                Ok(r.rows_affected() > 0)
            }
        }

        #[async_trait]
        impl Videos for SqlRegion<$DB> {
            async fn insert_video(&self, v: &VideoRecord) -> Result<()> {
                sqlx::query(&format!("INSERT INTO videos ({VIDEO_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"))
                    .bind(&v.id).bind(&v.author_id).bind(&v.caption).bind(json_list(&v.hashtags)).bind(json_list(&v.mentions))
                    .bind(v.visibility.as_str()).bind(v.comments_policy.as_str()).bind(v.state.as_str()).bind(&v.state_reason)
                    .bind(v.duration_ms).bind(v.width).bind(v.height).bind(&v.media_key).bind(&v.poster_key)
                    .bind(&v.content_type).bind(&v.sha256).bind(v.size_bytes).bind(v.transcoded).bind(v.created_at)
                    .bind(v.counts.likes).bind(v.counts.comments).bind(v.counts.shares).bind(v.counts.views)
                    .bind(v.draft)
                    .execute(&self.writer).await?;
                Ok(())
            }

            async fn video(&self, id: &str) -> Result<Option<VideoRecord>> {
                let row = sqlx::query(&format!("SELECT {VIDEO_COLS} FROM videos WHERE id = $1"))
                    .bind(id).fetch_optional(&self.reader).await?;
                row.as_ref().map(Self::video_row).transpose()
            }

            async fn finish_processing(&self, id: &str, o: &ProcessingOutcome, outbox: &[OutboxItem]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                let r = sqlx::query("UPDATE videos SET state = $2, state_reason = $3, duration_ms = $4, width = $5, height = $6, \
                                     media_key = $7, poster_key = $8, content_type = $9, transcoded = $10 WHERE id = $1 AND state = 'processing'")
                    .bind(id).bind(o.state.as_str()).bind(&o.state_reason).bind(o.duration_ms).bind(o.width).bind(o.height)
                    .bind(&o.media_key).bind(&o.poster_key).bind(&o.content_type).bind(o.transcoded)
                    .execute(&mut *tx).await?;
                if r.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_video(&self, id: &str, outbox: &[OutboxItem]) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let r = sqlx::query("DELETE FROM videos WHERE id = $1").bind(id).execute(&mut *tx).await?;
                if r.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM comments WHERE video_id = $1").bind(id).execute(&mut *tx).await?;
                Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                tx.commit().await?;
                Ok(true)
            }

            async fn processing_videos(&self) -> Result<Vec<VideoRecord>> {
                let rows = sqlx::query(&format!("SELECT {VIDEO_COLS} FROM videos WHERE state = 'processing' ORDER BY created_at"))
                    .fetch_all(&self.reader).await?;
                rows.iter().map(Self::video_row).collect()
            }

            async fn author_videos(&self, author_ids: &[String], vis: &[Visibility], before: Option<&Cursor>, limit: i64) -> Result<Vec<VideoRecord>> {
                if author_ids.is_empty() || vis.is_empty() {
                    return Ok(vec![]);
                }
                let a = placeholders(1, author_ids.len());
                let v = placeholders(1 + author_ids.len(), vis.len());
                let n = 1 + author_ids.len() + vis.len();
                let cursor = if before.is_some() { format!("AND (created_at, id) < (${}, ${})", n, n + 1) } else { String::new() };
                let lim = if before.is_some() { n + 2 } else { n };
                let sql = format!("SELECT {VIDEO_COLS} FROM videos WHERE author_id IN ({a}) AND visibility IN ({v}) AND state = 'ready' AND NOT draft {cursor} ORDER BY created_at DESC, id DESC LIMIT ${lim}");
                let mut q = sqlx::query(&sql);
                for id in author_ids { q = q.bind(id); }
                for x in vis { q = q.bind(x.as_str()); }
                if let Some(c) = before { q = q.bind(c.key as i64).bind(&c.id); }
                let rows = q.bind(limit).fetch_all(&self.reader).await?;
                rows.iter().map(Self::video_row).collect()
            }

            async fn drafts(&self, author_id: &str, before: Option<&Cursor>, limit: i64) -> Result<Vec<VideoRecord>> {
                let (cursor, lim) = if before.is_some() { ("AND (created_at, id) < ($2, $3)", "$4") } else { ("", "$2") };
                let sql = format!("SELECT {VIDEO_COLS} FROM videos WHERE author_id = $1 AND draft {cursor} ORDER BY created_at DESC, id DESC LIMIT {lim}");
                let mut q = sqlx::query(&sql).bind(author_id);
                if let Some(c) = before { q = q.bind(c.key as i64).bind(&c.id); }
                let rows = q.bind(limit).fetch_all(&self.reader).await?;
                rows.iter().map(Self::video_row).collect()
            }

            async fn edit_video(&self, id: &str, e: &VideoEdit, outbox: &[OutboxItem]) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let r = sqlx::query("UPDATE videos SET caption = $2, hashtags = $3, mentions = $4, visibility = $5, comments_policy = $6, draft = $7, \
                                     media_key = $8, poster_key = $9 \
                                     WHERE id = $1 AND state = 'ready' AND caption = $10 AND visibility = $11 AND draft = $12")
                    .bind(id).bind(&e.caption).bind(json_list(&e.hashtags)).bind(json_list(&e.mentions))
                    .bind(e.visibility.as_str()).bind(e.comments_policy.as_str()).bind(e.draft)
                    .bind(&e.media_key).bind(&e.poster_key)
                    .bind(&e.was_caption).bind(e.was_visibility.as_str()).bind(e.was_draft)
                    .execute(&mut *tx).await?;
                if r.rows_affected() == 0 {
                    return Ok(false);
                }
                Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                tx.commit().await?;
                Ok(true)
            }
        }

        #[async_trait]
        impl Preferences for SqlRegion<$DB> {
            async fn content_filters(&self, user_id: &str) -> Result<Option<(String, i64)>> {
                let row = sqlx::query("SELECT body, version FROM content_filters WHERE user_id = $1")
                    .bind(user_id).fetch_optional(&self.reader).await?;
                row.map(|r| Ok((r.try_get("body")?, r.try_get("version")?))).transpose()
            }

            async fn save_content_filters(&self, user_id: &str, body: &str, expected: i64, now: i64) -> Result<bool> {
                let r = if expected == 0 {
                    sqlx::query("INSERT INTO content_filters (user_id, body, version, updated_at) VALUES ($1, $2, 1, $3) ON CONFLICT DO NOTHING")
                        .bind(user_id).bind(body).bind(now).execute(&self.writer).await?
                } else {
                    sqlx::query("UPDATE content_filters SET body = $2, version = version + 1, updated_at = $3 WHERE user_id = $1 AND version = $4")
                        .bind(user_id).bind(body).bind(now).bind(expected).execute(&self.writer).await?
                };
                Ok(r.rows_affected() == 1)
            }
        }

        #[async_trait]
        impl Social for SqlRegion<$DB> {
            async fn like(&self, user_id: &str, video_id: &str, now: i64, outbox: &[OutboxItem]) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let r = sqlx::query("INSERT INTO likes (user_id, video_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(user_id).bind(video_id).bind(now).execute(&mut *tx).await?;
                let new = r.rows_affected() == 1;
                if new {
                    Self::enqueue(&mut tx, outbox, now).await?;
                }
                tx.commit().await?;
                Ok(new)
            }

            async fn unlike(&self, user_id: &str, video_id: &str, outbox: &[OutboxItem]) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let r = sqlx::query("DELETE FROM likes WHERE user_id = $1 AND video_id = $2")
                    .bind(user_id).bind(video_id).execute(&mut *tx).await?;
                let removed = r.rows_affected() == 1;
                if removed {
                    Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                }
                tx.commit().await?;
                Ok(removed)
            }

            async fn liked_among(&self, user_id: &str, video_ids: &[String]) -> Result<Vec<String>> {
                if video_ids.is_empty() {
                    return Ok(vec![]);
                }
                let sql = format!("SELECT video_id FROM likes WHERE user_id = $1 AND video_id IN ({})", placeholders(2, video_ids.len()));
                let mut q = sqlx::query(&sql).bind(user_id);
                for v in video_ids { q = q.bind(v); }
                let rows = q.fetch_all(&self.reader).await?;
                Ok(rows.iter().map(|r| r.try_get("video_id")).collect::<Result<_, _>>()?)
            }

            async fn liked_videos(&self, user_id: &str, before: Option<&Cursor>, limit: i64) -> Result<Vec<(String, i64)>> {
                let rows = match before {
                    Some(c) => sqlx::query("SELECT video_id, created_at FROM likes WHERE user_id = $1 AND (created_at < $2 OR (created_at = $2 AND video_id < $3)) ORDER BY created_at DESC, video_id DESC LIMIT $4")
                        .bind(user_id).bind(c.key as i64).bind(&c.id).bind(limit).fetch_all(&self.reader).await?,
                    None => sqlx::query("SELECT video_id, created_at FROM likes WHERE user_id = $1 ORDER BY created_at DESC, video_id DESC LIMIT $2")
                        .bind(user_id).bind(limit).fetch_all(&self.reader).await?,
                };
                rows.iter()
                    .map(|r| Ok((r.try_get("video_id")?, r.try_get("created_at")?)))
                    .collect::<std::result::Result<_, sqlx::Error>>()
                    .map_err(Into::into)
            }

            async fn follow(&self, follower: &str, followee: &str, state: FollowState, now: i64, outbox: &[OutboxItem]) -> Result<Option<FollowState>> {
                let mut tx = self.writer.begin().await?;
                let prev: Option<String> = sqlx::query("SELECT state FROM follows WHERE follower_id = $1 AND followee_id = $2")
                    .bind(follower).bind(followee).fetch_optional(&mut *tx).await?
                    .map(|r| r.try_get("state")).transpose()?;
                let prev = prev.as_deref().and_then(FollowState::parse);
                if prev != Some(state) {
                    sqlx::query("INSERT INTO follows (follower_id, followee_id, state, created_at) VALUES ($1, $2, $3, $4) \
                                 ON CONFLICT (follower_id, followee_id) DO UPDATE SET state = excluded.state")
                        .bind(follower).bind(followee).bind(state.as_str()).bind(now).execute(&mut *tx).await?;
                    Self::enqueue(&mut tx, outbox, now).await?;
                }
                tx.commit().await?;
                Ok(prev)
            }

            async fn unfollow(&self, follower: &str, followee: &str, outbox: &[OutboxItem]) -> Result<Option<FollowState>> {
                let mut tx = self.writer.begin().await?;
                let prev: Option<String> = sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2 RETURNING state")
                    .bind(follower).bind(followee).fetch_optional(&mut *tx).await?
                    .map(|r| r.try_get("state")).transpose()?;
                if prev.is_some() {
                    Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                }
                tx.commit().await?;
                Ok(prev.as_deref().and_then(FollowState::parse))
            }

            async fn follow_state(&self, follower: &str, followee: &str) -> Result<Option<FollowState>> {
                let s: Option<String> = sqlx::query("SELECT state FROM follows WHERE follower_id = $1 AND followee_id = $2")
                    .bind(follower).bind(followee).fetch_optional(&self.reader).await?
                    .map(|r| r.try_get("state")).transpose()?;
                Ok(s.as_deref().and_then(FollowState::parse))
            }

            async fn following(&self, follower: &str, limit: i64) -> Result<Vec<String>> {
                let rows = sqlx::query("SELECT followee_id FROM follows WHERE follower_id = $1 AND state = 'approved' ORDER BY created_at DESC LIMIT $2")
                    .bind(follower).bind(limit).fetch_all(&self.reader).await?;
                Ok(rows.iter().map(|r| r.try_get("followee_id")).collect::<Result<_, _>>()?)
            }

            async fn followers_page(&self, followee: &str, before: Option<&Cursor>, limit: i64) -> Result<Vec<(String, i64)>> {
                let (cursor, lim) = if before.is_some() { ("AND (created_at, follower_id) < ($2, $3)", "$4") } else { ("", "$2") };
                let sql = format!("SELECT follower_id AS who, created_at FROM follows WHERE followee_id = $1 AND state = 'approved' {cursor} ORDER BY created_at DESC, follower_id DESC LIMIT {lim}");
                let mut q = sqlx::query(&sql).bind(followee);
                if let Some(c) = before { q = q.bind(c.key as i64).bind(&c.id); }
                let rows = q.bind(limit).fetch_all(&self.reader).await?;
                rows.iter().map(|r| Ok((r.try_get("who")?, r.try_get("created_at")?))).collect()
            }

            async fn following_page(&self, follower: &str, before: Option<&Cursor>, limit: i64) -> Result<Vec<(String, i64)>> {
                let (cursor, lim) = if before.is_some() { ("AND (created_at, followee_id) < ($2, $3)", "$4") } else { ("", "$2") };
                let sql = format!("SELECT followee_id AS who, created_at FROM follows WHERE follower_id = $1 AND state = 'approved' {cursor} ORDER BY created_at DESC, followee_id DESC LIMIT {lim}");
                let mut q = sqlx::query(&sql).bind(follower);
                if let Some(c) = before { q = q.bind(c.key as i64).bind(&c.id); }
                let rows = q.bind(limit).fetch_all(&self.reader).await?;
                rows.iter().map(|r| Ok((r.try_get("who")?, r.try_get("created_at")?))).collect()
            }

            async fn pending_requests(&self, followee: &str, limit: i64) -> Result<Vec<String>> {
                let rows = sqlx::query("SELECT follower_id FROM follows WHERE followee_id = $1 AND state = 'pending' ORDER BY created_at DESC LIMIT $2")
                    .bind(followee).bind(limit).fetch_all(&self.reader).await?;
                Ok(rows.iter().map(|r| r.try_get("follower_id")).collect::<Result<_, _>>()?)
            }

            async fn block(&self, blocker: &str, blocked: &str, now: i64, outbox: &[OutboxItem]) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let r = sqlx::query("INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(blocker).bind(blocked).bind(now).execute(&mut *tx).await?;
                let new = r.rows_affected() == 1;
                if new {
                    Self::enqueue(&mut tx, outbox, now).await?;
                }
                tx.commit().await?;
                Ok(new)
            }

            async fn unblock(&self, blocker: &str, blocked: &str, outbox: &[OutboxItem]) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let r = sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
                    .bind(blocker).bind(blocked).execute(&mut *tx).await?;
                let removed = r.rows_affected() == 1;
                if removed {
                    Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                }
                tx.commit().await?;
                Ok(removed)
            }

            async fn has_blocked(&self, blocker: &str, blocked: &str) -> Result<bool> {
                let row = sqlx::query("SELECT 1 AS x FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
                    .bind(blocker).bind(blocked).fetch_optional(&self.reader).await?;
                Ok(row.is_some())
            }

            async fn blocked_by(&self, a: &str) -> Result<Vec<String>> {
                let rows = sqlx::query("SELECT blocked_id FROM blocks WHERE blocker_id = $1").bind(a).fetch_all(&self.reader).await?;
                Ok(rows.iter().map(|r| r.try_get("blocked_id")).collect::<Result<_, _>>()?)
            }

            async fn blockers_of(&self, b: &str) -> Result<Vec<String>> {
                let rows = sqlx::query("SELECT blocker_id FROM blocks WHERE blocked_id = $1").bind(b).fetch_all(&self.reader).await?;
                Ok(rows.iter().map(|r| r.try_get("blocker_id")).collect::<Result<_, _>>()?)
            }

            async fn record_share(&self, id: &str, user_id: &str, video_id: &str, now: i64, outbox: &[OutboxItem]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                sqlx::query("INSERT INTO shares (id, user_id, video_id, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(id).bind(user_id).bind(video_id).bind(now).execute(&mut *tx).await?;
                Self::enqueue(&mut tx, outbox, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn record_comment(&self, comment_id: &str, user_id: &str, video_id: &str, now: i64, outbox: &[OutboxItem]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                sqlx::query("INSERT INTO my_comments (comment_id, user_id, video_id, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(comment_id).bind(user_id).bind(video_id).bind(now).execute(&mut *tx).await?;
                Self::enqueue(&mut tx, outbox, now).await?;
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait]
        impl Events for SqlRegion<$DB> {
            async fn append_events(&self, events: &[EventRecord], outbox: &[OutboxItem]) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for e in events {
                    sqlx::query("INSERT INTO events (user_id, video_id, kind, watch_ms, duration_ms, at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(&e.user_id).bind(&e.video_id).bind(&e.kind).bind(e.watch_ms).bind(e.duration_ms).bind(e.at)
                        .execute(&mut *tx).await?;
                }
                Self::enqueue(&mut tx, outbox, sovereel_model::now_millis()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn not_interested_videos(&self, user_id: &str, limit: i64) -> Result<Vec<String>> {
                let rows = sqlx::query("SELECT video_id, MAX(at) AS last FROM events WHERE user_id = $1 AND kind = 'not_interested' GROUP BY video_id ORDER BY last DESC LIMIT $2")
                    .bind(user_id).bind(limit).fetch_all(&self.reader).await?;
                Ok(rows.iter().map(|r| r.try_get("video_id")).collect::<Result<_, _>>()?)
            }

            async fn seen_videos(&self, user_id: &str, limit: i64) -> Result<Vec<String>> {
                let rows = sqlx::query("SELECT video_id, MAX(at) AS last FROM events WHERE user_id = $1 AND kind IN ('impression', 'view', 'skip', 'not_interested') \
                                        GROUP BY video_id ORDER BY last DESC LIMIT $2")
                    .bind(user_id).bind(limit).fetch_all(&self.reader).await?;
                Ok(rows.iter().map(|r| r.try_get("video_id")).collect::<Result<_, _>>()?)
            }
        }

        #[async_trait]
        impl Outbox for SqlRegion<$DB> {
            async fn pending_changes(&self, limit: i64) -> Result<Vec<PendingChange>> {
                let rows = sqlx::query("SELECT seq, target, payload FROM outbox ORDER BY seq LIMIT $1")
                    .bind(limit).fetch_all(&self.reader).await?;
                rows.iter().map(|r| {
                    let target: String = r.try_get("target")?;
                    let payload: String = r.try_get("payload")?;
                    Ok(PendingChange {
                        seq: r.try_get("seq")?,
                        target: Target::decode(&target).ok_or_else(|| StoreError::Corrupt(format!("outbox target {target}")))?,
                        change: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?,
                    })
                }).collect()
            }

            async fn mark_applied(&self, seqs: &[i64]) -> Result<()> {
                if seqs.is_empty() {
                    return Ok(());
                }
                let sql = format!("DELETE FROM outbox WHERE seq IN ({})", placeholders(1, seqs.len()));
                let mut q = sqlx::query(&sql);
                for s in seqs { q = q.bind(*s); }
                q.execute(&self.writer).await?;
                Ok(())
            }
        }

        #[async_trait]
        impl Comments for SqlRegion<$DB> {
            async fn comments(&self, video_id: &str, parent_id: Option<&str>, after: Option<&Cursor>, limit: i64) -> Result<Vec<CommentRecord>> {
                comments_query(&self.reader, video_id, parent_id, after, limit).await
            }
            async fn comment(&self, id: &str) -> Result<Option<CommentRecord>> {
                let row = sqlx::query(&format!("SELECT {COMMENT_COLS} FROM comments WHERE id = $1")).bind(id).fetch_optional(&self.reader).await?;
                row.as_ref().map(comment_row).transpose()
            }
        }

        #[async_trait]
        impl ApplyChanges for SqlRegion<$DB> {
            async fn apply_change(&self, origin: &str, seq: i64, change: &Change) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let fresh = sqlx::query("INSERT INTO applied_outbox (origin, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(origin).bind(seq).execute(&mut *tx).await?.rows_affected() == 1;
                if !fresh {
                    return Ok(false);
                }
                match change {
                    Change::VideoCounts { video_id, likes, comments, shares, views } => {
                        sqlx::query("UPDATE videos SET likes = likes + $2, comments = comments + $3, shares = shares + $4, views = views + $5 WHERE id = $1")
                            .bind(video_id).bind(likes).bind(comments).bind(shares).bind(views).execute(&mut *tx).await?;
                    }
                    Change::InsertComment { comment } => insert_comment(&mut tx, comment).await?,
                    Change::Notify { id, recipient_id, kind, actor_id, actor_handle, actor_region, video_id, comment_id, created_at } => {
                        let n = crate::NotificationRecord {
                            id: id.clone(),
                            recipient_id: recipient_id.clone(),
                            kind: *kind,
                            actor_id: Some(actor_id.clone()),
                            actor_handle: Some(actor_handle.clone()),
                            actor_region: Some(actor_region.clone()),
                            video_id: video_id.clone(),
                            comment_id: comment_id.clone(),
                            text: None,
                            created_at: *created_at,
                            read_at: None,
                        };
                        Self::insert_notification(&mut tx, &n).await?;
                    }
                    Change::Retract { recipient_id, kind, actor_id, video_id } => {
                        sqlx::query("DELETE FROM notifications WHERE recipient_id = $1 AND kind = $2 AND actor_id = $3 AND COALESCE(video_id, '') = COALESCE($4, '')")
                            .bind(recipient_id).bind(kind.as_str()).bind(actor_id).bind(video_id).execute(&mut *tx).await?;
                    }
                    Change::ForgetActor { recipient_id, actor_id } => {
                        sqlx::query("DELETE FROM notifications WHERE recipient_id = $1 AND actor_id = $2")
                            .bind(recipient_id).bind(actor_id).execute(&mut *tx).await?;
                    }
                    Change::DeleteComment { id, .. } => {
                        delete_comment(&mut tx, id).await?;
                        // The author's own link to it, when the author is homed here.
                        sqlx::query("DELETE FROM my_comments WHERE comment_id = $1").bind(id).execute(&mut *tx).await?;
                    }
                    other => return Err(StoreError::Corrupt(format!("a region cannot apply {other:?}"))),
                }
                tx.commit().await?;
                Ok(true)
            }
        }

        impl SqlCatalog<$DB> {
            fn profile_row(r: &<$DB as sqlx::Database>::Row) -> Result<ProfileRecord> {
                Ok(ProfileRecord {
                    user_id: r.try_get("user_id")?,
                    handle: r.try_get("handle")?,
                    display_name: r.try_get("display_name")?,
                    bio: r.try_get("bio")?,
                    private: r.try_get("private")?,
                    region: r.try_get("region")?,
                    hidden: r.try_get("hidden")?,
                    created_at: r.try_get("created_at")?,
                    followers: r.try_get("followers")?,
                    following: r.try_get("following")?,
                    videos: r.try_get("videos")?,
                    likes: r.try_get("likes")?,
                })
            }

            fn video_row(r: &<$DB as sqlx::Database>::Row) -> Result<CatalogVideo> {
                Ok(CatalogVideo {
                    id: r.try_get("id")?,
                    author_id: r.try_get("author_id")?,
                    caption: r.try_get("caption")?,
                    hashtags: parse_list(&r.try_get::<String, _>("hashtags")?)?,
                    mentions: parse_list(&r.try_get::<String, _>("mentions")?)?,
                    comments_policy: parse_enum(&r.try_get::<String, _>("comments_policy")?, CommentPolicy::parse)?,
                    duration_ms: r.try_get("duration_ms")?,
                    width: r.try_get("width")?,
                    height: r.try_get("height")?,
                    labels: parse_list(&r.try_get::<String, _>("labels")?)?,
                    label_note: r.try_get("label_note")?,
                    created_at: r.try_get("created_at")?,
                    counts: Counts {
                        likes: r.try_get("likes")?,
                        comments: r.try_get("comments")?,
                        shares: r.try_get("shares")?,
                        views: r.try_get("views")?,
                    },
                    hot: r.try_get("hot")?,
                })
            }

            async fn video_list(&self, sql: &str, binds: Vec<String>, cursor: Option<(f64, bool, &str)>, limit: i64) -> Result<Vec<CatalogVideo>> {
                let mut q = sqlx::query(sql);
                for b in &binds { q = q.bind(b); }
                if let Some((key, as_int, id)) = cursor {
                    q = if as_int { q.bind(key as i64) } else { q.bind(key) };
                    q = q.bind(id);
                }
                let rows = q.bind(limit).fetch_all(&self.reader).await?;
                rows.iter().map(Self::video_row).collect()
            }
        }

        impl CatalogStore for SqlCatalog<$DB> {}

        impl SqlCatalog<$DB> {
            /// Gives every directory row from before skeletons its skeleton,
            /// in pages. Two old handles that share a skeleton both keep
            /// their accounts; the later one is left without (the first
            /// keeps the name), and no new handle can take it either way.
            pub(crate) async fn backfill_skeletons(&self) -> Result<()> {
                let mut after = String::new();
                loop {
                    let rows = sqlx::query("SELECT handle FROM directory WHERE skeleton IS NULL AND handle > $1 ORDER BY handle LIMIT 1000")
                        .bind(&after).fetch_all(&self.writer).await?;
                    let Some(last) = rows.last() else { return Ok(()) };
                    after = last.try_get("handle")?;
                    for row in &rows {
                        let handle: String = row.try_get("handle")?;
                        let r = sqlx::query("UPDATE directory SET skeleton = $1 WHERE handle = $2")
                            .bind(sovereel_model::handle_skeleton(&handle)).bind(&handle).execute(&self.writer).await;
                        match r {
                            Err(e) if StoreError::is_unique_violation(&e) => {}
                            r => { r?; }
                        }
                    }
                }
            }
        }

        #[async_trait]
        impl Directory for SqlCatalog<$DB> {
            async fn reserve_handle(&self, handle: &str, user_id: &str, region: &str, now: i64) -> Result<()> {
                // Taken: the same skeleton in use (`alice_us.` beside
                // `alice_us`), or retired with a deleted account.
                let skeleton = sovereel_model::handle_skeleton(handle);
                let mut tx = self.writer.begin().await?;
                let retired = sqlx::query("SELECT 1 AS one FROM retired_handles WHERE skeleton = $1")
                    .bind(&skeleton).fetch_optional(&mut *tx).await?;
                if retired.is_some() {
                    return Err(StoreError::Conflict("handle"));
                }
                let r = sqlx::query("INSERT INTO directory (handle, user_id, region, created_at, skeleton) VALUES ($1, $2, $3, $4, $5)")
                    .bind(handle).bind(user_id).bind(region).bind(now).bind(&skeleton).execute(&mut *tx).await;
                match r {
                    Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict("handle")),
                    r => { r?; tx.commit().await?; Ok(()) }
                }
            }

            async fn release_handle(&self, handle: &str, user_id: &str) -> Result<()> {
                sqlx::query("DELETE FROM directory WHERE handle = $1 AND user_id = $2").bind(handle).bind(user_id).execute(&self.writer).await?;
                Ok(())
            }

            async fn resolve_handle(&self, handle: &str) -> Result<Option<(String, String)>> {
                let row = sqlx::query("SELECT user_id, region FROM directory WHERE handle = $1").bind(handle).fetch_optional(&self.reader).await?;
                Ok(row.map(|r| Ok::<_, sqlx::Error>((r.try_get("user_id")?, r.try_get("region")?))).transpose()?)
            }
        }

        #[async_trait]
        impl Catalog for SqlCatalog<$DB> {
            async fn profile(&self, user_id: &str) -> Result<Option<ProfileRecord>> {
                let row = sqlx::query(&format!("SELECT {PROFILE_COLS} FROM profiles WHERE user_id = $1")).bind(user_id).fetch_optional(&self.reader).await?;
                row.as_ref().map(Self::profile_row).transpose()
            }

            async fn profile_by_handle(&self, handle: &str) -> Result<Option<ProfileRecord>> {
                let row = sqlx::query(&format!("SELECT {PROFILE_COLS} FROM profiles WHERE handle = $1")).bind(handle).fetch_optional(&self.reader).await?;
                row.as_ref().map(Self::profile_row).transpose()
            }

            async fn profiles(&self, ids: &[String]) -> Result<Vec<ProfileRecord>> {
                if ids.is_empty() {
                    return Ok(vec![]);
                }
                let sql = format!("SELECT {PROFILE_COLS} FROM profiles WHERE user_id IN ({})", placeholders(1, ids.len()));
                let mut q = sqlx::query(&sql);
                for id in ids { q = q.bind(id); }
                let rows = q.fetch_all(&self.reader).await?;
                rows.iter().map(Self::profile_row).collect()
            }

            async fn video(&self, id: &str) -> Result<Option<CatalogVideo>> {
                let row = sqlx::query(&format!("SELECT {CVIDEO_COLS} FROM videos WHERE id = $1")).bind(id).fetch_optional(&self.reader).await?;
                row.as_ref().map(Self::video_row).transpose()
            }

            async fn videos(&self, ids: &[String]) -> Result<Vec<CatalogVideo>> {
                if ids.is_empty() {
                    return Ok(vec![]);
                }
                let sql = format!("SELECT {CVIDEO_COLS} FROM videos WHERE id IN ({})", placeholders(1, ids.len()));
                let mut q = sqlx::query(&sql);
                for id in ids { q = q.bind(id); }
                let rows = q.fetch_all(&self.reader).await?;
                rows.iter().map(Self::video_row).collect()
            }

            async fn videos_by_authors(&self, authors: &[String], before: Option<&Cursor>, limit: i64) -> Result<Vec<CatalogVideo>> {
                if authors.is_empty() {
                    return Ok(vec![]);
                }
                let n = authors.len();
                let cur = if before.is_some() { format!("AND (created_at, id) < (${}, ${})", n + 1, n + 2) } else { String::new() };
                let lim = if before.is_some() { n + 3 } else { n + 1 };
                let sql = format!("SELECT {CVIDEO_COLS} FROM videos WHERE author_id IN ({}) {cur} ORDER BY created_at DESC, id DESC LIMIT ${lim}", placeholders(1, n));
                self.video_list(&sql, authors.to_vec(), before.map(|c| (c.key, true, c.id.as_str())), limit).await
            }

            async fn hot_videos(&self, before: Option<&Cursor>, limit: i64) -> Result<Vec<CatalogVideo>> {
                let (cur, lim) = if before.is_some() { ("WHERE (hot, id) < ($1, $2)", "$3") } else { ("", "$1") };
                let sql = format!("SELECT {CVIDEO_COLS} FROM videos {cur} ORDER BY hot DESC, id DESC LIMIT {lim}");
                self.video_list(&sql, vec![], before.map(|c| (c.key, false, c.id.as_str())), limit).await
            }

            async fn fresh_videos(&self, before: Option<&Cursor>, limit: i64) -> Result<Vec<CatalogVideo>> {
                let (cur, lim) = if before.is_some() { ("WHERE (created_at, id) < ($1, $2)", "$3") } else { ("", "$1") };
                let sql = format!("SELECT {CVIDEO_COLS} FROM videos {cur} ORDER BY created_at DESC, id DESC LIMIT {lim}");
                self.video_list(&sql, vec![], before.map(|c| (c.key, true, c.id.as_str())), limit).await
            }

            async fn hashtag_videos(&self, tag: &str, before: Option<&Cursor>, limit: i64) -> Result<Vec<CatalogVideo>> {
                let (cur, lim) = if before.is_some() { ("AND (h.hot, h.video_id) < ($2, $3)", "$4") } else { ("", "$2") };
                let cols = CVIDEO_COLS.split(", ").map(|c| format!("v.{c}")).collect::<Vec<_>>().join(", ");
                let sql = format!("SELECT {cols} FROM video_hashtags h JOIN videos v ON v.id = h.video_id WHERE h.tag = $1 {cur} ORDER BY h.hot DESC, h.video_id DESC LIMIT {lim}");
                self.video_list(&sql, vec![tag.to_string()], before.map(|c| (c.key, false, c.id.as_str())), limit).await
            }

            async fn hashtag_count(&self, tag: &str) -> Result<i64> {
                let row = sqlx::query("SELECT videos FROM hashtags WHERE tag = $1").bind(tag).fetch_optional(&self.reader).await?;
                Ok(row.map(|r| r.try_get("videos")).transpose()?.unwrap_or(0))
            }

            async fn search_profiles(&self, q: &str, limit: i64) -> Result<Vec<ProfileRecord>> {
                let prefix = format!("{}%", like_escape(q));
                let inner = format!("%{}%", like_escape(q));
                let rows = sqlx::query(&format!(
                    "SELECT {PROFILE_COLS} FROM profiles WHERE hidden = FALSE AND (handle LIKE $2 ESCAPE '\\' OR lower(display_name) LIKE $3 ESCAPE '\\') \
                     ORDER BY CASE WHEN handle = $1 THEN 0 WHEN handle LIKE $2 ESCAPE '\\' THEN 1 ELSE 2 END, followers DESC, handle LIMIT $4"))
                    .bind(q).bind(prefix).bind(inner).bind(limit).fetch_all(&self.reader).await?;
                rows.iter().map(Self::profile_row).collect()
            }

            async fn search_hashtags(&self, q: &str, limit: i64) -> Result<Vec<(String, i64)>> {
                let prefix = format!("{}%", like_escape(q));
                let rows = sqlx::query("SELECT tag, videos FROM hashtags WHERE tag LIKE $2 ESCAPE '\\' AND videos > 0 \
                                        ORDER BY CASE WHEN tag = $1 THEN 0 ELSE 1 END, videos DESC, tag LIMIT $3")
                    .bind(q).bind(prefix).bind(limit).fetch_all(&self.reader).await?;
                rows.iter().map(|r| Ok((r.try_get("tag")?, r.try_get("videos")?))).collect()
            }

            async fn region_counts(&self, region: &str) -> Result<(i64, i64)> {
                let a = sqlx::query("SELECT COUNT(*) AS n FROM profiles WHERE region = $1").bind(region).fetch_one(&self.reader).await?;
                let v = sqlx::query("SELECT COUNT(*) AS n FROM videos v JOIN profiles p ON p.user_id = v.author_id WHERE p.region = $1")
                    .bind(region).fetch_one(&self.reader).await?;
                Ok((a.try_get("n")?, v.try_get("n")?))
            }

            async fn search_captions(&self, words: &[String], limit: i64) -> Result<Vec<CatalogVideo>> {
                if words.is_empty() {
                    return Ok(vec![]);
                }
                let conds = (1..=words.len()).map(|i| format!("lower(caption) LIKE ${i} ESCAPE '\\'")).collect::<Vec<_>>().join(" AND ");
                let sql = format!("SELECT {CVIDEO_COLS} FROM videos WHERE {conds} ORDER BY hot DESC, id DESC LIMIT ${}", words.len() + 1);
                let binds = words.iter().map(|w| format!("%{}%", like_escape(&w.to_lowercase()))).collect();
                self.video_list(&sql, binds, None, limit).await
            }
        }

        #[async_trait]
        impl Comments for SqlCatalog<$DB> {
            async fn comments(&self, video_id: &str, parent_id: Option<&str>, after: Option<&Cursor>, limit: i64) -> Result<Vec<CommentRecord>> {
                comments_query(&self.reader, video_id, parent_id, after, limit).await
            }
            async fn comment(&self, id: &str) -> Result<Option<CommentRecord>> {
                let row = sqlx::query(&format!("SELECT {COMMENT_COLS} FROM comments WHERE id = $1")).bind(id).fetch_optional(&self.reader).await?;
                row.as_ref().map(comment_row).transpose()
            }
        }

        #[async_trait]
        impl ApplyChanges for SqlCatalog<$DB> {
            async fn apply_change(&self, origin: &str, seq: i64, change: &Change) -> Result<bool> {
                let mut tx = self.writer.begin().await?;
                let fresh = sqlx::query("INSERT INTO applied_outbox (origin, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(origin).bind(seq).execute(&mut *tx).await?.rows_affected() == 1;
                if !fresh {
                    return Ok(false);
                }
                match change {
                    Change::UpsertProfile { user_id, handle, display_name, bio, private, region, created_at } => {
                        sqlx::query("INSERT INTO profiles (user_id, handle, display_name, bio, private, region, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                                     ON CONFLICT (user_id) DO UPDATE SET display_name = excluded.display_name, bio = excluded.bio, private = excluded.private")
                            .bind(user_id).bind(handle).bind(display_name).bind(bio).bind(private).bind(region).bind(created_at)
                            .execute(&mut *tx).await?;
                    }
                    Change::SetProfileHidden { user_id, hidden } => {
                        sqlx::query("UPDATE profiles SET hidden = $2 WHERE user_id = $1").bind(user_id).bind(hidden).execute(&mut *tx).await?;
                    }
                    Change::PublishVideo { id, author_id, caption, hashtags, mentions, comments_policy, duration_ms, width, height, created_at } => {
                        let hot = hot_score(&Counts::default(), *created_at);
                        let r = sqlx::query(&format!("INSERT INTO videos ({CVIDEO_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '[]', $10, 0, 0, 0, 0, $11, NULL) ON CONFLICT DO NOTHING"))
                            .bind(id).bind(author_id).bind(caption).bind(json_list(hashtags)).bind(json_list(mentions))
                            .bind(comments_policy.as_str()).bind(duration_ms).bind(width).bind(height).bind(created_at).bind(hot)
                            .execute(&mut *tx).await?;
                        if r.rows_affected() == 1 {
                            for tag in hashtags {
                                sqlx::query("INSERT INTO video_hashtags (tag, video_id, hot) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                                    .bind(tag).bind(id).bind(hot).execute(&mut *tx).await?;
                                sqlx::query("INSERT INTO hashtags (tag, videos) VALUES ($1, 1) ON CONFLICT (tag) DO UPDATE SET videos = hashtags.videos + 1")
                                    .bind(tag).execute(&mut *tx).await?;
                            }
                            sqlx::query("UPDATE profiles SET videos = videos + 1 WHERE user_id = $1").bind(author_id).execute(&mut *tx).await?;
                        }
                    }
                    Change::UnpublishVideo { id, author_id } => {
                        let r = sqlx::query("DELETE FROM videos WHERE id = $1 RETURNING likes").bind(id).fetch_optional(&mut *tx).await?;
                        if let Some(row) = r {
                            let likes: i64 = row.try_get("likes")?;
                            let tags = sqlx::query("DELETE FROM video_hashtags WHERE video_id = $1 RETURNING tag").bind(id).fetch_all(&mut *tx).await?;
                            for t in tags {
                                let tag: String = t.try_get("tag")?;
                                sqlx::query("UPDATE hashtags SET videos = videos - 1 WHERE tag = $1").bind(tag).execute(&mut *tx).await?;
                            }
                            sqlx::query("DELETE FROM comments WHERE video_id = $1").bind(id).execute(&mut *tx).await?;
                            sqlx::query("UPDATE profiles SET videos = videos - 1, likes = likes - $2 WHERE user_id = $1")
                                .bind(author_id).bind(likes).execute(&mut *tx).await?;
                        }
                    }
                    Change::EditVideo { id, caption, hashtags, mentions, comments_policy } => {
                        let row = sqlx::query("UPDATE videos SET caption = $2, mentions = $3, comments_policy = $4 WHERE id = $1 RETURNING hashtags, hot")
                            .bind(id).bind(caption).bind(json_list(mentions)).bind(comments_policy.as_str())
                            .fetch_optional(&mut *tx).await?;
                        if let Some(row) = row {
                            // The caption's hashtags move with it: tags it lost
                            // leave the hashtag pages, tags it gained join them.
                            let old = parse_list(&row.try_get::<String, _>("hashtags")?)?;
                            let hot: f64 = row.try_get("hot")?;
                            for tag in old.iter().filter(|t| !hashtags.contains(t)) {
                                let gone = sqlx::query("DELETE FROM video_hashtags WHERE tag = $1 AND video_id = $2")
                                    .bind(tag).bind(id).execute(&mut *tx).await?.rows_affected();
                                if gone > 0 {
                                    sqlx::query("UPDATE hashtags SET videos = videos - 1 WHERE tag = $1").bind(tag).execute(&mut *tx).await?;
                                }
                            }
                            for tag in hashtags.iter().filter(|t| !old.contains(t)) {
                                let added = sqlx::query("INSERT INTO video_hashtags (tag, video_id, hot) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                                    .bind(tag).bind(id).bind(hot).execute(&mut *tx).await?.rows_affected();
                                if added > 0 {
                                    sqlx::query("INSERT INTO hashtags (tag, videos) VALUES ($1, 1) ON CONFLICT (tag) DO UPDATE SET videos = hashtags.videos + 1")
                                        .bind(tag).execute(&mut *tx).await?;
                                }
                            }
                            sqlx::query("UPDATE videos SET hashtags = $2 WHERE id = $1").bind(id).bind(json_list(hashtags)).execute(&mut *tx).await?;
                        }
                    }
                    Change::VideoCounts { video_id, likes, comments, shares, views } => {
                        let row = sqlx::query("UPDATE videos SET likes = likes + $2, comments = comments + $3, shares = shares + $4, views = views + $5 \
                                               WHERE id = $1 RETURNING likes, comments, shares, views, created_at")
                            .bind(video_id).bind(likes).bind(comments).bind(shares).bind(views).fetch_optional(&mut *tx).await?;
                        if let Some(r) = row {
                            let c = Counts { likes: r.try_get("likes")?, comments: r.try_get("comments")?, shares: r.try_get("shares")?, views: r.try_get("views")? };
                            let hot = hot_score(&c, r.try_get("created_at")?);
                            sqlx::query("UPDATE videos SET hot = $2 WHERE id = $1").bind(video_id).bind(hot).execute(&mut *tx).await?;
                            sqlx::query("UPDATE video_hashtags SET hot = $2 WHERE video_id = $1").bind(video_id).bind(hot).execute(&mut *tx).await?;
                        }
                    }
                    Change::ProfileCounts { user_id, followers, following, likes } => {
                        sqlx::query("UPDATE profiles SET followers = followers + $2, following = following + $3, likes = likes + $4 WHERE user_id = $1")
                            .bind(user_id).bind(followers).bind(following).bind(likes).execute(&mut *tx).await?;
                    }
                    Change::InsertComment { comment } => insert_comment(&mut tx, comment).await?,
                    Change::SetLabels { video_id, labels, note } => {
                        sqlx::query("UPDATE videos SET labels = $2, label_note = $3 WHERE id = $1")
                            .bind(video_id).bind(json_list(labels)).bind(note).execute(&mut *tx).await?;
                    }
                    Change::WithdrawVideo { id, author_id } => {
                        let r = sqlx::query("DELETE FROM videos WHERE id = $1 RETURNING likes").bind(id).fetch_optional(&mut *tx).await?;
                        if let Some(row) = r {
                            let likes: i64 = row.try_get("likes")?;
                            let tags = sqlx::query("DELETE FROM video_hashtags WHERE video_id = $1 RETURNING tag").bind(id).fetch_all(&mut *tx).await?;
                            for t in tags {
                                let tag: String = t.try_get("tag")?;
                                sqlx::query("UPDATE hashtags SET videos = videos - 1 WHERE tag = $1").bind(tag).execute(&mut *tx).await?;
                            }
                            sqlx::query("UPDATE profiles SET videos = videos - 1, likes = likes - $2 WHERE user_id = $1")
                                .bind(author_id).bind(likes).execute(&mut *tx).await?;
                        }
                    }
                    Change::DeleteComment { id, .. } => delete_comment(&mut tx, id).await?,
                    Change::PurgeUser { user_id, .. } => {
                        let tags = sqlx::query("SELECT h.tag AS tag FROM video_hashtags h JOIN videos v ON v.id = h.video_id WHERE v.author_id = $1")
                            .bind(user_id).fetch_all(&mut *tx).await?;
                        for t in tags {
                            let tag: String = t.try_get("tag")?;
                            sqlx::query("UPDATE hashtags SET videos = videos - 1 WHERE tag = $1").bind(tag).execute(&mut *tx).await?;
                        }
                        for sql in [
                            "DELETE FROM video_hashtags WHERE video_id IN (SELECT id FROM videos WHERE author_id = $1)",
                            "DELETE FROM comments WHERE video_id IN (SELECT id FROM videos WHERE author_id = $1)",
                            "DELETE FROM comments WHERE author_id = $1",
                            "DELETE FROM videos WHERE author_id = $1",
                            "DELETE FROM profiles WHERE user_id = $1",
                        ] {
                            sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
                        }
                        // A deleted account's handle stays taken: its
                        // skeleton is retired, the account forgotten.
                        sqlx::query("INSERT INTO retired_handles (skeleton, retired_at) SELECT skeleton, $2 FROM directory WHERE user_id = $1 AND skeleton IS NOT NULL ON CONFLICT (skeleton) DO NOTHING")
                            .bind(user_id).bind(sovereel_model::now_millis()).execute(&mut *tx).await?;
                        for sql in [
                            "DELETE FROM directory WHERE user_id = $1",
                        ] {
                            sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
                        }
                    }
                    // Inboxes are users' own, at their homes.
                    other @ (Change::Notify { .. } | Change::Retract { .. } | Change::ForgetActor { .. }) => {
                        return Err(StoreError::Corrupt(format!("the catalog cannot apply {other:?}")));
                    }
                }
                tx.commit().await?;
                Ok(true)
            }
        }
    };
}

mod sqlite_impl {
    use super::*;
    impl_stores!(Sqlite);
}

mod postgres_impl {
    use super::*;
    impl_stores!(Postgres);
}
