//! Keyword and hashtag filters, and "Manage topics" (more or less of a
//! hashtag).
//!
//! A user's filters say something about them, so they are protected data:
//! one JSON document at the user's home, sealed under their data key
//! (field `content_filters.body`), shredded with the account. Each change
//! is a compare-and-swap on the document's version, so two changes made at
//! once (a settings page and a video's menu) cannot lose one another.
//!
//! They apply around the engine, never inside it (the engine is a reviewed
//! release): a filtered keyword or hashtag hides videos from For You,
//! Following, search and hashtag pages, and comments from every video;
//! "less" of a hashtag keeps its videos out of For You; "more" moves them
//! to the front of each For You page the engine ranked.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sovereel_model::text::normalize_tag;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiPath, ApiResult, Kind};
use crate::state::App;
use crate::views::{FeedItem, FeedPage, VideoView};

/// The field the document is sealed as.
const BODY_FIELD: &str = "content_filters.body";
pub const MAX_KEYWORDS: usize = 50;
pub const MAX_KEYWORD_CHARS: usize = 50;
pub const MAX_HASHTAGS: usize = 50;
pub const MAX_TOPICS: usize = 100;
/// Attempts of a read-modify-write before answering 409.
const CAS_ATTEMPTS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Preference {
    /// Boost: the hashtag's videos come first in For You.
    More,
    /// Its videos stay out of For You.
    Less,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// A hashtag, without `#`.
    pub tag: String,
    pub preference: Preference,
}

/// My filters and topics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentFilters {
    /// Words or phrases (at most 50, of at most 50 characters each): videos
    /// whose caption and comments whose text hold one are hidden.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Hashtags (at most 50): videos and comments carrying one are hidden.
    #[serde(default)]
    pub hashtags: Vec<String>,
    /// More or less of a hashtag in For You (at most 100).
    #[serde(default)]
    pub topics: Vec<Topic>,
}

impl ContentFilters {
    /// Normalised (lowercase, hashtags folded, duplicates dropped) and
    /// checked against the limits, naming the first field at fault.
    fn parse(self) -> ApiResult<ContentFilters> {
        let bad = |d: String| ApiError::new(Kind::InvalidField, d);
        if self.keywords.len() > MAX_KEYWORDS {
            return Err(bad(format!("keywords: at most {MAX_KEYWORDS}")));
        }
        if self.hashtags.len() > MAX_HASHTAGS {
            return Err(bad(format!("hashtags: at most {MAX_HASHTAGS}")));
        }
        if self.topics.len() > MAX_TOPICS {
            return Err(bad(format!("topics: at most {MAX_TOPICS}")));
        }
        let mut keywords: Vec<String> = vec![];
        for (i, k) in self.keywords.iter().enumerate() {
            let k = k.split_whitespace().collect::<Vec<_>>().join(" ");
            let k = k.to_lowercase();
            if k.is_empty() || k.chars().count() > MAX_KEYWORD_CHARS {
                return Err(bad(format!(
                    "keywords[{i}]: must be 1 to {MAX_KEYWORD_CHARS} characters"
                )));
            }
            if k.chars().any(char::is_control) {
                return Err(bad(format!(
                    "keywords[{i}]: must not contain control characters"
                )));
            }
            if !keywords.contains(&k) {
                keywords.push(k);
            }
        }
        let mut hashtags: Vec<String> = vec![];
        for (i, t) in self.hashtags.iter().enumerate() {
            let t = normalize_tag(t)
                .map_err(|_| bad(format!("hashtags[{i}]: is not a valid hashtag")))?;
            if !hashtags.contains(&t) {
                hashtags.push(t);
            }
        }
        let mut topics: Vec<Topic> = vec![];
        for (i, t) in self.topics.iter().enumerate() {
            let tag = normalize_tag(&t.tag)
                .map_err(|_| bad(format!("topics[{i}].tag: is not a valid hashtag")))?;
            match topics.iter().find(|x| x.tag == tag) {
                Some(x) if x.preference != t.preference => {
                    return Err(bad(format!(
                        "topics[{i}]: #{tag} cannot be both more and less"
                    )));
                }
                Some(_) => {}
                None => topics.push(Topic {
                    tag,
                    preference: t.preference,
                }),
            }
        }
        Ok(ContentFilters {
            keywords,
            hashtags,
            topics,
        })
    }
}

