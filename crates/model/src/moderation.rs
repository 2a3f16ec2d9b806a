//! The closed vocabularies of trust and safety: what can be reported, why,
//! what a case is about, what a moderator may decide and which labels a
//! video can carry. Parsed once at the boundary and kept typed in the
//! store, the plane seam and the ledger's producers, so an unknown word is a
//! 422 at the edge and a new one is a compile error wherever it is matched.

use serde::{Deserialize, Serialize};

use crate::InvalidValue;

/// A closed set of snake_case names: the enum, `ALL`, `as_str`, `parse`
/// (naming the field and the allowed words when it refuses) and `Display`.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            pub fn parse(s: &str) -> Result<Self, InvalidValue> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(InvalidValue::new(
                        $field,
                        concat!("must be one of ", vocabulary!(@list $($text),+)),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    (@list $first:literal $(, $rest:literal)*) => { concat!($first $(, ", ", $rest)*) };
}

vocabulary!(
    /// Why someone reports an item.
    ReportCategory, "category" {
        Spam => "spam",
        Misinformation => "misinformation",
        Harassment => "harassment",
        Hate => "hate",
        Violence => "violence",
        Nudity => "nudity",
        SelfHarm => "self_harm",
        Other => "other",
    }
);

impl ReportCategory {
    /// How urgent a report of this kind is, 1 (least) to 5. The queue is
    /// ordered by the highest severity among a case's categories first, so a
    /// flood of spam reports cannot push a report of self-harm down.
    pub fn severity(self) -> i32 {
        match self {
            Self::SelfHarm => 5,
            Self::Violence => 4,
            Self::Hate | Self::Harassment | Self::Nudity => 3,
            Self::Misinformation => 2,
            Self::Spam | Self::Other => 1,
        }
    }
}

vocabulary!(
    /// What a report or a case is about.
    TargetKind, "target" {
        Video => "video",
        Comment => "comment",
        Account => "account",
    }
);

vocabulary!(
    /// Where a case came from: reports about an item, a creator's appeal of
    /// a decision (DSA Art. 20), or an editorial intervention a moderator
    /// opened (demote, restrict or promote), which exists only as a case
    /// decided with a statement of reasons.
    CaseKind, "kind" {
        Report => "report",
        Appeal => "appeal",
        Intervention => "intervention",
    }
);

vocabulary!(
    /// A case is open until one decision claims it (`deciding`: the
    /// decision is stored, its ledger entry is being written) and closes
    /// once that entry is durable.
    CaseState, "state" {
        Open => "open",
        Deciding => "deciding",
        Closed => "closed",
    }
);

vocabulary!(
    /// What a moderator decides. `label`, `restrict`, `remove` and `dismiss`
    /// settle reports; `demote`, `restrict` and `promote` are editorial
    /// interventions; `uphold` and `reverse` settle appeals.
    Action, "action" {
        Label => "label",
        Restrict => "restrict",
        Remove => "remove",
        Dismiss => "dismiss",
        Demote => "demote",
        Promote => "promote",
        Uphold => "uphold",
        Reverse => "reverse",
    }
);

impl Action {
    /// Decisions that restrict a user's content, and so owe its creator a
    /// statement of reasons they can appeal (DSA Art. 17 and 20).
    pub fn restricts(self) -> bool {
        matches!(
            self,
            Self::Label | Self::Restrict | Self::Remove | Self::Demote
        )
    }

    /// Actions that settle a case of this kind.
    pub fn settles(self, kind: CaseKind) -> bool {
        match kind {
            CaseKind::Report => matches!(
                self,
                Self::Label | Self::Restrict | Self::Remove | Self::Dismiss
            ),
            CaseKind::Intervention => {
                matches!(self, Self::Demote | Self::Restrict | Self::Promote)
            }
            CaseKind::Appeal => matches!(self, Self::Uphold | Self::Reverse),
        }
    }
}

vocabulary!(
    /// The label a viewer sees on a video.
    LabelKind, "label" {
        Unverified => "unverified",
        Misleading => "misleading",
        Graphic => "graphic",
        Sensitive => "sensitive",
    }
);

impl LabelKind {
    /// The words viewers read on the video.
    pub fn text(self) -> &'static str {
        match self {
            Self::Unverified => "Unverified content",
            Self::Misleading => "Misleading: independent fact-checkers dispute this",
            Self::Graphic => "Graphic content",
            Self::Sensitive => "Sensitive content",
        }
    }
}

vocabulary!(
    /// The ground a decision rests on (DSA Art. 17(3)(d) and (e)): the law
    /// (the item is illegal) or the platform's terms (it is incompatible
    /// with them).
    Ground, "ground" {
        Law => "law",
        Terms => "terms",
    }
);

/// The marker a video carries in the public catalog's label list for a
/// ranking decision. Viewers never see these; the recommender reads them.
pub const MARK_RESTRICTED: &str = "restricted";
pub const MARK_DEMOTED: &str = "demoted";
pub const MARK_PROMOTED: &str = "promoted";

/// How long after a decision its creator may appeal it: six months.
pub const APPEAL_WINDOW_MS: i64 = 183 * 24 * 3_600_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back_and_unknown_ones_are_named() {
        for c in ReportCategory::ALL {
            assert_eq!(ReportCategory::parse(c.as_str()).unwrap(), *c);
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()).unwrap(), *a);
        }
        let e = LabelKind::parse("fake").unwrap_err();
        assert_eq!(e.field, "label");
        assert!(
            e.message
                .contains("unverified, misleading, graphic, sensitive")
        );
    }

    #[test]
    fn appeals_are_settled_by_uphold_or_reverse_only() {
        assert!(Action::Reverse.settles(CaseKind::Appeal));
        assert!(!Action::Label.settles(CaseKind::Appeal));
        assert!(!Action::Promote.settles(CaseKind::Report));
        assert!(Action::Promote.settles(CaseKind::Intervention));
        assert!(ReportCategory::SelfHarm.severity() > ReportCategory::Spam.severity());
    }
}
