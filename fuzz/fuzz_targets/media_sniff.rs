//! The upload sniffers. `ingest` sniffs a growing prefix as chunks arrive
//! and stops at the first answer that is not "need more", and `probe`
//! sniffs the stored file's head again: both must reach the same verdict
//! however the bytes were split, or a file could pass one check and fail
//! the other.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sovereel_media::{IMAGE_SNIFF_LEN, SNIFF_LEN, Sniff, sniff, sniff_image};

fuzz_target!(|data: &[u8]| {
    let data = &data[..data.len().min(SNIFF_LEN + 64)];
    let whole = sniff(data);
    for end in 0..data.len() {
        match sniff(&data[..end]) {
            Sniff::Video(c) => assert_eq!(
                whole,
                Sniff::Video(c),
                "a {end}-byte prefix was already a video"
            ),
            Sniff::NotVideo => assert_eq!(
                whole,
                Sniff::NotVideo,
                "a {end}-byte prefix was already not a video"
            ),
            Sniff::NeedMore | Sniff::Partial => {}
        }
    }
    if let Some(format) = sniff_image(data) {
        let longer = [data, &[0u8; 16][..]].concat();
        assert_eq!(
            sniff_image(&longer),
            Some(format),
            "more bytes changed the image format"
        );
    }
    let _ = sniff_image(&data[..data.len().min(IMAGE_SNIFF_LEN)]);
});
