//! The built-in MP4/MOV parser, and the metadata blanking done before an
//! MP4 is served as uploaded: neither may panic, blanking keeps the length,
//! and it never changes what the parser reads from a valid file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sovereel_media::fuzzing::{blank_mp4_metadata, parse_mp4};

fuzz_target!(|data: &[u8]| {
    let before = parse_mp4(data);
    let mut blanked = data.to_vec();
    if blank_mp4_metadata(&mut blanked).is_ok() {
        assert_eq!(blanked.len(), data.len(), "blanking changed the length");
        if let Ok(info) = before {
            assert_eq!(parse_mp4(&blanked), Ok(info), "blanking changed the facts");
        }
    }
});
