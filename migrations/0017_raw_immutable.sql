-- 0017_raw_immutable: the raw layer is write-once for the consumer's login, and raw.rows is
-- back under the passport's name.
-- Purpose: what the raw layer says a file held can only be added to, never rewritten: etl_rw
--   may INSERT and SELECT; UPDATE only the columns that must change (a content refused before
--   flips to applied with its field counts; a physical row refused before and applied by a
--   later publication flips its kind; a file row is filled in by later file events),
--   never a digest, a body pointer, a reference or a file's identity; no DELETE or TRUNCATE.
--   raw.rows: the passport's shape (id, file_id, row_no, payload_jsonb) over raw.v_rows, with
--   payload (json) beside it: jsonb cannot hold a NUL cell (\u0000), such a row's
--   payload_jsonb is NULL and its payload keeps every cell.
-- Rollback: GRANT SELECT, INSERT, UPDATE ON raw.contents, raw.csv_files TO etl_rw;
--   DROP VIEW raw.rows.

REVOKE UPDATE, DELETE, TRUNCATE ON TABLE raw.csv_files, raw.contents, raw.content_chunks,
    raw.layouts, raw.file_rows, raw.rows_legacy FROM etl_rw;
GRANT UPDATE (kind, fields_total, fields_unknown, source_updated_at) ON TABLE raw.contents
    TO etl_rw;
GRANT UPDATE (path, bytes, headers_jsonb, dialect, encoding, rows_published, malformed_rows,
              started_at, completed_at) ON TABLE raw.csv_files TO etl_rw;
-- A physical row recorded as refused that a later publication applies becomes a row (its kind
-- and error only: its digest names the same value).
GRANT UPDATE (kind, parse_error) ON TABLE raw.file_rows TO etl_rw;

CREATE VIEW raw.rows AS
SELECT id, file_id, row_no,
       CASE WHEN strpos(payload::text, '\u0000') = 0 THEN payload::jsonb END AS payload_jsonb,
       payload, kind, lot_external_id, parse_error, kafka_partition, kafka_offset, ingested_at,
       digest, observed
FROM raw.v_rows;

GRANT ALL ON TABLE raw.rows TO admin;
GRANT SELECT ON TABLE raw.rows TO etl_rw;
