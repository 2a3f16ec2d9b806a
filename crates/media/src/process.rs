//! Probing and processing of an ingested upload.
//!
//! With `ffmpeg` and `ffprobe` on the PATH, a video is probed with ffprobe
//! and transcoded to H.264/AAC MP4 with `+faststart` (short edge at most
//! 720 px) plus a JPEG poster. Without them, the built-in container parsers
//! ([`crate::native`]) read duration, size and codecs, and only files a
//! browser plays as they are (H.264 MP4/MOV, VP8/VP9 WebM) are accepted; they
//! are served as uploaded and the client supplies the poster.
//!
//! In both modes the built-in parser runs first as a truncation check:
//! ffprobe reports a file cut in the middle of its media data as fine. In
//! ffmpeg mode only its truncation verdict counts (ffprobe understands far
//! more files than it does); in native mode every verdict counts.
//!
//! The tools run under `tokio::process` with a timeout, few threads and a
//! concurrency limit, so a burst of uploads cannot starve the API server.
//!
//! A container may lie about its duration (headers that say 2 s over 200 s
//! of frames), and the probe believes the headers. So the transcode decodes
//! at most the duration limit (plus a second) whatever the container says
//! (`-t` on the input), and the duration that counts is the one measured on
//! the decoded result: a video longer than the limit is refused, and a
//! published video's duration is what was decoded, never the header's.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Semaphore;

use crate::native::{self, NativeInfo, ParseError};
use crate::queue::{FairQueue, QueueConfig, QueueFull};
use crate::sniff::{Container, SNIFF_LEN, Sniff, sniff};

/// Media type of the posters made by transcoding.
pub const POSTER_CONTENT_TYPE: &str = "image/jpeg";

/// Default longest accepted video: three minutes.
pub const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(180);

/// How far past the duration limit a transcode decodes (see the module
/// header): enough to tell a video over the limit from one at it.
const DECODE_MARGIN_MS: u64 = 1000;

/// Settings of [`MediaProcessor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessConfig {
    /// Longest accepted video.
    pub max_duration: Duration,
    /// Longest a single ffmpeg run (a transcode, a poster) may take before
    /// it is killed. Decoding is capped at `max_duration`, so an honest
    /// upload needs far less.
    pub tool_timeout: Duration,
    /// Longest a single ffprobe run may take before it is killed.
    pub probe_timeout: Duration,
    /// Threads given to each ffmpeg run (encoder and filters).
    pub threads: u32,
    /// How many transcodes may run at once. ffprobe runs are limited
    /// separately, to `max(4, max_concurrent)`.
    pub max_concurrent: usize,
    /// How many of those one uploader may hold at once (see `queue.rs`).
    pub per_owner: usize,
    /// How many of one uploader's videos may wait for a transcode; more are
    /// refused.
    pub max_waiting_per_owner: usize,
    /// Upper bound of the shorter picture edge after transcoding, in pixels.
    pub max_short_edge: u32,
}

impl Default for ProcessConfig {
    fn default() -> Self {
        ProcessConfig {
            max_duration: DEFAULT_MAX_DURATION,
            tool_timeout: Duration::from_secs(240),
            probe_timeout: Duration::from_secs(30),
            threads: 1,
            max_concurrent: 2,
            per_owner: 1,
            max_waiting_per_owner: 8,
            max_short_edge: 720,
        }
    }
}

/// What is known about a video.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MediaInfo {
    /// Container recognised from the content.
    pub container: Container,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Displayed width in pixels (rotation applied).
    pub width: u32,
    /// Displayed height in pixels (rotation applied).
    pub height: u32,
    /// Video codec, as ffprobe names it (`h264`, `vp9`, `hevc`, …).
    pub video_codec: String,
    /// Audio codec, if there is an audio track (`aac`, `opus`, …).
    pub audio_codec: Option<String>,
}

/// How the stored video relates to the upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Transcoded by ffmpeg; a poster was made.
    Transcoded,
    /// Served byte for byte as uploaded (no ffmpeg); no poster.
    AsUploaded,
}

