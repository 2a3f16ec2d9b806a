//! Loading many rows at once, for `sovereel seed`: multi-row inserts in one
//! transaction per call, and a bulk-load mode in which commits stop waiting
//! for the disk until one durable commit at the end.
//!
//! A seed of a million videos through the per-row path is a million
//! fsyncs. Here a batch of rows is one transaction, and while a store is in
//! bulk-load mode its commits are not flushed one by one: SQLite runs with
//! `synchronous = NORMAL` (in WAL mode, commits are not fsynced but the
//! database stays consistent after a crash; the WAL is synced at each
//! checkpoint), PostgreSQL with `synchronous_commit = off` (the server
//! flushes its WAL within a fraction of a second, consistent after a crash).
//! So a crash while seeding may lose the last commits, never corrupt the
//! database. [`BulkLoad::end_bulk_load`] restores durable commits and makes
//! everything written so far durable before it returns.
//!
//! The rows are the same the per-row methods write (the conformance tests
//! read them back through the ordinary methods), and each call writes its
//! outbox items in the same transaction, so the relay and the egress check
//! see exactly what the API would have produced.

use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder, Row, Sqlite};

use super::{SqlCatalog, SqlRegion, USER_COLS, VIDEO_COLS, json_list};
use crate::outbox::OutboxItem;
use crate::records::{FollowState, UserRecord, VideoRecord};
use crate::{Result, StoreError};

/// Rows per INSERT statement: well under SQLite's 32,766 and PostgreSQL's
/// 65,535 bound parameters at 23 columns.
const ROWS_PER_STATEMENT: usize = 500;

/// A follow edge to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollow {
    pub follower: String,
    pub followee: String,
    pub state: FollowState,
    pub created_at: i64,
}

/// Bulk-load mode of a database (region or catalog).
#[async_trait]
pub trait BulkLoad: Send + Sync {
    /// From now on this store's commits do not wait for the disk (see the
    /// module docs). Idempotent.
    async fn begin_bulk_load(&self) -> Result<()>;
    /// Back to durable commits; returns once everything committed so far
    /// is on disk.
    async fn end_bulk_load(&self) -> Result<()>;
}

/// Many rows of a region database at once, each call one transaction.
#[async_trait]
pub trait BulkRegion: Send + Sync {
    /// Creates users with the changes that follow from them; all or none:
    /// `Conflict("handle")` if any handle (or id) exists here.
    async fn insert_users(&self, users: &[UserRecord], outbox: &[OutboxItem]) -> Result<()>;
    /// Stores videos exactly as given (state included) with their changes;
    /// all or none: `Conflict("video")` if any id exists.
    async fn insert_videos(&self, videos: &[VideoRecord], outbox: &[OutboxItem]) -> Result<()>;
    /// Creates follow edges (at the followers' home) with their changes;
    /// all or none: `Conflict("follow")` if any edge exists already.
    async fn insert_follows(&self, follows: &[NewFollow], outbox: &[OutboxItem]) -> Result<()>;
}

/// Many handles reserved in the directory at once.
#[async_trait]
pub trait BulkDirectory: Send + Sync {
    /// Reserves `(handle, user_id, region)` triples in one transaction; all
    /// or none: `Conflict("handle")` if any handle is taken.
    async fn reserve_handles(&self, handles: &[(String, String, String)], now: i64) -> Result<()>;
}

fn conflict(what: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| {
        if StoreError::is_unique_violation(&e) {
            StoreError::Conflict(what)
        } else {
            e.into()
        }
    }
}

