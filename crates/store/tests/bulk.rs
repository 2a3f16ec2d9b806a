//! The bulk-load path (`sovereel seed`) on both backends: rows written in
//! bulk read back through the ordinary methods exactly as written, with
//! their outbox changes; a conflict anywhere in a call writes nothing; and
//! what was written in bulk-load mode is there after `end_bulk_load` and a
//! reopen.

use std::sync::Arc;

use sovereel_model::{AccountState, CommentPolicy, VideoState, Visibility};
use sovereel_store::testing::TestDatabases;
use sovereel_store::*;

struct Fixture {
    region: Arc<dyn RegionStore>,
    catalog: Arc<dyn CatalogStore>,
    region_url: String,
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
        _dbs: dbs,
    }
}

fn user(n: usize) -> UserRecord {
    UserRecord {
        id: format!("us_user{n:05}"),
        handle: format!("bulk_{n}"),
        display_name: format!("Bulk {n}"),
        bio: if n.is_multiple_of(2) {
            String::new()
        } else {
            "hi".into()
        },
        private: n.is_multiple_of(7),
        email: format!("sealed-email-{n}"),
        birthdate: format!("sealed-birthdate-{n}"),
        country: format!("sealed-country-{n}"),
        password_hash: "$argon2id$x".into(),
        non_profiled: n.is_multiple_of(5),
        state: AccountState::Active,
        delete_after: None,
        created_at: 1_000 + n as i64,
    }
}

fn video(n: usize, author: &str) -> VideoRecord {
    VideoRecord {
        id: format!("us_video{n:06}"),
        author_id: author.into(),
        caption: format!("clip {n} #cooking"),
        hashtags: vec!["cooking".into()],
        mentions: vec![],
        visibility: Visibility::Public,
        comments_policy: CommentPolicy::Everyone,
        state: VideoState::Ready,
        state_reason: Some("seeded".into()),
        duration_ms: Some(15_000),
        width: Some(720),
        height: Some(1280),
        media_key: None,
        poster_key: None,
        content_type: Some("video/mp4".into()),
        sha256: "00".repeat(32),
        size_bytes: 0,
        transcoded: false,
        created_at: 5_000 + n as i64,
        counts: Counts::default(),
        draft: false,
    }
}

