-- 0013_audit_indexes: indexes for the audit views, conflict look-ups and staging retention.
-- Purpose: audit.v_ingest_count / v_parse_errors filter parse errors by file; VIN conflicts are
--   looked up by normalised VIN; the rolling retention deletes staging rows by window.
--   raw.rows and staging.copart_raw by file are already covered by their (file_id, row_no) keys.
-- Rollback: DROP INDEX audit.parse_errors_file_id_idx, audit.vin_conflicts_vin_normalized_idx,
--   staging.copart_raw_window_start_idx;
CREATE INDEX parse_errors_file_id_idx ON audit.parse_errors (file_id, row_no);
CREATE INDEX vin_conflicts_vin_normalized_idx ON audit.vin_conflicts (vin_normalized);
CREATE INDEX copart_raw_window_start_idx ON staging.copart_raw (window_start_utc);
