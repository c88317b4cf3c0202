-- 0021_rebuilds: where `consumer rebuild` stands, so that a killed rebuild resumes.
-- Purpose: consumer rebuild re-derives the core tables from the raw layer in batches, in
--   (file_id, row_no) order; after each committed batch it records the last row done. A
--   rebuild of the same selection under the same mapping version that did not finish
--   continues from there (a batch committed but not recorded is done again: the upserts are
--   idempotent). Finished rebuilds stay as the record of what was re-derived and when.
-- Rollback: DROP TABLE ingest.rebuilds.

CREATE TABLE ingest.rebuilds (
    rebuild_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    selection       text NOT NULL,
    mapping_version smallint NOT NULL,
    last_file_id    uuid,
    last_row_no     integer,
    rows_done       bigint NOT NULL DEFAULT 0,
    lots_changed    bigint NOT NULL DEFAULT 0,
    started_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX rebuilds_unfinished_idx ON ingest.rebuilds (selection, mapping_version)
    WHERE finished_at IS NULL;

GRANT ALL ON TABLE ingest.rebuilds TO admin;
GRANT SELECT, INSERT, UPDATE ON TABLE ingest.rebuilds TO etl_rw;