/// The outcome of [`MediaProcessor::process`].
#[derive(Debug, Clone)]
pub struct Processed {
    /// Whether the video was transcoded or is served as uploaded.
    pub delivery: Delivery,
    /// The file to store: the transcoded MP4 in `out_dir`, or the input
    /// itself. An MP4/MOV served as uploaded has its user metadata (`udta`,
    /// `meta`: location, device, titles) blanked in place first; transcoding
    /// drops it too (`-map_metadata -1`).
    pub video: PathBuf,
    /// Media type of `video`.
    pub content_type: &'static str,
    /// The poster JPEG in `out_dir` (transcoded videos only).
    pub poster: Option<PathBuf>,
    /// Facts about `video` (after transcoding, if any).
    pub info: MediaInfo,
    /// Facts about the upload as received.
    pub source: MediaInfo,
}

/// Why an uploaded video was refused or could not be processed. The
/// `Display` text is fit for the client (it becomes `state_reason`).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The content is not a video container. HTTP 415.
    #[error("the file is not a video (MP4, MOV or WebM expected)")]
    NotAVideo,
    /// The file was cut short. HTTP 422.
    #[error("the video file is truncated ({0})")]
    Truncated(String),
    /// The file is damaged or unreadable. HTTP 422.
    #[error("the video file is damaged or unreadable ({0})")]
    Corrupt(String),
    /// The container holds no video track. HTTP 422.
    #[error("the file has no video track")]
    NoVideoTrack,
    /// Longer than allowed. HTTP 422.
    #[error("the video is {duration_ms} ms long; the limit is {limit_ms} ms")]
    TooLong {
        /// The video's duration.
        duration_ms: u64,
        /// The configured limit.
        limit_ms: u64,
    },
    /// A format this server cannot serve: without ffmpeg, only H.264 MP4
    /// and VP8/VP9 WebM are accepted. HTTP 415.
    #[error("unsupported video format: {0}")]
    Unsupported(String),
    /// ffmpeg/ffprobe failed on a file that looked valid. HTTP 422: in
    /// practice the upload is at fault.
    #[error("the video could not be processed ({tool} failed: {detail})")]
    ToolFailed {
        /// `ffmpeg` or `ffprobe`.
        tool: &'static str,
        /// The tool's last error line.
        detail: String,
    },
    /// A tool ran past its timeout and was killed. HTTP 422.
    #[error("processing the video took too long")]
    Timeout,
    /// The uploader already has the most videos waiting that the queue
    /// takes. HTTP 503: a later upload is welcome.
    #[error("{0}; try again once they are ready")]
    Busy(#[from] QueueFull),
    /// Local trouble on our side. HTTP 500.
    #[error("internal error while processing the video")]
    Io(#[from] std::io::Error),
}

impl ProcessError {
    /// The HTTP status this error should be answered with, if processing
    /// happens during the request (when it runs as a background job, the
    /// video becomes `failed` with this error's text as `state_reason`).
    pub fn http_status(&self) -> u16 {
        match self {
            ProcessError::NotAVideo | ProcessError::Unsupported(_) => 415,
            ProcessError::Io(_) => 500,
            ProcessError::Busy(_) => 503,
            _ => 422,
        }
    }

    /// A stable machine-readable code, usable as the tail of a problem `type`.
    pub fn code(&self) -> &'static str {
        match self {
            ProcessError::NotAVideo => "not-a-video",
            ProcessError::Truncated(_) => "video-truncated",
            ProcessError::Corrupt(_) => "video-corrupt",
            ProcessError::NoVideoTrack => "video-no-video-track",
            ProcessError::TooLong { .. } => "video-too-long",
            ProcessError::Busy(_) => "video-queue-full",
            ProcessError::Unsupported(_) => "video-unsupported-format",
            ProcessError::ToolFailed { .. } => "video-processing-failed",
            ProcessError::Timeout => "video-processing-timeout",
            ProcessError::Io(_) => "internal",
        }
    }
}

impl From<ParseError> for ProcessError {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::Truncated(m) => ProcessError::Truncated(m),
            ParseError::Corrupt(m) => ProcessError::Corrupt(m),
            ParseError::Io(e) => ProcessError::Io(e),
        }
    }
}

/// Paths of the external tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// The `ffmpeg` executable.
    pub ffmpeg: PathBuf,
    /// The `ffprobe` executable.
    pub ffprobe: PathBuf,
    /// `nice`, if present: the tools then run at a lower CPU priority than
    /// the API server.
    pub nice: Option<PathBuf>,
}

