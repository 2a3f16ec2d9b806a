//! `sovereel demo`: a fresh platform with enough life to show what it does.
//! It generates a dozen styles of short clip with ffmpeg (when present),
//! signs up creators and viewers in all four regions, uploads a few hundred
//! clips across a dozen hashtags, plays a viewing history so each demo
//! viewer's For You is visibly personalised, runs a data export (a real,
//! ledgered access by the custodian's operator), makes staff accounts and
//! works a little trust and safety (reports, a labelled video with its
//! statement of reasons, an appeal waiting for a second moderator), then
//! serves and prints the address and the demo logins.

use std::path::{Path, PathBuf};
use std::process::Command;

use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sovereel_server::{Config, Server};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Data directory; emptied first if an earlier demo made it (any other
    /// directory that is not empty is refused unless `--force` is given).
    #[arg(long, default_value = "./sovereel-demo-data")]
    data_dir: PathBuf,
    /// Empty the data directory even if no demo made it.
    #[arg(long)]
    force: bool,
    /// Clips to upload.
    #[arg(long, default_value_t = 240)]
    clips: usize,
    /// Seed and exit instead of serving.
    #[arg(long)]
    seed_only: bool,
}

const PASSWORD: &str = "sovereel-demo";

/// The file that marks a data directory as the demo's own.
const DEMO_MARKER: &str = "SOVEREEL-DEMO";

/// Hashtag, ffmpeg source (each its own look), and a caption.
const STYLES: &[(&str, &str, &str)] = &[
    (
        "cooking",
        "testsrc2=size=360x640:rate=25",
        "Weeknight pasta in 10 minutes",
    ),
    (
        "skate",
        "smptebars=size=360x640:rate=25",
        "Kickflip down the big stairs",
    ),
    (
        "dance",
        "mandelbrot=size=360x640:rate=25",
        "New routine, try it",
    ),
    (
        "travel",
        "life=size=360x640:rate=25:mold=10:ratio=0.1:death_color=#1f3b73:life_color=#ffd166",
        "Sunrise over the harbour",
    ),
    (
        "pets",
        "cellauto=size=360x640:rate=25:rule=30",
        "My cat discovers the mirror",
    ),
    ("music", "testsrc=size=360x640:rate=25", "Loop pedal jam"),
    (
        "comedy",
        "rgbtestsrc=size=360x640:rate=25",
        "When the group chat goes quiet",
    ),
    (
        "diy",
        "yuvtestsrc=size=360x640:rate=25",
        "Shelf from one plank",
    ),
    (
        "fitness",
        "pal100bars=size=360x640:rate=25",
        "Five-minute core burner",
    ),
    (
        "science",
        "gradients=size=360x640:rate=25",
        "Why the sky is blue",
    ),
    ("art", "colorchart=rate=25", "Watercolour wash basics"),
    (
        "gardening",
        "smptehdbars=size=360x640:rate=25",
        "Tomatoes on a balcony",
    ),
];

const CREATORS: &[(&str, &str)] = &[
    ("chef_maria", "US"),
    ("board_dan", "US"),
    ("jo_moves", "US"),
    ("lab_lena", "US"),
    ("outback_sam", "AU"),
    ("bondi_kai", "AU"),
    ("mel_paints", "AU"),
    ("gym_rae", "AU"),
    ("kiwi_cook", "NZ"),
    ("aroha_dance", "NZ"),
    ("tane_builds", "NZ"),
    ("nz_garden", "NZ"),
    ("paris_pixel", "FR"),
    ("berlin_beats", "DE"),
    ("tokyo_trips", "JP"),
    ("rio_laughs", "BR"),
];

/// Viewers and what they like: their For You learns it from the history.
const VIEWERS: &[(&str, &str, &[&str])] = &[
    ("demo_us", "US", &["cooking", "gardening"]),
    ("demo_au", "AU", &["skate", "fitness"]),
    ("demo_nz", "NZ", &["dance", "music"]),
    ("demo_global", "FR", &["travel", "art"]),
];

fn bar(len: u64, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len}")
            .unwrap()
            .progress_chars("=> "),
    );
    pb.set_message(msg.to_string());
    pb
}

