//! A short-video simulator: synthetic creators and videos over hashtags,
//! synthetic users with latent tastes, and a watch-time model. It measures how
//! many swipes a brand-new user needs before their feed mostly matches their
//! taste, for the engine and for popularity-only and random feeds.
//!
//! The users' tastes are hidden from every feed; each learns only from the
//! events the simulated users send, like a real client's.

use crate::catalog::VideoMeta;
use crate::engine::{Engine, EngineConfig, Query};
use crate::event::{Event, EventKind};
use crate::ids::mix64;
use crate::model::objectives::HeadExample;
use crate::release::dev_keys::DevKeys;
use crate::release::manifest::Manifest;
use indicatif::ProgressBar;
use std::collections::HashSet;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub tags: usize,
    pub creators: usize,
    pub videos: usize,
    pub background_users: usize,
    pub background_swipes: usize,
    pub new_users: usize,
    pub max_swipes: usize,
    /// "Mostly matches": this share of the last `window` swipes is on-taste.
    pub target: f64,
    pub window: usize,
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tags: 20,
            creators: 200,
            videos: 4000,
            background_users: 300,
            background_swipes: 60,
            new_users: 60,
            max_swipes: 200,
            target: 0.7,
            window: 10,
            seed: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Engine,
    Popularity,
    Random,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Policy::Engine => "engine",
            Policy::Popularity => "popularity",
            Policy::Random => "random",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PolicyResult {
    pub policy: Policy,
    /// Mean swipes to reach the target (users who never did count as max_swipes).
    pub mean_swipes: f64,
    pub median_swipes: f64,
    pub reached: usize,
    pub users: usize,
    /// On-taste share at each swipe index, averaged over users.
    pub match_curve: Vec<f64>,
    /// Mean watch fraction over all swipes.
    pub mean_watch: f64,
}

struct World {
    /// Per video: (creator, tags, quality).
    videos: Vec<(usize, Vec<usize>, f64)>,
    rng: u64,
}

