-- 0010_audit_views: metric views for dashboards and QA.
-- Purpose: v_ingest_count (per file: rows in raw.rows, malformed, parse errors, lots
--   touched, run status), v_unknown_rate (per file and hour window: share of unknown
--   cells, alert threshold 15%), v_parse_errors (parse errors with the file path).
-- Rollback: DROP VIEW audit.v_parse_errors, audit.v_unknown_rate, audit.v_ingest_count;
CREATE VIEW audit.v_ingest_count AS
SELECT f.file_id,
       f.path,
       f.sha256,
       f.rows_published,
       f.malformed_rows                   AS malformed_published,
       r.rows_ingested,
       r.rows_ok,
       r.rows_malformed,
       e.parse_errors,
       r.lots_touched,
       run.status                         AS run_status,
       run.rows_expected,
       run.rows_processed,
       run.started_at                     AS run_started_at,
       run.completed_at                   AS run_completed_at,
       f.ingested_at
FROM raw.csv_files f
CROSS JOIN LATERAL (
    SELECT count(*)                                                    AS rows_ingested,
           count(*) FILTER (WHERE rw.kind = 'row')                     AS rows_ok,
           count(*) FILTER (WHERE rw.kind = 'malformed')               AS rows_malformed,
           count(DISTINCT rw.lot_external_id) FILTER (WHERE rw.kind = 'row') AS lots_touched
    FROM raw.rows rw
    WHERE rw.file_id = f.file_id
) r
CROSS JOIN LATERAL (
    SELECT count(*) AS parse_errors FROM audit.parse_errors pe WHERE pe.file_id = f.file_id
) e
LEFT JOIN audit.etl_runs run ON run.file_id = f.file_id;

CREATE VIEW audit.v_unknown_rate AS
SELECT c.file_id,
       c.window_start_utc,
       count(*)                                                       AS rows,
       sum(c.fields_total)                                            AS fields_total,
       sum(c.fields_unknown)                                          AS fields_unknown,
       sum(c.fields_unknown)::numeric / nullif(sum(c.fields_total), 0) AS unknown_rate
FROM staging.copart_raw c
GROUP BY c.file_id, c.window_start_utc;

CREATE VIEW audit.v_parse_errors AS
SELECT pe.id,
       pe.detected_at,
       pe.file_id,
       f.path,
       pe.row_no,
       pe.lot_external_id,
       pe.reason,
       pe.message,
       pe.kafka_topic,
       pe.kafka_partition,
       pe.kafka_offset,
       pe.consumer
FROM audit.parse_errors pe
LEFT JOIN raw.csv_files f ON f.file_id = pe.file_id;
