-- The global public catalog: public profiles, public videos and comments,
-- counters, and the handle directory. Nothing protected lives here.

CREATE TABLE directory (
    handle     TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL UNIQUE,
    region     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE profiles (
    user_id      TEXT PRIMARY KEY,
    handle       TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    bio          TEXT NOT NULL,
    private      BOOLEAN NOT NULL,
    region       TEXT NOT NULL,
    hidden       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   BIGINT NOT NULL,
    followers    BIGINT NOT NULL DEFAULT 0,
    following    BIGINT NOT NULL DEFAULT 0,
    videos       BIGINT NOT NULL DEFAULT 0,
    likes        BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE videos (
    id              TEXT PRIMARY KEY,
    author_id       TEXT NOT NULL,
    caption         TEXT NOT NULL,
    hashtags        TEXT NOT NULL,
    mentions        TEXT NOT NULL,
    comments_policy TEXT NOT NULL,
    duration_ms     BIGINT,
    width           INTEGER,
    height          INTEGER,
    labels          TEXT NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL,
    likes           BIGINT NOT NULL DEFAULT 0,
    comments        BIGINT NOT NULL DEFAULT 0,
    shares          BIGINT NOT NULL DEFAULT 0,
    views           BIGINT NOT NULL DEFAULT 0,
    hot             REAL NOT NULL DEFAULT 0
);
CREATE INDEX videos_author ON videos(author_id, created_at DESC, id DESC);
CREATE INDEX videos_hot ON videos(hot DESC, id DESC);
CREATE INDEX videos_created ON videos(created_at DESC, id DESC);

CREATE TABLE video_hashtags (
    tag      TEXT NOT NULL,
    video_id TEXT NOT NULL,
    hot      REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (tag, video_id)
);
CREATE INDEX video_hashtags_hot ON video_hashtags(tag, hot DESC, video_id DESC);

CREATE TABLE hashtags (
    tag    TEXT PRIMARY KEY,
    videos BIGINT NOT NULL DEFAULT 0
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

CREATE TABLE applied_outbox (
    origin TEXT NOT NULL,
    seq    BIGINT NOT NULL,
    PRIMARY KEY (origin, seq)
);
