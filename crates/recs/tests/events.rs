//! Bad events are rejected and nothing is learned from them.
mod common;
use common::*;
use sovereel_recs::*;

fn state(e: &Engine) -> (Explanation, usize, Page) {
    let x = e.explain("us_a", "v_cooking_0_0", T0).unwrap();
    (
        x,
        e.user_count(),
        e.rank_preview(&Query::new("us_a", 10, T0)).unwrap(),
    )
}

#[test]
fn bad_events_are_rejected_without_learning() {
    let mut e = engine();
    e.observe(&Event::new("us_a", "v_skate_0_0", T0, EventKind::Like))
        .unwrap();
    let before = state(&e);
    let (learned, rejected) = e.event_counts();
    let bad = [
        Event::new("us_a", "v_nope", T0, EventKind::Like),
        Event::new(
            "us_a",
            "v_cooking_0_0",
            T0,
            EventKind::View {
                watch_ms: -5,
                duration_ms: 30_000,
            },
        ),
        Event::new(
            "us_a",
            "v_cooking_0_0",
            T0,
            EventKind::View {
                watch_ms: i64::MAX,
                duration_ms: 30_000,
            },
        ),
        Event::new(
            "us_a",
            "v_cooking_0_0",
            T0,
            EventKind::View {
                watch_ms: 10,
                duration_ms: 0,
            },
        ),
        Event::new("us_a", "v_cooking_0_0", -1, EventKind::Like),
        Event::new("", "v_cooking_0_0", T0, EventKind::Like),
        Event::new("us_b", "v cooking", T0, EventKind::Like),
        Event::new("us_new", "v_nope", T0, EventKind::Like),
    ];
    let (ok, errs) = e.observe_batch(&bad);
    assert_eq!(ok, 0);
    assert_eq!(errs.len(), bad.len());
    assert!(matches!(errs[0].1, EventError::UnknownVideo(_)));
    assert!(matches!(errs[1].1, EventError::NegativeWatch(-5)));
    assert!(matches!(errs[2].1, EventError::AbsurdWatch { .. }));
    assert_eq!(state(&e), before, "nothing was learned");
    assert_eq!(e.event_counts(), (learned, rejected + bad.len() as u64));
}

#[test]
fn batches_for_another_user_or_too_large_are_rejected() {
    let ev = |u: &str| Event::new(u, "v_cooking_0_0", T0, EventKind::Impression);
    assert!(validate_batch("us_a", &[ev("us_a"), ev("us_a")]).is_ok());
    assert_eq!(
        validate_batch("us_a", &[ev("us_a"), ev("us_b")]),
        Err(EventError::WrongUser {
            found: "us_b".into()
        })
    );
    let big = vec![ev("us_a"); event::MAX_BATCH + 1];
    assert!(matches!(
        validate_batch("us_a", &big),
        Err(EventError::BatchTooLarge(..))
    ));
}

#[test]
fn hostile_queries_are_errors_not_panics() {
    let mut e = engine();
    assert_eq!(
        e.rank(&Query::new("bad user", 10, T0)),
        Err(RankError::InvalidUser)
    );
    let q = Query {
        cursor: Some("zzz".into()),
        ..Query::new("us_a", 10, T0)
    };
    assert_eq!(e.rank(&q), Err(RankError::InvalidCursor));
    let q = Query {
        cursor: Some("p99999999999".into()),
        ..Query::new("us_a", 10, T0)
    };
    assert_eq!(e.rank(&q), Err(RankError::InvalidCursor));
    // Out-of-range limits are clamped, huge lists truncated.
    let q = Query {
        follows: (0..20_000).map(|i| format!("x{i}")).collect(),
        exclude: vec!["v_nope".into(); 10_000],
        ..Query::new("us_a", 1_000_000, T0)
    };
    assert!(e.rank(&q).unwrap().items.len() <= engine::MAX_LIMIT);
    assert!(e.rank(&Query::new("us_a", 0, T0)).unwrap().items.len() <= 1);
    assert!(
        e.upsert_video(&VideoMeta::public("bad id", "a", &[], T0))
            .is_err()
    );
}
