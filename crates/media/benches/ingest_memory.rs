//! Peak memory of the upload path, to show it is constant in the upload size.
//!
//! For each size, a child process (this binary again) streams a synthetic
//! upload of that size through `ingest` (temp file, SHA-256, sniffing), then
//! `MediaStore::put_file` into a local store (multipart), then reads it all
//! back through `open_playback`. It reports the growth of the peak resident
//! set (VmHWM in /proc/self/status) over the baseline measured just before.
//! Each size runs in its own process because VmHWM never goes down.
//!
//! With `MEDIA_BENCH_S3=s3://bucket/prefix` (and the `AWS_*` variables, e.g.
//! from `scripts/garage start`) every size also runs against that S3
//! service, in the same run. `MEDIA_BENCH_SIZES_MIB` (default `20,200,1024`)
//! sets the sizes.
//!
//! Run: `cargo bench -p sovereel-media --bench ingest_memory`

use std::process::Command;
use std::time::Instant;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use sovereel_media::{IngestLimits, MediaStore, ingest, open_playback};

const MIB: u64 = 1024 * 1024;
/// Body chunk size, like a multipart parser's.
const CHUNK: usize = 64 * 1024;

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A lazily generated upload: an MP4 `ftyp` box, then patterned filler.
/// The filler chunk is built once and shared (a refcount per chunk), so the
/// generator costs nothing next to what is measured.
fn upload(size: u64) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let mut first: Vec<u8> = (0..CHUNK).map(|j| (j % 251) as u8).collect();
    let filler = Bytes::from(first.clone());
    first[..20].copy_from_slice(b"\0\0\0\x14ftypisom\0\0\0\0isom");
    let first = Bytes::from(first);
    let chunks = size.div_ceil(CHUNK as u64);
    futures::stream::iter(0..chunks).map(move |i| {
        let len = (size - i * CHUNK as u64).min(CHUNK as u64) as usize;
        let chunk = if i == 0 { &first } else { &filler };
        Ok(chunk.slice(..len))
    })
}

fn child(size: u64, url: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = if url == "local" {
            MediaStore::local(&dir.path().join("store")).unwrap()
        } else {
            MediaStore::open(url).await.unwrap()
        };
        let limits = IngestLimits { max_bytes: size };
        // Warm up the runtime, allocator and store once with a tiny upload,
        // so the baseline includes fixed costs.
        let warm = ingest(upload(64 * 1024), &limits, dir.path())
            .await
            .unwrap();
        store.put_file("warm", warm.path()).await.unwrap();
        let base = vm_hwm_kib();

        let t = Instant::now();
        let got = ingest(upload(size), &limits, dir.path()).await.unwrap();
        assert_eq!(got.size, size);
        let (after_ingest, ingest_s) = (vm_hwm_kib(), t.elapsed().as_secs_f64());
        let t = Instant::now();
        store.put_file("video", got.path()).await.unwrap();
        let (after_put, put_s) = (vm_hwm_kib(), t.elapsed().as_secs_f64());
        let t = Instant::now();
        let playback = open_playback(&store, "video", None).await.unwrap();
        let read = playback
            .body
            .try_fold(0u64, |n, b| async move { Ok(n + b.len() as u64) })
            .await
            .unwrap();
        assert_eq!(read, size);
        let (after_read, read_s) = (vm_hwm_kib(), t.elapsed().as_secs_f64());
        let mib = size as f64 / MIB as f64;
        store.delete("video").await.unwrap();
        store.delete("warm").await.unwrap();
        println!(
            "| {} | {} MiB | {} KiB | +{} KiB ({:.0} MiB/s) | +{} KiB ({:.0} MiB/s) | +{} KiB ({:.0} MiB/s) |",
            if url == "local" { "local disk" } else { "S3" },
            size / MIB,
            base,
            after_ingest - base,
            mib / ingest_s,
            after_put - base,
            mib / put_s,
            after_read - base,
            mib / read_s,
        );
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--child-size") {
        let size = args
            .get(pos + 1)
            .and_then(|s| s.parse().ok())
            .expect("size in bytes");
        child(size, &args[pos + 2]);
        return;
    }
    println!("Peak RSS (VmHWM) growth over the baseline after each step, and throughput");
    println!(
        "| store | upload | baseline | ingest (temp file + SHA-256) | put_file (multipart) | playback read |"
    );
    println!("|---|---|---|---|---|---|");
    let exe = std::env::current_exe().unwrap();
    let sizes: Vec<u64> = std::env::var("MEDIA_BENCH_SIZES_MIB")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![20, 200, 1024]);
    let mut stores = vec!["local".to_string()];
    stores.extend(std::env::var("MEDIA_BENCH_S3").ok());
    for size in sizes {
        for store in &stores {
            let status = Command::new(&exe)
                .arg("--child-size")
                .arg((size * MIB).to_string())
                .arg(store)
                .status()
                .unwrap();
            assert!(status.success(), "child run failed");
        }
    }
}
