-- Room members (one room, one handle, one token), mentions, read cursors and
-- the loop guard. Adds columns and tables only: existing rows keep working
-- (an old message is unverified, mentions nobody, and is a plain message).

CREATE TABLE members (
  id           TEXT PRIMARY KEY,             -- UUID
  room_id      TEXT NOT NULL REFERENCES rooms(id),
  key_id       TEXT NOT NULL,                -- the room's owner key, copied: creations per key per day count these rows
  -- NOCASE: `Ada` and `ada` are one handle (ASCII case only, as SQLite folds).
  handle       TEXT NOT NULL COLLATE NOCASE,
  role         TEXT NOT NULL CHECK (role IN ('agent', 'human', 'viewer')),
  token_hash   TEXT NOT NULL UNIQUE,         -- SHA-256 hex of the token; the token itself is never stored
  token_prefix TEXT NOT NULL,                -- first 8 characters, to recognise it
  created_ms   INTEGER NOT NULL,
  last_seen_ms INTEGER,                      -- refreshed at most every few minutes
  removed_ms   INTEGER                       -- set on removal; kept so the daily creation limit still counts it
);

-- One current member per handle and room; a removed handle can be reused.
CREATE UNIQUE INDEX members_handle ON members(room_id, handle) WHERE removed_ms IS NULL;
-- The member creations per key per day limit counts a key's recent rows.
CREATE INDEX members_by_key_time ON members(key_id, created_ms);

-- 1 when the server vouches for sender and sender_type (a member token sent it).
ALTER TABLE messages ADD COLUMN verified INTEGER NOT NULL DEFAULT 0;
-- JSON array of the handles mentioned (NULL: none). No index: an inbox reads
-- the unread messages of one room, which messages_by_room already orders.
ALTER TABLE messages ADD COLUMN mentions TEXT;
-- 'message', or 'notice' for what the server itself posts (the loop guard).
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message';

-- At most this many agent messages in a row with no human between; 0 is off.
ALTER TABLE rooms ADD COLUMN loop_guard INTEGER NOT NULL DEFAULT 20;

-- Where each handle has read up to in each room (the seq of the last message
-- read). A missing row means nothing read yet.
CREATE TABLE read_cursors (
  room_id    TEXT NOT NULL,
  handle     TEXT NOT NULL COLLATE NOCASE,
  seq        INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (room_id, handle)
) WITHOUT ROWID;
