-- Handles are unique by their skeleton (sovereel_model::handle_skeleton):
-- `alice_us.`, `Alice.US` and `a1ice_us` are one name. Rows from before
-- this migration are backfilled by the catalog when it opens.
ALTER TABLE directory ADD COLUMN skeleton TEXT;
CREATE UNIQUE INDEX directory_skeleton ON directory (skeleton);

-- The skeletons of deleted accounts' handles: they stay taken, so nobody
-- can sign up as someone who just left. Only the skeleton is kept, never
-- the account it belonged to.
CREATE TABLE retired_handles (
    skeleton   TEXT PRIMARY KEY,
    retired_at BIGINT NOT NULL
);
