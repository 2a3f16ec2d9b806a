//! Streams MovieLens train interactions, in time order, through the production
//! engine's `observe` and ranks with its `rank_preview`: the same online
//! learner and pipeline that serve For You, under an evaluation release.

use crate::catalog::VideoMeta;
use crate::engine::{Engine, EngineConfig, Query};
use crate::eval::EvalError;
use crate::eval::movielens::{K, Metrics, Split, evaluate};
use crate::event::{Event, EventKind};
use crate::release::dev_keys::DevKeys;
use crate::release::manifest::Manifest;
use indicatif::ProgressBar;

/// MovieLens ratings date from 1997-98; the engine refuses timestamps before
/// 2000, so the whole stream is shifted by a constant (intervals unchanged).
const TIME_SHIFT_MS: i64 = 30 * 365 * 24 * 3_600_000;
/// 2001-01-01: where a data set whose clock starts too early (or at zero) begins.
const EARLIEST_MS: i64 = 978_307_200_000;
/// The engine accepts times up to 2200; a data set spanning more than this is
/// not in seconds.
const MAX_SPAN_MS: i64 = 150 * 365 * 24 * 3_600_000;
const DURATION_MS: i64 = 60_000;

/// Maps the data set's clock onto the engine's: a constant shift, so every
/// interval (and the order of events) is kept. MovieLens keeps its historical
/// 30-year shift, so its figures stay comparable with earlier runs.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    shift_ms: i64,
}

impl Clock {
    pub fn for_split(split: &Split) -> Result<Self, EvalError> {
        let times = split.train.iter().chain(&split.test_rows).map(|x| x.ts);
        let (lo, hi) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
        if lo > hi {
            return Ok(Clock {
                shift_ms: TIME_SHIFT_MS,
            });
        }
        if hi - lo > MAX_SPAN_MS {
            return Err(EvalError::Data(
                "timestamps span more than 150 years; they should be seconds".into(),
            ));
        }
        let shift_ms = if lo + TIME_SHIFT_MS >= EARLIEST_MS {
            TIME_SHIFT_MS
        } else {
            EARLIEST_MS - lo
        };
        Ok(Clock { shift_ms })
    }

    pub fn at(&self, ts_ms: i64) -> i64 {
        ts_ms.saturating_add(self.shift_ms)
    }
}

/// The evaluation release: no exploration slots and no author cap (a movie is
/// its own "author"), a seen window covering the whole dataset, so the seen
/// filter removes exactly the train items as the protocol requires.
pub fn movielens_manifest() -> Manifest {
    let mut m = Manifest::default_with_id("eval-movielens-1");
    m.exploration_rate = 0.0;
    m.filters.max_per_author = K;
    m.filters.seen_window_secs = 20 * 365 * 24 * 3600;
    m.filters.seen_capacity = 5000;
    m.source_mix.co_engagement = 400;
    m.source_mix.trending = 200;
    m.source_mix.embedding = 100;
    m.source_mix.hashtag = 0;
    m.source_mix.fresh = 0;
    m.source_mix.following = 0;
    m.hyper.neighbours = 200;
    m
}

pub fn user_id(u: u32) -> String {
    format!("ml_u{u}")
}

pub fn item_id(i: u32) -> String {
    format!("ml_i{i}")
}

/// One point of the learning curve: metrics after `fraction` of the stream.
#[derive(Debug, Clone, Copy)]
pub struct CurvePoint {
    pub fraction: f64,
    pub events: usize,
    pub metrics: Metrics,
}

pub struct EngineResult {
    pub final_metrics: Metrics,
    pub curve: Vec<CurvePoint>,
    pub events_per_sec: f64,
}

pub fn build_engine(split: &Split, manifest: &Manifest, clock: Clock) -> Result<Engine, EvalError> {
    let keys = DevKeys::from_seed("eval", 42).map_err(|e| EvalError::Engine(e.to_string()))?;
    let note = keys
        .release(manifest)
        .map_err(|e| EvalError::Engine(e.to_string()))?;
    let mut e = Engine::new(EngineConfig::new("eval"), keys.trust(), &note)
        .map_err(|e| EvalError::Engine(e.to_string()))?;
    let t0 = clock.at(split.train.first().map_or(0, |x| x.ts));
    for i in 0..split.n_items as u32 {
        let id = item_id(i);
        e.upsert_video(&VideoMeta::public(&id, &id, &[], t0))
            .map_err(|e| EvalError::Engine(e.to_string()))?;
    }
    Ok(e)
}

pub fn rank_user(e: &Engine, u: u32, now_ms: i64) -> Vec<u32> {
    let q = Query::new(&user_id(u), K, now_ms);
    match e.rank_preview(&q) {
        Ok(page) => page
            .items
            .iter()
            .filter_map(|it| {
                it.video_id
                    .strip_prefix("ml_i")
                    .and_then(|n| n.parse().ok())
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub fn run(
    split: &Split,
    manifest: &Manifest,
    checkpoints: usize,
    bar: &ProgressBar,
) -> Result<EngineResult, EvalError> {
    let clock = Clock::for_split(split)?;
    let mut e = build_engine(split, manifest, clock)?;
    let n = split.train.len();
    let marks: Vec<usize> = (1..=checkpoints.max(1))
        .map(|c| n * c / checkpoints.max(1))
        .collect();
    let mut curve = Vec::new();
    let mut learn_time = std::time::Duration::ZERO;
    let mut now = 0;
    let mut next = 0;
    bar.set_length(n as u64);
    for (idx, x) in split.train.iter().enumerate() {
        now = clock.at(x.ts);
        let ev = Event::new(
            &user_id(x.user),
            &item_id(x.item),
            now,
            EventKind::View {
                watch_ms: DURATION_MS,
                duration_ms: DURATION_MS,
            },
        );
        let start = std::time::Instant::now();
        e.observe(&ev)
            .map_err(|err| EvalError::Engine(format!("event {idx}: {err}")))?;
        learn_time += start.elapsed();
        bar.inc(1);
        if next < marks.len() && idx + 1 == marks[next] {
            let metrics = evaluate(split, |u| rank_user(&e, u, now));
            curve.push(CurvePoint {
                fraction: (idx + 1) as f64 / n as f64,
                events: idx + 1,
                metrics,
            });
            next += 1;
        }
    }
    // The last point ranks at the start of the test period; for a global
    // cut-off that is the cut-off itself, the moment nothing after is known.
    let at = clock.at(split.rank_at_ms()).max(now);
    let final_metrics = match (curve.last_mut(), split.cutoff_ms) {
        (Some(p), None) => p.metrics,
        (last, _) => {
            let m = evaluate(split, |u| rank_user(&e, u, at));
            if let Some(p) = last {
                p.metrics = m;
            }
            m
        }
    };
    Ok(EngineResult {
        final_metrics,
        curve,
        events_per_sec: n as f64 / learn_time.as_secs_f64().max(1e-9),
    })
}