fn profile_change(u: &UserRecord) -> OutboxItem {
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

/// More rows than one INSERT statement takes, so chunking is exercised.
const N: usize = 1_234;

async fn users_videos_and_follows_read_back(f: Fixture) {
    let users: Vec<UserRecord> = (0..N).map(user).collect();
    let outbox: Vec<OutboxItem> = users.iter().map(profile_change).collect();
    f.region.insert_users(&users, &outbox).await.unwrap();
    for u in [&users[0], &users[1], &users[N / 2], &users[N - 1]] {
        assert_eq!(f.region.user(&u.id).await.unwrap().as_ref(), Some(u));
        assert_eq!(
            f.region.user_by_handle(&u.handle).await.unwrap().as_ref(),
            Some(u)
        );
    }
    // Every change is in the outbox, in order.
    let mut pending = Vec::new();
    loop {
        let page = f.region.pending_changes(500).await.unwrap();
        if page.is_empty() {
            break;
        }
        f.region
            .mark_applied(&page.iter().map(|p| p.seq).collect::<Vec<_>>())
            .await
            .unwrap();
        pending.extend(page);
    }
    assert_eq!(pending.len(), N);
    assert!(pending.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(matches!(
        &pending[N - 1].change,
        Change::UpsertProfile { user_id, .. } if *user_id == users[N - 1].id
    ));

    let videos: Vec<VideoRecord> = (0..N).map(|n| video(n, &users[n % 10].id)).collect();
    f.region.insert_videos(&videos, &[]).await.unwrap();
    assert_eq!(
        f.region.video(&videos[N - 1].id).await.unwrap().as_ref(),
        Some(&videos[N - 1])
    );
    let mine = f
        .region
        .author_videos(
            std::slice::from_ref(&users[3].id),
            &[Visibility::Public],
            None,
            1_000,
        )
        .await
        .unwrap();
    assert_eq!(mine.len(), N / 10 + usize::from(N % 10 > 3));

    let follows: Vec<NewFollow> = (1..N)
        .map(|n| NewFollow {
            follower: users[0].id.clone(),
            followee: users[n].id.clone(),
            state: if n % 3 == 0 {
                FollowState::Pending
            } else {
                FollowState::Approved
            },
            created_at: 9_000,
        })
        .collect();
    let counts = OutboxItem::new(
        Target::Catalog,
        Change::ProfileCounts {
            user_id: users[0].id.clone(),
            followers: 0,
            following: (N - 1) as i64,
            likes: 0,
        },
    );
    f.region
        .insert_follows(&follows, std::slice::from_ref(&counts))
        .await
        .unwrap();
    assert_eq!(
        f.region
            .follow_state(&users[0].id, &users[3].id)
            .await
            .unwrap(),
        Some(FollowState::Pending)
    );
    assert_eq!(
        f.region
            .follow_state(&users[0].id, &users[4].id)
            .await
            .unwrap(),
        Some(FollowState::Approved)
    );
    assert_eq!(
        f.region.pending_changes(10).await.unwrap().len(),
        1,
        "the follow batch's one change"
    );

    let handles: Vec<(String, String, String)> = users
        .iter()
        .map(|u| (u.handle.clone(), u.id.clone(), "us".to_string()))
        .collect();
    f.catalog.reserve_handles(&handles, 1_000).await.unwrap();
    assert_eq!(
        f.catalog
            .resolve_handle(&users[N - 1].handle)
            .await
            .unwrap(),
        Some((users[N - 1].id.clone(), "us".to_string()))
    );
}

async fn a_conflict_writes_nothing(f: Fixture) {
    f.region.insert_users(&[user(1)], &[]).await.unwrap();
    // A batch whose last row takes an existing handle: none of it is stored.
    let mut batch: Vec<UserRecord> = (2..700).map(user).collect();
    let mut dup = user(1);
    dup.id = "us_someoneelse".into();
    batch.push(dup);
    let outbox: Vec<OutboxItem> = batch.iter().map(profile_change).collect();
    match f.region.insert_users(&batch, &outbox).await {
        Err(StoreError::Conflict("handle")) => {}
        other => panic!("expected a handle conflict, got {other:?}"),
    }
    assert_eq!(f.region.user(&user(2).id).await.unwrap(), None);
    assert!(f.region.pending_changes(10).await.unwrap().is_empty());

    let v = video(1, &user(1).id);
    f.region
        .insert_videos(std::slice::from_ref(&v), &[])
        .await
        .unwrap();
    match f
        .region
        .insert_videos(&[video(2, &user(1).id), v.clone()], &[])
        .await
    {
        Err(StoreError::Conflict("video")) => {}
        other => panic!("expected a video conflict, got {other:?}"),
    }
    assert_eq!(
        f.region.video(&video(2, &user(1).id).id).await.unwrap(),
        None
    );

    let edge = |to: &str| NewFollow {
        follower: user(1).id,
        followee: to.into(),
        state: FollowState::Approved,
        created_at: 1,
    };
    f.region.insert_follows(&[edge("us_a")], &[]).await.unwrap();
    match f
        .region
        .insert_follows(&[edge("us_b"), edge("us_a")], &[])
        .await
    {
        Err(StoreError::Conflict("follow")) => {}
        other => panic!("expected a follow conflict, got {other:?}"),
    }
    assert_eq!(
        f.region.follow_state(&user(1).id, "us_b").await.unwrap(),
        None
    );

    let h = |handle: &str, id: &str| (handle.to_string(), id.to_string(), "us".to_string());
    f.catalog
        .reserve_handles(&[h("taken", "us_1")], 1)
        .await
        .unwrap();
    match f
        .catalog
        .reserve_handles(&[h("free", "us_2"), h("taken", "us_3")], 1)
        .await
    {
        Err(StoreError::Conflict("handle")) => {}
        other => panic!("expected a handle conflict, got {other:?}"),
    }
    assert_eq!(f.catalog.resolve_handle("free").await.unwrap(), None);
}

async fn bulk_load_mode_ends_durable_and_the_store_works_on(f: Fixture) {
    f.region.begin_bulk_load().await.unwrap();
    f.catalog.begin_bulk_load().await.unwrap();
    // Twice is harmless.
    f.region.begin_bulk_load().await.unwrap();
    let users: Vec<UserRecord> = (0..300).map(user).collect();
    f.region.insert_users(&users, &[]).await.unwrap();
    // The per-row methods work in bulk-load mode too.
    f.region.create_user(&user(9_999), &[]).await.unwrap();
    f.catalog
        .reserve_handle("one", "us_one", "us", 1)
        .await
        .unwrap();
    f.region.end_bulk_load().await.unwrap();
    f.catalog.end_bulk_load().await.unwrap();
    // After the end, writes are durable per commit again, and still work.
    f.region.create_user(&user(10_000), &[]).await.unwrap();
    drop(f.region);
    let region = open_region(&f.region_url).await.unwrap();
    for n in [0, 299, 9_999, 10_000] {
        assert_eq!(region.user(&user(n).id).await.unwrap(), Some(user(n)));
    }
    assert_eq!(
        f.catalog.resolve_handle("one").await.unwrap(),
        Some(("us_one".to_string(), "us".to_string()))
    );
}

macro_rules! both_backends {
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

both_backends!(
    users_videos_and_follows_read_back,
    a_conflict_writes_nothing,
    bulk_load_mode_ends_durable_and_the_store_works_on,
);
