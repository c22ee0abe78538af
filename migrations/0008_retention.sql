-- Retention (issue 16 item 3): the scheduled purge deletes a room's oldest
-- messages and, after a grace period, the rooms of revoked keys. Adds a column
-- and a partial index only: existing rows keep working (0 = nothing purged).

-- The newest seq the purge has deleted from this room. Purges delete oldest
-- first, so every message the room still holds has a larger seq: a cursor that
-- is no longer found in a room with purged_seq > 0 resumes after it, and the
-- client is told that older history is gone.
ALTER TABLE rooms ADD COLUMN purged_seq INTEGER NOT NULL DEFAULT 0;

-- Revoked keys, oldest first, for the purge's grace-period scan: without it
-- every run would read the whole keys table. Live keys (NULL) are not indexed,
-- so this costs a write only when a key is revoked.
CREATE INDEX api_keys_revoked ON api_keys(revoked_ms) WHERE revoked_ms IS NOT NULL;
