//! The media store and playback with Range, on local disk and in memory.

mod common;

use futures::TryStreamExt;
use sovereel_media::{ByteRange, MediaStore, PlaybackError, RangedRead, StoreError, open_playback};

async fn collect(stream: sovereel_media::ByteStream) -> Vec<u8> {
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
    chunks.concat()
}

/// 12 MiB of patterned bytes: large enough for a multipart upload.
fn big_file(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>) {
    let data: Vec<u8> = (0..12 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let path = dir.join("big.bin");
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

#[tokio::test]
async fn put_head_read_and_delete_on_local_disk() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("media/not/yet/there");
    let store = MediaStore::from_url(dir.to_str().unwrap()).unwrap();
    assert!(dir.is_dir(), "the directory is created");

    let (src, data) = big_file(root.path());
    assert_eq!(
        store.put_file("us/v1/video.mp4", &src).await.unwrap(),
        data.len() as u64
    );
    assert_eq!(
        store.head("us/v1/video.mp4").await.unwrap(),
        data.len() as u64
    );
    assert_eq!(std::fs::read(dir.join("us/v1/video.mp4")).unwrap(), data);

    let r = ByteRange {
        first: 5_000_000,
        last: 5_300_000,
    };
    let got = collect(store.get_range("us/v1/video.mp4", r).await.unwrap()).await;
    assert_eq!(got, &data[5_000_000..=5_300_000]);
    let whole = collect(
        store
            .get_range(
                "us/v1/video.mp4",
                ByteRange::full(data.len() as u64).unwrap(),
            )
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(whole, data);

    store.delete("us/v1/video.mp4").await.unwrap();
    store.delete("us/v1/video.mp4").await.unwrap(); // idempotent
    assert!(matches!(
        store.head("us/v1/video.mp4").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(!dir.join("us/v1/video.mp4").exists());
}

#[tokio::test]
async fn file_urls_and_bad_urls() {
    let root = tempfile::tempdir().unwrap();
    let url = format!("file://{}/m", root.path().display());
    let store = MediaStore::from_url(&url).unwrap();
    let small = common::file_with("small-object.bin", b"hello");
    store.put_file("a/b", &small).await.unwrap();
    assert_eq!(std::fs::read(root.path().join("m/a/b")).unwrap(), b"hello");

    for bad in ["", "ftp://host/x", "s3:///prefix", "file://otherhost/x"] {
        assert!(
            matches!(
                MediaStore::from_url(bad),
                Err(StoreError::InvalidUrl { .. })
            ),
            "{bad:?}"
        );
    }
    // S3 is configured from the environment; building it needs no network.
    let s3 = MediaStore::from_url("s3://media-bucket/regions/us").unwrap();
    assert_eq!(s3.describe(), "s3://media-bucket/regions/us");
}

#[tokio::test]
async fn hostile_keys_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let store = MediaStore::local(&root.path().join("m")).unwrap();
    let small = common::file_with("small-object-2.bin", b"hello");
    for key in ["", "../escape", "a/../../b", "/abs", "a//b", "a/./b"] {
        let err = store.put_file(key, &small).await.unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidKey { .. }),
            "{key:?}: {err:?}"
        );
    }
    assert!(!root.path().join("escape").exists());
}

#[tokio::test]
async fn playback_with_and_without_range() {
    let root = tempfile::tempdir().unwrap();
    for store in [
        MediaStore::in_memory(),
        MediaStore::local(root.path()).unwrap(),
    ] {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let src = root.path().join("src.bin");
        std::fs::write(&src, &data).unwrap();
        store.put_file("v/video.mp4", &src).await.unwrap();
        let reader: &dyn RangedRead = &store;

        let full = open_playback(reader, "v/video.mp4", None).await.unwrap();
        assert_eq!(
            (
                full.http_status(),
                full.content_length,
                full.content_range()
            ),
            (200, 1000, None)
        );
        assert_eq!(collect(full.body).await, data);

        let part = open_playback(reader, "v/video.mp4", Some("bytes=100-199"))
            .await
            .unwrap();
        assert_eq!(part.http_status(), 206);
        assert_eq!(part.content_range().as_deref(), Some("bytes 100-199/1000"));
        assert_eq!(part.content_length, 100);
        assert_eq!(collect(part.body).await, &data[100..200]);

        let tail = open_playback(reader, "v/video.mp4", Some("bytes=-10"))
            .await
            .unwrap();
        assert_eq!(tail.content_range().as_deref(), Some("bytes 990-999/1000"));
        assert_eq!(collect(tail.body).await, &data[990..]);

        let open = open_playback(reader, "v/video.mp4", Some("bytes=0-"))
            .await
            .unwrap();
        assert_eq!((open.http_status(), open.content_length), (206, 1000));

        match open_playback(reader, "v/video.mp4", Some("bytes=1000-")).await {
            Err(PlaybackError::RangeNotSatisfiable(e)) => {
                assert_eq!(e.content_range(), "bytes */1000");
            }
            other => panic!("expected 416, got {other:?}"),
        }
        let err = open_playback(reader, "v/missing.mp4", Some("bytes=0-"))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 404);

        // An empty object plays as an empty 200; any range on it is a 416.
        let empty = root.path().join("empty.bin");
        std::fs::write(&empty, b"").unwrap();
        store.put_file("v/empty", &empty).await.unwrap();
        let e = open_playback(reader, "v/empty", None).await.unwrap();
        assert_eq!((e.http_status(), e.content_length), (200, 0));
        assert_eq!(collect(e.body).await, b"");
        let err = open_playback(reader, "v/empty", Some("bytes=0-"))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), 416);
    }
}

#[tokio::test]
async fn a_real_clip_round_trips_through_the_store() {
    let root = tempfile::tempdir().unwrap();
    let store = MediaStore::local(root.path()).unwrap();
    let clip = common::mp4_720p();
    let data = std::fs::read(&clip).unwrap();
    store.put_file("au/clip.mp4", &clip).await.unwrap();
    let got = open_playback(&store, "au/clip.mp4", Some("bytes=0-1023"))
        .await
        .unwrap();
    assert_eq!(collect(got.body).await, &data[..1024]);
}
