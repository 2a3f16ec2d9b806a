//! Probing and processing, with ffmpeg and with the built-in parsers alone.

mod common;

use std::time::Duration;

use sovereel_media::{Container, Delivery, MediaProcessor, ProcessConfig, ProcessError, Toolchain};

fn with_ffmpeg() -> MediaProcessor {
    let tools = Toolchain::detect()
        .expect("ffmpeg and ffprobe must be on the PATH (scripts/ensure-test-deps)");
    MediaProcessor::with_tools(Some(tools), ProcessConfig::default())
}

fn native_only() -> MediaProcessor {
    MediaProcessor::with_tools(None, ProcessConfig::default())
}

#[tokio::test]
async fn ffprobe_reads_a_clip() {
    let info = with_ffmpeg().probe(&common::mp4_720p()).await.unwrap();
    assert_eq!((info.width, info.height), (1280, 720));
    assert!(
        (1900..=2100).contains(&info.duration_ms),
        "{}",
        info.duration_ms
    );
    assert_eq!(info.video_codec, "h264");
    assert_eq!(info.audio_codec.as_deref(), Some("aac"));
    assert_eq!(info.container, Container::Mp4);
}

#[tokio::test]
async fn transcoding_scales_to_720_with_faststart_and_a_poster() {
    let out = tempfile::tempdir().unwrap();
    let done = with_ffmpeg()
        .process(&common::mp4_portrait(), out.path())
        .await
        .unwrap();
    assert_eq!(done.delivery, Delivery::Transcoded);
    assert_eq!(done.content_type, "video/mp4");
    assert_eq!((done.source.width, done.source.height), (1080, 1920));
    // Portrait: the short edge is the width.
    assert_eq!((done.info.width, done.info.height), (720, 1280));
    assert_eq!(done.info.video_codec, "h264");
    assert_eq!(done.info.audio_codec, None, "no audio in, no audio out");
    let boxes = common::top_level_boxes(&done.video);
    let moov = boxes.iter().position(|b| b == "moov").unwrap();
    let mdat = boxes.iter().position(|b| b == "mdat").unwrap();
    assert!(moov < mdat, "faststart puts moov first: {boxes:?}");
    let poster = std::fs::read(done.poster.as_ref().unwrap()).unwrap();
    assert_eq!(&poster[..3], &[0xFF, 0xD8, 0xFF], "poster is a JPEG");
}

#[tokio::test]
async fn transcoding_keeps_audio_and_webm_becomes_mp4() {
    let out = tempfile::tempdir().unwrap();
    let done = with_ffmpeg()
        .process(&common::webm_vp9(), out.path())
        .await
        .unwrap();
    assert_eq!(done.source.container, Container::WebM);
    assert_eq!(done.source.video_codec, "vp9");
    assert_eq!(done.info.container, Container::Mp4);
    // 320x240 is under the cap: not upscaled.
    assert_eq!((done.info.width, done.info.height), (320, 240));
    assert_eq!(done.info.audio_codec.as_deref(), Some("aac"));
    // A transcoded file passes the built-in parser's browser check too.
    let again = native_only().probe(&done.video).await.unwrap();
    assert_eq!((again.width, again.height), (320, 240));
}

#[tokio::test]
async fn landscape_720p_is_scaled_only_when_larger() {
    let out = tempfile::tempdir().unwrap();
    let done = with_ffmpeg()
        .process(&common::mp4_720p(), out.path())
        .await
        .unwrap();
    assert_eq!((done.info.width, done.info.height), (1280, 720));
    let out2 = tempfile::tempdir().unwrap();
    let small = MediaProcessor::with_tools(
        Toolchain::detect(),
        ProcessConfig {
            max_short_edge: 360,
            ..ProcessConfig::default()
        },
    );
    let done = small
        .process(&common::mp4_720p(), out2.path())
        .await
        .unwrap();
    assert_eq!((done.info.width, done.info.height), (640, 360));
}

#[tokio::test]
async fn truncated_clips_are_refused_in_both_modes() {
    // moov at the end: cutting the file loses it.
    let cut = common::truncated(&common::mp4_720p(), "cut.mp4", 0.5);
    // moov first: cutting the file loses media data, which ffprobe does not notice.
    let cut_fast = common::truncated(&common::mp4_faststart(), "cut-faststart.mp4", 0.6);
    let cut_webm = common::truncated(&common::webm_vp9(), "cut.webm", 0.5);
    for p in [with_ffmpeg(), native_only()] {
        for file in [&cut, &cut_fast, &cut_webm] {
            let err = p.probe(file).await.unwrap_err();
            assert!(
                matches!(err, ProcessError::Truncated(_)),
                "{}: {err:?}",
                file.display()
            );
            assert_eq!(err.http_status(), 422);
        }
    }
    let out = tempfile::tempdir().unwrap();
    assert!(with_ffmpeg().process(&cut, out.path()).await.is_err());
    assert_eq!(
        std::fs::read_dir(out.path())
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "no output left"
    );
}

