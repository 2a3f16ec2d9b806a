//! Peak memory of the upload path, to show it is constant in the upload size.
//!
//! For each size, a child process (this binary again) streams a synthetic
//! upload of that size through `ingest` (temp file, SHA-256, sniffing), then
//! `MediaStore::put_file` into a local store (multipart), then reads it all
//! back through `open_playback`. It reports the growth of the peak resident
//! set (VmHWM in /proc/self/status) over the baseline measured just before.
//! Each size runs in its own process because VmHWM never goes down.
//!
//! Run: `cargo bench -p sovereel-media --bench ingest_memory`

use std::process::Command;

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
fn upload(size: u64) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let mut header = vec![0, 0, 0, 20];
    header.extend_from_slice(b"ftypisom\0\0\0\0isom");
    let chunks = size.div_ceil(CHUNK as u64);
    futures::stream::iter(0..chunks).map(move |i| {
        let len = (size - i * CHUNK as u64).min(CHUNK as u64) as usize;
        let mut chunk: Vec<u8> = (0..len).map(|j| (j as u64 + i) as u8).collect();
        if i == 0 {
            let n = header.len().min(len);
            chunk[..n].copy_from_slice(&header[..n]);
        }
        Ok(Bytes::from(chunk))
    })
}

fn child(size: u64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::local(&dir.path().join("store")).unwrap();
        let limits = IngestLimits { max_bytes: size };
        // Warm up the runtime, allocator and store once with a tiny upload,
        // so the baseline includes fixed costs.
        let warm = ingest(upload(64 * 1024), &limits, dir.path())
            .await
            .unwrap();
        store.put_file("warm", warm.path()).await.unwrap();
        let base = vm_hwm_kib();

        let got = ingest(upload(size), &limits, dir.path()).await.unwrap();
        assert_eq!(got.size, size);
        let after_ingest = vm_hwm_kib();
        store.put_file("video", got.path()).await.unwrap();
        let after_put = vm_hwm_kib();
        let playback = open_playback(&store, "video", None).await.unwrap();
        let read = playback
            .body
            .try_fold(0u64, |n, b| async move { Ok(n + b.len() as u64) })
            .await
            .unwrap();
        assert_eq!(read, size);
        let after_read = vm_hwm_kib();
        println!(
            "{:>5} MiB | {:>8} KiB | {:>14} KiB | {:>11} KiB | {:>14} KiB",
            size / MIB,
            base,
            after_ingest - base,
            after_put - base,
            after_read - base
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
        child(size);
        return;
    }
    println!("peak RSS (VmHWM) growth over the baseline, per upload size");
    println!(" size     | baseline     | +after ingest      | +after put      | +after playback");
    let exe = std::env::current_exe().unwrap();
    for size in [20 * MIB, 200 * MIB] {
        let status = Command::new(&exe)
            .arg("--child-size")
            .arg(size.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "child run failed");
    }
}