impl World {
    fn rand(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        (mix64(self.rng) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick(&mut self, n: usize) -> usize {
        ((self.rand() * n as f64) as usize).min(n.saturating_sub(1))
    }

    fn new(c: &SimConfig) -> Self {
        let mut w = World {
            videos: Vec::new(),
            rng: c.seed,
        };
        let creator_tag: Vec<usize> = (0..c.creators.max(1)).map(|i| i % c.tags.max(1)).collect();
        for _ in 0..c.videos {
            let creator = w.pick(c.creators.max(1));
            let mut tags = vec![creator_tag[creator]];
            if w.rand() < 0.3 {
                let t = w.pick(c.tags);
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            let quality = 0.6 + 0.8 * w.rand();
            w.videos.push((creator, tags, quality));
        }
        w
    }
}

/// A user's hidden taste: two favourite hashtags.
#[derive(Clone, Copy)]
struct Taste {
    fav: [usize; 2],
}

impl Taste {
    fn interest(&self, tags: &[usize]) -> f64 {
        tags.iter()
            .map(|t| {
                if *t == self.fav[0] {
                    1.0
                } else if *t == self.fav[1] {
                    0.7
                } else {
                    0.08
                }
            })
            .fold(0.0, f64::max)
    }

    fn matches(&self, tags: &[usize]) -> bool {
        tags.iter().any(|t| self.fav.contains(t))
    }
}

/// What a user did with one video.
#[derive(Debug, Clone, Copy, Default)]
struct Outcome {
    /// Watch time as a fraction of the duration (above 1 when it looped).
    frac: f64,
    liked: bool,
    shared: bool,
    followed: bool,
}

/// The watch-time model: the probability of watching to the end grows with
/// interest and quality; otherwise the user swipes away early. A full watch
/// may bring a like, more rarely a share, and rarer still a follow of the
/// creator, each likelier the more the video interests them.
fn watch(w: &mut World, taste: &Taste, v: usize) -> Outcome {
    let x = taste.interest(&w.videos[v].1) * w.videos[v].2;
    let p_complete = 1.0 / (1.0 + (-(7.0 * x - 3.5)).exp());
    if w.rand() < p_complete {
        let frac = 1.0 + if w.rand() < 0.2 { w.rand() } else { 0.0 };
        let (l, s, f) = (w.rand(), w.rand(), w.rand());
        Outcome {
            frac,
            liked: l < 0.6 * x,
            shared: s < 0.12 * x * x,
            followed: f < 0.05 * x * x,
        }
    } else {
        Outcome {
            frac: 0.5 * w.rand() * w.rand(),
            ..Outcome::default()
        }
    }
}

const DURATION: i64 = 30_000;
const T0: i64 = 1_780_000_000_000;

fn vid(v: usize) -> String {
    format!("sim_v{v}")
}

fn parse_vid(s: &str) -> Option<usize> {
    s.strip_prefix("sim_v")?.parse().ok()
}

/// The events a client sends for one swipe, in a client's order: the
/// impression, what the user did while it played, then the view (or skip)
/// when they swiped away, which closes the impression.
fn send(e: &mut Engine, user: &str, v: usize, o: Outcome, t: i64) {
    let id = vid(v);
    let watch_ms = (o.frac * DURATION as f64) as i64;
    let _ = e.observe(&Event::new(user, &id, t, EventKind::Impression));
    for (did, kind) in [
        (o.liked, EventKind::Like),
        (o.shared, EventKind::Share),
        (o.followed, EventKind::Follow),
    ] {
        if did {
            let _ = e.observe(&Event::new(user, &id, t, kind));
        }
    }
    let kind = if o.frac < 0.2 {
        EventKind::Skip
    } else {
        EventKind::View {
            watch_ms,
            duration_ms: DURATION,
        }
    };
    let _ = e.observe(&Event::new(user, &id, t, kind));
}

/// A simulated user's follows, as the server would pass them in the query.
fn query(user: &str, follows: &[String], t: i64) -> Query {
    let mut q = Query::new(user, 10, t);
    q.follows = follows.to_vec();
    q
}

fn follow(follows: &mut Vec<String>, w: &World, v: usize) {
    let c = format!("sim_c{}", w.videos[v].0);
    if !follows.contains(&c) {
        follows.push(c);
    }
}

fn build_engine(c: &SimConfig, w: &World, manifest: &Manifest) -> Option<Engine> {
    let keys = DevKeys::from_seed("sim", 9).ok()?;
    let note = keys.release(manifest).ok()?;
    let mut e = Engine::new(EngineConfig::new("sim"), keys.trust(), &note).ok()?;
    for (v, (creator, tags, _)) in w.videos.iter().enumerate() {
        let tags: Vec<String> = tags.iter().map(|t| format!("tag{t}")).collect();
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        let created = T0 - (c.videos - v) as i64 * 60_000;
        e.upsert_video(&VideoMeta::public(
            &vid(v),
            &format!("sim_c{creator}"),
            &tags,
            created,
        ))
        .ok()?;
    }
    Some(e)
}

pub struct SimOutput {
    pub policies: Vec<PolicyResult>,
    /// Every example the engine's heads learned from, background and new users,
    /// each with the prediction made before learning from it.
    pub head_examples: Vec<HeadExample>,
}

/// Runs every policy and returns their results.
pub fn run(c: &SimConfig, manifest: &Manifest, bar: &ProgressBar) -> SimOutput {
    let mut world = World::new(c);
    let Some(mut engine) = build_engine(c, &world, manifest) else {
        return SimOutput {
            policies: Vec::new(),
            head_examples: Vec::new(),
        };
    };
    engine.core.model.heads.recorder = Some(Vec::new());
    bar.set_length(
        (c.background_users * c.background_swipes + 3 * c.new_users * c.max_swipes) as u64,
    );

    // Background population: established users swiping their engine feeds, which
    // gives the region its trending and co-engagement before the new users arrive.
    let mut t = T0;
    let mut popularity = vec![0f64; c.videos];
    for b in 0..c.background_users {
        let taste = Taste {
            fav: [world.pick(c.tags), world.pick(c.tags)],
        };
        let user = format!("sim_bg{b}");
        let mut follows = Vec::new();
        let mut swipes = 0;
        while swipes < c.background_swipes {
            let Ok(page) = engine.rank(&query(&user, &follows, t)) else {
                break;
            };
            if page.items.is_empty() {
                break;
            }
            for item in &page.items {
                let Some(v) = parse_vid(&item.video_id) else {
                    continue;
                };
                t += 1000;
                let o = watch(&mut world, &taste, v);
                if o.frac >= 0.8 {
                    popularity[v] += 1.0;
                }
                if o.followed {
                    follow(&mut follows, &world, v);
                }
                send(&mut engine, &user, v, o, t);
                swipes += 1;
                bar.inc(1);
            }
        }
    }

    let tastes: Vec<Taste> = (0..c.new_users)
        .map(|_| {
            let a = world.pick(c.tags);
            let mut b = world.pick(c.tags);
            if b == a {
                b = (a + 1) % c.tags.max(1);
            }
            Taste { fav: [a, b] }
        })
        .collect();
    let mut head_examples = engine.core.model.heads.recorder.take().unwrap_or_default();
    let base = engine.snapshot().ok();
    let mut out = Vec::new();
    for policy in [Policy::Engine, Policy::Popularity, Policy::Random] {
        // Each policy starts from the same region state.
        if let Some(b) = &base {
            let _ = engine.restore(b);
        }
        engine.core.model.heads.recorder = (policy == Policy::Engine).then(Vec::new);
        let mut swipes_needed = Vec::new();
        let mut curve = vec![0f64; c.max_swipes];
        let mut watched = 0.0;
        let mut pop_order: Vec<usize> = (0..c.videos).collect();
        pop_order.sort_by(|a, b| popularity[*b].total_cmp(&popularity[*a]).then(a.cmp(b)));
        for (n, taste) in tastes.iter().enumerate() {
            let user = format!("sim_new{n}");
            let mut follows = Vec::new();
            let mut seen: HashSet<usize> = HashSet::new();
            let mut hits: Vec<bool> = Vec::new();
            let mut reached = None;
            while hits.len() < c.max_swipes {
                let page: Vec<usize> = match policy {
                    Policy::Engine => engine
                        .rank(&query(&user, &follows, t))
                        .map(|p| {
                            p.items
                                .iter()
                                .filter_map(|i| parse_vid(&i.video_id))
                                .collect()
                        })
                        .unwrap_or_default(),
                    Policy::Popularity => pop_order
                        .iter()
                        .copied()
                        .filter(|v| !seen.contains(v))
                        .take(10)
                        .collect(),
                    Policy::Random => {
                        let mut p = Vec::new();
                        while p.len() < 10 && seen.len() + p.len() < c.videos {
                            let v = world.pick(c.videos);
                            if !seen.contains(&v) && !p.contains(&v) {
                                p.push(v);
                            }
                        }
                        p
                    }
                };
                if page.is_empty() {
                    break;
                }
                for v in page {
                    if hits.len() >= c.max_swipes {
                        break;
                    }
                    seen.insert(v);
                    t += 1000;
                    let o = watch(&mut world, taste, v);
                    watched += o.frac.min(1.0);
                    if o.followed {
                        follow(&mut follows, &world, v);
                    }
                    if policy == Policy::Engine {
                        send(&mut engine, &user, v, o, t);
                    }
                    hits.push(taste.matches(&world.videos[v].1));
                    curve[hits.len() - 1] += f64::from(u8::from(*hits.last().unwrap_or(&false)));
                    bar.inc(1);
                    if reached.is_none() && hits.len() >= c.window {
                        let recent = hits[hits.len() - c.window..].iter().filter(|h| **h).count();
                        if recent as f64 >= c.target * c.window as f64 {
                            reached = Some(hits.len());
                        }
                    }
                }
            }
            swipes_needed.push(reached.unwrap_or(c.max_swipes) as f64);
        }
        let users = tastes.len().max(1) as f64;
        let reached = swipes_needed
            .iter()
            .filter(|&&s| s < c.max_swipes as f64)
            .count();
        head_examples.extend(engine.core.model.heads.recorder.take().unwrap_or_default());
        let mut sorted = swipes_needed.clone();
        sorted.sort_by(f64::total_cmp);
        out.push(PolicyResult {
            policy,
            mean_swipes: swipes_needed.iter().sum::<f64>() / users,
            median_swipes: sorted.get(sorted.len() / 2).copied().unwrap_or(0.0),
            reached,
            users: tastes.len(),
            match_curve: curve.iter().map(|x| x / users).collect(),
            mean_watch: watched / (users * c.max_swipes as f64),
        });
    }
    SimOutput {
        policies: out,
        head_examples,
    }
}

impl PolicyResult {
    /// On-taste share of swipes `from..=to` (1-based), averaged over users.
    pub fn on_taste(&self, from: usize, to: usize) -> f64 {
        let w = &self.match_curve
            [(from - 1).min(self.match_curve.len())..to.min(self.match_curve.len())];
        w.iter().sum::<f64>() / w.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_beats_random_on_a_small_world() {
        let c = SimConfig {
            tags: 8,
            creators: 40,
            videos: 600,
            background_users: 40,
            background_swipes: 30,
            new_users: 8,
            max_swipes: 60,
            ..SimConfig::default()
        };
        let out = run(
            &c,
            &Manifest::default_with_id("sim"),
            &ProgressBar::hidden(),
        );
        assert!(out.head_examples.iter().any(|e| !e.sampled));
        let r = out.policies;
        assert_eq!(r.len(), 3);
        let (engine, random) = (&r[0], &r[2]);
        assert_eq!(engine.policy, Policy::Engine);
        assert!(
            engine.mean_swipes < random.mean_swipes,
            "{engine:?} vs {random:?}"
        );
        let late = |p: &PolicyResult| p.match_curve[40..].iter().sum::<f64>() / 20.0;
        assert!(
            late(engine) > late(random) + 0.2,
            "{} vs {}: {engine:?}",
            late(engine),
            late(random)
        );
    }
}
