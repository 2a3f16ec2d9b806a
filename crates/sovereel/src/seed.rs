//! `sovereel seed`: fills the stores with synthetic users, public videos and
//! follows, through the same store interfaces and outbox relay the API uses,
//! for benchmarks. Seeded videos have metadata but no media files. Rows go
//! in through the store's bulk path: one transaction per chunk, and commits
//! that wait for the disk only once, at the end.

use std::sync::Arc;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sovereel_model::{CommentPolicy, UserId, VideoId, VideoState, Visibility};
use sovereel_server::{App, Config};
use sovereel_store::{
    Change, Counts, FollowState, NewFollow, OutboxItem, Target, UserRecord, VideoRecord,
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

/// Rows per bulk call: one transaction each.
const CHUNK: usize = 2_000;

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let mut cfg = Config::load(args.serve.config.as_deref())?;
    if let Some(d) = &args.serve.data_dir {
        cfg.data_dir = d.clone();
    }
    let app: Arc<App> = App::open(cfg).await?;
    let started = std::time::Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    // One hash for every seeded user: hashing 10k passwords would dominate
    // the run, and seeded accounts are for load tests only.
    let hash = sovereel_server::auth::hash_password(&args.password)?;
    let regions: Vec<_> = app.locals().cloned().collect();
    let run_tag: String = (0..4)
        .map(|_| (b'a' + rng.gen_range(0..26)) as char)
        .collect();
    // Commits stop waiting for the disk until the end (see the store's
    // bulk module); the rows are the ones the API writes.
    for plane in &regions {
        plane.store().begin_bulk_load().await?;
    }
    app.catalog.begin_bulk_load().await?;
    let seeded = seed_rows(&app, &regions, &args, &hash, &run_tag, &mut rng).await;
    // Durable again, whatever happened: everything written so far is on
    // disk before seed returns.
    for plane in &regions {
        plane.store().end_bulk_load().await?;
    }
    app.catalog.end_bulk_load().await?;
    seeded?;
    println!(
        "seeded {} users, {} videos, {} follows each in {:.1} s; handles seed_{run_tag}_<n>, password as given",
        args.users,
        args.videos,
        args.follows,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn seed_rows(
    app: &Arc<App>,
    regions: &[Arc<sovereel_server::plane::LocalPlane>],
    args: &SeedArgs,
    hash: &str,
    run_tag: &str,
    rng: &mut rand::rngs::StdRng,
) -> anyhow::Result<()> {
    // Users: each one's data key is made in its home keyring and its
    // identity fields sealed under it, as at sign-up; handles are reserved
    // in the directory and the users written in one transaction per chunk.
    let pb = bar(args.users, "users");
    let mut users: Vec<(String, usize)> = Vec::with_capacity(args.users);
    let now = sovereel_model::now_millis();
    for chunk_start in (0..args.users).step_by(CHUNK) {
        let chunk_end = (chunk_start + CHUNK).min(args.users);
        let mut per_region: Vec<Vec<UserRecord>> = vec![vec![]; regions.len()];
        let made = futures::stream::iter(chunk_start..chunk_end)
            .map(|i| {
                let r = i % regions.len();
                let plane = regions[r].clone();
                let app = app.clone();
                let handle = format!("seed_{run_tag}_{i}");
                let hash = hash.to_string();
                tokio::spawn(async move {
                    let id = UserId::generate(plane.region());
                    let country = app
                        .region_config(plane.region().as_str())
                        .and_then(|r| r.countries.first().cloned())
                        .unwrap_or_else(|| "FR".into());
                    let email = format!("{handle}@seed.invalid");
                    let sealed = sovereel_server::custody::seal_new_identity(
                        &plane,
                        &id,
                        &email,
                        "1990-01-01",
                        &country,
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("sealing a seeded account: {e:?}"))?;
                    anyhow::Ok((
                        r,
                        UserRecord {
                            id: id.to_string(),
                            handle,
                            display_name: format!("Seed user {i}"),
                            bio: String::new(),
                            private: false,
                            email: sealed.email,
                            birthdate: sealed.birthdate,
                            country: sealed.country,
                            password_hash: hash,
                            non_profiled: false,
                            state: sovereel_model::AccountState::Active,
                            delete_after: None,
                            created_at: now,
                        },
                    ))
                })
            })
            .buffered(8)
            .collect::<Vec<_>>()
            .await;
        for m in made {
            let (r, u) = m??;
            per_region[r].push(u);
        }
        for (r, chunk) in per_region.into_iter().enumerate() {
            if chunk.is_empty() {
                continue;
            }
            let plane = &regions[r];
            let handles: Vec<(String, String, String)> = chunk
                .iter()
                .map(|u| (u.handle.clone(), u.id.clone(), plane.region().to_string()))
                .collect();
            app.catalog.reserve_handles(&handles, now).await?;
            let outbox: Vec<OutboxItem> = chunk
                .iter()
                .map(|u| {
                    OutboxItem::new(
                        Target::Catalog,
                        Change::UpsertProfile {
                            user_id: u.id.clone(),
                            handle: u.handle.clone(),
                            display_name: u.display_name.clone(),
                            bio: String::new(),
                            private: false,
                            region: plane.region().to_string(),
                            created_at: now,
                        },
                    )
                })
                .collect();
            plane.store().insert_users(&chunk, &outbox).await?;
            users.extend(chunk.into_iter().map(|u| (u.id, r)));
            pb.inc(outbox.len() as u64);
        }
        app.relay_all().await;
    }
    pb.finish();

    // Videos: ready public videos (metadata, no media files), written per
    // chunk and region with the catalog changes a publish makes.
    let pb = bar(args.videos, "videos");
    let now = sovereel_model::now_millis();
    for chunk_start in (0..args.videos).step_by(CHUNK) {
        let chunk_end = (chunk_start + CHUNK).min(args.videos);
        let mut per_region: Vec<(Vec<VideoRecord>, Vec<OutboxItem>)> =
            vec![(vec![], vec![]); regions.len()];
        for i in chunk_start..chunk_end {
            let (author, r) = &users[rng.gen_range(0..users.len())];
            let plane = &regions[*r];
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
                state: VideoState::Ready,
                state_reason: Some("seeded metadata without media".into()),
                duration_ms: Some(15_000),
                width: Some(720),
                height: Some(1280),
                media_key: None,
                poster_key: None,
                content_type: Some("video/mp4".into()),
                sha256: "0".repeat(64),
                size_bytes: 0,
                transcoded: false,
                created_at,
                counts: Counts::default(),
                draft: false,
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
            per_region[*r].0.push(v);
            per_region[*r]
                .1
                .push(OutboxItem::new(Target::Catalog, publish));
        }
        for (r, (videos, outbox)) in per_region.into_iter().enumerate() {
            if videos.is_empty() {
                continue;
            }
            regions[r].store().insert_videos(&videos, &outbox).await?;
            pb.inc(videos.len() as u64);
        }
        app.relay_all().await;
    }
    pb.finish();

    // Follows, at each follower's home; the catalog's follower and
    // following counts move by one change per account and chunk.
    let pb = bar(users.len(), "follows");
    let now = sovereel_model::now_millis();
    for chunk in users.chunks(CHUNK / args.follows.max(1)) {
        let mut per_region: Vec<Vec<NewFollow>> = vec![vec![]; regions.len()];
        let mut deltas: Vec<std::collections::BTreeMap<String, (i64, i64)>> =
            vec![Default::default(); regions.len()];
        for (follower, r) in chunk {
            let picks: Vec<_> = users.choose_multiple(&mut *rng, args.follows).collect();
            for (followee, _) in picks {
                if followee == follower {
                    continue;
                }
                per_region[*r].push(NewFollow {
                    follower: follower.clone(),
                    followee: followee.clone(),
                    state: FollowState::Approved,
                    created_at: now,
                });
                deltas[*r].entry(followee.clone()).or_default().0 += 1;
                deltas[*r].entry(follower.clone()).or_default().1 += 1;
            }
        }
        for (r, follows) in per_region.into_iter().enumerate() {
            if follows.is_empty() {
                continue;
            }
            let outbox: Vec<OutboxItem> = std::mem::take(&mut deltas[r])
                .into_iter()
                .map(|(user_id, (followers, following))| {
                    OutboxItem::new(
                        Target::Catalog,
                        Change::ProfileCounts {
                            user_id,
                            followers,
                            following,
                            likes: 0,
                        },
                    )
                })
                .collect();
            regions[r].store().insert_follows(&follows, &outbox).await?;
        }
        app.relay_all().await;
        pb.inc(chunk.len() as u64);
    }
    pb.finish();
    Ok(())
}
