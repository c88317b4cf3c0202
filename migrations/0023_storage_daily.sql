-- 0023_storage_daily: ingest.storage_daily, the database's size per schema, one row per day.
-- Purpose: `consumer status --storage` shows growth per day from it. The consumer's storage
--   timer (VINOPS_STORAGE_METRICS_INTERVAL_S) reads the sizes for its gauge and upserts the
--   day's row, so each day keeps its last reading: five rows a day, ~2,000 a year.
-- Rollback: DROP TABLE ingest.storage_daily;
CREATE TABLE ingest.storage_daily (
    day         date NOT NULL,
    schema_name text NOT NULL,
    bytes       bigint NOT NULL,
    sampled_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT storage_daily_pkey PRIMARY KEY (day, schema_name)
);
GRANT ALL ON TABLE ingest.storage_daily TO admin;
GRANT SELECT, INSERT, UPDATE ON TABLE ingest.storage_daily TO etl_rw;
