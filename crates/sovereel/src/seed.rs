//! `sovereel seed`: fills the stores with synthetic users, public videos and
//! follows, through the same store interfaces and outbox relay the API uses,
//! for benchmarks. Seeded videos have metadata but no media files.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sovereel_model::{CommentPolicy, UserId, VideoId, VideoState, Visibility};
use sovereel_server::{App, Config};
use sovereel_store::{
    Change, Counts, FollowState, OutboxItem, ProcessingOutcome, Target, UserRecord, VideoRecord,
};

#[derive(clap::Args)]
pub struct SeedArgs {
    #[command(flatten)]
    serve: SeedServe,
    /// Users to create, spread over the regions.
    #[arg(long, default_value_t = 10_000)]
    users: usize,
    /// Public videos to create.
    #[arg(long, default_value_t = 100_000)]
    videos: usize,
    /// Accounts each user follows.
    #[arg(long, default_value_t = 20)]
    follows: usize,
    /// Password of every seeded user.
    #[arg(long, default_value = "seed-password")]
    password: String,
}

#[derive(clap::Args)]
struct SeedServe {
    #[arg(long, env = "SOVEREEL_CONFIG")]
    config: Option<std::path::PathBuf>,
    #[arg(long, env = "SOVEREEL_DATA_DIR")]
    data_dir: Option<std::path::PathBuf>,
}

const TAGS: &[&str] = &[
    "cooking", "skate", "dance", "travel", "pets", "music", "comedy", "diy", "fitness", "science",
    "art", "gaming",
];

fn bar(len: usize, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    pb.set_style(
        ProgressStyle::with_template("{msg:>8} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap()
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let mut cfg = Config::load(args.serve.config.as_deref())?;
    if let Some(d) = args.serve.data_dir {
        cfg.data_dir = d;
    }
    let app: Arc<App> = App::open(cfg).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    // One hash for every seeded user: hashing 10k passwords would dominate
    // the run, and seeded accounts are for load tests only.
    let hash = sovereel_server::auth::hash_password(&args.password)?;
    let regions: Vec<_> = app.locals().cloned().collect();
    let run_tag: String = (0..4)
        .map(|_| (b'a' + rng.gen_range(0..26)) as char)
        .collect();
    let pb = bar(args.users, "users");
    let mut users = Vec::with_capacity(args.users);
    for i in 0..args.users {
        let plane = &regions[i % regions.len()];
        let id = UserId::generate(plane.region());
        let handle = format!("seed_{run_tag}_{i}");
        let now = sovereel_model::now_millis();
        let u = UserRecord {
            id: id.to_string(),
            handle: handle.clone(),
            display_name: format!("Seed user {i}"),
            bio: String::new(),
            private: false,
            email: format!("{handle}@seed.invalid"),
            birthdate: "1990-01-01".into(),
            country: app
                .region_config(plane.region().as_str())
                .and_then(|r| r.countries.first().cloned())
                .unwrap_or_else(|| "FR".into()),
            password_hash: hash.clone(),
            non_profiled: false,
            state: sovereel_model::AccountState::Active,
            delete_after: None,
            created_at: now,
        };
        app.catalog
            .reserve_handle(&handle, &u.id, plane.region().as_str(), now)
            .await?;
        let profile = Change::UpsertProfile {
            user_id: u.id.clone(),
            handle,
            display_name: u.display_name.clone(),
            bio: String::new(),
            private: false,
            region: plane.region().to_string(),
            created_at: now,
        };
        plane
            .store()
            .create_user(&u, &[OutboxItem::new(Target::Catalog, profile)])
            .await?;
        users.push((u.id, plane.clone()));
        pb.inc(1);
    }
    pb.finish();
    app.relay_all().await;

    let pb = bar(args.videos, "videos");
    let now = sovereel_model::now_millis();
    for i in 0..args.videos {
        let (author, plane) = &users[rng.gen_range(0..users.len())];
        let tag = TAGS[rng.gen_range(0..TAGS.len())];
        let id = VideoId::generate(plane.region()).to_string();
        let created_at = now - rng.gen_range(0..30 * 86_400_000i64);
        let v = VideoRecord {
            id: id.clone(),
            author_id: author.clone(),
            caption: format!("seeded clip {i} #{tag}"),
            hashtags: vec![tag.to_string()],
            mentions: vec![],
            visibility: Visibility::Public,
            comments_policy: CommentPolicy::Everyone,
            state: VideoState::Processing,
            state_reason: None,
            duration_ms: Some(15_000),
            width: Some(720),
            height: Some(1280),
            media_key: None,
            poster_key: None,
            content_type: None,
            sha256: "0".repeat(64),
            size_bytes: 0,
            transcoded: false,
            created_at,
            counts: Counts::default(),
            draft: false,
        };
        plane.store().insert_video(&v).await?;
        let outcome = ProcessingOutcome {
            state: VideoState::Ready,
            state_reason: Some("seeded metadata without media".into()),
            duration_ms: v.duration_ms,
            width: v.width,
            height: v.height,
            media_key: None,
            poster_key: None,
            content_type: Some("video/mp4".into()),
            transcoded: false,
        };
        let publish = Change::PublishVideo {
            id,
            author_id: author.clone(),
            caption: v.caption.clone(),
            hashtags: v.hashtags.clone(),
            mentions: vec![],
            comments_policy: CommentPolicy::Everyone,
            duration_ms: v.duration_ms,
            width: v.width,
            height: v.height,
            created_at,
        };
        plane
            .store()
            .finish_processing(
                &v.id,
                &outcome,
                &[OutboxItem::new(Target::Catalog, publish)],
            )
            .await?;
        if i % 500 == 499 {
            app.relay_all().await;
        }
        pb.inc(1);
    }
    pb.finish();
    app.relay_all().await;

    let pb = bar(users.len(), "follows");
    for (follower, plane) in &users {
        let picks: Vec<_> = users.choose_multiple(&mut rng, args.follows).collect();
        for (followee, _) in picks {
            if followee == follower {
                continue;
            }
            let now = sovereel_model::now_millis();
            let out = sovereel_server::api::social::follow_changes(follower, followee, 1);
            plane
                .store()
                .follow(follower, followee, FollowState::Approved, now, &out)
                .await?;
        }
        app.relay(plane).await?;
        pb.inc(1);
    }
    pb.finish();
    println!(
        "seeded {} users, {} videos, {} follows each; handles seed_{run_tag}_<n>, password as given",
        args.users, args.videos, args.follows
    );
    Ok(())
}