impl Toolchain {
    /// Finds `ffmpeg` and `ffprobe` (and `nice`) on the PATH; `None` unless
    /// both tools are there.
    pub fn detect() -> Option<Toolchain> {
        let path = std::env::var_os("PATH")?;
        let find = |name: &str| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| is_executable(p))
        };
        Some(Toolchain {
            ffmpeg: find("ffmpeg")?,
            ffprobe: find("ffprobe")?,
            nice: find("nice"),
        })
    }
}

/// A path as an ffmpeg input/output argument. The `file:` protocol prefix
/// keeps a name that starts with `-` or holds a `:` from being read as an
/// option or another protocol.
fn file_arg(path: &Path) -> std::ffi::OsString {
    let mut arg = std::ffi::OsString::from("file:");
    arg.push(path.as_os_str());
    arg
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Probes and processes uploaded videos. Cheap to clone; clones share the
/// concurrency limit.
#[derive(Debug, Clone)]
pub struct MediaProcessor {
    tools: Option<Toolchain>,
    config: ProcessConfig,
    /// Transcodes are long and wait in a fair queue; probes are short and
    /// run during the upload request, so they get their own permits and
    /// never queue behind a transcode.
    transcodes: FairQueue,
    probe_permits: Arc<Semaphore>,
}

impl MediaProcessor {
    /// Uses ffmpeg/ffprobe if both are on the PATH.
    pub fn detect(config: ProcessConfig) -> MediaProcessor {
        MediaProcessor::with_tools(Toolchain::detect(), config)
    }

    /// Uses the given tools, or the built-in parsers only with `None`.
    pub fn with_tools(tools: Option<Toolchain>, config: ProcessConfig) -> MediaProcessor {
        let transcodes = FairQueue::new(QueueConfig {
            slots: config.max_concurrent,
            per_owner: config.per_owner,
            max_waiting: config.max_waiting_per_owner,
        });
        let probe_permits = Arc::new(Semaphore::new(config.max_concurrent.max(4)));
        MediaProcessor {
            tools,
            config,
            transcodes,
            probe_permits,
        }
    }

    /// True when videos are transcoded (ffmpeg available).
    pub fn transcodes(&self) -> bool {
        self.tools.is_some()
    }

    /// The settings in use.
    pub fn config(&self) -> &ProcessConfig {
        &self.config
    }

    /// Reads the facts of the video at `path`, refusing anything that is not
    /// a complete, readable video within the duration limit. Without ffmpeg
    /// it also refuses what a browser cannot play as is.
    pub async fn probe(&self, path: &Path) -> Result<MediaInfo, ProcessError> {
        let container = sniff_file(path).await?;
        let native = native_parse(path, container).await;
        let info = match &self.tools {
            Some(tools) => {
                let native_ms = match native {
                    Err(ParseError::Truncated(m)) => return Err(ProcessError::Truncated(m)),
                    Ok(n) if n.duration_ms > 0 => Some(n.duration_ms),
                    _ => None,
                };
                // Live WebM (browsers' MediaRecorder) has no Duration element
                // and ffprobe reports none; the built-in parser's block
                // timestamps stand in for it.
                self.ffprobe(tools, path, container, native_ms).await?
            }
            None => {
                let info = native_info(container, native?)?;
                check_playable(&info)?;
                info
            }
        };
        check_picture_size(&info)?;
        let limit_ms = self.limit_ms();
        if info.duration_ms > limit_ms {
            return Err(ProcessError::TooLong {
                duration_ms: info.duration_ms,
                limit_ms,
            });
        }
        Ok(info)
    }

    /// Probes the video at `input` and makes it ready to serve: transcoded
    /// into `out_dir` (as `video.mp4` and `poster.jpg`) with ffmpeg, or
    /// accepted as uploaded without it.
    pub async fn process(&self, input: &Path, out_dir: &Path) -> Result<Processed, ProcessError> {
        self.process_for("", input, out_dir).await
    }

    /// [`process`](Self::process) of `owner`'s upload: its transcode waits
    /// for a slot within the owner's share of the queue.
    pub async fn process_for(
        &self,
        owner: &str,
        input: &Path,
        out_dir: &Path,
    ) -> Result<Processed, ProcessError> {
        let source = self.probe(input).await?;
        let Some(tools) = &self.tools else {
            if source.container.is_iso_bmff() {
                blank_mp4_metadata(input).await?;
            }
            return Ok(Processed {
                delivery: Delivery::AsUploaded,
                video: input.to_path_buf(),
                content_type: source.container.content_type(),
                poster: None,
                info: source.clone(),
                source,
            });
        };
        tokio::fs::create_dir_all(out_dir).await?;
        let video = out_dir.join("video.mp4");
        let poster = out_dir.join("poster.jpg");
        let slot = self.transcodes.acquire(owner).await?;
        let result = self.transcode(tools, input, &video, &poster, &source).await;
        drop(slot);
        if result.is_err() {
            // Leave nothing half-written behind.
            let _ = tokio::fs::remove_file(&video).await;
            let _ = tokio::fs::remove_file(&poster).await;
        }
        let info = result?;
        Ok(Processed {
            delivery: Delivery::Transcoded,
            video,
            content_type: "video/mp4",
            poster: Some(poster),
            info,
            source,
        })
    }

    async fn transcode(
        &self,
        tools: &Toolchain,
        input: &Path,
        video: &Path,
        poster: &Path,
        source: &MediaInfo,
    ) -> Result<MediaInfo, ProcessError> {
        let threads = self.config.threads.max(1).to_string();
        let edge = self.config.max_short_edge.max(2) & !1;
        // Landscape: cap the height; portrait: cap the width. The other side
        // follows the aspect ratio, rounded to even (-2) as 4:2:0 needs; min()
        // keeps small videos from being upscaled; iw/ih are after autorotation.
        let scale = format!(
            "scale=w='if(gte(iw,ih),-2,min({edge},trunc(iw/2)*2))':h='if(gte(iw,ih),min({edge},trunc(ih/2)*2),-2)',setsar=1"
        );
        // Decode no more than the limit and a second, whatever the
        // container declares: a longer video is caught by its decoded
        // duration below, without decoding the rest of it.
        let limit_ms = self.limit_ms();
        let cap_ms = limit_ms.saturating_add(DECODE_MARGIN_MS);
        let cap = format!("{}.{:03}", cap_ms / 1000, cap_ms % 1000);
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        let mut push = |a: &str| args.push(a.into());
        for a in [
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-y",
            "-threads",
            &threads,
            "-t",
            &cap,
            "-i",
        ] {
            push(a);
        }
        args.push(file_arg(input));
        for a in [
            "-map",
            "0:v:0",
            "-map",
            "0:a:0?",
            "-map_metadata",
            "-1",
            "-sn",
            "-dn",
            "-filter_threads",
            &threads,
            "-vf",
            &scale,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            "-threads",
            &threads,
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-ac",
            "2",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
        ] {
            args.push(a.into());
        }
        args.push(file_arg(video));
        self.run(
            &tools.ffmpeg,
            "ffmpeg",
            &args,
            None,
            self.config.tool_timeout,
        )
        .await?;

        // The poster comes from the transcoded file: already scaled and
        // rotated. One second in, or the middle of shorter clips.
        let at_ms = (source.duration_ms / 2).min(1000);
        let at = format!("{}.{:03}", at_ms / 1000, at_ms % 1000);
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        for a in [
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-y",
            "-threads",
            &threads,
            "-ss",
            &at,
            "-i",
        ] {
            args.push(a.into());
        }
        args.push(file_arg(video));
        for a in [
            "-frames:v",
            "1",
            "-q:v",
            "3",
            "-f",
            "image2",
            "-c:v",
            "mjpeg",
        ] {
            args.push(a.into());
        }
        args.push(file_arg(poster));
        self.run(
            &tools.ffmpeg,
            "ffmpeg",
            &args,
            None,
            self.config.tool_timeout,
        )
        .await?;
        if !tokio::fs::try_exists(poster).await? {
            return Err(ProcessError::ToolFailed {
                tool: "ffmpeg",
                detail: "no poster frame written".into(),
            });
        }
        let decoded = self.ffprobe(tools, video, Container::Mp4, None).await?;
        // The duration that counts is the decoded one. Encoders pad audio
        // by a few milliseconds, so the margin is half a second.
        if decoded.duration_ms > limit_ms.saturating_add(DECODE_MARGIN_MS / 2) {
            return Err(ProcessError::TooLong {
                duration_ms: decoded.duration_ms,
                limit_ms,
            });
        }
        Ok(decoded)
    }

    fn limit_ms(&self) -> u64 {
        u64::try_from(self.config.max_duration.as_millis()).unwrap_or(u64::MAX)
    }

    async fn ffprobe(
        &self,
        tools: &Toolchain,
        path: &Path,
        container: Container,
        fallback_duration_ms: Option<u64>,
    ) -> Result<MediaInfo, ProcessError> {
        let mut args: Vec<std::ffi::OsString> = Vec::new();
        for a in [
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            "-i",
        ] {
            args.push(a.into());
        }
        args.push(file_arg(path));
        let out = match self
            .run(
                &tools.ffprobe,
                "ffprobe",
                &args,
                Some(&self.probe_permits),
                self.config.probe_timeout,
            )
            .await
        {
            Ok(out) => out,
            // ffprobe refusing the file means it is not a readable video.
            Err(ProcessError::ToolFailed { detail, .. }) => {
                return Err(ProcessError::Corrupt(detail));
            }
            Err(e) => return Err(e),
        };
        parse_ffprobe(&out, container, fallback_duration_ms)
    }

    /// Runs a tool with the timeout and the concurrency limit; returns its
    /// stdout. The child is killed if the timeout fires or the caller goes away.
    async fn run(
        &self,
        program: &Path,
        tool: &'static str,
        args: &[std::ffi::OsString],
        permits: Option<&Semaphore>,
        timeout: Duration,
    ) -> Result<Vec<u8>, ProcessError> {
        let _permit = match permits {
            Some(p) => Some(
                p.acquire()
                    .await
                    .map_err(|_| std::io::Error::other("processor closed"))?,
            ),
            None => None,
        };
        let mut command = match self.tools.as_ref().and_then(|t| t.nice.as_ref()) {
            Some(nice) => {
                // nice execs the tool, so killing the child kills the tool.
                let mut c = tokio::process::Command::new(nice);
                c.args(["-n", "10"]).arg(program);
                c
            }
            None => tokio::process::Command::new(program),
        };
        let child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
            Ok(output) => output?,
            Err(_) => return Err(ProcessError::Timeout),
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let detail = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            let detail = detail
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect::<String>();
            tracing::debug!(tool, status = %output.status, %detail, "media tool failed");
            return Err(ProcessError::ToolFailed { tool, detail });
        }
        Ok(output.stdout)
    }
}

