-- A room's owner can make it public: its history and event stream are then
-- readable without a key (by link), while writing still needs the owner's key.
ALTER TABLE rooms ADD COLUMN public INTEGER NOT NULL DEFAULT 0;
