//! `sovereel bench recs`: the engine at region scale, in process. Builds a
//! synthetic catalog and population (1M videos and 100k users by default),
//! streams events through `observe`, then measures For You latency, the time
//! from an event to its effect on the next page, and peak memory.
//!
//! Figures are reported, never asserted: timing depends on the machine.

use crate::catalog::VideoMeta;
use crate::engine::{Engine, EngineConfig, Query};
use crate::event::{Event, EventKind};
use crate::ids::mix64;
use crate::release::dev_keys::DevKeys;
use crate::release::manifest::Manifest;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 1_000_000)]
    pub videos: usize,
    #[arg(long, default_value_t = 100_000)]
    pub users: usize,
    /// Events streamed through the online learner before ranking is measured.
    #[arg(long, default_value_t = 2_000_000)]
    pub events: usize,
    /// For You requests timed.
    #[arg(long, default_value_t = 20_000)]
    pub queries: usize,
    #[arg(long, default_value_t = 2_000)]
    pub hashtags: usize,
    #[arg(long, default_value_t = 100_000)]
    pub creators: usize,
    /// Event → next page round trips timed.
    #[arg(long, default_value_t = 500)]
    pub effect_trials: usize,
    /// Pages served and then reported on by the client (the production loop).
    #[arg(long, default_value_t = 5_000)]
    pub served_pages: usize,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            videos: 1_000_000,
            users: 100_000,
            events: 2_000_000,
            queries: 20_000,
            hashtags: 2_000,
            creators: 100_000,
            effect_trials: 500,
            served_pages: 5_000,
            seed: 7,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

fn percentiles(mut d: Vec<Duration>) -> Percentiles {
    d.sort();
    let at = |q: f64| {
        if d.is_empty() {
            return 0.0;
        }
        let i = ((d.len() as f64 * q).ceil() as usize).clamp(1, d.len()) - 1;
        d[i].as_secs_f64() * 1e6
    };
    Percentiles {
        p50_us: at(0.5),
        p90_us: at(0.9),
        p99_us: at(0.99),
        p999_us: at(0.999),
        max_us: at(1.0),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub videos: usize,
    pub users_with_state: usize,
    pub events: usize,
    pub catalog_load_secs: f64,
    pub learn_events_per_sec: f64,
    /// Events per second of CPU time spent in `observe`.
    pub learn_events_per_cpu_sec: Option<f64>,
    /// Mean CPU time of one rank.
    pub rank_cpu_mean_us: Option<f64>,
    /// Per-request CPU time percentiles: what a rank costs when nothing else
    /// preempts it (the wall figures include time the scheduler gave to others).
    pub rank_cpu: Option<Percentiles>,
    /// Resident set once loaded and learned, before taking a snapshot.
    pub serving_rss_bytes: Option<u64>,
    pub rank: Percentiles,
    pub rank_items_mean: f64,
    /// observe(like) followed by rank of the next page.
    pub event_to_next_page: Percentiles,
    pub event_to_next_page_cpu: Option<Percentiles>,
    /// Share of trials where the liked video's hashtag gained items on the next page.
    pub effect_visible_share: f64,
    /// Events per CPU-second when they report on a served page.
    pub served_events_per_cpu_sec: Option<f64>,
    pub snapshot_bytes: usize,
    pub snapshot_secs: f64,
    pub peak_rss_bytes: Option<u64>,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    /// Roughly Zipfian: small indices far more likely, as with real hashtag use.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) as usize)
            .saturating_sub(1)
            .min(n.saturating_sub(1))
    }
}

const T0: i64 = 1_780_000_000_000;

/// CPU time this thread has run. The machine running the bench may be shared,
/// so figures are also reported in CPU time, which does not depend on how often
/// other processes preempted this one.
pub fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass, which lives on our stack.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    Some(u64::try_from(ts.tv_sec).ok()? * 1_000_000_000 + u64::try_from(ts.tv_nsec).ok()?)
}

fn cpu_since(start: Option<u64>) -> Option<f64> {
    Some((thread_cpu_ns()?.checked_sub(start?)?) as f64 / 1e9)
}

