-- Decisions (issue 17): a permission prompt, plan or question an agent puts to
-- the room's humans, settled by the first valid answer. Adds a table and a
-- column only: existing rows keep working (an old message has no payload).

CREATE TABLE decisions (
  id            TEXT PRIMARY KEY,      -- UUID
  room_id       TEXT NOT NULL REFERENCES rooms(id),
  key_id        TEXT NOT NULL,         -- the room's owner key
  requester_member_id TEXT,            -- NULL when the owner key asked
  requester     TEXT NOT NULL,         -- handle or sender name shown
  kind          TEXT NOT NULL CHECK (kind IN ('permission','plan','question')),
  request       TEXT NOT NULL,         -- JSON: tool_name, tool_input, plan, questions, suggestions (whole, never truncated)
  status        TEXT NOT NULL DEFAULT 'pending',  -- pending|allowed|denied|answered|cancelled (expired is computed)
  answer        TEXT,                  -- JSON of the winning answer
  decided_by    TEXT,                  -- handle (member) or 'owner'
  decided_at_s  INTEGER,
  created_at_s  INTEGER NOT NULL,
  expires_at_s  INTEGER NOT NULL,      -- SECONDS since the epoch
  idempotency_key TEXT
);
CREATE UNIQUE INDEX decisions_idem ON decisions(room_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- JSON snapshot of a decision for kind = 'decision' (NULL otherwise).
ALTER TABLE messages ADD COLUMN payload TEXT;