async fn sniff_file(path: &Path) -> Result<Container, ProcessError> {
    use tokio::io::AsyncReadExt;
    let file = tokio::fs::File::open(path).await?;
    let mut head = Vec::with_capacity(SNIFF_LEN);
    file.take(SNIFF_LEN as u64).read_to_end(&mut head).await?;
    match sniff(&head) {
        Sniff::Video(c) => Ok(c),
        Sniff::Partial => Err(ProcessError::Truncated(
            "file ends inside its header".into(),
        )),
        Sniff::NeedMore | Sniff::NotVideo => Err(ProcessError::NotAVideo),
    }
}

async fn blank_mp4_metadata(path: &Path) -> Result<(), ProcessError> {
    let path = path.to_path_buf();
    let blanked = tokio::task::spawn_blocking(move || {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)?;
        let len = file.metadata()?.len();
        native::mp4::blank_metadata(&mut file, len)
    })
    .await
    .map_err(|e| ProcessError::Io(std::io::Error::other(e)))??;
    tracing::debug!(
        blanked,
        "blanked metadata boxes of a video served as uploaded"
    );
    Ok(())
}

async fn native_parse(path: &Path, container: Container) -> Result<NativeInfo, ParseError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path)?;
        let len = file.metadata()?.len();
        // Small buffer: the parsers mostly read headers and then seek.
        let mut reader = std::io::BufReader::with_capacity(512, file);
        if container.is_iso_bmff() {
            native::mp4::parse(&mut reader, len)
        } else {
            native::webm::parse(&mut reader, len)
        }
    })
    .await
    .map_err(|e| ParseError::Io(std::io::Error::other(e)))?
}