fn make_clip(dir: &Path, tag: &str, source: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
    let clip = dir.join(format!("{tag}.mp4"));
    let poster = dir.join(format!("{tag}.jpg"));
    let status = Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            source,
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:sample_rate=44100",
        ])
        .args([
            "-t",
            "4",
            "-vf",
            "scale=360:640,format=yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
        ])
        .arg(&clip)
        .status()?;
    anyhow::ensure!(status.success(), "ffmpeg could not make the {tag} clip");
    let status = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-ss", "1", "-i"])
        .arg(&clip)
        .args(["-frames:v", "1"])
        .arg(&poster)
        .status()?;
    anyhow::ensure!(status.success(), "ffmpeg could not make the {tag} poster");
    Ok((clip, poster))
}

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "{path}: {status} {v}");
        Ok(v)
    }

    async fn account(&self, handle: &str, country: &str, bio: &str) -> anyhow::Result<String> {
        self.call(reqwest::Method::POST, "/v1/accounts", None, Some(json!({"handle": handle, "password": PASSWORD, "email": format!("{handle}@demo.invalid"), "country": country, "birthdate": "1994-05-17", "display_name": handle.replace('_', " ")})))
            .await?;
        let login = self
            .call(
                reqwest::Method::POST,
                "/v1/sessions",
                None,
                Some(json!({"handle": handle, "password": PASSWORD})),
            )
            .await?;
        let token = login["token"].as_str().unwrap_or_default().to_string();
        self.call(
            reqwest::Method::PATCH,
            "/v1/me",
            Some(&token),
            Some(json!({"bio": bio})),
        )
        .await?;
        Ok(token)
    }
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    // Every creator posts twice at least: the demo's reports, labels and
    // appeals are about two of one creator's videos.
    anyhow::ensure!(
        args.clips >= 2 * CREATORS.len(),
        "--clips {}: the demo needs at least {} (two for each of its {} creators)",
        args.clips,
        2 * CREATORS.len(),
        CREATORS.len()
    );
    // Only a directory an earlier demo made (it holds the marker) is emptied
    // without asking: a real platform's data dir must not be one flag away
    // from deletion.
    let marker = args.data_dir.join(DEMO_MARKER);
    if args.data_dir.exists() {
        let empty = std::fs::read_dir(&args.data_dir)?.next().is_none();
        anyhow::ensure!(
            empty || marker.exists() || args.force,
            "{} is not empty and no demo made it; the demo empties its data directory first, so \
             name a new one (--data-dir), or add --force to empty this one",
            args.data_dir.display()
        );
        std::fs::remove_dir_all(&args.data_dir)?;
    }
    std::fs::create_dir_all(&args.data_dir)?;
    std::fs::write(
        &marker,
        "This directory was made by `sovereel demo`, which empties it when run again.\n",
    )?;
    let mut config = Config {
        listen: args.listen.clone(),
        data_dir: args.data_dir.clone(),
        ..Config::default()
    };
    // Demo clips are made browser-ready here, so uploads are served as
    // uploaded, with the poster sent along.
    config.transcode = false;
    let server = Server::build(config).await?;
    let addr = server.local_addr();
    let app = server.app.clone();
    let serving = tokio::spawn(server.run(async {
        let _ = tokio::signal::ctrl_c().await;
    }));
    // The demo seeds itself through the API in one burst from one address;
    // the limits come on once it is seeded.
    let limits_on = app.limits.enabled();
    app.limits.set_enabled(false);
    let api = Api {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    };

    let have_ffmpeg = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    anyhow::ensure!(
        have_ffmpeg,
        "sovereel demo makes its clips with ffmpeg; install it (apt-get install ffmpeg) and run again"
    );
    let clips_dir = args.data_dir.join("demo-clips");
    std::fs::create_dir_all(&clips_dir)?;
    let pb = bar(STYLES.len() as u64, "clips");
    let mut clips = vec![];
    for (tag, source, _) in STYLES {
        clips.push(make_clip(&clips_dir, tag, source)?);
        pb.inc(1);
    }
    pb.finish();

    let pb = bar((CREATORS.len() + VIEWERS.len()) as u64, "accounts");
    let mut creators = vec![];
    for (i, (handle, country)) in CREATORS.iter().enumerate() {
        let tags = [STYLES[i % STYLES.len()].0, STYLES[(i + 5) % STYLES.len()].0];
        let token = api
            .account(
                handle,
                country,
                &format!("Clips about #{} and #{}", tags[0], tags[1]),
            )
            .await?;
        creators.push((handle.to_string(), token, tags));
        pb.inc(1);
    }
    let mut viewers = vec![];
    for (handle, country, likes) in VIEWERS {
        let token = api
            .account(
                handle,
                country,
                &format!("Demo viewer who likes #{}", likes.join(" and #")),
            )
            .await?;
        viewers.push((handle.to_string(), token, *likes));
        pb.inc(1);
    }
    pb.finish();

    let pb = bar(args.clips as u64, "uploads");
    let mut rng = rand::rngs::StdRng::seed_from_u64(2020);
    for n in 0..args.clips {
        let (handle, token, tags) = &creators[n % creators.len()];
        let tag = tags[rng.gen_range(0..2)];
        let k = STYLES.iter().position(|s| s.0 == tag).unwrap_or(0);
        let (clip, poster) = &clips[k];
        let caption = format!(
            "{} #{tag} #sovereel (take {})",
            STYLES[k].2,
            n / creators.len() + 1
        );
        let form = reqwest::multipart::Form::new()
            .text(
                "meta",
                json!({"caption": caption, "visibility": "public", "comments": "everyone"})
                    .to_string(),
            )
            .part(
                "file",
                reqwest::multipart::Part::bytes(std::fs::read(clip)?)
                    .file_name("clip.mp4")
                    .mime_str("video/mp4")?,
            )
            .part(
                "poster",
                reqwest::multipart::Part::bytes(std::fs::read(poster)?)
                    .file_name("poster.jpg")
                    .mime_str("image/jpeg")?,
            );
        let resp = api
            .http
            .post(format!("{}/v1/videos", api.base))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "upload by {handle}: {}",
            resp.text().await.unwrap_or_default()
        );
        pb.inc(1);
    }
    pb.finish();
    // Let processing finish and the catalog fill.
    for _ in 0..600 {
        let v = api
            .call(
                reqwest::Method::GET,
                "/v1/search?q=sovereel&limit=100",
                None,
                None,
            )
            .await?;
        if v["items"].as_array().map(|a| a.len()).unwrap_or(0) >= 100.min(args.clips) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // Viewing history: each viewer watches their tags to the end and likes
    // them, skips the rest, for a few pages.
    let pb = bar((viewers.len() * 4) as u64, "history");
    for (_, token, likes) in &viewers {
        for _ in 0..4 {
            let page = api
                .call(
                    reqwest::Method::GET,
                    "/v1/feed/for-you?limit=10",
                    Some(token),
                    None,
                )
                .await?;
            let mut events = vec![];
            for item in page["items"].as_array().cloned().unwrap_or_default() {
                let v = &item["video"];
                let id = v["id"].as_str().unwrap_or_default().to_string();
                let d = v["duration_ms"].as_i64().unwrap_or(4000);
                events.push(json!({"type": "impression", "video_id": id}));
                let liked = v["hashtags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| likes.contains(&t.as_str().unwrap_or(""))));
                if liked {
                    events.push(
                        json!({"type": "view", "video_id": id, "watch_ms": d, "duration_ms": d}),
                    );
                    api.call(
                        reqwest::Method::PUT,
                        &format!("/v1/videos/{id}/like"),
                        Some(token),
                        None,
                    )
                    .await?;
                    if rng.gen_bool(0.3) {
                        api.call(
                            reqwest::Method::POST,
                            &format!("/v1/videos/{id}/comments"),
                            Some(token),
                            Some(json!({"text": "Love this!"})),
                        )
                        .await?;
                    }
                } else {
                    events.push(json!({"type": "skip", "video_id": id}));
                }
            }
            if !events.is_empty() {
                api.call(
                    reqwest::Method::POST,
                    "/v1/events",
                    Some(token),
                    Some(json!({"events": events})),
                )
                .await?;
            }
            pb.inc(1);
        }
        for (creator, _, tags) in &creators {
            if tags.iter().any(|t| likes.contains(t)) {
                api.call(
                    reqwest::Method::PUT,
                    &format!("/v1/users/{creator}/follow"),
                    Some(token),
                    None,
                )
                .await?;
            }
        }
    }
    pb.finish();
    // A real staff action: each demo viewer's data export is carried out by
    // their custodian's operator, and shows in their access log.
    for (_, token, _) in &viewers {
        api.call(reqwest::Method::POST, "/v1/me/exports", Some(token), None)
            .await?;
    }
    let staff = seed_trust_and_safety(&app, &api).await?;
    app.snapshot_engines();
    app.limits.set_enabled(limits_on);

    println!("\nSovereel demo is running at http://{addr}/");
    println!("Demo logins (password: {PASSWORD}):");
    for (handle, country, likes) in VIEWERS {
        let region = app.home_of_country(country);
        let custodian = app
            .region_config(region)
            .map(|r| r.custodian.as_str())
            .unwrap_or_default();
        println!(
            "  {handle:<12} home region {:<7} held by {:<38} likes #{}",
            region,
            custodian,
            likes.join(", #")
        );
    }
    println!(
        "  creators: {}",
        CREATORS.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
    );
    println!("Staff logins at http://{addr}/staff (password: {PASSWORD}):");
    for (region, handle, what) in &staff {
        println!("  {handle:<14} region {region:<7} {what}");
    }
    if args.seed_only {
        serving.abort();
        return Ok(());
    }
    println!("Press Ctrl-C to stop.");
    serving.await??;
    Ok(())
}

/// Staff for every region (two moderators, so an appeal can go to one who
/// did not decide, and an operator) and one platform operator; then a few
/// reports on an Australian creator's videos, one decided with a label and
/// a statement of reasons, and the creator's appeal of it, waiting in the
/// queue. Answers the staff logins to print.
async fn seed_trust_and_safety(
    app: &sovereel_server::App,
    api: &Api,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let hash = sovereel_server::auth::hash_password(PASSWORD)?;
    let mut logins = vec![];
    let mut add = |region: &str, handle: String, org: &str, role: &str, what: &str| {
        logins.push((region.to_string(), handle.clone(), what.to_string()));
        (
            region.to_string(),
            handle,
            org.to_string(),
            role.to_string(),
        )
    };
    let mut accounts = vec![];
    for r in app.locals() {
        let id = r.region().to_string();
        accounts.push(add(
            &id,
            format!("mod_{id}"),
            "custodian",
            "moderator",
            "moderator",
        ));
        accounts.push(add(
            &id,
            format!("mod2_{id}"),
            "custodian",
            "moderator",
            "second moderator (appeals)",
        ));
        accounts.push(add(
            &id,
            format!("ops_{id}"),
            "custodian",
            "operator",
            "operator (releases, data requests)",
        ));
    }
    let platform_region = app
        .config
        .regions
        .iter()
        .find(|r| r.default)
        .map(|r| r.id.clone())
        .unwrap_or_else(|| "global".into());
    accounts.push(add(
        &platform_region,
        "platform_ops".into(),
        "platform",
        "operator",
        "platform operator (signs releases; aggregates only)",
    ));
    for (region, handle, org, role) in &accounts {
        let plane = app
            .local(region)
            .ok_or_else(|| anyhow::anyhow!("region {region} is not served here"))?;
        plane
            .store()
            .create_staff(&sovereel_store::StaffRecord {
                id: format!("staff-{}", sovereel_model::random_hex(12)),
                handle: handle.clone(),
                org: org.clone(),
                role: role.clone(),
                password_hash: hash.clone(),
                created_at: sovereel_model::now_millis(),
            })
            .await?;
    }

    // Viewers report two of outback_sam's videos (AU), one of them twice.
    let login = |handle: &str| {
        api.call(
            reqwest::Method::POST,
            "/v1/sessions",
            None,
            Some(json!({"handle": handle, "password": PASSWORD})),
        )
    };
    let token = |v: &Value| v["token"].as_str().unwrap_or_default().to_string();
    let creator = token(&login("outback_sam").await?);
    let videos = api
        .call(
            reqwest::Method::GET,
            "/v1/users/outback_sam/videos?limit=3",
            None,
            None,
        )
        .await?;
    let ids: Vec<String> = videos["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    anyhow::ensure!(
        ids.len() >= 2,
        "outback_sam has fewer than two videos to report"
    );
    let mut case = String::new();
    for (viewer, video, category) in [
        ("demo_us", &ids[0], "misinformation"),
        ("demo_nz", &ids[0], "misinformation"),
        ("demo_global", &ids[1], "spam"),
    ] {
        let t = token(&login(viewer).await?);
        let r = api
            .call(
                reqwest::Method::POST,
                "/v1/reports",
                Some(&t),
                Some(json!({"target": {"video_id": video}, "category": category, "note": "Seeded by the demo"})),
            )
            .await?;
        if video == &ids[0] {
            case = r["case_id"].as_str().unwrap_or_default().to_string();
        }
    }
    // The AU moderator labels the first video, with a statement of reasons.
    let moderator = token(
        &api.call(
            reqwest::Method::POST,
            "/v1/staff/sessions",
            None,
            Some(json!({"region": "au", "handle": "mod_au", "password": PASSWORD})),
        )
        .await?,
    );
    api.call(
        reqwest::Method::POST,
        &format!("/v1/staff/cases/{case}/assign"),
        Some(&moderator),
        None,
    )
    .await?;
    api.call(
        reqwest::Method::GET,
        &format!("/v1/staff/cases/{case}/item"),
        Some(&moderator),
        None,
    )
    .await?;
    api.call(
        reqwest::Method::POST,
        &format!("/v1/staff/cases/{case}/actions"),
        Some(&moderator),
        Some(json!({
            "action": "label",
            "label": "unverified",
            "note": "The claim in this clip has not been checked by an independent source.",
            "statement": {
                "ground": "terms",
                "reference": "Sovereel Community Guidelines §4 (misleading claims)",
                "facts": "Two viewers reported the clip as misinformation; it states a claim as fact without any source.",
                "automated": false
            }
        })),
    )
    .await?;
    // The creator reads the statement and appeals; mod2_au can decide it.
    let decisions = api
        .call(
            reqwest::Method::GET,
            "/v1/me/decisions",
            Some(&creator),
            None,
        )
        .await?;
    if let Some(id) = decisions["items"][0]["id"].as_str() {
        api.call(
            reqwest::Method::POST,
            &format!("/v1/me/decisions/{id}/appeal"),
            Some(&creator),
            Some(json!({"text": "This is a joke clip, not a claim. Please look again."})),
        )
        .await?;
    }
    Ok(logins)
}
