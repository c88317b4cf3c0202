-- 0018_mapping_version: each applied content records the version of the mapping that applied
-- it (consumer.mapping.MAPPING_VERSION).
-- Purpose: "applied" is no longer forever. A content applied under an older mapping version is
--   not skipped when it comes again: it is mapped and applied anew, and its version moves. So
--   a mapping fix (zones, the VIN rule, a new column) reaches unchanged rows of the next
--   snapshot, or of a file published again with --force.
--   Contents stored before were applied by mapping version 1 (the first numbered one).
--   source_digest (lots, vehicles, sale events) starts with the mapping version that stored
--   the version (2 bytes, consumer.mapped.version_of), so that on a tie a version mapped by a
--   newer mapping wins. Versions stored before carry another digest: they are marked as
--   mapped by version 0 (their first two bytes replaced), so any version mapped now wins a
--   tie against them, and among themselves their order is unchanged but for those 2 bytes.
-- Rollback: ALTER TABLE raw.contents DROP COLUMN mapping_version (source_digest keeps its
--   new first two bytes: it orders only ties).

ALTER TABLE raw.contents ADD COLUMN mapping_version smallint NOT NULL DEFAULT 1;
GRANT UPDATE (mapping_version) ON TABLE raw.contents TO etl_rw;

UPDATE public.lots SET source_digest = '\x0000'::bytea || substring(source_digest FROM 3)
WHERE source_digest IS NOT NULL;
UPDATE public.vehicles SET source_digest = '\x0000'::bytea || substring(source_digest FROM 3)
WHERE source_digest IS NOT NULL;
UPDATE public.sale_events SET source_digest = '\x0000'::bytea || substring(source_digest FROM 3)
WHERE source_digest IS NOT NULL;
