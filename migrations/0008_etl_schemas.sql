-- 0008_etl_schemas: raw, staging and audit schemas and their tables.
-- Purpose: raw = lossless (every physical row exactly once, payload = the Kafka message value
--   as-is, json not jsonb: keeps key order/duplicates and is half the write cost);
--   staging = extracted keys per row (payload stays in raw.rows); audit = VIN conflicts,
--   per-row parse errors, one ETL run per file.
-- Rollback: DROP SCHEMA audit CASCADE; DROP SCHEMA staging CASCADE; DROP SCHEMA raw CASCADE;
--   (destroys the raw layer: only on an empty database).
CREATE SCHEMA raw;
CREATE SCHEMA staging;
CREATE SCHEMA audit;

-- A row may arrive before the file's 'started' record: every column but the keys is nullable
-- and filled later with COALESCE upserts.
CREATE TABLE raw.csv_files (
    file_id        uuid PRIMARY KEY,
    sha256         text NOT NULL UNIQUE,
    path           text,
    bytes          bigint,
    headers_jsonb  jsonb,
    dialect        text,
    encoding       text,
    rows_published integer,
    malformed_rows integer,
    started_at     timestamptz,
    completed_at   timestamptz,
    ingested_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE raw.rows (
    id              bigserial PRIMARY KEY,
    file_id         uuid NOT NULL REFERENCES raw.csv_files (file_id),
    row_no          integer NOT NULL,
    kind            text NOT NULL CONSTRAINT rows_kind_ck CHECK (kind IN ('row', 'malformed')),
    lot_external_id text,
    payload         json NOT NULL,
    parse_error     text,
    kafka_topic     text,
    kafka_partition integer,
    kafka_offset    bigint,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rows_file_id_row_no_key UNIQUE (file_id, row_no)
);

CREATE TABLE staging.copart_raw (
    id                bigserial PRIMARY KEY,
    file_id           uuid NOT NULL REFERENCES raw.csv_files (file_id),
    row_no            integer NOT NULL,
    window_start_utc  timestamptz NOT NULL,
    lot_external_id   text NOT NULL,
    vin_raw           text,
    vin_normalized    text,
    source_updated_at timestamptz,
    fields_total      smallint NOT NULL,
    fields_unknown    smallint NOT NULL,
    ingested_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT copart_raw_file_id_row_no_key UNIQUE (file_id, row_no)
);

CREATE TABLE audit.vin_conflicts (
    id              bigserial PRIMARY KEY,
    vin_raw         text,
    vin_normalized  text,
    lot_external_id text,
    conflict_reason text NOT NULL CONSTRAINT vin_conflicts_reason_ck CHECK (conflict_reason IN
        ('transliterated', 'invalid', 'masked', 'spelling_differs', 'lot_vin_changed')),
    previous_value  text,
    file_id         uuid,
    row_no          integer,
    detected_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vin_conflicts_file_row_reason_key UNIQUE (file_id, row_no, conflict_reason)
);

-- dedup_key makes redelivery idempotent: '{file_id}:{row_no}' when known,
-- else '{topic}:{partition}:{offset}'. file_id has no FK: an undecodable message may name
-- a file the database never heard of.
CREATE TABLE audit.parse_errors (
    id              bigserial PRIMARY KEY,
    dedup_key       text NOT NULL UNIQUE,
    file_id         uuid,
    row_no          integer,
    lot_external_id text,
    reason          text NOT NULL,
    message         text NOT NULL,
    raw             text,
    kafka_topic     text,
    kafka_partition integer,
    kafka_offset    bigint,
    consumer        text,
    detected_at     timestamptz NOT NULL DEFAULT now()
);

-- One run per file (run_id = file_id), so re-publication does not add runs.
CREATE TABLE audit.etl_runs (
    run_id         uuid PRIMARY KEY,
    file_id        uuid NOT NULL UNIQUE REFERENCES raw.csv_files (file_id),
    status         text NOT NULL CONSTRAINT etl_runs_status_ck
                       CHECK (status IN ('started', 'completed', 'failed')),
    rows_expected  integer,
    rows_processed integer NOT NULL DEFAULT 0,
    errors         integer NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz
);