macro_rules! impl_bulk {
    ($DB:ty) => {
        /// Multi-row insert of outbox items inside the caller's transaction.
        async fn enqueue_all(
            tx: &mut sqlx::Transaction<'_, $DB>,
            items: &[OutboxItem],
            now: i64,
        ) -> Result<()> {
            let mut rows = Vec::with_capacity(items.len());
            for item in items {
                let payload = serde_json::to_string(&item.change)
                    .map_err(|e| StoreError::Corrupt(format!("outbox payload: {e}")))?;
                rows.push((item.target.encode(), payload));
            }
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let mut q =
                    QueryBuilder::<$DB>::new("INSERT INTO outbox (target, payload, created_at) ");
                q.push_values(chunk, |mut b, (target, payload)| {
                    b.push_bind(target.as_str())
                        .push_bind(payload.as_str())
                        .push_bind(now);
                });
                q.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        #[async_trait]
        impl BulkRegion for SqlRegion<$DB> {
            async fn insert_users(
                &self,
                users: &[UserRecord],
                outbox: &[OutboxItem],
            ) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for chunk in users.chunks(ROWS_PER_STATEMENT) {
                    let mut q =
                        QueryBuilder::<$DB>::new(format!("INSERT INTO users ({USER_COLS}) "));
                    q.push_values(chunk, |mut b, u| {
                        b.push_bind(u.id.as_str())
                            .push_bind(u.handle.as_str())
                            .push_bind(u.display_name.as_str())
                            .push_bind(u.bio.as_str())
                            .push_bind(u.private)
                            .push_bind(u.email.as_str())
                            .push_bind(u.birthdate.as_str())
                            .push_bind(u.country.as_str())
                            .push_bind(u.password_hash.as_str())
                            .push_bind(u.non_profiled)
                            .push_bind(u.state.as_str())
                            .push_bind(u.delete_after)
                            .push_bind(u.created_at);
                    });
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict("handle"))?;
                }
                let now = users
                    .iter()
                    .map(|u| u.created_at)
                    .max()
                    .unwrap_or_else(sovereel_model::now_millis);
                enqueue_all(&mut tx, outbox, now).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_videos(
                &self,
                videos: &[VideoRecord],
                outbox: &[OutboxItem],
            ) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for chunk in videos.chunks(ROWS_PER_STATEMENT) {
                    let mut q =
                        QueryBuilder::<$DB>::new(format!("INSERT INTO videos ({VIDEO_COLS}) "));
                    q.push_values(chunk, |mut b, v| {
                        b.push_bind(v.id.as_str())
                            .push_bind(v.author_id.as_str())
                            .push_bind(v.caption.as_str())
                            .push_bind(json_list(&v.hashtags))
                            .push_bind(json_list(&v.mentions))
                            .push_bind(v.visibility.as_str())
                            .push_bind(v.comments_policy.as_str())
                            .push_bind(v.state.as_str())
                            .push_bind(v.state_reason.as_deref())
                            .push_bind(v.duration_ms)
                            .push_bind(v.width)
                            .push_bind(v.height)
                            .push_bind(v.media_key.as_deref())
                            .push_bind(v.poster_key.as_deref())
                            .push_bind(v.content_type.as_deref())
                            .push_bind(v.sha256.as_str())
                            .push_bind(v.size_bytes)
                            .push_bind(v.transcoded)
                            .push_bind(v.created_at)
                            .push_bind(v.counts.likes)
                            .push_bind(v.counts.comments)
                            .push_bind(v.counts.shares)
                            .push_bind(v.counts.views)
                            .push_bind(v.draft);
                    });
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict("video"))?;
                }
                enqueue_all(&mut tx, outbox, sovereel_model::now_millis()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_follows(
                &self,
                follows: &[NewFollow],
                outbox: &[OutboxItem],
            ) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for chunk in follows.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$DB>::new(
                        "INSERT INTO follows (follower_id, followee_id, state, created_at) ",
                    );
                    q.push_values(chunk, |mut b, f| {
                        b.push_bind(f.follower.as_str())
                            .push_bind(f.followee.as_str())
                            .push_bind(f.state.as_str())
                            .push_bind(f.created_at);
                    });
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict("follow"))?;
                }
                let now = follows
                    .iter()
                    .map(|f| f.created_at)
                    .max()
                    .unwrap_or_else(sovereel_model::now_millis);
                enqueue_all(&mut tx, outbox, now).await?;
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait]
        impl BulkDirectory for SqlCatalog<$DB> {
            async fn reserve_handles(
                &self,
                handles: &[(String, String, String)],
                now: i64,
            ) -> Result<()> {
                let mut tx = self.writer.begin().await?;
                for chunk in handles.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$DB>::new(
                        "INSERT INTO directory (handle, user_id, region, created_at, skeleton) ",
                    );
                    q.push_values(chunk, |mut b, (handle, user, region)| {
                        b.push_bind(handle.as_str())
                            .push_bind(user.as_str())
                            .push_bind(region.as_str())
                            .push_bind(now)
                            .push_bind(sovereel_model::handle_skeleton(handle));
                    });
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .map_err(conflict("handle"))?;
                }
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait]
        impl BulkLoad for SqlRegion<$DB> {
            async fn begin_bulk_load(&self) -> Result<()> {
                begin(&self.writer).await
            }
            async fn end_bulk_load(&self) -> Result<()> {
                end(&self.writer).await
            }
        }

        #[async_trait]
        impl BulkLoad for SqlCatalog<$DB> {
            async fn begin_bulk_load(&self) -> Result<()> {
                begin(&self.writer).await
            }
            async fn end_bulk_load(&self) -> Result<()> {
                end(&self.writer).await
            }
        }
    };
}

