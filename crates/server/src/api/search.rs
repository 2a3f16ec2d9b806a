//! Search across handles, hashtags and captions, and hashtag pages.

use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sovereel_model::text::normalize_tag;
use utoipa::ToSchema;

use crate::access;
use crate::api::social::{page_limit, parse_cursor};
use crate::auth::Viewer;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Kind};
use crate::state::App;
use crate::views::{UserView, VideoView};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    pub q: Option<String>,
    /// How many items, 1 to 100.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SearchItem {
    User { user: Box<UserView> },
    Hashtag { tag: String, videos: i64 },
    Video { video: Box<VideoView> },
}

#[derive(Serialize, ToSchema)]
pub struct SearchPage {
    pub items: Vec<SearchItem>,
    pub next_cursor: Option<String>,
}

/// Search users, hashtags and captions. Accounts come first (exact handle,
/// then prefix, then by followers), then hashtags (exact, then by use),
/// then videos whose caption holds every word (by hot score).
#[utoipa::path(get, path = "/v1/search", tag = "discovery", params(SearchQuery), responses((status = 200, body = SearchPage), (status = 422, body = crate::error::ProblemBody)))]
pub async fn search(
    State(app): State<Arc<App>>,
    Viewer(viewer): Viewer,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<ApiJson<SearchPage>> {
    let raw = q.q.unwrap_or_default();
    let query = raw.trim();
    if query.is_empty() || query.chars().count() > 100 {
        return Err(ApiError::new(
            Kind::InvalidField,
            "q: must be 1 to 100 characters",
        ));
    }
    let limit = page_limit(q.limit, 20)?;
    let mut items = vec![];
    let lower = query.to_lowercase();
    let word = lower.trim_start_matches(['@', '#']);
    let blocks = match &viewer {
        Some(v) => Some(access::block_set(&app, v).await?),
        None => None,
    };
    let hidden = |id: &str| blocks.as_ref().is_some_and(|b| b.hides(id));
    if !lower.starts_with('#') && !word.is_empty() {
        for p in app.catalog.search_profiles(word, 5).await? {
            if !hidden(&p.user_id) {
                items.push(SearchItem::User {
                    user: Box::new(UserView::from_profile(&p, None)),
                });
            }
        }
    }
    if !lower.starts_with('@')
        && let Ok(tag) = normalize_tag(word)
    {
        for (tag, videos) in app.catalog.search_hashtags(&tag, 5).await? {
            items.push(SearchItem::Hashtag { tag, videos });
        }
    }
    let words: Vec<String> = lower
        .split_whitespace()
        .map(|w| w.trim_start_matches('@').to_string())
        .filter(|w| !w.is_empty())
        .take(8)
        .collect();
    let videos = app.catalog.search_captions(&words, limit).await?;
    let mut views = access::catalog_views(&app, viewer.as_ref(), &videos).await?;
    let filters = crate::api::filters::Filters::of(&app, viewer.as_ref()).await?;
    filters.videos(&mut views);
    items.retain(|i| !matches!(i, SearchItem::Hashtag { tag, .. } if filters.hides_text("", std::slice::from_ref(tag))));
    for v in views {
        items.push(SearchItem::Video { video: Box::new(v) });
    }
    Ok(ApiJson(SearchPage {
        items,
        next_cursor: None,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TagQuery {
    pub cursor: Option<String>,
    /// How many items, 1 to 100.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct HashtagPage {
    pub tag: String,
    pub videos: i64,
    pub items: Vec<VideoView>,
    pub next_cursor: Option<String>,
}

/// A hashtag's videos, hottest first.
#[utoipa::path(get, path = "/v1/hashtags/{tag}", tag = "discovery", params(crate::api::TagPath, TagQuery), responses((status = 200, body = HashtagPage), (status = 422, body = crate::error::ProblemBody)))]
pub async fn hashtag(
    State(app): State<Arc<App>>,
    Viewer(viewer): Viewer,
    ApiPath(tag): ApiPath<String>,
    ApiQuery(q): ApiQuery<TagQuery>,
) -> ApiResult<ApiJson<HashtagPage>> {
    let tag = normalize_tag(&tag)?;
    let limit = page_limit(q.limit, 24)?;
    let cursor = parse_cursor(q.cursor.as_deref())?;
    let list = app
        .catalog
        .hashtag_videos(&tag, cursor.as_ref(), limit)
        .await?;
    let next_cursor = (list.len() as i64 == limit)
        .then(|| {
            list.last().map(|v| {
                sovereel_store::Cursor {
                    key: v.hot,
                    id: v.id.clone(),
                }
                .encode()
            })
        })
        .flatten();
    let mut items = access::catalog_views(&app, viewer.as_ref(), &list).await?;
    crate::api::filters::Filters::of(&app, viewer.as_ref())
        .await?
        .videos(&mut items);
    Ok(ApiJson(HashtagPage {
        videos: app.catalog.hashtag_count(&tag).await?,
        tag,
        items,
        next_cursor,
    }))
}
