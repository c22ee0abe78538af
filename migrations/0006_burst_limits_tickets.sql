-- Limits that hold under bursts, and stream tickets (issue 11, items 4 and 6).
-- Adds a column, an index and a table only: existing rows keep working (a key
-- made before this has no network and counts against none).

-- SHA-256 hex of the network that created the key (its IPv4 address, or its
-- IPv6 /64; protocol::client::network_of). The keys-per-hour limit counts
-- these rows inside the INSERT, so a burst can never pass it. Hashed so the
-- table holds no raw addresses; an IPv4 hash can still be reversed by trying
-- all 2^32, so treat it as pseudonymous, not anonymous.
ALTER TABLE api_keys ADD COLUMN client_net TEXT;
CREATE INDEX api_keys_by_net ON api_keys(client_net, created_ms) WHERE client_net IS NOT NULL;

-- A stream ticket (POST /api/rooms/:id/ticket): a single-use pass to one
-- room's /events or /ws, so a browser never puts its key in a URL. Redeeming
-- deletes the row (DELETE ... RETURNING), so a ticket opens one stream only.
CREATE TABLE stream_tickets (
  ticket_hash TEXT PRIMARY KEY,   -- SHA-256 hex of the ticket; the ticket itself is never stored
  room_id     TEXT NOT NULL,
  cred_kind   TEXT NOT NULL CHECK (cred_kind IN ('owner', 'member')),
  cred_hash   TEXT NOT NULL,      -- hash of the key or member token that asked; re-checked live on use
  expires_ms  INTEGER NOT NULL
) WITHOUT ROWID;
