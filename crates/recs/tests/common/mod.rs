//! A small region: five hashtags, five creators per tag, eight videos each.
#![allow(dead_code)]

use sovereel_recs::release::dev_keys::DevKeys;
use sovereel_recs::*;

pub const T0: i64 = 1_780_000_000_000;
pub const TAGS: [&str; 5] = ["cooking", "skate", "music", "travel", "comedy"];

pub fn keys() -> DevKeys {
    DevKeys::from_seed("us", 7).unwrap()
}

pub fn manifest(id: &str) -> Manifest {
    Manifest::default_with_id(id)
}

pub fn engine_with(m: &Manifest) -> Engine {
    let k = keys();
    let note = k.release(m).unwrap();
    let mut e = Engine::new(EngineConfig::new("us"), k.trust(), &note).unwrap();
    for (ti, tag) in TAGS.iter().enumerate() {
        for a in 0..5 {
            for i in 0..8 {
                let id = format!("v_{tag}_{a}_{i}");
                let author = format!("u_{tag}_{a}");
                let at = T0 - 3_600_000 * (1 + (ti * 40 + a * 8 + i) as i64);
                e.upsert_video(&VideoMeta::public(&id, &author, &[tag], at))
                    .unwrap();
            }
        }
    }
    // Some regional background engagement so trending is not empty.
    for (n, tag) in TAGS.iter().enumerate() {
        for i in 0..(3 + n) {
            let v = format!("v_{tag}_{}_{}", i % 5, i % 8);
            let user = format!("bg_{n}_{i}");
            e.observe(&Event::new(&user, &v, T0 - 1000, EventKind::Like))
                .unwrap();
        }
    }
    e
}

pub fn engine() -> Engine {
    engine_with(&manifest("r1"))
}

pub fn tag_of(video: &str) -> &str {
    video.split('_').nth(1).unwrap_or("")
}

pub fn author_of(video: &str) -> String {
    let mut p = video.split('_');
    let (_, tag, a) = (p.next(), p.next().unwrap_or(""), p.next().unwrap_or(""));
    format!("u_{tag}_{a}")
}

/// A user who watches `tag` to the end and likes it, and skips the rest.
/// Returns the share of `tag` on each page.
pub fn train_user(e: &mut Engine, user: &str, tag: &str, pages: usize, t: &mut i64) -> Vec<f32> {
    let mut shares = Vec::new();
    for _ in 0..pages {
        let page = e.rank(&Query::new(user, 10, *t)).unwrap();
        let hits = page
            .items
            .iter()
            .filter(|i| tag_of(&i.video_id) == tag)
            .count();
        shares.push(hits as f32 / page.items.len().max(1) as f32);
        for item in &page.items {
            *t += 1000;
            let v = &item.video_id;
            e.observe(&Event::new(user, v, *t, EventKind::Impression))
                .unwrap();
            if tag_of(v) == tag {
                e.observe(&Event::new(
                    user,
                    v,
                    *t,
                    EventKind::View {
                        watch_ms: 30_000,
                        duration_ms: 30_000,
                    },
                ))
                .unwrap();
                e.observe(&Event::new(user, v, *t, EventKind::Like))
                    .unwrap();
            } else {
                e.observe(&Event::new(user, v, *t, EventKind::Skip))
                    .unwrap();
            }
        }
    }
    shares
}
