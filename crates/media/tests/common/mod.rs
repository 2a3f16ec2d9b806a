//! Test clips, generated with ffmpeg at test time (never checked in).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A directory that lives as long as the test binary.
pub fn clip_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}

/// Runs ffmpeg with `args` to produce `name` in the clip directory, once.
fn generate(name: &str, args: &[&str]) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = clip_dir().join(name);
    if out.exists() {
        return out;
    }
    let tmp = clip_dir().join(format!("partial-{name}"));
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-v", "error", "-y"])
        .args(args)
        .arg(&tmp)
        .status()
        .expect("ffmpeg must be installed for these tests (scripts/ensure-test-deps)");
    assert!(status.success(), "ffmpeg failed generating {name}");
    std::fs::rename(&tmp, &out).unwrap();
    out
}

fn av_args<'a>(size: &'a str, secs: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "-f",
        "lavfi",
        "-i",
        size,
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440",
        "-t",
        secs,
    ];
    v.extend_from_slice(rest);
    v
}

/// 2 s of 1280x720 H.264 + AAC in MP4, moov at the end (ffmpeg's default).
pub fn mp4_720p() -> PathBuf {
    generate(
        "h264-720p.mp4",
        &av_args(
            "testsrc=size=1280x720:rate=25",
            "2",
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
            ],
        ),
    )
}

/// 2 s of 640x360 H.264 + AAC with +faststart (moov before mdat).
pub fn mp4_faststart() -> PathBuf {
    generate(
        "h264-faststart.mp4",
        &av_args(
            "testsrc=size=640x360:rate=25",
            "2",
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-movflags",
                "+faststart",
            ],
        ),
    )
}

/// 2 s of portrait 1080x1920 H.264, no audio.
pub fn mp4_portrait() -> PathBuf {
    generate(
        "h264-portrait.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=1080x1920:rate=10",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

/// 4 s of small H.264 MP4 (for the duration limit).
pub fn mp4_4s() -> PathBuf {
    generate(
        "h264-4s.mp4",
        &av_args(
            "testsrc=size=320x240:rate=10",
            "4",
            &[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
            ],
        ),
    )
}

/// 2 s of MPEG-4 part 2 in MP4: valid, but not browser-playable.
pub fn mp4_mpeg4_part2() -> PathBuf {
    generate(
        "mpeg4.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=10",
            "-t",
            "2",
            "-c:v",
            "mpeg4",
        ],
    )
}

/// 2 s of 320x240 VP9 + Opus WebM.
pub fn webm_vp9() -> PathBuf {
    generate(
        "vp9.webm",
        &av_args(
            "testsrc=size=320x240:rate=25",
            "2",
            &[
                "-c:v",
                "libvpx-vp9",
                "-deadline",
                "realtime",
                "-cpu-used",
                "8",
                "-c:a",
                "libopus",
            ],
        ),
    )
}

/// 2 s of 320x240 VP8 + Vorbis WebM.
pub fn webm_vp8() -> PathBuf {
    generate(
        "vp8.webm",
        &av_args(
            "testsrc=size=320x240:rate=25",
            "2",
            &[
                "-c:v",
                "libvpx",
                "-deadline",
                "realtime",
                "-c:a",
                "libvorbis",
            ],
        ),
    )
}

/// 2 s of VP8 + Opus WebM as a live stream: unknown sizes, no Duration
/// element (what browsers' MediaRecorder produces).
pub fn webm_live() -> PathBuf {
    generate(
        "live.webm",
        &av_args(
            "testsrc=size=320x240:rate=25",
            "2",
            &[
                "-c:v",
                "libvpx",
                "-deadline",
                "realtime",
                "-c:a",
                "libopus",
                "-f",
                "webm",
                "-live",
                "1",
            ],
        ),
    )
}

/// The 720p clip with a 90° display rotation (how phones store portrait).
pub fn mp4_rotated() -> PathBuf {
    let src = mp4_720p();
    generate(
        "rotated.mp4",
        &[
            "-i",
            src.to_str().unwrap(),
            "-c",
            "copy",
            "-metadata:s:v:0",
            "rotate=90",
        ],
    )
}

/// 1 s of H.264 MP4 carrying a recording location and a title.
pub fn mp4_with_location() -> PathBuf {
    generate(
        "located.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-metadata",
            "location=+48.8584+002.2945/",
            "-metadata",
            "title=secret-title-canary",
            "-movflags",
            "+faststart",
        ],
    )
}

/// 2 s of H.264 in Matroska (not WebM).
pub fn mkv_h264() -> PathBuf {
    generate(
        "h264.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=10",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
    )
}

/// A copy of `src` cut to `keep` of its length.
pub fn truncated(src: &Path, name: &str, keep: f64) -> PathBuf {
    let data = std::fs::read(src).unwrap();
    let out = clip_dir().join(name);
    std::fs::write(&out, &data[..(data.len() as f64 * keep) as usize]).unwrap();
    out
}

/// Writes `bytes` to a file called `name` in the clip directory.
pub fn file_with(name: &str, bytes: &[u8]) -> PathBuf {
    let out = clip_dir().join(name);
    std::fs::write(&out, bytes).unwrap();
    out
}

/// The top-level box types of an MP4, in order.
pub fn top_level_boxes(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let mut pos = 0usize;
    let mut out = Vec::new();
    while pos + 8 <= data.len() {
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        out.push(String::from_utf8_lossy(&data[pos + 4..pos + 8]).into_owned());
        let size = if size == 1 {
            u64::from_be_bytes(data[pos + 8..pos + 16].try_into().unwrap()) as usize
        } else {
            size
        };
        if size < 8 {
            break;
        }
        pos += size;
    }
    out
}
