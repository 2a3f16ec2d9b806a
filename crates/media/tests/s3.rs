//! Media in a real S3 service (Garage, started per test): small and
//! multipart uploads arrive whole, playback ranges are ranged GETs that
//! fetch only the bytes asked for, deletion is final and repeatable, and a
//! misconfigured store is a start-up error naming the endpoint.

#[path = "../../ledger/tests/support/garage.rs"]
mod garage;

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use garage::Garage;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use sovereel_media::{ByteRange, MediaStore, StoreError, open_playback};

fn builder(g: &Garage) -> AmazonS3Builder {
    AmazonS3Builder::new()
        .with_endpoint(&g.endpoint)
        .with_region("garage")
        .with_access_key_id(&g.key_id)
        .with_secret_access_key(&g.secret)
        .with_allow_http(true)
}

/// An object store that counts the bytes its GETs deliver, to show that a
/// range read fetches the range and not the object.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn ObjectStore>,
    read: Arc<AtomicU64>,
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Counting {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let mut r = self.inner.get_opts(location, options).await?;
        if let GetResultPayload::Stream(s) = r.payload {
            let read = self.read.clone();
            r.payload = GetResultPayload::Stream(
                s.inspect_ok(move |b| {
                    read.fetch_add(b.len() as u64, Ordering::SeqCst);
                })
                .boxed(),
            );
        }
        Ok(r)
    }
    async fn delete(&self, location: &Path) -> object_store::Result<()> {
        self.inner.delete(location).await
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.copy(from, to).await
    }
    async fn copy_if_not_exists(&self, from: &Path, to: &Path) -> object_store::Result<()> {
        self.inner.copy_if_not_exists(from, to).await
    }
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

async fn read(store: &MediaStore, key: &str, r: Range<u64>) -> Vec<u8> {
    let range = ByteRange {
        first: r.start,
        last: r.end - 1,
    };
    let chunks: Vec<Bytes> = store
        .get_range(key, range)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    chunks.concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_ranges_and_deletes_in_garage() {
    let Some(g) = Garage::start("media in Garage", &["media"]) else {
        return;
    };
    let s3: Arc<dyn ObjectStore> = Arc::new(builder(&g).with_bucket_name("media").build().unwrap());
    let read_bytes = Arc::new(AtomicU64::new(0));
    let counting = Counting {
        inner: s3.clone(),
        read: read_bytes.clone(),
    };
    let store = MediaStore::from_object_store(
        Arc::new(PrefixStore::new(counting, "videos")),
        "s3://media/videos",
    );
    store.check().await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // A small file goes up in one request.
    let small = pseudo_random(100_000, 1);
    std::fs::write(dir.path().join("small"), &small).unwrap();
    assert_eq!(
        store
            .put_file("v1/poster.jpg", &dir.path().join("small"))
            .await
            .unwrap(),
        100_000
    );

    // A 13 MiB file goes up as a multipart upload of 5 MiB parts.
    let big = pseudo_random(13 * 1024 * 1024 + 123, 2);
    std::fs::write(dir.path().join("big"), &big).unwrap();
    let n = store
        .put_file("v1/video.mp4", &dir.path().join("big"))
        .await
        .unwrap();
    assert_eq!(n, big.len() as u64);
    assert_eq!(store.head("v1/video.mp4").await.unwrap(), big.len() as u64);

    // Ranges, including one across a part boundary, read only their bytes.
    let part = 5 * 1024 * 1024u64;
    let len = big.len() as u64;
    for r in [0..1024, part - 100..part + 100, len - 10..len, 7..8] {
        let before = read_bytes.load(Ordering::SeqCst);
        let got = read(&store, "v1/video.mp4", r.clone()).await;
        assert_eq!(got, big[r.start as usize..r.end as usize], "range {r:?}");
        assert_eq!(
            read_bytes.load(Ordering::SeqCst) - before,
            r.end - r.start,
            "range {r:?} must fetch only its bytes"
        );
    }
    // Playback of a Range header: a 206 of exactly that span.
    let before = read_bytes.load(Ordering::SeqCst);
    let p = open_playback(&store, "v1/video.mp4", Some("bytes=1000000-1000999"))
        .await
        .unwrap();
    assert_eq!((p.http_status(), p.content_length), (206, 1000));
    assert_eq!(
        p.content_range().unwrap(),
        format!("bytes 1000000-1000999/{len}")
    );
    let body: Vec<Bytes> = p.body.try_collect().await.unwrap();
    assert_eq!(body.concat(), big[1_000_000..1_001_000]);
    assert_eq!(read_bytes.load(Ordering::SeqCst) - before, 1000);
    assert_eq!(read(&store, "v1/poster.jpg", 0..100_000).await, small);

    // The bucket holds exactly the two objects, under the prefix.
    let mut keys: Vec<String> = s3
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    assert_eq!(keys, ["videos/v1/poster.jpg", "videos/v1/video.mp4"]);

    // Deletion is final, and deleting again is harmless.
    store.delete("v1/video.mp4").await.unwrap();
    store.delete("v1/video.mp4").await.unwrap();
    assert!(matches!(
        store.head("v1/video.mp4").await,
        Err(StoreError::NotFound { .. })
    ));
    let p = open_playback(&store, "v1/video.mp4", Some("bytes=0-1")).await;
    assert_eq!(p.unwrap_err().http_status(), 404);
    store.delete("v1/poster.jpg").await.unwrap();
    let left: Vec<ObjectMeta> = s3.list(None).try_collect().await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misconfigured_store_names_its_endpoint() {
    let Some(g) = Garage::start("media misconfiguration", &["media"]) else {
        return;
    };
    MediaStore::s3(builder(&g), "media", "videos")
        .unwrap()
        .check()
        .await
        .unwrap();
    let wrong = MediaStore::s3(
        builder(&g).with_secret_access_key("0".repeat(64)),
        "media",
        "videos",
    )
    .unwrap();
    let e = wrong.check().await.unwrap_err().to_string();
    assert!(
        e.contains(&g.endpoint) && e.contains("credentials were refused"),
        "{e}"
    );
    let e = MediaStore::s3(builder(&g), "no-such-bucket", "")
        .unwrap()
        .check()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&g.endpoint) && e.contains("s3://no-such-bucket/"),
        "{e}"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}");
    let e = MediaStore::s3(builder(&g).with_endpoint(&down), "media", "")
        .unwrap()
        .check()
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(&down) && e.contains("does not answer"), "{e}");
}
