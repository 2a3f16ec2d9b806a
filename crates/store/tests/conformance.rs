//! One conformance suite for every storage backend: each test below runs
//! on SQLite and on PostgreSQL, each time in fresh databases.

use std::collections::HashSet;
use std::sync::Arc;

use sovereel_model::{AccountState, COLUMNS, CommentPolicy, DataClass, Db, VideoState, Visibility};
use sovereel_store::testing::TestDatabases;
use sovereel_store::*;

struct Fixture {
    region: Arc<dyn RegionStore>,
    catalog: Arc<dyn CatalogStore>,
    region_url: String,
    catalog_url: String,
    _dbs: TestDatabases,
}

async fn fixture(backend: Backend) -> Fixture {
    let mut dbs = TestDatabases::new(backend);
    let region_url = dbs.url("us");
    let catalog_url = dbs.url("catalog");
    Fixture {
        region: open_region(&region_url).await.expect("open region"),
        catalog: open_catalog(&catalog_url).await.expect("open catalog"),
        region_url,
        catalog_url,
        _dbs: dbs,
    }
}

/// Relays every pending outbox change of `region` into the catalog or region.
async fn relay(f: &Fixture) {
    loop {
        let pending = f.region.pending_changes(100).await.unwrap();
        if pending.is_empty() {
            break;
        }
        let mut done = vec![];
        for p in pending {
            match p.target {
                Target::Catalog => f
                    .catalog
                    .apply_change("us", p.seq, &p.change)
                    .await
                    .unwrap(),
                Target::Region(_) => f.region.apply_change("us", p.seq, &p.change).await.unwrap(),
            };
            done.push(p.seq);
        }
        f.region.mark_applied(&done).await.unwrap();
    }
}

fn user(id: &str, handle: &str) -> UserRecord {
    UserRecord {
        id: id.into(),
        handle: handle.into(),
        display_name: handle.to_uppercase(),
        bio: String::new(),
        private: false,
        email: format!("{handle}@example.org"),
        birthdate: "2000-01-01".into(),
        country: "US".into(),
        password_hash: "$argon2id$x".into(),
        non_profiled: false,
        state: AccountState::Active,
        delete_after: None,
        created_at: 1_000,
    }
}

fn video(id: &str, author: &str, at: i64, visibility: &str) -> VideoRecord {
    VideoRecord {
        id: id.into(),
        author_id: author.into(),
        caption: format!("clip {id} #cooking"),
        hashtags: vec!["cooking".into()],
        mentions: vec![],
        visibility: Visibility::parse(visibility).unwrap(),
        comments_policy: CommentPolicy::Everyone,
        state: VideoState::Processing,
        state_reason: None,
        duration_ms: None,
        width: None,
        height: None,
        media_key: None,
        poster_key: None,
        content_type: None,
        sha256: "00".repeat(32),
        size_bytes: 10,
        transcoded: false,
        created_at: at,
        counts: Counts::default(),
        draft: false,
    }
}

fn ready() -> ProcessingOutcome {
    ProcessingOutcome {
        state: VideoState::Ready,
        state_reason: None,
        duration_ms: Some(2000),
        width: Some(720),
        height: Some(1280),
        media_key: Some("m".into()),
        poster_key: None,
        content_type: Some("video/mp4".into()),
        transcoded: true,
    }
}

fn publish(v: &VideoRecord) -> OutboxItem {
    OutboxItem::new(
        Target::Catalog,
        Change::PublishVideo {
            id: v.id.clone(),
            author_id: v.author_id.clone(),
            caption: v.caption.clone(),
            hashtags: v.hashtags.clone(),
            mentions: vec![],
            comments_policy: v.comments_policy,
            duration_ms: Some(2000),
            width: Some(720),
            height: Some(1280),
            created_at: v.created_at,
        },
    )
}

fn profile(u: &UserRecord) -> OutboxItem {
    OutboxItem::new(
        Target::Catalog,
        Change::UpsertProfile {
            user_id: u.id.clone(),
            handle: u.handle.clone(),
            display_name: u.display_name.clone(),
            bio: u.bio.clone(),
            private: u.private,
            region: "us".into(),
            created_at: u.created_at,
        },
    )
}

fn like_counts(video: &str, author: &str, d: i64) -> Vec<OutboxItem> {
    vec![
        OutboxItem::new(
            Target::Catalog,
            Change::VideoCounts {
                video_id: video.into(),
                likes: d,
                comments: 0,
                shares: 0,
                views: 0,
            },
        ),
        OutboxItem::new(
            Target::Catalog,
            Change::ProfileCounts {
                user_id: author.into(),
                followers: 0,
                following: 0,
                likes: d,
            },
        ),
    ]
}

async fn live_columns(f: &Fixture, db: Db) -> HashSet<(String, String)> {
    let url = if db == Db::Region {
        &f.region_url
    } else {
        &f.catalog_url
    };
    let mut out = HashSet::new();
    use sqlx::{Connection, Row};
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let tables = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'")
            .fetch_all(&mut c).await.unwrap();
        for t in tables {
            let name: String = t.get("name");
            for col in sqlx::query(&format!("PRAGMA table_info({name})"))
                .fetch_all(&mut c)
                .await
                .unwrap()
            {
                out.insert((name.clone(), col.get::<String, _>("name")));
            }
        }
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let rows = sqlx::query("SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'")
            .fetch_all(&mut c).await.unwrap();
        for r in rows {
            out.insert((r.get("t"), r.get("c")));
        }
    }
    out
}