/// The user's stored document and its version (0: none stored).
async fn load(app: &App, user: &AuthUser) -> ApiResult<(ContentFilters, i64)> {
    let Some((sealed, version)) = user.home.store.content_filters(user.id.as_str()).await? else {
        return Ok((ContentFilters::default(), 0));
    };
    let key = crate::custody::own_key(
        &app.gateway,
        &user.home,
        &user.id,
        crate::custody::ReadProtected,
    )
    .await?;
    let body = key
        .decrypt_field(BODY_FIELD, &sealed)
        .map_err(ApiError::internal)?;
    let doc = serde_json::from_str(&body).map_err(ApiError::internal)?;
    Ok((doc, version))
}

/// Applies `change` to the stored document, retrying when another change
/// landed in between.
async fn update(
    app: &App,
    user: &AuthUser,
    change: impl Fn(ContentFilters) -> ApiResult<ContentFilters>,
) -> ApiResult<ContentFilters> {
    let key = crate::custody::own_key(
        &app.gateway,
        &user.home,
        &user.id,
        crate::custody::WriteProtected,
    )
    .await?;
    for _ in 0..CAS_ATTEMPTS {
        let (current, version) = load(app, user).await?;
        let next = change(current)?.parse()?;
        let body = serde_json::to_string(&next).map_err(ApiError::internal)?;
        let sealed = key.encrypt_field(BODY_FIELD, &body);
        if user
            .home
            .store
            .save_content_filters(
                user.id.as_str(),
                &sealed,
                version,
                sovereel_model::now_millis(),
            )
            .await?
        {
            return Ok(next);
        }
    }
    Err(ApiError::new(
        Kind::Conflict,
        "the filters kept changing while this change was saved; try again",
    ))
}

/// My keyword and hashtag filters and topics.
#[utoipa::path(get, operation_id = "my_filters", path = "/v1/me/filters", tag = "accounts",
    responses((status = 200, body = ContentFilters), (status = 401, body = crate::error::ProblemBody)))]
pub async fn get(
    State(app): State<Arc<App>>,
    user: AuthUser,
) -> ApiResult<ApiJson<ContentFilters>> {
    Ok(ApiJson(load(&app, &user).await?.0))
}

