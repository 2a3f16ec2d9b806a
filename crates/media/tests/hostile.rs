//! Hostile files made from real clips: cut anywhere or with bytes changed,
//! the built-in parsers give an answer (usually an error), never a panic.

mod common;

use proptest::prelude::*;
use sovereel_media::{MediaProcessor, ProcessConfig, ProcessError};

fn probe_native(bytes: &[u8]) -> Result<sovereel_media::MediaInfo, ProcessError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload");
    std::fs::write(&path, bytes).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(MediaProcessor::with_tools(None, ProcessConfig::default()).probe(&path))
}

fn clips() -> Vec<Vec<u8>> {
    [
        common::mp4_720p(),
        common::mp4_faststart(),
        common::webm_vp9(),
    ]
    .iter()
    .map(|p| std::fs::read(p).unwrap())
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every strict prefix of a complete clip is refused: the parsers notice
    /// the missing end whether the index is at the start or the end.
    #[test]
    fn every_cut_clip_is_refused(which in 0usize..3, keep in 0.0f64..1.0) {
        let clip = &clips()[which];
        let cut = ((clip.len() as f64 * keep) as usize).min(clip.len() - 1);
        let result = probe_native(&clip[..cut]);
        prop_assert!(result.is_err(), "a {cut}-byte prefix of clip {which} was accepted: {result:?}");
    }

    #[test]
    fn flipped_bytes_never_panic(which in 0usize..3, flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 1..8)) {
        let mut clip = clips()[which].clone();
        // Concentrate on the first 4 KiB, where the structure is, half the time.
        for (i, (at, value)) in flips.iter().enumerate() {
            let span = if i % 2 == 0 { clip.len().min(4096) } else { clip.len() };
            let pos = ((span as f64) * at) as usize % span;
            clip[pos] = *value;
        }
        let _ = probe_native(&clip);
    }
}

#[test]
fn complete_clips_are_accepted() {
    for clip in clips() {
        probe_native(&clip).unwrap();
    }
}

#[test]
fn zero_padding_after_the_last_box_is_tolerated_but_junk_is_not() {
    let mut padded = std::fs::read(common::mp4_720p()).unwrap();
    padded.extend_from_slice(&[0, 0, 0, 0]);
    probe_native(&padded).unwrap();
    let mut junk = std::fs::read(common::mp4_720p()).unwrap();
    junk.extend_from_slice(b"abc");
    assert!(matches!(
        probe_native(&junk),
        Err(ProcessError::Truncated(_))
    ));
}