async fn every_column_has_a_data_class(f: Fixture) {
    for db in [Db::Region, Db::Catalog] {
        let live = live_columns(&f, db).await;
        assert!(!live.is_empty());
        let declared: HashSet<(String, String)> = COLUMNS
            .iter()
            .filter(|c| c.db == db)
            .map(|c| (c.table.to_string(), c.column.to_string()))
            .collect();
        let unclassified: Vec<_> = live.difference(&declared).collect();
        assert!(
            unclassified.is_empty(),
            "{db:?} columns without a data class: {unclassified:?}"
        );
        let stale: Vec<_> = declared.difference(&live).collect();
        assert!(
            stale.is_empty(),
            "{db:?} classes for columns that do not exist: {stale:?}"
        );
    }
    assert!(
        COLUMNS
            .iter()
            .filter(|c| c.db == Db::Catalog)
            .all(|c| c.class != DataClass::Protected)
    );
}

async fn accounts_and_sessions(f: Fixture) {
    let a = user("us_a", "alice");
    f.region.create_user(&a, &[profile(&a)]).await.unwrap();
    let dup = f.region.create_user(&user("us_b", "alice"), &[]).await;
    assert!(matches!(dup, Err(StoreError::Conflict("handle"))));
    assert_eq!(f.region.user("us_a").await.unwrap().unwrap(), a);
    assert_eq!(
        f.region.user_by_handle("alice").await.unwrap().unwrap().id,
        "us_a"
    );
    assert!(f.region.user("us_zz").await.unwrap().is_none());
    let patch = ProfilePatch {
        bio: Some("hi".into()),
        private: Some(true),
        ..Default::default()
    };
    let u = f.region.update_profile("us_a", &patch, &[]).await.unwrap();
    assert_eq!(
        (u.bio.as_str(), u.private, u.display_name.as_str()),
        ("hi", true, "ALICE")
    );
    assert!(matches!(
        f.region.update_profile("us_none", &patch, &[]).await,
        Err(StoreError::NotFound)
    ));

    f.region
        .create_session("h1", "us_a", 10, 100)
        .await
        .unwrap();
    assert_eq!(
        f.region.session_user("h1", 50).await.unwrap().as_deref(),
        Some("us_a")
    );
    assert_eq!(
        f.region.session_user("h1", 100).await.unwrap(),
        None,
        "expired"
    );
    assert!(f.region.delete_session("h1").await.unwrap());
    assert_eq!(f.region.session_user("h1", 50).await.unwrap(), None);

    f.catalog
        .reserve_handle("alice", "us_a", "us", 1)
        .await
        .unwrap();
    assert!(matches!(
        f.catalog.reserve_handle("alice", "au_x", "au", 1).await,
        Err(StoreError::Conflict("handle"))
    ));
    assert_eq!(
        f.catalog.resolve_handle("alice").await.unwrap(),
        Some(("us_a".into(), "us".into()))
    );
    // One name by its skeleton: trailing punctuation and look-alikes.
    for lookalike in ["alice.", "_alice", "a1ice", "Alice", "allce"] {
        assert!(
            matches!(
                f.catalog.reserve_handle(lookalike, "au_y", "au", 1).await,
                Err(StoreError::Conflict("handle"))
            ),
            "{lookalike} is alice"
        );
    }
    // A deleted account's handle stays taken; a released reservation (a
    // sign-up its home refused) does not.
    f.catalog
        .reserve_handle("gone_soon", "us_g", "us", 1)
        .await
        .unwrap();
    let purge = Change::PurgeUser {
        user_id: "us_g".into(),
        handle: "gone_soon".into(),
    };
    assert!(f.catalog.apply_change("us", 9_000, &purge).await.unwrap());
    assert_eq!(f.catalog.resolve_handle("gone_soon").await.unwrap(), None);
    for again in ["gone_soon", "gone.soon", "g0ne_soon"] {
        assert!(
            matches!(
                f.catalog.reserve_handle(again, "au_z", "au", 2).await,
                Err(StoreError::Conflict("handle"))
            ),
            "{again} was retired with the deleted account"
        );
    }
    f.catalog
        .reserve_handle("refused", "us_r", "us", 1)
        .await
        .unwrap();
    f.catalog.release_handle("refused", "us_r").await.unwrap();
    f.catalog
        .reserve_handle("refused", "au_r", "au", 2)
        .await
        .unwrap();
    relay(&f).await;
    assert_eq!(
        f.catalog
            .profile_by_handle("alice")
            .await
            .unwrap()
            .unwrap()
            .user_id,
        "us_a"
    );
}

