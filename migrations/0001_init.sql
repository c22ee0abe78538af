-- meet-ai schema. Migrations are append-only: wrangler records them by file name,
-- so never edit or rename one that has been applied; add 0002_*.sql instead.
--
-- Times are integer milliseconds since the Unix epoch (exact in JavaScript),
-- formatted as RFC 3339 by the Worker. Ordering never uses them: messages carry
-- `seq`, their position in commit order, which every cursor compares.

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,          -- UUID; what rooms and messages point at
  key_hash     TEXT NOT NULL UNIQUE,      -- SHA-256 hex of the key; the key itself is never stored
  key_prefix   TEXT NOT NULL,             -- first 8 characters, to recognise a key
  created_ms   INTEGER NOT NULL,
  last_used_ms INTEGER,                   -- refreshed at most once an hour
  revoked_ms   INTEGER                    -- set by DELETE /api/keys; a revoked key is 401 everywhere
);

CREATE TABLE rooms (
  id         TEXT PRIMARY KEY,            -- UUID
  key_id     TEXT NOT NULL REFERENCES api_keys(id),
  name       TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);

-- Listing a key's rooms, and counting them for the rooms-per-day limit.
CREATE INDEX rooms_by_key ON rooms(key_id, created_ms);

CREATE TABLE messages (
  -- Commit order. AUTOINCREMENT: never reused, so a cursor can never come to
  -- name a different message. SQLite has one writer, so a larger seq is always
  -- committed after a smaller one and `seq > cursor` never skips a message.
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  id              TEXT NOT NULL UNIQUE,   -- UUID, the public id and the API's cursor
  room_id         TEXT NOT NULL REFERENCES rooms(id),
  key_id          TEXT NOT NULL,          -- the owning key, copied from the room: the send limit counts these rows
  sender          TEXT NOT NULL,
  sender_type     TEXT NOT NULL CHECK (sender_type IN ('human', 'agent')),
  color           TEXT,
  content         TEXT NOT NULL,
  created_ms      INTEGER NOT NULL,
  idempotency_key TEXT                    -- from the Idempotency-Key header; a retry returns the original
);

-- History pages and stream polls: one room, in commit order.
CREATE INDEX messages_by_room ON messages(room_id, seq);
-- The messages-per-minute limit counts a key's recent sends.
CREATE INDEX messages_by_key_time ON messages(key_id, created_ms);
-- A retried send with the same Idempotency-Key in the same room stores nothing new.
CREATE UNIQUE INDEX messages_idempotency ON messages(room_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