/// Current resident set size.
pub fn rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Peak resident set size of this process, from /proc on Linux.
pub fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let b = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {elapsed}") {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(what.to_string());
    b
}

pub fn video_tag(v: usize, args: &BenchArgs) -> usize {
    (mix64(v as u64 ^ args.seed) % args.hashtags.max(1) as u64) as usize
}

/// Builds the engine and its synthetic region; shared with the criterion benches.
pub fn build(args: &BenchArgs, show: bool) -> Result<(Engine, f64, f64, Option<f64>), String> {
    let keys = DevKeys::from_seed("bench", 3).map_err(|e| e.to_string())?;
    let note = keys
        .release(&Manifest::default_with_id("bench-1"))
        .map_err(|e| e.to_string())?;
    let mut e =
        Engine::new(EngineConfig::new("bench"), keys.trust(), &note).map_err(|e| e.to_string())?;
    let mut rng = Rng(args.seed);
    let start = Instant::now();
    let b = if show {
        bar(args.videos as u64, "catalog")
    } else {
        ProgressBar::hidden()
    };
    for v in 0..args.videos {
        let tag = format!("t{}", video_tag(v, args));
        let second = format!("t{}", rng.skewed(args.hashtags));
        let creator = format!("c{}", rng.below(args.creators));
        let created = T0 - (args.videos - v) as i64 * 1000;
        e.upsert_video(&VideoMeta::public(
            &format!("v{v}"),
            &creator,
            &[&tag, &second],
            created,
        ))
        .map_err(|e| e.to_string())?;
        if v % 10_000 == 0 {
            b.set_position(v as u64);
        }
    }
    b.finish_and_clear();
    let load = start.elapsed().as_secs_f64();

    // Each user likes one "home" hashtag; 70% of their events are on it.
    let mut by_tag: Vec<Vec<u32>> = vec![Vec::new(); args.hashtags.max(1)];
    for v in 0..args.videos {
        by_tag[video_tag(v, args)].push(v as u32);
    }
    let b = if show {
        bar(args.events as u64, "learn")
    } else {
        ProgressBar::hidden()
    };
    let mut learn = Duration::ZERO;
    let mut learn_cpu = Some(0.0);
    let chunk = 50_000;
    let mut done = 0;
    while done < args.events {
        let n = chunk.min(args.events - done);
        let mut evs = Vec::with_capacity(n);
        for i in 0..n {
            let u = rng.skewed(args.users);
            let home = (mix64(u as u64) % args.hashtags.max(1) as u64) as usize;
            let v = if rng.below(10) < 7 && !by_tag[home].is_empty() {
                by_tag[home][rng.skewed(by_tag[home].len())] as usize
            } else {
                rng.below(args.videos)
            };
            let kind = match rng.below(10) {
                0..=5 => EventKind::View {
                    watch_ms: 30_000,
                    duration_ms: 30_000,
                },
                6..=8 => EventKind::Skip,
                _ => EventKind::Like,
            };
            evs.push(Event::new(
                &format!("u{u}"),
                &format!("v{v}"),
                T0 + (done + i) as i64 * 10,
                kind,
            ));
        }
        let start = Instant::now();
        let cpu = thread_cpu_ns();
        for ev in &evs {
            let _ = e.observe(ev);
        }
        learn += start.elapsed();
        learn_cpu = learn_cpu.zip(cpu_since(cpu)).map(|(a, b)| a + b);
        done += n;
        b.set_position(done as u64);
    }
    b.finish_and_clear();
    let eps = args.events as f64 / learn.as_secs_f64().max(1e-9);
    let eps_cpu = learn_cpu.map(|c| args.events as f64 / c.max(1e-9));
    Ok((e, load, eps, eps_cpu))
}

