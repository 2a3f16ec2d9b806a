-- Trust and safety to the DSA's standard (PostgreSQL).
--
-- Reports name any target (a video, a comment or an account) and are kept
-- once per reporter and target: a repeat report finds the first one.
ALTER TABLE reports RENAME COLUMN video_id TO target_id;
ALTER TABLE reports ADD COLUMN target_kind TEXT NOT NULL DEFAULT 'video';
ALTER TABLE reports ADD COLUMN case_id TEXT;
DELETE FROM reports WHERE id NOT IN (
    SELECT MIN(id) FROM reports GROUP BY reporter_id, target_kind, target_id);
CREATE UNIQUE INDEX reports_once ON reports(reporter_id, target_kind, target_id);

-- All reports on one target join one open case, which counts them and
-- keeps their categories; the queue orders cases by severity, reporters
-- and age. Appeals and editorial interventions are cases too.
ALTER TABLE cases RENAME COLUMN video_id TO target_id;
ALTER TABLE cases ADD COLUMN target_kind TEXT NOT NULL DEFAULT 'video';
ALTER TABLE cases ADD COLUMN kind TEXT NOT NULL DEFAULT 'report';
ALTER TABLE cases ADD COLUMN reports_count BIGINT NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN severity INTEGER NOT NULL DEFAULT 1;
-- An appeal: the decision appealed, the creator's text, and who decided
-- (who may not decide the appeal).
ALTER TABLE cases ADD COLUMN appeal_of TEXT;
ALTER TABLE cases ADD COLUMN appeal_text TEXT;
ALTER TABLE cases ADD COLUMN decided_by TEXT;
-- Every category a case was reported for (the first stays in `category`).
CREATE TABLE case_categories (
    case_id  TEXT NOT NULL,
    category TEXT NOT NULL,
    PRIMARY KEY (case_id, category)
);
UPDATE cases SET severity = CASE category
    WHEN 'self_harm' THEN 5 WHEN 'violence' THEN 4
    WHEN 'hate' THEN 3 WHEN 'harassment' THEN 3 WHEN 'nudity' THEN 3
    WHEN 'misinformation' THEN 2 ELSE 1 END;
-- Earlier, each report opened its own case: the open ones on one target
-- become one, with all their reports and categories.
INSERT INTO case_categories (case_id, category)
    SELECT id, category FROM cases WHERE state <> 'open';
INSERT INTO case_categories (case_id, category)
    SELECT DISTINCT k.id, c.category FROM cases c
    JOIN (SELECT MIN(id) AS id, target_id FROM cases WHERE state = 'open' GROUP BY target_id) k
      ON k.target_id = c.target_id
    WHERE c.state = 'open';
UPDATE cases SET
    reports_count = (SELECT COUNT(*) FROM cases c WHERE c.state = 'open' AND c.target_id = cases.target_id),
    severity = (SELECT MAX(c.severity) FROM cases c WHERE c.state = 'open' AND c.target_id = cases.target_id)
    WHERE state = 'open';
DELETE FROM cases WHERE state = 'open' AND id NOT IN (
    SELECT MIN(id) FROM cases WHERE state = 'open' GROUP BY target_id);
CREATE UNIQUE INDEX cases_one_open ON cases(target_kind, target_id)
    WHERE state <> 'closed' AND kind = 'report';
CREATE UNIQUE INDEX cases_one_appeal ON cases(appeal_of) WHERE appeal_of IS NOT NULL;
CREATE INDEX cases_queue ON cases(state, severity, reports_count, created_at);

-- Decisions with their statement of reasons (DSA Art. 17), at the home of
-- the content's creator. One per case: the second concurrent decision
-- finds the case taken. `ledger_index` is NULL while its `moderation`
-- entry is being written; a decision without one is finished or undone at
-- start-up, from the ledger.
CREATE TABLE decisions (
    id                TEXT PRIMARY KEY,
    case_id           TEXT NOT NULL,
    case_kind         TEXT NOT NULL,
    subject_id        TEXT NOT NULL,
    target_kind       TEXT NOT NULL,
    target_id         TEXT NOT NULL,
    action            TEXT NOT NULL,
    label             TEXT,
    note              TEXT,
    categories        TEXT NOT NULL,
    ground            TEXT NOT NULL,
    reference         TEXT NOT NULL,
    facts             TEXT NOT NULL,
    automated         BOOLEAN NOT NULL,
    territorial_scope TEXT NOT NULL,
    redress           TEXT NOT NULL,
    moderator_id      TEXT NOT NULL,
    appeal_of         TEXT,
    restore           TEXT,
    case_opened_at    BIGINT NOT NULL,
    ledger_index      BIGINT,
    created_at        BIGINT NOT NULL,
    reversed_at       BIGINT
);
CREATE UNIQUE INDEX decisions_one_per_case ON decisions(case_id);
CREATE INDEX decisions_subject ON decisions(subject_id, created_at);
CREATE INDEX decisions_target ON decisions(target_kind, target_id);
