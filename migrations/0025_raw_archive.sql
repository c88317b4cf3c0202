-- 0025_raw_archive: files of the raw layer archived to object storage, and pruned.
-- Purpose: `consumer archive` writes each fully ingested file as one compressed object (the
--   file's rows as export-raw writes them, after a manifest line), reads it back to verify,
--   then records where it is and its SHA-256 here. `consumer archive --prune` then deletes
--   the file's references (raw.file_row_blocks, raw.file_row_notes) and the contents no other
--   reference names; the file row stays, and export-raw reads a pruned file from its archive.
--   raw.csv_files.archived_at, archive_uri, archive_sha256: the verified object.
--   raw.csv_files.pruned_at: its references are gone from PostgreSQL (the archive has them).
--   Role raw_archiver (NOLOGIN, for the login that runs `consumer archive`): reads the raw
--   layer, sets only those four columns, deletes only what a prune deletes, and moves live
--   bodies out of chunks a prune left half empty (new chunks; a content's chunk_id and pos).
--   etl_rw (the consumer) gets nothing new: the raw layer stays write-once for it. admin is a
--   member.
-- Rollback: REVOKE ALL ... FROM raw_archiver (never drop the cluster-wide role);
--   DROP INDEX raw.contents_chunk_idx;
--   ALTER TABLE raw.csv_files DROP COLUMN archived_at, archive_uri, archive_sha256, pruned_at
--   (a pruned file's rows are then only in its archive: restore them first).

ALTER TABLE raw.csv_files
    ADD COLUMN archived_at timestamptz,
    ADD COLUMN archive_uri text,
    ADD COLUMN archive_sha256 text CONSTRAINT csv_files_archive_sha256_ck
        CHECK (archive_sha256 ~ '^[0-9a-f]{64}$'),
    ADD COLUMN pruned_at timestamptz,
    ADD CONSTRAINT csv_files_archived_ck CHECK (
        (archived_at IS NULL) = (archive_uri IS NULL)
        AND (archived_at IS NULL) = (archive_sha256 IS NULL)
        AND (pruned_at IS NULL OR archived_at IS NOT NULL));

-- A prune deletes the chunks none of whose contents is left: the foreign key's check, and
-- the look-up of what is left, find a chunk's contents by this index, not by a scan.
CREATE INDEX contents_chunk_idx ON raw.contents (chunk_id);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'raw_archiver') THEN
        BEGIN
            CREATE ROLE raw_archiver NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created meanwhile by a migration of another database
        END;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO raw_archiver', current_database());
END
$$;

GRANT raw_archiver TO admin;
GRANT USAGE ON SCHEMA raw, audit TO raw_archiver;
GRANT SELECT ON TABLE raw.csv_files, raw.file_row_blocks, raw.file_row_notes, raw.file_rows,
    raw.contents, raw.content_chunks, raw.v_contents, raw.layouts, audit.etl_runs
    TO raw_archiver;
GRANT UPDATE (archived_at, archive_uri, archive_sha256, pruned_at) ON TABLE raw.csv_files
    TO raw_archiver;
GRANT DELETE ON TABLE raw.file_row_blocks, raw.file_row_notes, raw.contents,
    raw.content_chunks TO raw_archiver;
-- Chunks a prune leaves half empty are rewritten: their live bodies, copied as they are, into
-- new chunks; a content's pointer moves, its digest and bytes never change.
GRANT INSERT ON TABLE raw.content_chunks TO raw_archiver;
GRANT USAGE ON SEQUENCE raw.content_chunks_chunk_id_seq TO raw_archiver;
GRANT UPDATE (chunk_id, pos) ON TABLE raw.contents TO raw_archiver;
-- The consumer and export-raw read where a pruned file is.
GRANT SELECT ON TABLE raw.csv_files TO etl_rw;