/// Replace my filters and topics (answers them normalised).
#[utoipa::path(put, operation_id = "set_my_filters", path = "/v1/me/filters", tag = "accounts", request_body = ContentFilters,
    responses((status = 200, body = ContentFilters), (status = 401, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn put(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiJson(body): ApiJson<ContentFilters>,
) -> ApiResult<ApiJson<ContentFilters>> {
    let next = body.parse()?;
    Ok(ApiJson(update(&app, &user, |_| Ok(next.clone())).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicBody {
    pub preference: Preference,
}

/// More or less of one hashtag ("More of #tag", "Not interested in #tag").
#[utoipa::path(put, operation_id = "set_topic", path = "/v1/me/topics/{tag}", tag = "accounts", params(crate::api::TagPath), request_body = TopicBody,
    responses((status = 200, body = ContentFilters), (status = 401, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn put_topic(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(tag): ApiPath<String>,
    ApiJson(body): ApiJson<TopicBody>,
) -> ApiResult<ApiJson<ContentFilters>> {
    let tag = normalize_tag(&tag)?;
    let doc = update(&app, &user, |mut doc| {
        doc.topics.retain(|t| t.tag != tag);
        doc.topics.push(Topic {
            tag: tag.clone(),
            preference: body.preference,
        });
        Ok(doc)
    })
    .await?;
    Ok(ApiJson(doc))
}

/// Back to neither more nor less of a hashtag.
#[utoipa::path(delete, operation_id = "clear_topic", path = "/v1/me/topics/{tag}", tag = "accounts", params(crate::api::TagPath),
    responses((status = 200, body = ContentFilters), (status = 401, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
pub async fn delete_topic(
    State(app): State<Arc<App>>,
    user: AuthUser,
    ApiPath(tag): ApiPath<String>,
) -> ApiResult<ApiJson<ContentFilters>> {
    let tag = normalize_tag(&tag)?;
    let doc = update(&app, &user, |mut doc| {
        doc.topics.retain(|t| t.tag != tag);
        Ok(doc)
    })
    .await?;
    Ok(ApiJson(doc))
}

/// The filters as the surfaces apply them.
#[derive(Debug, Default)]
pub struct Filters {
    keywords: Vec<String>,
    hashtags: HashSet<String>,
    more: HashSet<String>,
    less: HashSet<String>,
}

impl Filters {
    /// The signed-in viewer's filters (none for anonymous viewers).
    pub async fn of(app: &App, viewer: Option<&AuthUser>) -> ApiResult<Filters> {
        let Some(user) = viewer else {
            return Ok(Filters::default());
        };
        let (doc, _) = load(app, user).await?;
        let pick = |p: Preference| {
            doc.topics
                .iter()
                .filter(|t| t.preference == p)
                .map(|t| t.tag.clone())
                .collect()
        };
        Ok(Filters {
            more: pick(Preference::More),
            less: pick(Preference::Less),
            keywords: doc.keywords.clone(),
            hashtags: doc.hashtags.iter().cloned().collect(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.keywords.is_empty()
            && self.hashtags.is_empty()
            && self.more.is_empty()
            && self.less.is_empty()
    }

    /// Whether a text (a caption, a comment) or its hashtags hit a filter.
    /// A one-word keyword matches whole words (so "cat" leaves "category"
    /// alone) and hashtags of that word; a phrase matches as written.
    pub fn hides_text(&self, text: &str, hashtags: &[String]) -> bool {
        if hashtags.iter().any(|t| self.hashtags.contains(t)) {
            return true;
        }
        if self.keywords.is_empty() && self.hashtags.is_empty() {
            return false;
        }
        let lower = text.to_lowercase();
        let words: Vec<&str> = lower
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty())
            .collect();
        if words
            .iter()
            .any(|w| self.hashtags.contains(*w) && lower.contains(&format!("#{w}")))
        {
            return true;
        }
        self.keywords.iter().any(|k| {
            if k.contains(|c: char| !c.is_alphanumeric() && c != '_') {
                lower.contains(k.as_str())
            } else {
                words.contains(&k.as_str())
            }
        })
    }

    pub fn hides_video(&self, v: &VideoView) -> bool {
        self.hides_text(&v.caption, &v.hashtags)
    }

    fn less_of(&self, v: &VideoView) -> bool {
        v.hashtags.iter().any(|t| self.less.contains(t))
    }

    fn more_of(&self, v: &VideoView) -> bool {
        v.hashtags.iter().any(|t| self.more.contains(t))
    }

    /// For You around the engine's ranked page: filtered videos and those
    /// of "less" topics go; "more" topics come first, each group in the
    /// engine's order.
    pub fn for_you(&self, mut page: FeedPage) -> FeedPage {
        if self.is_empty() {
            return page;
        }
        page.items
            .retain(|i| !self.hides_video(&i.video) && !self.less_of(&i.video));
        let (more, rest): (Vec<FeedItem>, Vec<FeedItem>) =
            page.items.into_iter().partition(|i| self.more_of(&i.video));
        page.items = more.into_iter().chain(rest).collect();
        page
    }

    /// Following, search and hashtag pages: filtered videos go.
    pub fn videos(&self, items: &mut Vec<VideoView>) {
        items.retain(|v| !self.hides_video(v));
    }
}