fn native_info(container: Container, native: NativeInfo) -> Result<MediaInfo, ProcessError> {
    let Some(video) = native.video else {
        return Err(ProcessError::NoVideoTrack);
    };
    if video.width == 0 || video.height == 0 {
        return Err(ProcessError::Corrupt(
            "video track without a picture size".into(),
        ));
    }
    Ok(MediaInfo {
        container,
        duration_ms: native.duration_ms,
        width: video.width,
        height: video.height,
        video_codec: video.codec,
        audio_codec: native.audio_codec,
    })
}

/// Largest picture accepted, per side and in total (8K UHD). Bigger frames
/// are not phone video; they are a way to make the transcoder use gigabytes.
const MAX_SIDE: u32 = 8192;
const MAX_PIXELS: u64 = 7680 * 4320;

fn check_picture_size(info: &MediaInfo) -> Result<(), ProcessError> {
    let (w, h) = (info.width, info.height);
    if w < 2 || h < 2 || w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(ProcessError::Unsupported(format!(
            "a picture size of {w}x{h} (at most {MAX_SIDE} per side and 8K UHD in total)"
        )));
    }
    Ok(())
}

/// What browsers play without transcoding (see the design's Media section).
fn check_playable(info: &MediaInfo) -> Result<(), ProcessError> {
    let audio = info.audio_codec.as_deref();
    let ok = match info.container {
        Container::Mp4 | Container::QuickTime => {
            info.video_codec == "h264" && matches!(audio, None | Some("aac" | "mp3"))
        }
        Container::WebM => {
            matches!(info.video_codec.as_str(), "vp8" | "vp9")
                && matches!(audio, None | Some("opus" | "vorbis"))
        }
        Container::Matroska => false,
    };
    if ok {
        return Ok(());
    }
    Err(ProcessError::Unsupported(format!(
        "{} with {} video{}; without transcoding only H.264 MP4 and VP8/VP9 WebM are accepted",
        info.container.name(),
        info.video_codec,
        audio.map(|a| format!(" and {a} audio")).unwrap_or_default()
    )))
}

