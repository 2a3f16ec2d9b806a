//! `sovereel demo`: a fresh platform with enough life to show what it does.
//! It generates a dozen styles of short clip with ffmpeg (when present),
//! signs up creators and viewers in all four regions, uploads a few hundred
//! clips across a dozen hashtags, plays a viewing history so each demo
//! viewer's For You is visibly personalised, runs a data export (a real,
//! ledgered access by the custodian's operator), then serves and prints the
//! address and the demo logins.

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
    /// Data directory; emptied first.
    #[arg(long, default_value = "./sovereel-demo-data")]
    data_dir: PathBuf,
    /// Clips to upload.
    #[arg(long, default_value_t = 240)]
    clips: usize,
    /// Seed and exit instead of serving.
    #[arg(long)]
    seed_only: bool,
}

const PASSWORD: &str = "sovereel-demo";

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
    if args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir)?;
    }
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
    app.snapshot_engines();

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
    if args.seed_only {
        serving.abort();
        return Ok(());
    }
    println!("Press Ctrl-C to stop.");
    serving.await??;
    Ok(())
}
