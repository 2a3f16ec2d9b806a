//! The engine's view of the public catalog: video metadata the filters need,
//! per-author and per-hashtag indexes the sources read, time-decayed trending
//! and per-video engagement counts.
//!
//! Trending is kept in "log reference time": a decayed sum Σ exp(-(now-tᵢ)/τ)
//! is stored as log Σ exp(tᵢ/τ). Adding an event only ever increases that key and
//! the order of two videos no longer changes as time passes, so an exact top-k
//! can be maintained incrementally instead of rescanning a million videos.

use crate::ids::IntMap;
use crate::ids::{KeyTable, SavedKeys, valid_id};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};

/// Who may see a video. Only `Public` videos are eligible for For You.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Public,
    Followers,
    Private,
}

/// What the server tells the engine about a video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoMeta {
    pub id: String,
    pub author: String,
    pub hashtags: Vec<String>,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    pub duration_ms: i64,
    pub visibility: Visibility,
    /// Moderation labels, e.g. `misinformation`, `unverified`, `age_restricted`.
    pub labels: Vec<String>,
    pub deleted: bool,
}

impl VideoMeta {
    /// A public, unlabelled video; the common case in tests and evaluation.
    pub fn public(id: &str, author: &str, hashtags: &[&str], created_at_ms: i64) -> Self {
        VideoMeta {
            id: id.into(),
            author: author.into(),
            hashtags: hashtags.iter().map(|t| t.to_string()).collect(),
            created_at_ms,
            duration_ms: 30_000,
            visibility: Visibility::Public,
            labels: Vec::new(),
            deleted: false,
        }
    }
}

pub const LABEL_MISINFORMATION: &str = "misinformation";
pub const LABEL_AGE_RESTRICTED: &str = "age_restricted";
/// Labels that keep a video out of For You: every label a moderator puts on
/// a video for viewers to see, and a restriction (DESIGN: "a labelled or
/// restricted video is not eligible for For You").
pub const NOT_FOR_YOU: &[&str] = &[
    LABEL_MISINFORMATION,
    "unverified",
    "misleading",
    "graphic",
    "sensitive",
    "restricted",
];
/// Ranking markers of editorial decisions (each one a moderation decision
/// with a statement of reasons on the region's ledger).
pub const MARK_PROMOTED: &str = "promoted";
pub const MARK_DEMOTED: &str = "demoted";

/// An editorial decision about a video's rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editorial {
    Promoted,
    Demoted,
}
/// Hashtags kept per video.
pub const MAX_TAGS: usize = 16;

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct VideoRow {
    pub author: u32,
    pub tags: Vec<u32>,
    pub created_at_ms: i64,
    pub duration_ms: i64,
    pub visibility: Visibility,
    pub misinformation: bool,
    pub age_restricted: bool,
    pub deleted: bool,
    pub live: bool,
    /// log Σ exp(t/τ) of weighted engagement, see the module comment.
    pub trend_key: f64,
    pub stats: VideoStats,
}

/// Raw counts, turned into smoothed rates for the scorers.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default)]
pub struct VideoStats {
    pub impressions: f32,
    pub views: f32,
    pub completions: f32,
    pub likes: f32,
    pub shares: f32,
    pub skips: f32,
    /// Positive engagements, the normaliser of co-engagement similarity.
    pub engaged: f32,
}

impl VideoStats {
    pub fn completion_rate(&self) -> f32 {
        (self.completions + 1.0) / (self.views + 3.0)
    }
    pub fn like_rate(&self) -> f32 {
        (self.likes + 0.1) / (self.views.max(self.impressions) + 2.0)
    }
    pub fn skip_rate(&self) -> f32 {
        (self.skips + 0.5) / (self.views + self.skips + 2.0)
    }
}