pub fn run(args: &BenchArgs) -> Result<BenchReport, String> {
    let (mut e, load, eps, eps_cpu) = build(args, true)?;
    let now = T0 + args.events as i64 * 10 + 1000;
    let mut rng = Rng(args.seed ^ 0xbe7c);

    let b = bar(args.queries as u64, "rank");
    let mut times = Vec::with_capacity(args.queries);
    let mut items = 0usize;
    let rank_cpu = thread_cpu_ns();
    let mut cpu_times = Vec::with_capacity(args.queries);
    for i in 0..args.queries {
        let u = rng.skewed(args.users);
        let q = Query::new(&format!("u{u}"), 10, now + i as i64);
        let cpu0 = thread_cpu_ns();
        let start = Instant::now();
        let page = e.rank(&q).map_err(|e| e.to_string())?;
        times.push(start.elapsed());
        if let (Some(a), Some(b)) = (cpu0, thread_cpu_ns()) {
            cpu_times.push(Duration::from_nanos(b.saturating_sub(a)));
        }
        items += page.items.len();
        if i % 1000 == 0 {
            b.set_position(i as u64);
        }
    }
    b.finish_and_clear();
    let rank_cpu_mean_us = cpu_since(rank_cpu).map(|c| c * 1e6 / args.queries.max(1) as f64);
    let rank = percentiles(times);

    // The production loop: a page is served, then the client reports what
    // happened to each item. The learner then trains on the features the page
    // was ranked with (joined from the open impression) instead of recomputing
    // them, so this is the throughput a region sees from real clients.
    let mut served_events = 0usize;
    let mut served_cpu = 0.0;
    for i in 0..args.served_pages {
        let u = format!("u{}", rng.skewed(args.users));
        let t = now + args.queries as i64 + i as i64 * 100;
        let page = e.rank(&Query::new(&u, 10, t)).map_err(|e| e.to_string())?;
        let evs: Vec<Event> = page
            .items
            .iter()
            .enumerate()
            .map(|(k, it)| {
                let kind = if rng.below(10) < 6 {
                    EventKind::View {
                        watch_ms: 30_000,
                        duration_ms: 30_000,
                    }
                } else {
                    EventKind::Skip
                };
                Event::new(&u, &it.video_id, t + 1 + k as i64, kind)
            })
            .collect();
        let cpu0 = thread_cpu_ns();
        for ev in &evs {
            let _ = e.observe(ev);
        }
        served_cpu += cpu_since(cpu0).unwrap_or(0.0);
        served_events += evs.len();
    }
    let served_events_per_cpu_sec = (served_cpu > 0.0).then(|| served_events as f64 / served_cpu);

    // Event → next page: like a video under a hashtag the user has not
    // engaged with, then rank; the effect is visible if that hashtag gains items.
    let mut round_trips = Vec::new();
    let mut round_trip_cpu = Vec::new();
    let mut visible = 0;
    for i in 0..args.effect_trials {
        let u = format!("fresh_user_{i}");
        let t = now + args.queries as i64 + 10 * i as i64;
        let before = e
            .rank_preview(&Query::new(&u, 10, t))
            .map_err(|e| e.to_string())?;
        let v = rng.below(args.videos);
        let tag = video_tag(v, args);
        let count = |p: &crate::engine::Page| {
            p.items
                .iter()
                .filter(|it| {
                    it.video_id
                        .get(1..)
                        .and_then(|n| n.parse::<usize>().ok())
                        .is_some_and(|x| video_tag(x, args) == tag)
                })
                .count()
        };
        let cpu0 = thread_cpu_ns();
        let start = Instant::now();
        e.observe(&Event::new(&u, &format!("v{v}"), t + 1, EventKind::Like))
            .map_err(|e| e.to_string())?;
        let after = e
            .rank(&Query::new(&u, 10, t + 2))
            .map_err(|e| e.to_string())?;
        round_trips.push(start.elapsed());
        if let (Some(a), Some(b)) = (cpu0, thread_cpu_ns()) {
            round_trip_cpu.push(Duration::from_nanos(b.saturating_sub(a)));
        }
        if count(&after) > count(&before) {
            visible += 1;
        }
    }

    let serving_rss_bytes = rss_bytes();
    let start = Instant::now();
    let snap = e.snapshot().map_err(|e| e.to_string())?;
    let snapshot_secs = start.elapsed().as_secs_f64();
    Ok(BenchReport {
        videos: e.video_count(),
        users_with_state: e.user_count(),
        events: args.events,
        catalog_load_secs: load,
        learn_events_per_sec: eps,
        learn_events_per_cpu_sec: eps_cpu,
        rank_cpu_mean_us,
        rank_cpu: (!cpu_times.is_empty()).then(|| percentiles(cpu_times)),
        serving_rss_bytes,
        rank,
        rank_items_mean: items as f64 / args.queries.max(1) as f64,
        event_to_next_page: percentiles(round_trips),
        event_to_next_page_cpu: (!round_trip_cpu.is_empty()).then(|| percentiles(round_trip_cpu)),
        effect_visible_share: visible as f64 / args.effect_trials.max(1) as f64,
        served_events_per_cpu_sec,
        snapshot_bytes: snap.len(),
        snapshot_secs,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

pub fn render(r: &BenchReport) -> String {
    let mib = |b: Option<u64>| {
        b.map_or("n/a".to_string(), |b| {
            format!("{:.0} MiB", b as f64 / 1048576.0)
        })
    };
    let opt = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("{x:.0}"));
    format!(
        "videos {} · users with state {} · events {}\n\
         catalog load {:.1} s · online learning {:.0} events/s wall, {} events per CPU-second (one thread); events reporting on served pages: {} per CPU-second\n\
         For You rank (10 items, mean {:.1} returned): p50 {:.0} µs · p90 {:.0} µs · p99 {:.0} µs · p99.9 {:.0} µs · max {:.0} µs (wall) · mean CPU {} µs\n\
         For You rank CPU time per request: {}\n\
         event → next page (observe like + rank): p50 {:.0} µs · p99 {:.0} µs (wall), CPU p50 {} µs · p99 {} µs · effect visible in {:.0}% of trials\n\
         RSS serving {} · snapshot {:.0} MiB in {:.2} s · peak RSS {}\n",
        r.videos,
        r.users_with_state,
        r.events,
        r.catalog_load_secs,
        r.learn_events_per_sec,
        opt(r.learn_events_per_cpu_sec),
        opt(r.served_events_per_cpu_sec),
        r.rank_items_mean,
        r.rank.p50_us,
        r.rank.p90_us,
        r.rank.p99_us,
        r.rank.p999_us,
        r.rank.max_us,
        opt(r.rank_cpu_mean_us),
        r.rank_cpu.as_ref().map_or("n/a".to_string(), |p| format!(
            "p50 {:.0} µs · p90 {:.0} µs · p99 {:.0} µs · p99.9 {:.0} µs",
            p.p50_us, p.p90_us, p.p99_us, p.p999_us
        )),
        r.event_to_next_page.p50_us,
        r.event_to_next_page.p99_us,
        opt(r.event_to_next_page_cpu.as_ref().map(|p| p.p50_us)),
        opt(r.event_to_next_page_cpu.as_ref().map(|p| p.p99_us)),
        100.0 * r.effect_visible_share,
        mib(r.serving_rss_bytes),
        r.snapshot_bytes as f64 / 1048576.0,
        r.snapshot_secs,
        mib(r.peak_rss_bytes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_ranks() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let p = percentiles(d);
        assert_eq!(p.p50_us, 50.0);
        assert_eq!(p.p99_us, 99.0);
        assert_eq!(p.max_us, 100.0);
    }

    #[test]
    fn small_run_reports_sane_figures() {
        let args = BenchArgs {
            videos: 2000,
            users: 200,
            events: 5000,
            queries: 50,
            hashtags: 20,
            creators: 100,
            effect_trials: 20,
            served_pages: 20,
            seed: 1,
        };
        let r = run(&args).unwrap();
        assert_eq!(r.videos, 2000);
        assert!(r.users_with_state > 50 && r.users_with_state <= 200 + 20);
        assert!(r.rank_items_mean > 9.0);
        assert!(r.effect_visible_share > 0.5, "{r:?}");
        assert!(r.snapshot_bytes > 0);
    }
}
