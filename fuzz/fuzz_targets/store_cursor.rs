//! List cursors, which clients send back verbatim (`?cursor=`): decoding
//! never panics, and a decoded cursor encodes to one that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sovereel_store::{Cursor, Target};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(c) = Cursor::decode(s) {
        assert!(c.key.is_finite());
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }
    if let Some(t) = Target::decode(s) {
        assert_eq!(Target::decode(&t.encode()), Some(t));
    }
});
