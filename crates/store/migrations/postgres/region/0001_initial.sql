-- A region's own database: the protected data of the users homed here,
-- plus interop mirrors of edges that point at them. See the data-class
-- registry in the model crate for every column's class.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    handle        TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    bio           TEXT NOT NULL DEFAULT '',
    private       BOOLEAN NOT NULL,
    email         TEXT NOT NULL,
    birthdate     TEXT NOT NULL,
    country       TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    non_profiled  BOOLEAN NOT NULL DEFAULT FALSE,
    state         TEXT NOT NULL DEFAULT 'active',
    delete_after  BIGINT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE videos (
    id              TEXT PRIMARY KEY,
    author_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    caption         TEXT NOT NULL,
    hashtags        TEXT NOT NULL,
    mentions        TEXT NOT NULL,
    visibility      TEXT NOT NULL,
    comments_policy TEXT NOT NULL,
    state           TEXT NOT NULL,
    state_reason    TEXT,
    duration_ms     BIGINT,
    width           INTEGER,
    height          INTEGER,
    media_key       TEXT,
    poster_key      TEXT,
    content_type    TEXT,
    sha256          TEXT NOT NULL,
    size_bytes      BIGINT NOT NULL,
    transcoded      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    likes           BIGINT NOT NULL DEFAULT 0,
    comments        BIGINT NOT NULL DEFAULT 0,
    shares          BIGINT NOT NULL DEFAULT 0,
    views           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX videos_author ON videos(author_id, created_at DESC, id DESC);
CREATE INDEX videos_state ON videos(state);

CREATE TABLE likes (
    user_id    TEXT NOT NULL,
    video_id   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, video_id)
);

CREATE TABLE follows (
    follower_id TEXT NOT NULL,
    followee_id TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);

CREATE TABLE inbound_follows (
    follower_id TEXT NOT NULL,
    followee_id TEXT NOT NULL,
    state       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (followee_id, follower_id)
);

CREATE TABLE blocks (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

CREATE TABLE inbound_blocks (
    blocker_id TEXT NOT NULL,
    blocked_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocked_id, blocker_id)
);

CREATE TABLE comments (
    id            TEXT PRIMARY KEY,
    video_id      TEXT NOT NULL,
    author_id     TEXT NOT NULL,
    author_handle TEXT NOT NULL,
    text          TEXT NOT NULL,
    parent_id     TEXT,
    created_at    BIGINT NOT NULL,
    replies_count BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX comments_video ON comments(video_id, created_at);

CREATE TABLE my_comments (
    comment_id TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    video_id   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX my_comments_user ON my_comments(user_id);

CREATE TABLE shares (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    video_id   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    user_id     TEXT NOT NULL,
    video_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    watch_ms    BIGINT,
    duration_ms BIGINT,
    at          BIGINT NOT NULL
);
CREATE INDEX events_user ON events(user_id, kind, video_id);

CREATE TABLE outbox (
    seq        BIGSERIAL PRIMARY KEY,
    target     TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE applied_outbox (
    origin TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    PRIMARY KEY (origin, seq)
);
