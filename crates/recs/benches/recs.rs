//! Criterion benches of the two hot paths, at a scale that builds in seconds
//! (100k videos, 10k users); `sovereel bench recs` runs the full 1M/100k scale.
use criterion::{Criterion, criterion_group, criterion_main};
use sovereel_recs::bench::{BenchArgs, build};
use sovereel_recs::{Event, EventKind, Query};
use std::hint::black_box;

fn args() -> BenchArgs {
    BenchArgs {
        videos: 100_000,
        users: 10_000,
        events: 200_000,
        hashtags: 500,
        creators: 10_000,
        ..Default::default()
    }
}

fn benches(c: &mut Criterion) {
    let (mut engine, _, _, _) = build(&args(), false).expect("bench engine");
    let now = 1_790_000_000_000i64;
    let mut i = 0u64;
    c.bench_function("rank_for_you_10_items_100k_videos", |b| {
        b.iter(|| {
            i += 1;
            let q = Query::new(&format!("u{}", i % 10_000), 10, now);
            black_box(engine.rank_preview(&q).map(|p| p.items.len()).unwrap_or(0))
        })
    });
    let mut n = 0u64;
    c.bench_function("observe_view_event", |b| {
        b.iter(|| {
            n += 1;
            let kind = EventKind::View {
                watch_ms: 30_000,
                duration_ms: 30_000,
            };
            let e = Event::new(
                &format!("u{}", n % 10_000),
                &format!("v{}", (n * 7919) % 100_000),
                now + n as i64,
                kind,
            );
            black_box(engine.observe(&e).is_ok())
        })
    });
}

criterion_group! {
    name = recs;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(recs);
