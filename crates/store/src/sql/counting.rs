//! What keeps counts honest: which videos the server showed a user (a feed
//! page, a video opened), whether a user's view of a video already counted
//! today, and whether they shared it before.
//!
//! "Shown" is kept as events of kinds `served` and `opened` in the user's
//! own events (the same protected table as their views, deleted with
//! them), written by the server, never by the client: client events about
//! a video the server never showed them count for nothing.

use std::collections::HashSet;

use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder, Row, Sqlite};

use super::SqlRegion;
use crate::Result;

/// The server showed the user these videos in a list (a feed page).
pub const SERVED: &str = "served";
/// The user opened this video.
pub const OPENED: &str = "opened";

#[async_trait]
pub trait Counting: Send + Sync {
    /// Remembers that the server showed `user_id` these videos (`kind` is
    /// [`SERVED`] or [`OPENED`]).
    async fn record_shown(
        &self,
        user_id: &str,
        kind: &str,
        video_ids: &[String],
        now: i64,
    ) -> Result<()>;
    /// Of `video_ids`, those the server showed `user_id` since `since`.
    async fn shown_among(
        &self,
        user_id: &str,
        video_ids: &[String],
        since: i64,
    ) -> Result<HashSet<String>>;
    /// Of `video_ids`, those `user_id` has a view of since `since`.
    async fn viewed_among(
        &self,
        user_id: &str,
        video_ids: &[String],
        since: i64,
    ) -> Result<HashSet<String>>;
    /// Whether `user_id` has shared `video_id` before.
    async fn has_shared(&self, user_id: &str, video_id: &str) -> Result<bool>;
}

/// Lists longer than this are looked up in several queries (bound
/// parameters are limited).
const CHUNK: usize = 500;

macro_rules! impl_counting {
    ($DB:ty) => {
        impl SqlRegion<$DB> {
            async fn among(
                &self,
                user_id: &str,
                kinds: &[&str],
                video_ids: &[String],
                since: i64,
            ) -> Result<HashSet<String>> {
                let mut found = HashSet::new();
                let unique: Vec<&String> = {
                    let mut seen = HashSet::new();
                    video_ids.iter().filter(|v| seen.insert(*v)).collect()
                };
                for chunk in unique.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$DB>::new(
                        "SELECT DISTINCT video_id FROM events WHERE user_id = ",
                    );
                    q.push_bind(user_id);
                    q.push(" AND at >= ");
                    q.push_bind(since);
                    q.push(" AND kind IN (");
                    let mut k = q.separated(", ");
                    for kind in kinds {
                        k.push_bind(*kind);
                    }
                    q.push(") AND video_id IN (");
                    let mut v = q.separated(", ");
                    for id in chunk {
                        v.push_bind(id.as_str());
                    }
                    q.push(")");
                    for row in q.build().fetch_all(&self.reader).await? {
                        found.insert(row.try_get::<String, _>("video_id")?);
                    }
                }
                Ok(found)
            }
        }

        #[async_trait]
        impl Counting for SqlRegion<$DB> {
            async fn record_shown(
                &self,
                user_id: &str,
                kind: &str,
                video_ids: &[String],
                now: i64,
            ) -> Result<()> {
                if video_ids.is_empty() {
                    return Ok(());
                }
                let mut tx = self.writer.begin().await?;
                for chunk in video_ids.chunks(CHUNK) {
                    let mut q = QueryBuilder::<$DB>::new(
                        "INSERT INTO events (user_id, video_id, kind, at) ",
                    );
                    q.push_values(chunk, |mut b, id| {
                        b.push_bind(user_id)
                            .push_bind(id.as_str())
                            .push_bind(kind)
                            .push_bind(now);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn shown_among(
                &self,
                user_id: &str,
                video_ids: &[String],
                since: i64,
            ) -> Result<HashSet<String>> {
                self.among(user_id, &[SERVED, OPENED], video_ids, since)
                    .await
            }

            async fn viewed_among(
                &self,
                user_id: &str,
                video_ids: &[String],
                since: i64,
            ) -> Result<HashSet<String>> {
                self.among(user_id, &["view"], video_ids, since).await
            }

            async fn has_shared(&self, user_id: &str, video_id: &str) -> Result<bool> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS n FROM shares WHERE user_id = $1 AND video_id = $2",
                )
                .bind(user_id)
                .bind(video_id)
                .fetch_one(&self.reader)
                .await?;
                Ok(row.try_get::<i64, _>("n")? > 0)
            }
        }
    };
}

impl_counting!(Sqlite);
impl_counting!(Postgres);
