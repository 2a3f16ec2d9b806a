-- The inbox: notifications kept at the recipient's home. One that comes
-- from another region arrives through the outbox with interop fields only
-- (ids, the actor's handle and region, the kind); `text` is written only
-- here, for notices made in this region (custodian notices, decisions).
-- `group_key` says which rows the inbox shows as one ("@a and 12 others
-- liked your video"): kind, target and day for likes and follows, the row
-- itself for everything else.
CREATE TABLE notifications (
    id           TEXT PRIMARY KEY,
    recipient_id TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor_id     TEXT,
    actor_handle TEXT,
    actor_region TEXT,
    video_id     TEXT,
    comment_id   TEXT,
    text         TEXT,
    group_key    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    read_at      BIGINT
);
CREATE INDEX notifications_recipient ON notifications(recipient_id, created_at DESC, id DESC);
CREATE INDEX notifications_group ON notifications(recipient_id, group_key, created_at DESC);
CREATE INDEX notifications_unread ON notifications(recipient_id) WHERE read_at IS NULL;
