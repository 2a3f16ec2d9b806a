-- `videos_state` indexed every video by state, and the planner chose it for
-- "an author's ready videos", scanning every ready video of the region. Only
-- videos still processing are ever looked up by state, so a partial index
-- serves that, and author lookups use `videos_author`.
DROP INDEX videos_state;
CREATE INDEX videos_processing ON videos(created_at) WHERE state = 'processing';
