//! Handles, their skeletons, display names, captions, tags and comments, as
//! sign-up, profile edits and uploads receive them. Whatever a parser
//! accepts is stable under parsing again, and skeletons are idempotent (the
//! store compares skeletons it computed at different times).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sovereel_model::{DisplayName, Handle, handle_skeleton, text};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let skeleton = handle_skeleton(s);
    assert_eq!(
        handle_skeleton(&skeleton),
        skeleton,
        "skeletons are idempotent"
    );
    if let Ok(h) = Handle::parse(s) {
        assert_eq!(Handle::parse(h.as_str()).as_ref(), Ok(&h));
        assert_eq!(h.skeleton(), skeleton.to_ascii_lowercase());
        assert!(!h.skeleton().is_empty());
    }
    if let Ok(d) = DisplayName::parse(s) {
        assert_eq!(DisplayName::parse(d.as_str()).as_ref(), Ok(&d));
    }
    if let Ok(c) = text::parse_comment(s) {
        assert_eq!(text::parse_comment(&c).as_deref(), Ok(c.as_str()));
    }
    if let Ok(t) = text::normalize_tag(s) {
        assert_eq!(text::normalize_tag(&t).as_deref(), Ok(t.as_str()));
    }
    if let Ok(p) = text::parse_caption(s) {
        for tag in &p.hashtags {
            assert_eq!(
                text::normalize_tag(tag).ok().as_deref(),
                Some(tag.as_str()),
                "{tag:?}"
            );
        }
    }
});
