//! The `meta` part of a multipart upload, parsed as the server parses it.
//!
//! The server has no public parse function for it: `UploadMeta` lives in the
//! upload handler (crates/server/src/api/videos.rs), so this target keeps a
//! copy of its shape (same fields, defaults and `deny_unknown_fields`) and
//! then applies the same model parsers the handler applies. Keep the two in
//! step.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use sovereel_model::{CommentPolicy, Visibility, text};

/// Mirror of `sovereel_server::api::videos::UploadMeta`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct UploadMeta {
    #[serde(default)]
    caption: String,
    #[serde(default = "default_visibility")]
    visibility: String,
    #[serde(default = "default_comments")]
    comments: String,
}

fn default_visibility() -> String {
    "public".into()
}
fn default_comments() -> String {
    "everyone".into()
}

/// The handler's limit on the part's size.
const MAX_META_BYTES: usize = 16 * 1024;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_META_BYTES {
        return;
    }
    let meta: UploadMeta = match serde_json::from_slice(data) {
        Ok(m) => m,
        Err(e) => {
            // The handler shows the message without serde's position.
            let m = e.to_string();
            let _ = m.split(" at line ").next().unwrap_or(&m);
            return;
        }
    };
    if let Ok(caption) = text::parse_caption(&meta.caption) {
        assert!(caption.hashtags.len() <= 30 && caption.mentions.len() <= 30);
        for tag in &caption.hashtags {
            // Every extracted hashtag is one the tag pages can look up.
            assert_eq!(
                text::normalize_tag(tag).ok().as_deref(),
                Some(tag.as_str()),
                "{tag:?}"
            );
        }
        for m in &caption.mentions {
            assert!(!m.is_empty() && !m.ends_with('.'), "{m:?}");
        }
    }
    let _ = Visibility::parse(&meta.visibility);
    let _ = CommentPolicy::parse(&meta.comments);
});
