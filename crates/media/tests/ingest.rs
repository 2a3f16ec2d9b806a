//! Upload ingest as the server uses it: a body stream in, a temp file out.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::stream;
use sha2::{Digest, Sha256};
use sovereel_media::{Container, IngestError, IngestLimits, ingest};

/// The file's bytes as a body stream of `chunk`-sized pieces.
fn body_of(
    data: &[u8],
    chunk: usize,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + use<> {
    let chunks: Vec<Result<Bytes, std::io::Error>> = data
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks)
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[tokio::test]
async fn a_clip_is_received_hashed_and_sniffed() {
    let data = std::fs::read(common::mp4_720p()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let got = ingest(body_of(&data, 7919), &IngestLimits::default(), tmp.path())
        .await
        .unwrap();
    assert_eq!(got.size, data.len() as u64);
    assert_eq!(got.sha256, hex::encode(Sha256::digest(&data)));
    assert_eq!(got.container, Container::Mp4);
    assert_eq!(std::fs::read(got.path()).unwrap(), data);
    let path = got.path().to_path_buf();
    drop(got);
    assert!(
        !path.exists(),
        "the temp file goes away with the Ingested value"
    );

    let webm = std::fs::read(common::webm_vp9()).unwrap();
    let got = ingest(body_of(&webm, 3), &IngestLimits::default(), tmp.path())
        .await
        .unwrap();
    assert_eq!(got.container, Container::WebM);
}

#[tokio::test]
async fn empty_and_one_byte_uploads_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let err = ingest(body_of(b"", 1), &IngestLimits::default(), tmp.path())
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::Empty), "{err:?}");
    assert_eq!(err.http_status(), 400);
    let err = ingest(body_of(b"\0", 1), &IngestLimits::default(), tmp.path())
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::NotAVideo), "{err:?}");
    assert_eq!(err.http_status(), 415);
    assert_eq!(entries(tmp.path()), 0, "nothing left behind");
}

#[tokio::test]
async fn a_text_file_named_mp4_is_refused_early() {
    let tmp = tempfile::tempdir().unwrap();
    // 10 MB of text; the stream counts how much of it was pulled.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let body = stream::iter(0..10_000).map(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
        Ok::<_, std::io::Error>(Bytes::from_static(&[b'a'; 1000]))
    });
    use futures::StreamExt;
    let err = ingest(body, &IngestLimits::default(), tmp.path())
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::NotAVideo), "{err:?}");
    assert!(
        pulled.load(Ordering::Relaxed) <= 5,
        "stopped after the first few KiB"
    );
    assert_eq!(entries(tmp.path()), 0);

    let text = common::file_with(
        "notes.mp4",
        b"This is a plain text file that pretends to be a video.\n",
    );
    let data = std::fs::read(text).unwrap();
    let err = ingest(body_of(&data, 16), &IngestLimits::default(), tmp.path())
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::NotAVideo), "{err:?}");
}

#[tokio::test]
async fn an_upload_over_the_limit_is_cut_off_and_removed() {
    let data = std::fs::read(common::mp4_720p()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let limits = IngestLimits {
        max_bytes: data.len() as u64 - 1,
    };
    let err = ingest(body_of(&data, 4096), &limits, tmp.path())
        .await
        .unwrap_err();
    match err {
        IngestError::TooLarge { limit } => assert_eq!(limit, data.len() as u64 - 1),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(err_status(&limits, &data, tmp.path()).await, 413);
    assert_eq!(entries(tmp.path()), 0);
    // Exactly at the limit is fine.
    let limits = IngestLimits {
        max_bytes: data.len() as u64,
    };
    assert!(
        ingest(body_of(&data, 4096), &limits, tmp.path())
            .await
            .is_ok()
    );
}

async fn err_status(limits: &IngestLimits, data: &[u8], tmp: &Path) -> u16 {
    ingest(body_of(data, 4096), limits, tmp)
        .await
        .unwrap_err()
        .http_status()
}

#[tokio::test]
async fn a_body_cut_inside_the_header_is_truncated() {
    let data = std::fs::read(common::webm_vp9()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    // The EBML magic and a few header bytes, then the end.
    let err = ingest(
        body_of(&data[..10], 3),
        &IngestLimits::default(),
        tmp.path(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IngestError::Truncated), "{err:?}");
    assert_eq!(err.http_status(), 422);
    assert_eq!(entries(tmp.path()), 0);
}

#[tokio::test]
async fn a_failing_body_stream_is_an_interrupted_upload() {
    let data = std::fs::read(common::mp4_720p()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut chunks: Vec<Result<Bytes, std::io::Error>> = data[..50_000]
        .chunks(8192)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    chunks.push(Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "client went away",
    )));
    let err = ingest(stream::iter(chunks), &IngestLimits::default(), tmp.path())
        .await
        .unwrap_err();
    assert!(
        matches!(err, IngestError::Interrupted(ref m) if m.contains("client went away")),
        "{err:?}"
    );
    assert_eq!(entries(tmp.path()), 0);
}

#[tokio::test]
async fn a_missing_temp_dir_is_an_io_error() {
    let data = std::fs::read(common::mp4_720p()).unwrap();
    let err = ingest(
        body_of(&data, 4096),
        &IngestLimits::default(),
        Path::new("/nonexistent/sovereel-test"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IngestError::Io(_)), "{err:?}");
    assert_eq!(err.http_status(), 500);
}

#[tokio::test]
async fn posters_are_sniffed_as_images() {
    use sovereel_media::{ImageFormat, ingest_image};
    let tmp = tempfile::tempdir().unwrap();
    // A real JPEG, made by ffmpeg.
    let jpeg = common::clip_dir().join("poster-test.jpg");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x64",
            "-frames:v",
            "1",
        ])
        .arg(&jpeg)
        .status()
        .unwrap();
    assert!(status.success());
    let data = std::fs::read(&jpeg).unwrap();
    let got = ingest_image(body_of(&data, 5), 1 << 20, tmp.path())
        .await
        .unwrap();
    assert_eq!(got.format, ImageFormat::Jpeg);
    assert_eq!(got.sha256, hex::encode(Sha256::digest(&data)));
    assert_eq!(std::fs::read(got.path()).unwrap(), data);
    drop(got);

    // A video is not a poster, and a poster has its own size limit.
    let video = std::fs::read(common::mp4_720p()).unwrap();
    let err = ingest_image(body_of(&video, 4096), 1 << 30, tmp.path())
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::NotAnImage), "{err:?}");
    assert_eq!((err.http_status(), err.code()), (415, "not-an-image"));
    let err = ingest_image(body_of(&data, 64), 100, tmp.path())
        .await
        .unwrap_err();
    assert!(
        matches!(err, IngestError::TooLarge { limit: 100 }),
        "{err:?}"
    );
    let err = ingest_image(body_of(&data[..2], 1), 1 << 20, tmp.path())
        .await
        .unwrap_err();
    assert!(matches!(err, IngestError::NotAnImage), "{err:?}");
    assert_eq!(entries(tmp.path()), 0);
}
