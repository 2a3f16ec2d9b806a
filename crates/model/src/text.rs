//! Caption parsing: `#hashtags` and `@mentions` are pulled out of the text
//! once, at upload, and stored beside it.

use crate::InvalidValue;

pub const MAX_CAPTION_CHARS: usize = 2200;
pub const MAX_COMMENT_CHARS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedCaption {
    pub text: String,
    /// Lowercased, without `#`, deduplicated, in order of appearance.
    pub hashtags: Vec<String>,
    /// Lowercased handles, without `@`, deduplicated.
    pub mentions: Vec<String>,
}

fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Lowercases a hashtag the one way both the caption parser and the tag
/// lookup use. Lowercasing can add characters that are not part of a tag
/// (`İ` becomes `i` and a combining dot); they are dropped, so every tag a
/// caption yields is one `normalize_tag` finds again.
fn fold_tag(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .filter(|c| tag_char(*c))
        .collect()
}

/// Parses a caption, rejecting ones that are too long or hold control
/// characters other than newlines.
pub fn parse_caption(s: &str) -> Result<ParsedCaption, InvalidValue> {
    if s.chars().count() > MAX_CAPTION_CHARS {
        return Err(InvalidValue::new(
            "caption",
            format!("must be at most {MAX_CAPTION_CHARS} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(InvalidValue::new(
            "caption",
            "must not contain control characters",
        ));
    }
    let mut out = ParsedCaption {
        text: s.trim().to_string(),
        ..Default::default()
    };
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let boundary = i == 0 || !tag_char(chars[i - 1]);
        if (c == '#' || c == '@') && boundary {
            let start = i + 1;
            let mut j = start;
            while j < chars.len() && (tag_char(chars[j]) || (c == '@' && chars[j] == '.')) {
                j += 1;
            }
            let word: String = chars[start..j].iter().collect::<String>();
            let word = if c == '#' {
                fold_tag(&word)
            } else {
                word.trim_end_matches('.').to_lowercase()
            };
            if !word.is_empty() && word.chars().count() <= 64 {
                let list = if c == '#' {
                    &mut out.hashtags
                } else {
                    &mut out.mentions
                };
                if !list.contains(&word) && list.len() < 30 {
                    list.push(word);
                }
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    Ok(out)
}

/// Normalises a hashtag from a URL or a query (`#Cooking` → `cooking`).
pub fn normalize_tag(s: &str) -> Result<String, InvalidValue> {
    let t = s.trim().trim_start_matches('#');
    if !t.chars().all(tag_char) {
        return Err(InvalidValue::new("tag", "is not a valid hashtag"));
    }
    let t = fold_tag(t);
    if t.is_empty() || t.chars().count() > 64 {
        return Err(InvalidValue::new("tag", "is not a valid hashtag"));
    }
    Ok(t)
}

/// Validates comment text.
pub fn parse_comment(s: &str) -> Result<String, InvalidValue> {
    let t = s.trim();
    if t.is_empty() {
        return Err(InvalidValue::new("text", "must not be empty"));
    }
    if t.chars().count() > MAX_COMMENT_CHARS {
        return Err(InvalidValue::new(
            "text",
            format!("must be at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(InvalidValue::new(
            "text",
            "must not contain control characters",
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_and_mentions() {
        let p =
            parse_caption("Pasta night #Cooking #cooking #easy_dinner with @Chef.Ana! email a@b.c")
                .unwrap();
        assert_eq!(p.hashtags, vec!["cooking", "easy_dinner"]);
        assert_eq!(p.mentions, vec!["chef.ana"]);
    }

    #[test]
    fn every_caption_hashtag_can_be_looked_up() {
        // Found by fuzz/fuzz_targets/upload_meta.rs: `#İstanbul` was stored
        // as "i\u{307}stanbul", which no tag lookup accepted.
        let p = parse_caption("#İstanbul #ĲSSEL #Straße").unwrap();
        assert_eq!(p.hashtags, vec!["istanbul", "ĳssel", "straße"]);
        for tag in &p.hashtags {
            assert_eq!(normalize_tag(tag).as_deref(), Ok(tag.as_str()));
        }
        assert_eq!(normalize_tag("#İstanbul").unwrap(), "istanbul");
    }

    #[test]
    fn rejects_long_and_control() {
        assert!(parse_caption(&"x".repeat(2201)).is_err());
        assert!(parse_caption("bad\u{7}").is_err());
        assert_eq!(normalize_tag("#Skate").unwrap(), "skate");
        assert!(normalize_tag("a b").is_err());
    }
}
