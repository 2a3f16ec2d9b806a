//! The built-in WebM/Matroska parser: arbitrary bytes give an error, never
//! a panic, a runaway loop or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sovereel_media::fuzzing::parse_webm;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = parse_webm(data) {
        // The facts of a file are a function of its bytes.
        assert_eq!(parse_webm(data), Ok(info));
    }
});
