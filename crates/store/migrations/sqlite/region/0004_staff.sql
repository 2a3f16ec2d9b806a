-- Staff accounts of this region's custodian (and, in the platform's own
-- region, the platform's staff), kept apart from users: they sign in
-- separately and act only through the policy gateway.
CREATE TABLE staff (
    id            TEXT PRIMARY KEY,
    handle        TEXT NOT NULL UNIQUE,
    org           TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
