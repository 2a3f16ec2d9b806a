//! What a notification in someone's inbox is about. The kind is one of the
//! interop fields a notification carries between regions (with ids and the
//! actor's handle), so it is a closed set.

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InboxKind {
    Like,
    Comment,
    Reply,
    Mention,
    Follow,
    FollowRequest,
    /// A request the recipient made was approved.
    FollowApproved,
    /// A moderation decision about the recipient's content.
    Decision,
    /// A notice from the region's custodian to all its users.
    RegionNotice,
}

impl InboxKind {
    pub const ALL: &'static [InboxKind] = &[
        Self::Like,
        Self::Comment,
        Self::Reply,
        Self::Mention,
        Self::Follow,
        Self::FollowRequest,
        Self::FollowApproved,
        Self::Decision,
        Self::RegionNotice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Like => "like",
            Self::Comment => "comment",
            Self::Reply => "reply",
            Self::Mention => "mention",
            Self::Follow => "follow",
            Self::FollowRequest => "follow_request",
            Self::FollowApproved => "follow_approved",
            Self::Decision => "decision",
            Self::RegionNotice => "region_notice",
        }
    }

    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                InvalidValue::new(
                    "kind",
                    "must be one of like, comment, reply, mention, follow, follow_request, \
                     follow_approved, decision, region_notice",
                )
            })
    }

    /// Kinds that pile up about one target ("@a and 12 others liked your
    /// video"): the inbox shows one group per target and day. The others
    /// (each comment, mention, decision, notice) stand alone.
    pub fn groups(self) -> bool {
        matches!(
            self,
            Self::Like | Self::Follow | Self::FollowRequest | Self::FollowApproved
        )
    }
}

impl std::fmt::Display for InboxKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_from_their_names() {
        for k in InboxKind::ALL {
            assert_eq!(InboxKind::parse(k.as_str()).unwrap(), *k);
        }
        assert!(InboxKind::parse("poke").is_err());
        assert!(InboxKind::Like.groups() && !InboxKind::Comment.groups());
    }
}