#[tokio::test]
async fn garbage_after_a_valid_signature_is_refused() {
    let mut fake = vec![0, 0, 0, 20];
    fake.extend_from_slice(b"ftypisom\0\0\0\0isom");
    fake.extend((0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let file = common::file_with("garbage.mp4", &fake);
    for p in [with_ffmpeg(), native_only()] {
        let err = p.probe(&file).await.unwrap_err();
        assert!(
            matches!(err, ProcessError::Truncated(_) | ProcessError::Corrupt(_)),
            "{err:?}"
        );
    }
    let text = common::file_with("text.mp4", b"hello world, definitely not a video");
    for p in [with_ffmpeg(), native_only()] {
        let err = p.probe(&text).await.unwrap_err();
        assert!(matches!(err, ProcessError::NotAVideo), "{err:?}");
        assert_eq!(err.http_status(), 415);
    }
    let one = common::file_with("one-byte.mp4", b"\0");
    assert!(matches!(
        native_only().probe(&one).await,
        Err(ProcessError::NotAVideo)
    ));
}

#[tokio::test]
async fn videos_over_the_duration_limit_are_refused() {
    let config = ProcessConfig {
        max_duration: Duration::from_secs(3),
        ..ProcessConfig::default()
    };
    for p in [
        MediaProcessor::with_tools(Toolchain::detect(), config.clone()),
        MediaProcessor::with_tools(None, config.clone()),
    ] {
        let err = p.probe(&common::mp4_4s()).await.unwrap_err();
        match err {
            ProcessError::TooLong {
                duration_ms,
                limit_ms,
            } => {
                assert_eq!(limit_ms, 3000);
                assert!((3900..=4100).contains(&duration_ms), "{duration_ms}");
            }
            other => panic!("expected TooLong, got {other:?}"),
        }
        assert!(
            p.probe(&common::mp4_720p()).await.is_ok(),
            "2 s is under 3 s"
        );
    }
}

#[tokio::test]
async fn without_ffmpeg_playable_files_are_served_as_uploaded() {
    let p = native_only();
    assert!(!p.transcodes());
    let out = tempfile::tempdir().unwrap();

    // A copy: serving as uploaded blanks metadata in place.
    let mp4 = out.path().join("upload.mp4");
    std::fs::copy(common::mp4_720p(), &mp4).unwrap();
    let done = p.process(&mp4, out.path()).await.unwrap();
    assert_eq!(done.delivery, Delivery::AsUploaded);
    assert_eq!(done.video, mp4);
    assert_eq!(done.poster, None);
    assert_eq!(done.content_type, "video/mp4");
    assert_eq!((done.info.width, done.info.height), (1280, 720));
    assert_eq!(done.info.video_codec, "h264");
    assert_eq!(done.info.audio_codec.as_deref(), Some("aac"));
    assert!(
        (1900..=2100).contains(&done.info.duration_ms),
        "{}",
        done.info.duration_ms
    );

    let portrait = p.probe(&common::mp4_portrait()).await.unwrap();
    assert_eq!((portrait.width, portrait.height), (1080, 1920));
    assert_eq!(portrait.audio_codec, None);

    for (file, codec, audio) in [
        (common::webm_vp9(), "vp9", "opus"),
        (common::webm_vp8(), "vp8", "vorbis"),
    ] {
        let done = p.process(&file, out.path()).await.unwrap();
        assert_eq!(done.delivery, Delivery::AsUploaded);
        assert_eq!(done.content_type, "video/webm");
        assert_eq!((done.info.width, done.info.height), (320, 240));
        assert_eq!(done.info.video_codec, codec);
        assert_eq!(done.info.audio_codec.as_deref(), Some(audio));
        assert!(
            (1900..=2100).contains(&done.info.duration_ms),
            "{}",
            done.info.duration_ms
        );
    }
}

#[tokio::test]
async fn native_and_ffprobe_agree_on_generated_clips() {
    for file in [
        common::mp4_720p(),
        common::mp4_faststart(),
        common::webm_vp9(),
        common::webm_vp8(),
        common::mp4_4s(),
    ] {
        let a = with_ffmpeg().probe(&file).await.unwrap();
        let b = native_only().probe(&file).await.unwrap();
        assert_eq!(
            (a.width, a.height, &a.video_codec, &a.audio_codec),
            (b.width, b.height, &b.video_codec, &b.audio_codec)
        );
        assert!(
            a.duration_ms.abs_diff(b.duration_ms) <= 100,
            "{}: {} vs {}",
            file.display(),
            a.duration_ms,
            b.duration_ms
        );
    }
}

#[tokio::test]
async fn without_ffmpeg_other_formats_are_refused() {
    let p = native_only();
    for file in [common::mp4_mpeg4_part2(), common::mkv_h264()] {
        let err = p.probe(&file).await.unwrap_err();
        assert!(
            matches!(err, ProcessError::Unsupported(_)),
            "{}: {err:?}",
            file.display()
        );
        assert_eq!(err.http_status(), 415);
    }
    // With ffmpeg, the same files are transcoded.
    let out = tempfile::tempdir().unwrap();
    let done = with_ffmpeg()
        .process(&common::mkv_h264(), out.path())
        .await
        .unwrap();
    assert_eq!(done.delivery, Delivery::Transcoded);
}

#[tokio::test]
async fn a_tool_timeout_is_reported() {
    let config = ProcessConfig {
        tool_timeout: Duration::from_millis(1),
        ..ProcessConfig::default()
    };
    let p = MediaProcessor::with_tools(Toolchain::detect(), config);
    let out = tempfile::tempdir().unwrap();
    let err = p
        .process(&common::mp4_720p(), out.path())
        .await
        .unwrap_err();
    assert!(matches!(err, ProcessError::Timeout), "{err:?}");
}

#[tokio::test]
async fn live_webm_without_a_duration_gets_one_from_its_blocks() {
    let live = common::webm_live();
    for p in [native_only(), with_ffmpeg()] {
        let info = p.probe(&live).await.unwrap();
        assert_eq!((info.width, info.height), (320, 240));
        assert_eq!(info.video_codec, "vp8");
        assert!(
            (1800..=2100).contains(&info.duration_ms),
            "{}",
            info.duration_ms
        );
    }
    // The limit applies to it like to any other file.
    let strict = MediaProcessor::with_tools(
        None,
        ProcessConfig {
            max_duration: Duration::from_secs(1),
            ..ProcessConfig::default()
        },
    );
    assert!(matches!(
        strict.probe(&live).await,
        Err(ProcessError::TooLong { .. })
    ));
}

#[tokio::test]
async fn rotated_video_reports_its_displayed_size() {
    let rotated = common::mp4_rotated();
    for p in [native_only(), with_ffmpeg()] {
        let info = p.probe(&rotated).await.unwrap();
        assert_eq!((info.width, info.height), (720, 1280));
    }
    let out = tempfile::tempdir().unwrap();
    let done = with_ffmpeg().process(&rotated, out.path()).await.unwrap();
    assert_eq!((done.info.width, done.info.height), (720, 1280));
}

#[tokio::test]
async fn a_failing_encoder_is_reported_and_cleaned_up() {
    let real = Toolchain::detect().unwrap();
    // `false` on the PATH: a tool that fails without output.
    let failing = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("false"))
        .find(|p| p.is_file())
        .expect("false on the PATH");
    let tools = Toolchain {
        ffmpeg: failing,
        ..real
    };
    let p = MediaProcessor::with_tools(Some(tools), ProcessConfig::default());
    let out = tempfile::tempdir().unwrap();
    let err = p
        .process(&common::mp4_720p(), out.path())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProcessError::ToolFailed { tool: "ffmpeg", .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "video-processing-failed");
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn served_as_uploaded_mp4_loses_its_location_metadata() {
    let original = std::fs::read(common::mp4_with_location()).unwrap();
    let canary = b"secret-title-canary";
    assert!(
        original.windows(canary.len()).any(|w| w == canary),
        "the canary is in the upload"
    );
    assert!(common::top_level_boxes(&common::mp4_with_location()).contains(&"moov".to_string()));

    let dir = tempfile::tempdir().unwrap();
    let upload = dir.path().join("upload");
    std::fs::write(&upload, &original).unwrap();
    let done = native_only().process(&upload, dir.path()).await.unwrap();
    assert_eq!(done.delivery, Delivery::AsUploaded);
    let served = std::fs::read(&done.video).unwrap();
    assert_eq!(
        served.len(),
        original.len(),
        "same size: offsets stay valid"
    );
    assert!(
        !served.windows(canary.len()).any(|w| w == canary),
        "title is gone"
    );
    assert!(
        !served.windows(4).any(|w| w == b"loci" || w == b"udta"),
        "location box is gone"
    );
    // Still a complete, decodable video (moov is before mdat here, so a
    // shifted offset would break decoding).
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-xerror", "-i"])
        .arg(&done.video)
        .args(["-f", "null", "-"])
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg decodes the blanked file");
    let info = with_ffmpeg().probe(&done.video).await.unwrap();
    assert_eq!((info.width, info.height), (160, 120));
}
