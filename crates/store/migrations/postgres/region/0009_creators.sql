-- Creators and viewers (issue 13).
--
-- A draft is an upload its owner has not published: it stays at home,
-- out of every list and of the catalog, its caption sealed under the
-- owner's data key until it is published.
ALTER TABLE videos ADD COLUMN draft BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX videos_drafts ON videos(author_id, draft, created_at DESC, id DESC);

-- Follower and following lists page by (time of the follow, user).
CREATE INDEX follows_followee_at ON follows(followee_id, state, created_at DESC, follower_id DESC);
CREATE INDEX follows_follower_at ON follows(follower_id, state, created_at DESC, followee_id DESC);

-- A user's keyword and hashtag filters and topic preferences: one
-- document, sealed under the user's data key (protected, at home only).
-- `version` makes each change a compare-and-swap, so two changes made at
-- once cannot lose one another.
CREATE TABLE content_filters (
    user_id    TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
