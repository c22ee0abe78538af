-- The account's daily D1 budget (issue 11 item 2): the rows each UTC day has
-- read and written, as the Worker's isolates report them. Each isolate adds
-- its own counts (from every query's meta) at most every few minutes with one
-- UPSERT on the day's single row, and reads the total back in the same round
-- trip: one row written and about one read per flush, never a write per
-- message. A new table only: existing data is untouched. One row a day (365
-- a year), so nothing needs purging.

CREATE TABLE daily_usage (
  day          INTEGER PRIMARY KEY,    -- UTC days since the epoch
  rows_read    INTEGER NOT NULL DEFAULT 0,
  rows_written INTEGER NOT NULL DEFAULT 0,
  updated_ms   INTEGER NOT NULL        -- last flush, epoch milliseconds
);
