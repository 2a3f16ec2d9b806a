//! The data-class registry: every stored column, in every database, is
//! declared here exactly once with its class. The store's tests compare this
//! table with the live schema after migrations, so a new column without a
//! class fails the build's tests, and the egress checks read it to decide
//! what may leave a region.

use serde::Serialize;

/// Where a datum may live (see DESIGN.md, "Data classes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataClass {
    /// Only in the owner's home region.
    Protected,
    /// The global public catalog, replicated everywhere.
    Public,
    /// Counts and scores; anywhere.
    Aggregate,
    /// The minimum ids a cross-region interaction needs; anywhere.
    Interop,
}

/// Which kind of database a column lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Db {
    /// A region's own database (one per region).
    Region,
    /// The global public catalog.
    Catalog,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Column {
    pub db: Db,
    pub table: &'static str,
    pub column: &'static str,
    pub class: DataClass,
}

macro_rules! columns {
    ($( $db:ident . $table:ident { $( $col:ident : $class:ident ),* $(,)? } )*) => {
        &[ $( $( Column { db: Db::$db, table: stringify!($table), column: stringify!($col), class: DataClass::$class }, )* )* ]
    };
}

/// Every column of every table the migrations create.
pub const COLUMNS: &[Column] = columns! {
    Region.users {
        id: Interop, handle: Public, display_name: Public, bio: Public, private: Public,
        email: Protected, birthdate: Protected, country: Protected, password_hash: Protected,
        non_profiled: Protected, state: Protected, delete_after: Protected, created_at: Protected,
    }
    Region.sessions { token_hash: Protected, user_id: Protected, created_at: Protected, expires_at: Protected }
    Region.videos {
        id: Interop, author_id: Interop, caption: Protected, hashtags: Protected, mentions: Protected,
        visibility: Protected, comments_policy: Protected, state: Protected, state_reason: Protected,
        duration_ms: Protected, width: Protected, height: Protected, media_key: Protected,
        poster_key: Protected, content_type: Protected, sha256: Protected, size_bytes: Protected,
        transcoded: Protected, created_at: Protected,
        likes: Aggregate, comments: Aggregate, shares: Aggregate, views: Aggregate,
        draft: Protected,
    }
    Region.likes { user_id: Protected, video_id: Protected, created_at: Protected }
    Region.follows { follower_id: Protected, followee_id: Protected, state: Protected, created_at: Protected }
    Region.blocks { blocker_id: Protected, blocked_id: Protected, created_at: Protected }
    Region.comments {
        id: Protected, video_id: Protected, author_id: Protected, author_handle: Protected,
        text: Protected, parent_id: Protected, created_at: Protected, replies_count: Aggregate,
    }
    Region.my_comments { comment_id: Protected, user_id: Protected, video_id: Protected, created_at: Protected }
    Region.shares { id: Protected, user_id: Protected, video_id: Protected, created_at: Protected }
    Region.events {
        id: Protected, user_id: Protected, video_id: Protected, kind: Protected,
        watch_ms: Protected, duration_ms: Protected, at: Protected,
    }
    Region.staff { id: Protected, handle: Protected, org: Protected, role: Protected, password_hash: Protected, created_at: Protected }
    Region.staff_sessions { token_hash: Protected, staff_id: Protected, created_at: Protected, expires_at: Protected }
    Region.reports {
        id: Protected, reporter_id: Protected, target_id: Protected, category: Protected,
        details: Protected, created_at: Protected, target_kind: Protected, case_id: Protected,
    }
    Region.cases {
        id: Protected, target_id: Protected, subject_id: Protected, category: Protected,
        state: Protected, assignee: Protected, created_at: Protected, closed_at: Protected,
        target_kind: Protected, kind: Protected, reports_count: Protected, severity: Protected,
        appeal_of: Protected, appeal_text: Protected, decided_by: Protected,
    }
    Region.case_categories { case_id: Protected, category: Protected }
    Region.decisions {
        id: Protected, case_id: Protected, case_kind: Protected, subject_id: Protected,
        target_kind: Protected, target_id: Protected, action: Protected, label: Protected,
        note: Protected, categories: Protected, ground: Protected, reference: Protected,
        facts: Protected, automated: Protected, territorial_scope: Protected, redress: Protected,
        moderator_id: Protected, appeal_of: Protected, restore: Protected,
        case_opened_at: Protected, ledger_index: Protected, created_at: Protected,
        reversed_at: Protected,
    }
    // The inbox, at the recipient's home. What another region sends is
    // interop (who did what to which id); the text of local notices and
    // the read state are the recipient's own.
    Region.notifications {
        id: Interop, recipient_id: Interop, kind: Interop, actor_id: Interop, actor_handle: Interop,
        actor_region: Interop, video_id: Interop, comment_id: Interop, text: Protected,
        group_key: Interop, created_at: Interop, read_at: Protected,
    }
    Region.outbox { seq: Interop, target: Interop, payload: Interop, created_at: Interop }
    Region.applied_outbox { origin: Interop, seq: Interop }
    Region.content_filters { user_id: Protected, body: Protected, version: Protected, updated_at: Protected }

    Catalog.directory { handle: Interop, user_id: Interop, region: Interop, created_at: Interop, skeleton: Interop }
    Catalog.retired_handles { skeleton: Interop, retired_at: Interop }
    Catalog.profiles {
        user_id: Interop, handle: Public, display_name: Public, bio: Public, private: Public,
        region: Interop, hidden: Public, created_at: Public,
        followers: Aggregate, following: Aggregate, videos: Aggregate, likes: Aggregate,
    }
    Catalog.videos {
        id: Interop, author_id: Interop, caption: Public, hashtags: Public, mentions: Public,
        comments_policy: Public, duration_ms: Public, width: Public, height: Public,
        labels: Public, created_at: Public, label_note: Public,
        likes: Aggregate, comments: Aggregate, shares: Aggregate, views: Aggregate, hot: Aggregate,
    }
    Catalog.video_hashtags { tag: Public, video_id: Interop, hot: Aggregate }
    Catalog.hashtags { tag: Public, videos: Aggregate }
    Catalog.comments {
        id: Interop, video_id: Interop, author_id: Interop, author_handle: Public, text: Public,
        parent_id: Interop, created_at: Public, replies_count: Aggregate,
    }
    Catalog.applied_outbox { origin: Interop, seq: Interop }
};

/// The class of a column, if declared.
pub fn class_of(db: Db, table: &str, column: &str) -> Option<DataClass> {
    COLUMNS
        .iter()
        .find(|c| c.db == db && c.table == table && c.column == column)
        .map(|c| c.class)
}

/// May a datum of this class leave its home region?
pub fn may_cross_regions(class: DataClass) -> bool {
    !matches!(class, DataClass::Protected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_column_is_declared_once() {
        let mut seen = std::collections::HashSet::new();
        for c in COLUMNS {
            assert!(
                seen.insert((c.db, c.table, c.column)),
                "{c:?} declared twice"
            );
        }
    }

    #[test]
    fn catalog_holds_nothing_protected() {
        for c in COLUMNS.iter().filter(|c| c.db == Db::Catalog) {
            assert_ne!(c.class, DataClass::Protected, "{c:?}");
        }
    }
}