mod sqlite_bulk {
    use super::*;
    use sqlx::Pool;

    impl_bulk!(Sqlite);

    // The writer pool has exactly one connection (see `sql.rs`), so a
    // pragma on it applies to every later write. Should the pool ever
    // replace that connection, the new one starts at `FULL`: slower, never
    // less durable.
    async fn begin(writer: &Pool<Sqlite>) -> Result<()> {
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(writer)
            .await?;
        Ok(())
    }

    /// Back to `FULL`, then a truncating checkpoint: with `NORMAL` or
    /// `FULL` a checkpoint fsyncs the WAL, copies it into the database file
    /// and fsyncs that, so once it reports no reader in its way, every
    /// earlier commit is in the fsynced database file.
    async fn end(writer: &Pool<Sqlite>) -> Result<()> {
        let mut conn = writer.acquire().await?;
        sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut *conn)
            .await?;
        for attempt in 0..100 {
            let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&mut *conn)
                .await?;
            let busy: i64 = row.try_get(0)?;
            if busy == 0 {
                return Ok(());
            }
            // A reader holds an old snapshot; it ends within moments.
            tokio::time::sleep(std::time::Duration::from_millis(10 * (attempt + 1))).await;
        }
        Err(StoreError::Config(
            "could not checkpoint the database after a bulk load: readers kept it busy".into(),
        ))
    }
}

mod postgres_bulk {
    use super::*;
    use sqlx::Pool;

    impl_bulk!(Postgres);

    /// Every connection of the pool, held at once, so a session setting
    /// reaches each of them. Connections the pool opens later start with
    /// the server's default (`on`): slower, never less durable.
    async fn each_connection(writer: &Pool<Postgres>, sql: &str) -> Result<()> {
        let max = writer.options().get_max_connections() as usize;
        let mut held = Vec::with_capacity(max);
        for _ in 0..max {
            let mut c = writer.acquire().await?;
            sqlx::query(sql).execute(&mut *c).await?;
            held.push(c);
        }
        Ok(())
    }

    async fn begin(writer: &Pool<Postgres>) -> Result<()> {
        each_connection(writer, "SET synchronous_commit = off").await
    }

    /// Back to `on` everywhere, then one transaction that writes a commit
    /// record (`txid_current()` assigns it an id) and waits for it to be
    /// flushed: the WAL is flushed in order, so every earlier commit is
    /// durable once it returns.
    async fn end(writer: &Pool<Postgres>) -> Result<()> {
        each_connection(writer, "SET synchronous_commit = on").await?;
        let mut tx = writer.begin().await?;
        sqlx::query("SELECT txid_current()")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
