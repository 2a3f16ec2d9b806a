-- Follows and blocks are stored only at the actor's home. The other side
-- asks that home when it needs to know (see DESIGN: a cross-region
-- interaction is stored at the actor's home), so no mirror tables remain.
DROP TABLE inbound_follows;
DROP TABLE inbound_blocks;
CREATE INDEX follows_followee ON follows(followee_id, state);
CREATE INDEX blocks_blocked ON blocks(blocked_id);