#[derive(Deserialize)]
struct FfprobeOutput {
    #[serde(default)]
    streams: Vec<FfprobeStream>,
    format: Option<FfprobeFormat>,
}

#[derive(Deserialize)]
struct FfprobeStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    duration: Option<String>,
    #[serde(default)]
    side_data_list: Vec<serde_json::Value>,
    #[serde(default)]
    tags: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    disposition: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct FfprobeFormat {
    duration: Option<String>,
}

fn seconds_to_ms(s: &str) -> Option<u64> {
    let v: f64 = s.trim().parse().ok()?;
    (0.0..1e12)
        .contains(&v)
        .then(|| (v * 1000.0).round() as u64)
}

const NO_DURATION: &str = "the video has no known duration";

fn parse_ffprobe(
    json: &[u8],
    container: Container,
    fallback_duration_ms: Option<u64>,
) -> Result<MediaInfo, ProcessError> {
    let out: FfprobeOutput = serde_json::from_slice(json)
        .map_err(|e| ProcessError::Corrupt(format!("unexpected ffprobe output: {e}")))?;
    // Cover art is a "video" stream too; skip attached pictures.
    let is_picture =
        |s: &FfprobeStream| s.disposition.get("attached_pic").and_then(|v| v.as_i64()) == Some(1);
    let video = out
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("video") && !is_picture(s))
        .ok_or(ProcessError::NoVideoTrack)?;
    let audio = out
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("audio"));
    let (mut width, mut height) = match (video.width, video.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
        _ => {
            return Err(ProcessError::Corrupt(
                "video stream without a picture size".into(),
            ));
        }
    };
    if rotation(video).is_some_and(|r| r.rem_euclid(180) == 90) {
        std::mem::swap(&mut width, &mut height);
    }
    let duration_ms = out
        .format
        .as_ref()
        .and_then(|f| f.duration.as_deref())
        .or(video.duration.as_deref())
        .and_then(seconds_to_ms)
        .or(fallback_duration_ms)
        .ok_or_else(|| ProcessError::Corrupt(NO_DURATION.into()))?;
    let clean =
        |s: &Option<String>| native::clean_codec(s.as_deref().unwrap_or("unknown").as_bytes());
    Ok(MediaInfo {
        container,
        duration_ms,
        width,
        height,
        video_codec: clean(&video.codec_name),
        audio_codec: audio.map(|a| clean(&a.codec_name)),
    })
}

