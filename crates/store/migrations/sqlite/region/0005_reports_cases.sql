-- Reports are the reporter's protected data, kept at the reporter's home.
-- A report opens a case at the reported video's home, worked by that
-- region's custodian moderators; the case does not name the reporter.
CREATE TABLE reports (
    id          TEXT PRIMARY KEY,
    reporter_id TEXT NOT NULL,
    video_id    TEXT NOT NULL,
    category    TEXT NOT NULL,
    details     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX reports_reporter ON reports(reporter_id);

CREATE TABLE cases (
    id         TEXT PRIMARY KEY,
    video_id   TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    category   TEXT NOT NULL,
    state      TEXT NOT NULL,
    assignee   TEXT,
    created_at BIGINT NOT NULL,
    closed_at  BIGINT
);
CREATE INDEX cases_state ON cases(state, created_at);
