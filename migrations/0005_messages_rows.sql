-- At most 3 D1 rows written per message (issue 16). A send used to write the
-- row, an entry in each of four indexes (the id's UNIQUE, messages_by_room,
-- messages_by_key_time, and the idempotency index when a key was given) and
-- the AUTOINCREMENT counter in sqlite_sequence. Now it writes:
--   1. the message row, in a WITHOUT ROWID table clustered on (room_id, seq),
--      so the row is its own room index;
--   2. its entry in messages_id (the public id: cursors and idempotency);
--   3. the sending key's api_keys row, whose send counters replace
--      messages_by_key_time (no indexed column of api_keys changes).
-- An Idempotency-Key costs nothing more: it decides the message's id (see
-- protocol::idempotency), so messages_id catches a retry.
--
-- Keeps every existing row, id and seq: seq stays the commit order within a
-- room (the old global seq is ordered within each room too), and new rows
-- continue from the room's largest. Nothing compares seq across rooms.

PRAGMA defer_foreign_keys = on;

CREATE TABLE messages_new (
  room_id         TEXT NOT NULL REFERENCES rooms(id),
  -- Commit order within the room: the INSERT takes MAX(the room's largest + 1,
  -- created_ms), so it only grows, even after retention empties a room.
  seq             INTEGER NOT NULL,
  id              TEXT NOT NULL,          -- UUID, the public id and the API's cursor
  key_id          TEXT NOT NULL,          -- the owning key, copied from the room
  sender          TEXT NOT NULL,
  sender_type     TEXT NOT NULL CHECK (sender_type IN ('human', 'agent')),
  color           TEXT,
  content         TEXT NOT NULL,
  created_ms      INTEGER NOT NULL,
  idempotency_key TEXT,                   -- from the Idempotency-Key header (no index: the id carries it)
  verified        INTEGER NOT NULL DEFAULT 0,
  mentions        TEXT,
  kind            TEXT NOT NULL DEFAULT 'message',
  payload         TEXT,
  -- With an Idempotency-Key: the fingerprint of the request body, so reusing
  -- the key for a different body is refused (protocol::idempotency).
  body_hash       TEXT,
  PRIMARY KEY (room_id, seq)
) WITHOUT ROWID;

INSERT INTO messages_new (room_id, seq, id, key_id, sender, sender_type, color, content,
  created_ms, idempotency_key, verified, mentions, kind, payload)
SELECT room_id, seq, id, key_id, sender, sender_type, color, content,
  created_ms, idempotency_key, verified, mentions, kind, payload
FROM messages;

DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;

-- The public id: cursors name a message by it, and a retried Idempotency-Key
-- maps to the same id, so this is also the idempotency check.
CREATE UNIQUE INDEX messages_id ON messages(id);

-- The per-key send limits, kept in the key's own row: one row write per send.
-- send_log: JSON array of the key's most recent send times (ms), ascending,
-- at most RATE_MESSAGES_PER_MINUTE of them: an exact sliding window, checked
-- by looking at one element (src/store/send_quota.rs).
ALTER TABLE api_keys ADD COLUMN send_log TEXT;
-- The UTC day (ms / 86 400 000) that sent_today counts, and the count.
ALTER TABLE api_keys ADD COLUMN sent_day INTEGER;
ALTER TABLE api_keys ADD COLUMN sent_today INTEGER NOT NULL DEFAULT 0;

-- Seed the counters from the rows just copied, so the limits hold across the
-- migration.
UPDATE api_keys SET
  send_log = (SELECT json_group_array(created_ms) FROM (SELECT created_ms FROM messages
    WHERE key_id = api_keys.id AND kind <> 'notice'
      AND created_ms > (CAST(strftime('%s', 'now') AS INTEGER) * 1000) - 60000
    ORDER BY created_ms)),
  sent_day = (CAST(strftime('%s', 'now') AS INTEGER) * 1000) / 86400000,
  sent_today = (SELECT COUNT(*) FROM messages WHERE key_id = api_keys.id AND kind <> 'notice'
    AND created_ms >= ((CAST(strftime('%s', 'now') AS INTEGER) * 1000) / 86400000) * 86400000);