async fn videos_publish_and_list(f: Fixture) {
    let a = user("us_a", "alice");
    f.region.create_user(&a, &[profile(&a)]).await.unwrap();
    for i in 0..5 {
        let v = video(
            &format!("us_v{i}"),
            "us_a",
            100 + i,
            if i == 4 { "private" } else { "public" },
        );
        f.region.insert_video(&v).await.unwrap();
    }
    assert_eq!(f.region.processing_videos().await.unwrap().len(), 5);
    for i in 0..5 {
        let v = f.region.video(&format!("us_v{i}")).await.unwrap().unwrap();
        let out = if v.visibility == Visibility::Public {
            vec![publish(&v)]
        } else {
            vec![]
        };
        f.region
            .finish_processing(&v.id, &ready(), &out)
            .await
            .unwrap();
    }
    assert!(matches!(
        f.region.finish_processing("us_v0", &ready(), &[]).await,
        Err(StoreError::NotFound)
    ));
    assert!(f.region.processing_videos().await.unwrap().is_empty());
    relay(&f).await;

    let page = f
        .region
        .author_videos(&["us_a".into()], &[Visibility::Public], None, 2)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        ["us_v3", "us_v2"]
    );
    let cur = Cursor {
        key: page[1].created_at as f64,
        id: page[1].id.clone(),
    };
    let page2 = f
        .region
        .author_videos(&["us_a".into()], &[Visibility::Public], Some(&cur), 10)
        .await
        .unwrap();
    assert_eq!(
        page2.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        ["us_v1", "us_v0"]
    );

    let fresh = f.catalog.fresh_videos(None, 10).await.unwrap();
    assert_eq!(fresh.len(), 4, "private video is not in the catalog");
    assert_eq!(f.catalog.hashtag_count("cooking").await.unwrap(), 4);
    assert_eq!(
        f.catalog
            .hashtag_videos("cooking", None, 10)
            .await
            .unwrap()
            .len(),
        4
    );
    assert_eq!(f.catalog.profile("us_a").await.unwrap().unwrap().videos, 4);
    let found = f
        .catalog
        .search_captions(&["clip".into(), "us_v2".into()], 10)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        f.catalog.search_hashtags("coo", 10).await.unwrap(),
        vec![("cooking".to_string(), 4)]
    );
    assert_eq!(f.catalog.search_profiles("ali", 10).await.unwrap().len(), 1);
    assert!(
        f.catalog
            .search_profiles("100%", 10)
            .await
            .unwrap()
            .is_empty()
    );

    let v0 = f.catalog.video("us_v0").await.unwrap().unwrap();
    assert!(
        f.region
            .delete_video(
                "us_v0",
                &[OutboxItem::new(
                    Target::Catalog,
                    Change::UnpublishVideo {
                        id: v0.id.clone(),
                        author_id: "us_a".into()
                    }
                )]
            )
            .await
            .unwrap()
    );
    assert!(!f.region.delete_video("us_v0", &[]).await.unwrap());
    relay(&f).await;
    assert!(f.catalog.video("us_v0").await.unwrap().is_none());
    assert_eq!(f.catalog.hashtag_count("cooking").await.unwrap(), 3);
}

async fn likes_are_idempotent_and_counted_once(f: Fixture) {
    let a = user("us_a", "alice");
    f.region.create_user(&a, &[profile(&a)]).await.unwrap();
    let v = video("us_v", "us_a", 1, "public");
    f.region.insert_video(&v).await.unwrap();
    f.region
        .finish_processing("us_v", &ready(), &[publish(&v)])
        .await
        .unwrap();
    relay(&f).await;
    assert!(
        f.region
            .like("us_b", "us_v", 5, &like_counts("us_v", "us_a", 1))
            .await
            .unwrap()
    );
    assert!(
        !f.region
            .like("us_b", "us_v", 6, &like_counts("us_v", "us_a", 1))
            .await
            .unwrap()
    );
    relay(&f).await;
    assert_eq!(
        f.catalog.video("us_v").await.unwrap().unwrap().counts.likes,
        1
    );
    assert_eq!(
        f.region
            .liked_among("us_b", &["us_v".into(), "us_w".into()])
            .await
            .unwrap(),
        vec!["us_v".to_string()]
    );
    // The liked list: newest like first, in pages; ties broken by id.
    for (vid, at) in [("us_x", 7), ("us_y", 7), ("us_z", 9)] {
        f.region.like("us_b", vid, at, &[]).await.unwrap();
    }
    let first = f.region.liked_videos("us_b", None, 2).await.unwrap();
    assert_eq!(
        first,
        vec![("us_z".to_string(), 9), ("us_y".to_string(), 7)]
    );
    let after = Cursor {
        key: 7.0,
        id: "us_y".into(),
    };
    assert_eq!(
        f.region
            .liked_videos("us_b", Some(&after), 5)
            .await
            .unwrap(),
        vec![("us_x".to_string(), 7), ("us_v".to_string(), 5)]
    );
    assert!(
        f.region
            .liked_videos("us_a", None, 5)
            .await
            .unwrap()
            .is_empty()
    );
    for vid in ["us_x", "us_y", "us_z"] {
        f.region.unlike("us_b", vid, &[]).await.unwrap();
    }
    // Applying the same outbox entry twice changes nothing.
    let change = Change::VideoCounts {
        video_id: "us_v".into(),
        likes: 1,
        comments: 0,
        shares: 0,
        views: 0,
    };
    assert!(f.catalog.apply_change("au", 7, &change).await.unwrap());
    assert!(!f.catalog.apply_change("au", 7, &change).await.unwrap());
    assert_eq!(
        f.catalog.video("us_v").await.unwrap().unwrap().counts.likes,
        2
    );
    assert!(
        f.region
            .unlike("us_b", "us_v", &like_counts("us_v", "us_a", -1))
            .await
            .unwrap()
    );
    assert!(
        !f.region
            .unlike("us_b", "us_v", &like_counts("us_v", "us_a", -1))
            .await
            .unwrap()
    );
    relay(&f).await;
    assert_eq!(
        f.catalog.video("us_v").await.unwrap().unwrap().counts.likes,
        1
    );
    let hot = f.catalog.hot_videos(None, 5).await.unwrap();
    assert_eq!(hot[0].id, "us_v");
}