/// Exact top-k of keys that only grow, with membership lookup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopSet {
    cap: usize,
    order: BTreeSet<(OrdF64, u32)>,
    member: IntMap<u32, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OrdF64(pub f64);
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl TopSet {
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            order: BTreeSet::new(),
            member: IntMap::default(),
        }
    }

    pub fn update(&mut self, id: u32, key: f64) {
        if let Some(old) = self.member.get_mut(&id) {
            // A member moves within the order; one hash lookup, not two.
            if *old == key {
                return;
            }
            self.order.remove(&(OrdF64(*old), id));
            *old = key;
            self.order.insert((OrdF64(key), id));
            return;
        } else if self.order.len() >= self.cap {
            match self.order.first().copied() {
                Some((min, min_id)) if min.0 < key => {
                    self.order.pop_first();
                    self.member.remove(&min_id);
                }
                _ => return,
            }
        }
        self.order.insert((OrdF64(key), id));
        self.member.insert(id, key);
    }

    pub fn remove(&mut self, id: u32) {
        if let Some(old) = self.member.remove(&id) {
            self.order.remove(&(OrdF64(old), id));
        }
    }

    /// Highest keys first.
    pub fn iter_desc(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.order.iter().rev().map(|(k, id)| (*id, k.0))
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// [`TopSet`] for the small per-hashtag lists: the same order and the same
/// evictions, kept as two parallel arrays sorted by (key, id) descending. The
/// learner updates a hashtag's list on every engagement, and at two thousand
/// hashtags each list is a cache miss; one short contiguous scan and a shift
/// cost less than a hash probe plus the nodes of a tree.
#[derive(Debug, Clone, Default)]
pub struct SmallTop {
    cap: usize,
    ids: Vec<u32>,
    keys: Vec<f64>,
}

impl SmallTop {
    pub fn new(cap: usize) -> Self {
        SmallTop {
            cap,
            ids: Vec::new(),
            keys: Vec::new(),
        }
    }

    /// Where (key, id) goes: after every entry greater than it.
    fn position(&self, key: f64, id: u32) -> usize {
        let (keys, ids) = (&self.keys, &self.ids);
        let mut lo = 0;
        let mut hi = keys.len();
        while lo < hi {
            let mid = (lo + hi) / 2;
            let greater = match keys[mid].total_cmp(&key) {
                std::cmp::Ordering::Greater => true,
                std::cmp::Ordering::Less => false,
                std::cmp::Ordering::Equal => ids[mid] > id,
            };
            if greater {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    pub fn update(&mut self, id: u32, key: f64) {
        if let Some(i) = self.ids.iter().position(|&x| x == id) {
            if self.keys[i] == key {
                return;
            }
            self.ids.remove(i);
            self.keys.remove(i);
        } else if self.ids.len() >= self.cap {
            match self.keys.last() {
                Some(&min) if min < key => {
                    self.ids.pop();
                    self.keys.pop();
                }
                _ => return,
            }
        }
        let at = self.position(key, id);
        self.ids.insert(at, id);
        self.keys.insert(at, key);
    }

    pub fn remove(&mut self, id: u32) {
        if let Some(i) = self.ids.iter().position(|&x| x == id) {
            self.ids.remove(i);
            self.keys.remove(i);
        }
    }

    /// Highest keys first.
    pub fn iter_desc(&self) -> impl Iterator<Item = (u32, f64)> + '_ {
        self.ids.iter().copied().zip(self.keys.iter().copied())
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CatalogConfig {
    pub trending_half_life_ms: f64,
    pub trending_top: usize,
    pub tag_top: usize,
    pub author_recent: usize,
    pub fresh_recent: usize,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        CatalogConfig {
            trending_half_life_ms: 6.0 * 3600.0 * 1000.0,
            trending_top: 2048,
            tag_top: 128,
            author_recent: 32,
            fresh_recent: 4096,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Catalog {
    pub config: CatalogConfig,
    pub videos: KeyTable,
    pub rows: Vec<VideoRow>,
    pub authors: KeyTable,
    pub tags: KeyTable,
    /// Newest videos of each author (slot order = author slot).
    pub author_recent: Vec<VecDeque<u32>>,
    /// Trending videos per hashtag.
    pub tag_trending: Vec<SmallTop>,
    pub trending: TopSet,
    pub fresh: VecDeque<u32>,
    pub live_count: usize,
    /// Editorial decisions by slot. Not saved: every catalog video is
    /// upserted again at start, and its labels say it.
    pub editorial: crate::ids::IntMap<u32, Editorial>,
}

impl Catalog {
    pub fn new(config: CatalogConfig) -> Self {
        Catalog {
            trending: TopSet::new(config.trending_top),
            config,
            videos: KeyTable::new(),
            rows: Vec::new(),
            authors: KeyTable::new(),
            tags: KeyTable::new(),
            author_recent: Vec::new(),
            tag_trending: Vec::new(),
            fresh: VecDeque::new(),
            live_count: 0,
            editorial: Default::default(),
        }
    }

    pub fn video(&self, id: &str) -> Option<u32> {
        self.videos.get(id).filter(|&v| self.rows[v as usize].live)
    }

    pub fn row(&self, v: u32) -> &VideoRow {
        &self.rows[v as usize]
    }

    fn tag_slot(&mut self, tag: &str) -> u32 {
        let norm = tag.trim_start_matches('#').to_ascii_lowercase();
        let (slot, _) = self.tags.insert(&norm, 0);
        while self.tag_trending.len() <= slot as usize {
            self.tag_trending.push(SmallTop::new(self.config.tag_top));
        }
        slot
    }

    /// Adds or replaces a video. Returns its slot, or None if the metadata is invalid.
    pub fn upsert(&mut self, meta: &VideoMeta) -> Option<u32> {
        if !valid_id(&meta.id) || !valid_id(&meta.author) {
            return None;
        }
        let (author, _) = self.authors.insert(&meta.author, meta.created_at_ms);
        while self.author_recent.len() <= author as usize {
            self.author_recent.push(VecDeque::new());
        }
        let mut tags: Vec<u32> = Vec::new();
        for t in meta.hashtags.iter().take(MAX_TAGS) {
            if valid_id(t.trim_start_matches('#')) {
                let s = self.tag_slot(t);
                if !tags.contains(&s) {
                    tags.push(s);
                }
            }
        }
        let (v, new) = self.videos.insert(&meta.id, meta.created_at_ms);
        if self.rows.len() <= v as usize {
            self.rows.resize(v as usize + 1, VideoRow::default());
        }
        let was_live = self.rows[v as usize].live;
        let old = std::mem::take(&mut self.rows[v as usize]);
        let keep_trend = if new {
            f64::NEG_INFINITY
        } else {
            old.trend_key
        };
        if was_live {
            self.unindex(v, &old);
        }
        let row = VideoRow {
            author,
            tags,
            created_at_ms: meta.created_at_ms,
            duration_ms: meta.duration_ms.clamp(1, 3_600_000),
            visibility: meta.visibility,
            // Named for the first such label; it means "not for For You".
            misinformation: meta
                .labels
                .iter()
                .any(|l| NOT_FOR_YOU.contains(&l.as_str())),
            age_restricted: meta.labels.iter().any(|l| l == LABEL_AGE_RESTRICTED),
            deleted: meta.deleted,
            live: true,
            trend_key: keep_trend,
            stats: if new {
                VideoStats::default()
            } else {
                old.stats
            },
        };
        self.rows[v as usize] = row;
        let editorial = if meta.labels.iter().any(|l| l == MARK_DEMOTED) {
            Some(Editorial::Demoted)
        } else if meta.labels.iter().any(|l| l == MARK_PROMOTED) {
            Some(Editorial::Promoted)
        } else {
            None
        };
        match editorial {
            Some(e) => self.editorial.insert(v, e),
            None => self.editorial.remove(&v),
        };
        self.live_count += 1;
        self.index(v);
        Some(v)
    }

    fn eligible_for_index(row: &VideoRow) -> bool {
        row.live && !row.deleted && row.visibility == Visibility::Public && !row.misinformation
    }

    fn index(&mut self, v: u32) {
        let row = self.rows[v as usize].clone();
        if !Self::eligible_for_index(&row) {
            return;
        }
        // Newest first by creation time (ties by slot), whatever the order of
        // upserts, so a restored catalog ranks exactly like the one saved.
        let rows = &self.rows;
        let newer = |x: &u32| {
            let r = &rows[*x as usize];
            (r.created_at_ms, *x) > (row.created_at_ms, v)
        };
        let recent = &mut self.author_recent[row.author as usize];
        let at = recent.partition_point(newer);
        recent.insert(at, v);
        recent.truncate(self.config.author_recent);
        let at = self.fresh.partition_point(newer);
        self.fresh.insert(at, v);
        self.fresh.truncate(self.config.fresh_recent);
        // A new video enters its hashtags' lists with its current key so fresh
        // uploads under a tag can be found before they trend.
        for &t in &row.tags {
            let key = row.trend_key.max(row.created_at_ms as f64 / self.tau());
            self.tag_trending[t as usize].update(v, key);
        }
        if row.trend_key.is_finite() {
            self.trending.update(v, row.trend_key);
        }
    }

    fn unindex(&mut self, v: u32, row: &VideoRow) {
        self.live_count = self.live_count.saturating_sub(1);
        if let Some(r) = self.author_recent.get_mut(row.author as usize) {
            r.retain(|&x| x != v);
        }
        self.fresh.retain(|&x| x != v);
        for &t in &row.tags {
            self.tag_trending[t as usize].remove(v);
        }
        self.trending.remove(v);
    }

    /// Removes a video from every index. The slot is kept (marked not live) so
    /// learned co-engagement that still mentions it can never point to another video.
    pub fn remove(&mut self, id: &str) -> Option<u32> {
        let v = self.video(id)?;
        let row = self.rows[v as usize].clone();
        self.unindex(v, &row);
        self.rows[v as usize].live = false;
        Some(v)
    }

    pub fn tau(&self) -> f64 {
        self.config.trending_half_life_ms / std::f64::consts::LN_2
    }

    /// Adds `weight` engagement at `at_ms` to the video's trending key.
    pub fn add_trend(&mut self, v: u32, at_ms: i64, weight: f64) {
        if weight <= 0.0 {
            return;
        }
        let tau = self.tau();
        let row = &mut self.rows[v as usize];
        let add = at_ms as f64 / tau + weight.ln();
        row.trend_key = log_add_exp(row.trend_key, add);
        let key = row.trend_key;
        let row = &self.rows[v as usize];
        if Self::eligible_for_index(row) {
            self.trending.update(v, key);
            for &t in &row.tags {
                self.tag_trending[t as usize].update(v, key);
            }
        }
    }

    /// The decayed engagement of a video as of `now_ms`.
    pub fn trend_now(&self, v: u32, now_ms: i64) -> f64 {
        let k = self.rows[v as usize].trend_key;
        if k.is_finite() {
            (k - now_ms as f64 / self.tau()).exp()
        } else {
            0.0
        }
    }

    pub fn to_saved(&self) -> SavedCatalogRef<'_> {
        SavedCatalogRef {
            config: &self.config,
            videos: self.videos.to_saved(),
            rows: &self.rows,
            authors: self.authors.to_saved(),
            tags: self.tags.to_saved(),
        }
    }

    /// Rebuilds the indexes from rows; order of `fresh` and `author_recent`
    /// follows creation time, which is what they mean.
    pub fn from_saved(s: SavedCatalog) -> Result<Self, String> {
        let mut c = Catalog::new(s.config);
        c.videos = KeyTable::from_saved(s.videos)?;
        c.authors = KeyTable::from_saved(s.authors)?;
        c.tags = KeyTable::from_saved(s.tags)?;
        if s.rows.len() > c.videos.capacity() {
            return Err("more video rows than video keys".into());
        }
        c.rows = s.rows;
        c.rows.resize(c.videos.capacity(), VideoRow::default());
        c.author_recent = vec![VecDeque::new(); c.authors.capacity()];
        c.tag_trending = (0..c.tags.capacity())
            .map(|_| SmallTop::new(c.config.tag_top))
            .collect();
        let mut order: Vec<u32> = (0..c.rows.len() as u32)
            .filter(|&v| c.rows[v as usize].live)
            .collect();
        for &v in &order {
            let row = &c.rows[v as usize];
            if row.author as usize >= c.authors.capacity()
                || row.tags.iter().any(|&t| t as usize >= c.tags.capacity())
            {
                return Err(format!("video row {v} references an unknown author or tag"));
            }
        }
        order.sort_by_key(|&v| c.rows[v as usize].created_at_ms);
        for v in order {
            c.live_count += 1;
            c.index(v);
        }
        Ok(c)
    }
}

/// What a snapshot stores of the catalog; indexes are rebuilt on load.
/// Field order matches [`SavedCatalog`], which reads what this writes.
#[derive(Serialize)]
pub struct SavedCatalogRef<'a> {
    config: &'a CatalogConfig,
    videos: SavedKeys<&'a str>,
    rows: &'a [VideoRow],
    authors: SavedKeys<&'a str>,
    tags: SavedKeys<&'a str>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedCatalog {
    config: CatalogConfig,
    videos: SavedKeys,
    rows: Vec<VideoRow>,
    authors: SavedKeys,
    tags: SavedKeys,
}

pub fn log_add_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let m = a.max(b);
    m + ((a - m).exp() + (b - m).exp()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_set_is_exact_for_growing_keys() {
        let mut t = TopSet::new(3);
        for (id, k) in [(1, 1.0), (2, 2.0), (3, 3.0), (4, 0.5), (4, 5.0), (1, 1.5)] {
            t.update(id, k);
        }
        let ids: Vec<u32> = t.iter_desc().map(|(id, _)| id).collect();
        assert_eq!(ids, vec![4, 3, 2]);
    }

    #[test]
    fn small_top_matches_top_set() {
        // Same updates (growing, shrinking and tied keys), same order and evictions.
        let (mut big, mut small) = (TopSet::new(16), SmallTop::new(16));
        let mut x = 3u64;
        for step in 0..20_000 {
            x = crate::ids::mix64(x);
            let id = (x % 64) as u32;
            if step % 97 == 0 {
                big.remove(id);
                small.remove(id);
                continue;
            }
            let key = ((x >> 8) % 40) as f64 / 4.0;
            big.update(id, key);
            small.update(id, key);
            assert_eq!(
                big.iter_desc().collect::<Vec<_>>(),
                small.iter_desc().collect::<Vec<_>>()
            );
        }
        assert_eq!(big.len(), small.len());
    }

    #[test]
    fn trending_decays_and_orders() {
        let mut c = Catalog::new(CatalogConfig::default());
        let a = c.upsert(&VideoMeta::public("a", "x", &["t"], 0)).unwrap();
        let b = c.upsert(&VideoMeta::public("b", "y", &["t"], 0)).unwrap();
        let hour = 3_600_000;
        c.add_trend(a, 0, 10.0);
        c.add_trend(b, 12 * hour, 3.0);
        // After 12 hours the 10 has decayed to 2.5, below the fresh 3 (half-life 6h).
        let top: Vec<u32> = c.trending.iter_desc().map(|(v, _)| v).collect();
        assert_eq!(top, vec![b, a]);
        let now = c.trend_now(a, 6 * hour);
        assert!((now - 5.0).abs() < 1e-6, "{now}");
    }

    #[test]
    fn removed_and_labelled_videos_leave_indexes() {
        let mut c = Catalog::new(CatalogConfig::default());
        let a = c
            .upsert(&VideoMeta::public("a", "x", &["#Cook"], 0))
            .unwrap();
        c.add_trend(a, 0, 1.0);
        assert_eq!(c.trending.len(), 1);
        let mut m = VideoMeta::public("a", "x", &["cook"], 0);
        m.labels.push(LABEL_MISINFORMATION.into());
        c.upsert(&m);
        assert!(c.trending.is_empty());
        assert!(c.fresh.is_empty());
        assert_eq!(c.live_count, 1);
        c.remove("a");
        assert_eq!(c.video("a"), None);
        assert_eq!(c.live_count, 0);
        assert_eq!(c.tags.len(), 1, "#Cook and cook are one tag");
    }
}
