//! HTTP `Range` headers for playback, as clients send them: a satisfiable
//! range lies inside the object and is never empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sovereel_media::parse_range;

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let (size, header) = data.split_at(8);
    let size = u64::from_le_bytes(size.try_into().unwrap()) >> (data[0] % 64);
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    if let Ok(Some(r)) = parse_range(header, size) {
        let offsets = r.to_offsets();
        assert!(
            offsets.start < offsets.end,
            "empty range {offsets:?} for {header:?}"
        );
        assert!(
            offsets.end <= size,
            "range {offsets:?} past {size} for {header:?}"
        );
        assert_eq!(r.len(), offsets.end - offsets.start);
        let _ = r.content_range(size);
    }
});
