-- 0012_ingest_offsets: consumer offsets stored in PostgreSQL.
-- Purpose: exactly-once in effect. next_offset = last committed offset + 1, written in the SAME
--   transaction as each batch; on partition assignment the consumer seeks to it.
--   The ingest schema is ours (not one of the passport's four); `consumer migrate` also keeps
--   its ledger ingest.schema_migrations there.
-- Rollback: DROP TABLE ingest.consumer_offsets;  (the consumer then restarts from Kafka's
--   committed offsets: only safe when its group is stopped)
CREATE SCHEMA IF NOT EXISTS ingest;

CREATE TABLE ingest.consumer_offsets (
    group_id    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

GRANT ALL ON TABLE ingest.consumer_offsets TO admin;
-- DELETE: an operator-run reset of a group goes through the consumer's own login.
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE ingest.consumer_offsets TO etl_rw;
