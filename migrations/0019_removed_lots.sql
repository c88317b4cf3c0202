-- 0019_removed_lots: lots missing from a full snapshot are marked removed.
-- Purpose: `producer publish --full-snapshot` marks a file as the complete list of lots for
--   sale (raw.csv_files.full_snapshot, from its 'started' record). When such a file's run
--   completes, every lot it does not list is marked removed (lots.is_removed, removed_at,
--   removed_as_of), unless a completed file at least as new lists it; a lot a newer file
--   lists again returns. A file's as-of (raw.csv_files.as_of, set when its run completes) is
--   the newest source time among its rows. A partial file (the default) never removes.
--   Files completed before this migration have no as-of: they protect no lot, so the first
--   full snapshot after the upgrade decides what is for sale.
-- Rollback: ALTER TABLE public.lots DROP COLUMN removed_at, DROP COLUMN removed_as_of;
--   ALTER TABLE raw.csv_files DROP COLUMN full_snapshot, DROP COLUMN as_of.

ALTER TABLE raw.csv_files ADD COLUMN full_snapshot boolean, ADD COLUMN as_of timestamptz;
ALTER TABLE public.lots ADD COLUMN removed_at timestamptz, ADD COLUMN removed_as_of timestamptz;
CREATE INDEX csv_files_as_of_idx ON raw.csv_files (as_of) WHERE as_of IS NOT NULL;
GRANT UPDATE (full_snapshot, as_of) ON TABLE raw.csv_files TO etl_rw;