async fn concurrent_likes_keep_counters_exact(f: Fixture) {
    let a = user("us_a", "alice");
    f.region.create_user(&a, &[profile(&a)]).await.unwrap();
    let v = video("us_v", "us_a", 1, "public");
    f.region.insert_video(&v).await.unwrap();
    f.region
        .finish_processing("us_v", &ready(), &[publish(&v)])
        .await
        .unwrap();
    let mut tasks = vec![];
    for i in 0..40 {
        let r = f.region.clone();
        tasks.push(tokio::spawn(async move {
            // Every user likes twice; only the first counts.
            for _ in 0..2 {
                r.like(
                    &format!("us_u{i}"),
                    "us_v",
                    5,
                    &like_counts("us_v", "us_a", 1),
                )
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    relay(&f).await;
    assert_eq!(
        f.catalog.video("us_v").await.unwrap().unwrap().counts.likes,
        40
    );
    assert_eq!(f.catalog.profile("us_a").await.unwrap().unwrap().likes, 40);
}

async fn follows_and_blocks(f: Fixture) {
    assert_eq!(
        f.region
            .follow("us_b", "us_a", FollowState::Pending, 3, &[])
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        f.region.pending_requests("us_a", 10).await.unwrap(),
        vec!["us_b".to_string()]
    );
    assert!(
        f.region.following("us_b", 10).await.unwrap().is_empty(),
        "pending is not following"
    );
    assert_eq!(
        f.region
            .follow("us_b", "us_a", FollowState::Approved, 4, &[])
            .await
            .unwrap(),
        Some(FollowState::Pending)
    );
    assert!(
        f.region
            .pending_requests("us_a", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.region.following("us_b", 10).await.unwrap(),
        vec!["us_a".to_string()]
    );
    assert_eq!(
        f.region.follow_state("us_b", "us_a").await.unwrap(),
        Some(FollowState::Approved)
    );
    assert_eq!(
        f.region.unfollow("us_b", "us_a", &[]).await.unwrap(),
        Some(FollowState::Approved)
    );
    assert_eq!(f.region.unfollow("us_b", "us_a", &[]).await.unwrap(), None);
    assert_eq!(f.region.follow_state("us_b", "us_a").await.unwrap(), None);

    assert!(f.region.block("us_a", "us_b", 5, &[]).await.unwrap());
    assert!(!f.region.block("us_a", "us_b", 5, &[]).await.unwrap());
    assert!(f.region.has_blocked("us_a", "us_b").await.unwrap());
    assert!(!f.region.has_blocked("us_b", "us_a").await.unwrap());
    assert_eq!(
        f.region.blocked_by("us_a").await.unwrap(),
        vec!["us_b".to_string()]
    );
    assert_eq!(
        f.region.blockers_of("us_b").await.unwrap(),
        vec!["us_a".to_string()]
    );
    assert!(f.region.unblock("us_a", "us_b", &[]).await.unwrap());
    assert!(!f.region.has_blocked("us_a", "us_b").await.unwrap());
}

async fn comments_with_replies(f: Fixture) {
    let c = |id: &str, parent: Option<&str>, at: i64| CommentRecord {
        id: id.into(),
        video_id: "us_v".into(),
        author_id: "us_b".into(),
        author_handle: "bob".into(),
        text: format!("text {id}"),
        parent_id: parent.map(str::to_string),
        created_at: at,
        replies_count: 0,
    };
    for (i, cm) in [
        c("us_c1", None, 1),
        c("us_c2", None, 2),
        c("us_c3", Some("us_c1"), 3),
    ]
    .into_iter()
    .enumerate()
    {
        f.region
            .record_comment(
                &cm.id,
                "us_b",
                "us_v",
                cm.created_at,
                &[OutboxItem::new(
                    Target::Catalog,
                    Change::InsertComment {
                        comment: cm.clone(),
                    },
                )],
            )
            .await
            .unwrap();
        let _ = i;
    }
    relay(&f).await;
    let top = f.catalog.comments("us_v", None, None, 10).await.unwrap();
    assert_eq!(
        top.iter()
            .map(|c| (c.id.as_str(), c.replies_count))
            .collect::<Vec<_>>(),
        [("us_c1", 1), ("us_c2", 0)]
    );
    let replies = f
        .catalog
        .comments("us_v", Some("us_c1"), None, 10)
        .await
        .unwrap();
    assert_eq!(replies.len(), 1);
    let after = Cursor {
        key: 1.0,
        id: "us_c1".into(),
    };
    assert_eq!(
        f.catalog
            .comments("us_v", None, Some(&after), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(f.catalog.comment("us_c3").await.unwrap().is_some());
}

async fn events_and_seen(f: Fixture) {
    let ev = |v: &str, kind: &str, at: i64| EventRecord {
        user_id: "us_a".into(),
        video_id: v.into(),
        kind: kind.into(),
        watch_ms: Some(10),
        duration_ms: Some(20),
        at,
    };
    f.region
        .append_events(
            &[
                ev("v1", "impression", 1),
                ev("v2", "view", 2),
                ev("v1", "view", 3),
                ev("v3", "like", 4),
            ],
            &[],
        )
        .await
        .unwrap();
    let seen = f.region.seen_videos("us_a", 10).await.unwrap();
    assert_eq!(seen, vec!["v1".to_string(), "v2".to_string()]);
    assert!(f.region.seen_videos("us_b", 10).await.unwrap().is_empty());
}

/// What a region-wide lifecycle step reads: every user homed here, paged
/// in id order, and the staff sessions a hand-over ends.
async fn users_listed_and_staff_sessions_ended(f: Fixture) {
    for (id, handle) in [("us_c", "carol"), ("us_a", "alice"), ("us_b", "bob")] {
        let u = user(id, handle);
        f.region.create_user(&u, &[]).await.unwrap();
    }
    assert_eq!(
        f.region.user_ids(None, 2).await.unwrap(),
        vec!["us_a".to_string(), "us_b".to_string()]
    );
    assert_eq!(
        f.region.user_ids(Some("us_b"), 2).await.unwrap(),
        vec!["us_c".to_string()]
    );
    assert!(f.region.user_ids(Some("us_c"), 2).await.unwrap().is_empty());

    for (id, org) in [
        ("s-old", "custodian"),
        ("s-older", "custodian:First Trust"),
        ("s-new", "custodian:Next Trust"),
        ("s-platform", "platform"),
    ] {
        f.region
            .create_staff(&StaffRecord {
                id: id.into(),
                handle: id.replace('-', "_"),
                org: org.into(),
                role: "operator".into(),
                password_hash: "x".into(),
                created_at: 1,
            })
            .await
            .unwrap();
        f.region
            .create_staff_session(&format!("t-{id}"), id, 1, 100)
            .await
            .unwrap();
    }
    assert_eq!(
        f.region
            .end_staff_sessions_except("custodian:Next Trust")
            .await
            .unwrap(),
        2
    );
    for (id, live) in [
        ("s-old", false),
        ("s-older", false),
        ("s-new", true),
        ("s-platform", true),
    ] {
        let st = f
            .region
            .staff_session(&format!("t-{id}"), 50)
            .await
            .unwrap();
        assert_eq!(st.is_some(), live, "{id}");
    }
}

fn note(
    id: &str,
    to: &str,
    kind: &str,
    actor: Option<&str>,
    video: Option<&str>,
    at: i64,
) -> NotificationRecord {
    NotificationRecord {
        id: id.into(),
        recipient_id: to.into(),
        kind: sovereel_model::InboxKind::parse(kind).unwrap(),
        actor_id: actor.map(Into::into),
        actor_handle: actor.map(|a| format!("h_{a}")),
        actor_region: actor.map(|_| "au".into()),
        video_id: video.map(Into::into),
        comment_id: None,
        text: None,
        created_at: at,
        read_at: None,
    }
}

async fn inbox_groups_read_state_and_blocks(f: Fixture) {
    for (id, h) in [
        ("us_a", "alice"),
        ("us_b", "bob"),
        ("us_c", "carol"),
        ("us_d", "dan"),
    ] {
        f.region.create_user(&user(id, h), &[]).await.unwrap();
    }
    f.region.block("us_a", "us_d", 1, &[]).await.unwrap();
    let day = 10 * NOTIFICATION_WINDOW_MS;
    let stored = f
        .region
        .add_notifications(&[
            note(
                "us_n1",
                "us_a",
                "like",
                Some("au_b"),
                Some("us_v1"),
                day + 10,
            ),
            note(
                "us_n2",
                "us_a",
                "like",
                Some("au_c"),
                Some("us_v1"),
                day + 20,
            ),
            note("us_n3", "us_a", "follow", Some("au_b"), None, day + 30),
            note(
                "us_n4",
                "us_a",
                "comment",
                Some("au_c"),
                Some("us_v1"),
                day + 40,
            ),
            // The same like again, a like by oneself, a blocked actor, an
            // unknown recipient: none is stored.
            note(
                "us_n5",
                "us_a",
                "like",
                Some("au_b"),
                Some("us_v1"),
                day + 50,
            ),
            note(
                "us_n6",
                "us_a",
                "like",
                Some("us_a"),
                Some("us_v1"),
                day + 50,
            ),
            note(
                "us_n7",
                "us_a",
                "like",
                Some("us_d"),
                Some("us_v1"),
                day + 50,
            ),
            note(
                "us_n8",
                "us_zz",
                "like",
                Some("au_b"),
                Some("us_v1"),
                day + 50,
            ),
            // The next day's likes are a group of their own.
            note(
                "us_n9",
                "us_a",
                "like",
                Some("au_d"),
                Some("us_v1"),
                day + NOTIFICATION_WINDOW_MS + 5,
            ),
        ])
        .await
        .unwrap();
    assert_eq!(stored, 5);
    let notice = NotificationRecord {
        text: Some("the custodian says hello".into()),
        ..note(
            "us_n10",
            "us_a",
            "region_notice",
            None,
            None,
            day + NOTIFICATION_WINDOW_MS + 9,
        )
    };
    assert_eq!(f.region.add_notifications(&[notice]).await.unwrap(), 1);

    let groups = f
        .region
        .notification_groups("us_a", &[], None, 10, 3)
        .await
        .unwrap();
    let shape: Vec<(String, i64, i64)> = groups
        .iter()
        .map(|g| (g.latest().id.clone(), g.count, g.unread))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("us_n10".to_string(), 1, 1),
            ("us_n9".to_string(), 1, 1),
            ("us_n4".to_string(), 1, 1),
            ("us_n3".to_string(), 1, 1),
            ("us_n2".to_string(), 2, 2),
        ]
    );
    let likes = &groups[4];
    assert_eq!(
        likes
            .recent
            .iter()
            .map(|n| n.actor_id.clone().unwrap())
            .collect::<Vec<_>>(),
        vec!["au_c", "au_b"],
        "latest actors first"
    );
    assert_eq!(
        groups[0].latest().text.as_deref(),
        Some("the custodian says hello")
    );
    assert!(
        f.region
            .notification_groups("us_b", &[], None, 10, 3)
            .await
            .unwrap()
            .is_empty()
    );

    // Pages of two, continued by cursor, cover the same groups once.
    let mut seen = vec![];
    let mut after: Option<GroupCursor> = None;
    loop {
        let page = f
            .region
            .notification_groups("us_a", &[], after.as_ref(), 2, 1)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        after = Some(GroupCursor {
            latest: last.latest().created_at,
            group_key: last.group_key.clone(),
        });
        seen.extend(page.iter().map(|g| g.latest().id.clone()));
    }
    assert_eq!(seen, shape.iter().map(|s| s.0.clone()).collect::<Vec<_>>());

    // What a hidden actor did is left out, from lists and counts.
    let hidden = vec!["au_c".to_string()];
    let groups = f
        .region
        .notification_groups("us_a", &hidden, None, 10, 3)
        .await
        .unwrap();
    assert_eq!(groups.len(), 4);
    assert_eq!(
        (groups[3].latest().id.as_str(), groups[3].count),
        ("us_n1", 1)
    );
    assert_eq!(f.region.unread_groups("us_a", &[]).await.unwrap(), 5);
    assert_eq!(f.region.unread_groups("us_a", &hidden).await.unwrap(), 4);

    // Read up to the follow: it and everything older.
    assert_eq!(
        f.region
            .mark_notifications_read("us_a", Some((day + 30, Some("us_n3"))), 99)
            .await
            .unwrap(),
        3
    );
    assert_eq!(f.region.unread_groups("us_a", &[]).await.unwrap(), 3);
    assert_eq!(
        f.region
            .notification("us_a", "us_n3")
            .await
            .unwrap()
            .unwrap()
            .read_at,
        Some(99)
    );
    assert!(
        f.region
            .notification("us_b", "us_n3")
            .await
            .unwrap()
            .is_none(),
        "only its recipient's"
    );
    assert_eq!(
        f.region
            .mark_notifications_read("us_a", Some((day + 40, None)), 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        f.region
            .mark_notifications_read("us_a", None, 101)
            .await
            .unwrap(),
        2
    );
    assert_eq!(f.region.unread_groups("us_a", &[]).await.unwrap(), 0);

    // From another region: through the outbox, without text; an unlike
    // takes its like back.
    let notify = Change::Notify {
        id: "us_n20".into(),
        recipient_id: "us_b".into(),
        kind: sovereel_model::InboxKind::FollowRequest,
        actor_id: "au_x".into(),
        actor_handle: "xena".into(),
        actor_region: "au".into(),
        video_id: None,
        comment_id: None,
        created_at: day,
    };
    let json = serde_json::to_string(&notify).unwrap();
    assert!(json.contains(r#""kind":"follow_request""#), "{json}");
    assert_eq!(serde_json::from_str::<Change>(&json).unwrap(), notify);
    assert!(f.region.apply_change("au", 1, &notify).await.unwrap());
    assert!(
        !f.region.apply_change("au", 1, &notify).await.unwrap(),
        "applied once"
    );
    let got = f
        .region
        .notification("us_b", "us_n20")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.actor_handle.as_deref(), got.text),
        (Some("xena"), None)
    );
    let retract = Change::Retract {
        recipient_id: "us_a".into(),
        kind: sovereel_model::InboxKind::Like,
        actor_id: "au_b".into(),
        video_id: Some("us_v1".into()),
    };
    assert!(f.region.apply_change("au", 2, &retract).await.unwrap());
    assert!(
        f.region
            .notification("us_a", "us_n1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        f.region
            .notification("us_a", "us_n2")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        f.catalog.apply_change("au", 3, &notify).await.is_err(),
        "inboxes are not in the catalog"
    );
    let forget = Change::ForgetActor {
        recipient_id: "us_b".into(),
        actor_id: "au_x".into(),
    };
    assert!(f.region.apply_change("au", 4, &forget).await.unwrap());
    assert!(
        f.region
            .notification("us_b", "us_n20")
            .await
            .unwrap()
            .is_none(),
        "a block forgets"
    );

    // Queued on their own: notification changes only.
    let before = f.region.pending_changes(100).await.unwrap().len();
    f.region
        .queue_notifications(&[OutboxItem::new(
            Target::Region("au".into()),
            retract.clone(),
        )])
        .await
        .unwrap();
    assert_eq!(
        f.region.pending_changes(100).await.unwrap().len(),
        before + 1
    );
    let counts = OutboxItem::new(
        Target::Catalog,
        Change::VideoCounts {
            video_id: "us_v1".into(),
            likes: 1,
            comments: 0,
            shares: 0,
            views: 0,
        },
    );
    assert!(f.region.queue_notifications(&[counts]).await.is_err());

    assert_eq!(
        f.region.inbox_owners(None, 2).await.unwrap(),
        vec!["us_a".to_string(), "us_b".to_string()]
    );
    assert_eq!(
        f.region.inbox_owners(Some("us_b"), 10).await.unwrap(),
        vec!["us_c".to_string(), "us_d".to_string()]
    );

    // An export holds the inbox; deleting the account deletes it.
    let rows = f.region.export_user("us_a").await.unwrap();
    assert_eq!(
        rows.iter().filter(|r| r.table == "notifications").count(),
        5
    );
    f.region.purge_user("us_a", &[]).await.unwrap();
    assert!(
        f.region
            .notification_groups("us_a", &[], None, 10, 3)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn password_change_ends_other_sessions(f: Fixture) {
    f.region
        .create_user(&user("us_a", "alice"), &[])
        .await
        .unwrap();
    for h in ["s1", "s2", "s3"] {
        f.region.create_session(h, "us_a", 1, 1000).await.unwrap();
    }
    f.region
        .set_password("us_a", "$argon2id$new", "s2")
        .await
        .unwrap();
    assert_eq!(
        f.region.user("us_a").await.unwrap().unwrap().password_hash,
        "$argon2id$new"
    );
    assert_eq!(f.region.session_user("s1", 2).await.unwrap(), None);
    assert_eq!(
        f.region.session_user("s2", 2).await.unwrap().as_deref(),
        Some("us_a")
    );
    assert_eq!(f.region.session_user("s3", 2).await.unwrap(), None);
    assert!(matches!(
        f.region.set_password("us_none", "x", "s2").await,
        Err(StoreError::NotFound)
    ));
}

/// Drafts stay out of every list but the owner's; an edit applies only to
/// the row it was made from; the catalog follows a public video's edit
/// (caption, mentions, policy, hashtag pages).
async fn drafts_edits_and_the_catalog(f: Fixture) {
    let a = user("us_a", "ana");
    f.region.create_user(&a, &[profile(&a)]).await.unwrap();
    let mut d = video("us_d1", "us_a", 10, "public");
    d.draft = true;
    d.caption = "sf1.sealed".into();
    d.hashtags.clear();
    f.region.insert_video(&d).await.unwrap();
    f.region
        .finish_processing("us_d1", &ready(), &[])
        .await
        .unwrap();
    let v = video("us_v1", "us_a", 20, "public");
    f.region.insert_video(&v).await.unwrap();
    f.region
        .finish_processing("us_v1", &ready(), &[publish(&v)])
        .await
        .unwrap();
    relay(&f).await;
    let listed = f
        .region
        .author_videos(&["us_a".into()], &[Visibility::Public], None, 10)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        ["us_v1"]
    );
    let drafts = f.region.drafts("us_a", None, 10).await.unwrap();
    assert_eq!(drafts.len(), 1);
    assert!(drafts[0].draft && drafts[0].caption == "sf1.sealed");
    assert!(f.region.drafts("us_b", None, 10).await.unwrap().is_empty());
    let after = Cursor {
        key: 10.0,
        id: "us_d1".into(),
    };
    assert!(
        f.region
            .drafts("us_a", Some(&after), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Publishing is an edit from the draft's row; a second one finds it moved on.
    let publish_edit = VideoEdit {
        caption: "dinner #pasta".into(),
        hashtags: vec!["pasta".into()],
        mentions: vec![],
        visibility: Visibility::Public,
        comments_policy: CommentPolicy::Everyone,
        draft: false,
        media_key: Some("m".into()),
        poster_key: None,
        was_caption: "sf1.sealed".into(),
        was_visibility: Visibility::Public,
        was_draft: true,
    };
    assert!(
        f.region
            .edit_video("us_d1", &publish_edit, &[])
            .await
            .unwrap()
    );
    assert!(
        !f.region
            .edit_video("us_d1", &publish_edit, &[])
            .await
            .unwrap()
    );
    let got = f.region.video("us_d1").await.unwrap().unwrap();
    assert!(!got.draft);
    assert_eq!(
        (got.caption.as_str(), got.hashtags.clone()),
        ("dinner #pasta", vec!["pasta".to_string()])
    );
    assert!(f.region.drafts("us_a", None, 10).await.unwrap().is_empty());
    // Not ready: no edit.
    f.region
        .insert_video(&video("us_p1", "us_a", 30, "public"))
        .await
        .unwrap();
    let mut e = publish_edit.clone();
    e.was_caption = "clip us_p1 #cooking".into();
    e.was_draft = false;
    assert!(!f.region.edit_video("us_p1", &e, &[]).await.unwrap());

    // The catalog's copy of a public video follows its edit.
    assert_eq!(f.catalog.hashtag_count("cooking").await.unwrap(), 1);
    let edit = VideoEdit {
        caption: "new words #baking @bo".into(),
        hashtags: vec!["baking".into()],
        mentions: vec!["bo".into()],
        visibility: Visibility::Public,
        comments_policy: CommentPolicy::Nobody,
        draft: false,
        media_key: Some("m".into()),
        poster_key: None,
        was_caption: v.caption.clone(),
        was_visibility: Visibility::Public,
        was_draft: false,
    };
    let change = OutboxItem::new(
        Target::Catalog,
        Change::EditVideo {
            id: "us_v1".into(),
            caption: edit.caption.clone(),
            hashtags: edit.hashtags.clone(),
            mentions: edit.mentions.clone(),
            comments_policy: CommentPolicy::Nobody,
        },
    );
    assert!(
        f.region
            .edit_video("us_v1", &edit, &[change])
            .await
            .unwrap()
    );
    relay(&f).await;
    let c = f.catalog.video("us_v1").await.unwrap().unwrap();
    assert_eq!(c.caption, "new words #baking @bo");
    assert_eq!(c.hashtags, ["baking"]);
    assert_eq!(c.mentions, ["bo"]);
    assert_eq!(c.comments_policy, CommentPolicy::Nobody);
    assert_eq!(f.catalog.hashtag_count("cooking").await.unwrap(), 0);
    assert_eq!(f.catalog.hashtag_count("baking").await.unwrap(), 1);
    assert!(
        f.catalog
            .hashtag_videos("cooking", None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        f.catalog.hashtag_videos("baking", None, 10).await.unwrap()[0].id,
        "us_v1"
    );
    assert_eq!(
        f.catalog
            .search_captions(&["words".into()], 10)
            .await
            .unwrap()
            .len(),
        1
    );
    // An edit of a video the catalog does not have changes nothing there.
    let ghost = OutboxItem::new(
        Target::Catalog,
        Change::EditVideo {
            id: "us_none".into(),
            caption: "x #ghost".into(),
            hashtags: vec!["ghost".into()],
            mentions: vec![],
            comments_policy: CommentPolicy::Everyone,
        },
    );
    let mut e2 = edit.clone();
    e2.was_caption = edit.caption.clone();
    e2.was_visibility = Visibility::Public;
    assert!(f.region.edit_video("us_v1", &e2, &[ghost]).await.unwrap());
    relay(&f).await;
    assert_eq!(f.catalog.hashtag_count("ghost").await.unwrap(), 0);
}

/// Follower and following pages: approved edges only, newest first, by
/// keyset cursor with ties broken by id.
async fn follow_lists_page_by_time(f: Fixture) {
    for (who, at) in [("us_b", 5), ("us_c", 7), ("us_d", 7), ("us_e", 9)] {
        f.region
            .follow(who, "us_a", FollowState::Approved, at, &[])
            .await
            .unwrap();
    }
    f.region
        .follow("us_p", "us_a", FollowState::Pending, 11, &[])
        .await
        .unwrap();
    f.region
        .follow("us_b", "us_x", FollowState::Approved, 3, &[])
        .await
        .unwrap();
    let first = f.region.followers_page("us_a", None, 2).await.unwrap();
    assert_eq!(first, [("us_e".to_string(), 9), ("us_d".to_string(), 7)]);
    let at = Cursor {
        key: 7.0,
        id: "us_d".into(),
    };
    let second = f
        .region
        .followers_page("us_a", Some(&at), 10)
        .await
        .unwrap();
    assert_eq!(second, [("us_c".to_string(), 7), ("us_b".to_string(), 5)]);
    let following = f.region.following_page("us_b", None, 10).await.unwrap();
    assert_eq!(
        following,
        [("us_a".to_string(), 5), ("us_x".to_string(), 3)]
    );
    let at = Cursor {
        key: 5.0,
        id: "us_a".into(),
    };
    assert_eq!(
        f.region
            .following_page("us_b", Some(&at), 10)
            .await
            .unwrap(),
        [("us_x".to_string(), 3)]
    );
    assert!(
        f.region
            .following_page("us_p", None, 10)
            .await
            .unwrap()
            .is_empty(),
        "pending is not following"
    );
}

/// The filters document is written as a compare-and-swap on its version,
/// and goes with the account.
async fn content_filters_compare_and_swap(f: Fixture) {
    let a = user("us_a", "ana");
    f.region.create_user(&a, &[]).await.unwrap();
    assert_eq!(f.region.content_filters("us_a").await.unwrap(), None);
    assert!(
        f.region
            .save_content_filters("us_a", "one", 0, 1)
            .await
            .unwrap()
    );
    assert!(
        !f.region
            .save_content_filters("us_a", "stale", 0, 2)
            .await
            .unwrap()
    );
    assert_eq!(
        f.region.content_filters("us_a").await.unwrap(),
        Some(("one".to_string(), 1))
    );
    assert!(
        f.region
            .save_content_filters("us_a", "two", 1, 3)
            .await
            .unwrap()
    );
    assert!(
        !f.region
            .save_content_filters("us_a", "lost", 1, 4)
            .await
            .unwrap()
    );
    assert_eq!(
        f.region.content_filters("us_a").await.unwrap(),
        Some(("two".to_string(), 2))
    );
    // Concurrent writers from one version: exactly one wins.
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..8 {
        let r = f.region.clone();
        writers.spawn(async move {
            r.save_content_filters("us_a", &format!("w{i}"), 2, 5)
                .await
                .unwrap()
        });
    }
    let wins = writers.join_all().await;
    assert_eq!(wins.iter().filter(|w| **w).count(), 1);
    let exported = f.region.export_user("us_a").await.unwrap();
    assert!(exported.iter().any(|r| r.table == "content_filters"));
    f.region.purge_user("us_a", &[]).await.unwrap();
    assert_eq!(f.region.content_filters("us_a").await.unwrap(), None);
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::fixture(sovereel_store::Backend::Sqlite).await).await } )*
        }
        mod postgres {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(super::fixture(sovereel_store::Backend::Postgres).await).await } )*
        }
    };
}

conformance!(
    every_column_has_a_data_class,
    accounts_and_sessions,
    videos_publish_and_list,
    likes_are_idempotent_and_counted_once,
    concurrent_likes_keep_counters_exact,
    follows_and_blocks,
    comments_with_replies,
    events_and_seen,
    users_listed_and_staff_sessions_ended,
    inbox_groups_read_state_and_blocks,
    password_change_ends_other_sessions,
    drafts_edits_and_the_catalog,
    follow_lists_page_by_time,
    content_filters_compare_and_swap,
);