/// Rotation in degrees from the display matrix side data or the legacy tag.
fn rotation(s: &FfprobeStream) -> Option<i64> {
    let from_side_data = s.side_data_list.iter().find_map(|d| {
        let r = d.get("rotation")?;
        r.as_i64().or_else(|| r.as_f64().map(|f| f.round() as i64))
    });
    from_side_data.or_else(|| s.tags.get("rotate")?.as_str()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probe runs during the upload request; it must not wait for a
    /// transcode slot. All transcode slots are taken here and never given
    /// back, so a probe queued behind them would hang: the timeout turns
    /// that hang into a failure (it bounds a deadlock, it measures nothing).
    #[tokio::test]
    async fn probes_do_not_queue_behind_transcodes() {
        let Some(tools) = Toolchain::detect() else {
            panic!("ffmpeg and ffprobe must be on the PATH (scripts/ensure-test-deps)");
        };
        let dir = tempfile::tempdir().unwrap();
        let clip = dir.path().join("clip.mp4");
        let status = std::process::Command::new(&tools.ffmpeg)
            .args([
                "-nostdin",
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=64x64:rate=5",
                "-t",
                "1",
            ])
            .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
            .arg(&clip)
            .status()
            .unwrap();
        assert!(status.success());

        let p = MediaProcessor::with_tools(Some(tools), ProcessConfig::default());
        let mut held = vec![];
        for owner in 0..p.config.max_concurrent {
            held.push(p.transcodes.acquire(&owner.to_string()).await.unwrap());
        }
        let probed = tokio::time::timeout(Duration::from_secs(120), p.probe(&clip)).await;
        let info = probed
            .expect("the probe waited for a transcode slot")
            .unwrap();
        assert_eq!((info.width, info.height), (64, 64));
    }

    #[test]
    fn picture_sizes_out_of_range_are_refused() {
        let info = |width, height| MediaInfo {
            container: Container::Mp4,
            duration_ms: 1000,
            width,
            height,
            video_codec: "h264".into(),
            audio_codec: None,
        };
        for (w, h) in [(1, 100), (100, 1), (8193, 100), (8192, 8192), (100, 9000)] {
            assert!(
                matches!(
                    check_picture_size(&info(w, h)),
                    Err(ProcessError::Unsupported(_))
                ),
                "{w}x{h}"
            );
        }
        for (w, h) in [
            (2, 2),
            (1080, 1920),
            (7680, 4320),
            (4320, 7680),
            (8192, 100),
        ] {
            assert!(check_picture_size(&info(w, h)).is_ok(), "{w}x{h}");
        }
    }

    #[test]
    fn ffprobe_json_edge_cases() {
        let no_video = br#"{"streams":[{"codec_type":"audio","codec_name":"aac"}],"format":{"duration":"1.0"}}"#;
        assert!(matches!(
            parse_ffprobe(no_video, Container::Mp4, None),
            Err(ProcessError::NoVideoTrack)
        ));
        let cover_only = br#"{"streams":[{"codec_type":"video","codec_name":"mjpeg","width":10,"height":10,"disposition":{"attached_pic":1}}],"format":{"duration":"1.0"}}"#;
        assert!(matches!(
            parse_ffprobe(cover_only, Container::Mp4, None),
            Err(ProcessError::NoVideoTrack)
        ));
        let rotated = br#"{"streams":[{"codec_type":"video","codec_name":"h264","width":1920,"height":1080,"side_data_list":[{"rotation":-90}]}],"format":{"duration":"2.5"}}"#;
        let info = parse_ffprobe(rotated, Container::Mp4, None).unwrap();
        assert_eq!(
            (info.width, info.height, info.duration_ms),
            (1080, 1920, 2500)
        );
        let no_duration = br#"{"streams":[{"codec_type":"video","codec_name":"vp8","width":4,"height":4}],"format":{}}"#;
        assert!(matches!(
            parse_ffprobe(no_duration, Container::WebM, None),
            Err(ProcessError::Corrupt(_))
        ));
        assert_eq!(
            parse_ffprobe(no_duration, Container::WebM, Some(1234))
                .unwrap()
                .duration_ms,
            1234
        );
        let bad_duration = br#"{"streams":[{"codec_type":"video","codec_name":"vp8","width":4,"height":4}],"format":{"duration":"NaN"}}"#;
        assert!(parse_ffprobe(bad_duration, Container::WebM, None).is_err());
        assert!(parse_ffprobe(b"not json", Container::Mp4, None).is_err());
        let zero_size = br#"{"streams":[{"codec_type":"video","codec_name":"h264","width":0,"height":0}],"format":{"duration":"1"}}"#;
        assert!(matches!(
            parse_ffprobe(zero_size, Container::Mp4, None),
            Err(ProcessError::Corrupt(_))
        ));
    }
}
