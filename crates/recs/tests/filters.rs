//! Every filter, checked the same way: a video that is on the page drops off
//! the very next page once the condition holds.
mod common;
use common::*;
use sovereel_recs::*;

fn first_page(e: &Engine, user: &str, t: i64) -> Vec<String> {
    e.rank_preview(&Query::new(user, 10, t))
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.video_id)
        .collect()
}

fn meta(id: &str) -> VideoMeta {
    let tag = tag_of(id).to_string();
    VideoMeta::public(id, &author_of(id), &[&tag], T0 - 3_600_000)
}

#[test]
fn deleted_and_removed_videos_are_filtered() {
    let mut e = engine();
    let page = first_page(&e, "us_a", T0);
    let (a, b) = (page[0].clone(), page[1].clone());
    let mut m = meta(&a);
    m.deleted = true;
    e.upsert_video(&m).unwrap();
    assert!(e.remove_video(&b));
    let next = first_page(&e, "us_a", T0);
    assert!(!next.contains(&a) && !next.contains(&b), "{next:?}");
    assert_eq!(next.len(), 10);
    let err = e
        .observe(&Event::new("us_a", &b, T0, EventKind::Like))
        .unwrap_err();
    assert_eq!(err, EventError::UnknownVideo(b));
}

#[test]
fn only_public_videos_are_eligible() {
    let mut e = engine();
    let page = first_page(&e, "us_a", T0);
    for (v, vis) in [
        (&page[0], Visibility::Followers),
        (&page[1], Visibility::Private),
    ] {
        let mut m = meta(v);
        m.visibility = vis;
        e.upsert_video(&m).unwrap();
    }
    // Even for a follower of the author.
    let q = Query {
        follows: vec![author_of(&page[0])],
        ..Query::new("us_a", 10, T0)
    };
    let next: Vec<String> = e
        .rank_preview(&q)
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.video_id)
        .collect();
    assert!(
        !next.contains(&page[0]) && !next.contains(&page[1]),
        "{next:?}"
    );
}

#[test]
fn labelled_and_restricted_videos_are_not_eligible() {
    let mut e = engine();
    let page = first_page(&e, "us_a", T0);
    let marks = [
        "misinformation",
        "unverified",
        "misleading",
        "graphic",
        "sensitive",
        "restricted",
    ];
    for (v, label) in page.iter().zip(marks) {
        let mut m = meta(v);
        m.labels = vec![label.into()];
        e.upsert_video(&m).unwrap();
    }
    let next = first_page(&e, "us_a", T0);
    for (v, label) in page.iter().zip(marks) {
        assert!(!next.contains(v), "{label}: {next:?}");
    }
    // The label taken off (a reversed decision), the video is eligible
    // again; a ranking marker that is not a label keeps a video eligible.
    e.upsert_video(&meta(&page[0])).unwrap();
    let mut m = meta(&page[1]);
    m.labels = vec!["demoted".into()];
    e.upsert_video(&m).unwrap();
    let deep: Vec<String> = e
        .rank_preview(&Query::new("us_a", 100, T0))
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.video_id)
        .collect();
    assert!(
        deep.contains(&page[0]) && deep.contains(&page[1]),
        "{deep:?}"
    );
    assert!(!deep.contains(&page[2]));
}

#[test]
fn a_promotion_is_named_in_why_this_video() {
    let mut e = engine();
    let page = first_page(&e, "us_a", T0);
    let before = e.explain("us_a", &page[3], T0).unwrap();
    assert!(!before.summary.contains("editorial"), "{}", before.summary);
    let mut m = meta(&page[3]);
    m.labels = vec!["promoted".into()];
    e.upsert_video(&m).unwrap();
    let after = e.explain("us_a", &page[3], T0).unwrap();
    assert!(
        after
            .summary
            .starts_with("promoted by an editorial decision"),
        "{}",
        after.summary
    );
    assert_eq!(after.signals[0].0, "editorial promotion");
}

#[test]
fn age_restricted_videos_only_for_adults() {
    let mut e = engine();
    let page = first_page(&e, "us_a", T0);
    let mut m = meta(&page[0]);
    m.labels = vec!["age_restricted".into()];
    e.upsert_video(&m).unwrap();
    let teen = Query {
        viewer_is_adult: false,
        ..Query::new("us_a", 10, T0)
    };
    let ids = |p: Page| p.items.into_iter().map(|i| i.video_id).collect::<Vec<_>>();
    assert!(!ids(e.rank_preview(&teen).unwrap()).contains(&page[0]));
    assert!(first_page(&e, "us_a", T0).contains(&page[0]));
}

#[test]
fn blocked_and_muted_authors_are_filtered() {
    let e = engine();
    let page = first_page(&e, "us_a", T0);
    let (a1, a2) = (author_of(&page[0]), author_of(&page[1]));
    let q = Query {
        blocked_authors: vec![a1.clone()],
        muted_authors: vec![a2.clone()],
        ..Query::new("us_a", 20, T0)
    };
    let next = e.rank_preview(&q).unwrap();
    assert!(
        next.items
            .iter()
            .all(|i| author_of(&i.video_id) != a1 && author_of(&i.video_id) != a2)
    );
    assert!(next.items.len() >= 10);
}

#[test]
fn not_interested_video_and_author_are_filtered() {
    let mut e = engine();
    let page = first_page(&e, "us_a", T0);
    e.observe(&Event::new(
        "us_a",
        &page[0],
        T0 + 1,
        EventKind::NotInterested,
    ))
    .unwrap();
    let author = author_of(&page[0]);
    let next = first_page(&e, "us_a", T0 + 2);
    assert!(next.iter().all(|v| author_of(v) != author), "{next:?}");
    // Another user is unaffected.
    assert!(
        first_page(&e, "us_b", T0 + 2)
            .iter()
            .any(|v| author_of(v) == author)
    );
}

#[test]
fn seen_window_prevents_repeats_and_then_expires() {
    let mut m = manifest("short-window");
    m.filters.seen_window_secs = 600;
    let mut e = engine_with(&m);
    let mut shown = std::collections::HashSet::new();
    for p in 0..8 {
        let page = e.rank(&Query::new("us_a", 10, T0 + p)).unwrap();
        assert_eq!(page.items.len(), 10);
        for i in page.items {
            assert!(
                shown.insert(i.video_id.clone()),
                "{} repeated on page {p}",
                i.video_id
            );
        }
    }
    // After the window, served videos may come back.
    let later = e.rank(&Query::new("us_a", 10, T0 + 601_000)).unwrap();
    assert!(later.items.iter().any(|i| shown.contains(&i.video_id)));
    // The session's exclude list is honoured in every mode.
    let excl: Vec<String> = later.items.iter().map(|i| i.video_id.clone()).collect();
    let q = Query {
        exclude: excl.clone(),
        non_profiled: true,
        ..Query::new("us_a", 10, T0 + 601_001)
    };
    let page = e.rank_preview(&q).unwrap();
    assert!(page.items.iter().all(|i| !excl.contains(&i.video_id)));
}

#[test]
fn author_diversity_caps_each_page() {
    let mut e = engine();
    let mut t = T0;
    train_user(&mut e, "us_cook", "cooking", 3, &mut t);
    let page = e.rank(&Query::new("us_cook", 10, t)).unwrap();
    let mut per: std::collections::HashMap<String, usize> = Default::default();
    for i in &page.items {
        *per.entry(author_of(&i.video_id)).or_default() += 1;
    }
    let cap = manifest("r1").filters.max_per_author;
    assert!(per.values().all(|&n| n <= cap), "{per:?}");
}
