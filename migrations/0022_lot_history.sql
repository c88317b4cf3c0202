-- 0022_lot_history: every version of a lot, and an outbox of lot changes relayed to Kafka.
-- Purpose: public.lot_versions keeps one row per distinct version of a lot (lot, source time,
--   version digest): its validity [valid_from, valid_to) in source time, the VIN it carried,
--   the row that first carried it, its values (data) and the fields that differ from the
--   previous version (changed; NULL for a lot's first version). Maintained in each batch's
--   transaction by the consumer; a version that arrives late is put in its place and its
--   neighbours corrected, so any arrival order gives the same history. The last version of a
--   removed lot is closed at the removing snapshot's as-of (lots.removed_as_of).
--   ingest.lot_changes is the outbox: one row per lot change event (created, changed,
--   removed, returned) written in the batch's transaction; the relay sends them to Kafka in
--   (txid, seq) order and stores how far it got in ingest.relay_positions, then prunes. A
--   transaction id orders the outbox because a sequence does not: a lower seq can commit
--   after a higher one, a txid below the oldest running transaction cannot appear any more.
--   Existing databases: this migration creates the tables empty; `consumer rebuild --all`
--   fills the history from the raw layer (it writes versions, and no events: no lot changes).
-- Rollback: DROP TABLE public.lot_versions, ingest.lot_changes, ingest.relay_positions.

CREATE TABLE public.lot_versions (
    lot_external_id text NOT NULL,
    valid_from      timestamptz NOT NULL,
    version         bytea NOT NULL,
    valid_to        timestamptz,
    vin             text,
    file_id         uuid,
    row_no          integer,
    content_digest  bytea,
    changed         text[],
    data            jsonb NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lot_versions_pkey PRIMARY KEY (lot_external_id, valid_from, version)
);
-- "History of one VIN": the versions that carried it, in time order.
CREATE INDEX lot_versions_vin_idx ON public.lot_versions (vin, valid_from) WHERE vin IS NOT NULL;

CREATE TABLE ingest.lot_changes (
    txid            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    event_id        uuid NOT NULL,
    lot_external_id text NOT NULL,
    kind            text NOT NULL,
    payload         jsonb NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lot_changes_pkey PRIMARY KEY (txid, seq),
    CONSTRAINT lot_changes_kind_ck CHECK (kind IN ('created', 'changed', 'removed', 'returned'))
);

CREATE TABLE ingest.relay_positions (
    topic      text PRIMARY KEY,
    last_txid  xid8 NOT NULL DEFAULT '0'::xid8,
    last_seq   bigint NOT NULL DEFAULT 0,
    relayed    bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

GRANT ALL ON TABLE public.lot_versions, ingest.lot_changes, ingest.relay_positions TO admin;
GRANT SELECT, INSERT, UPDATE ON TABLE public.lot_versions TO etl_rw;
-- DELETE: the relay prunes what it relayed.
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE ingest.lot_changes TO etl_rw;
GRANT SELECT, INSERT, UPDATE ON TABLE ingest.relay_positions TO etl_rw;
GRANT USAGE, SELECT ON SEQUENCE ingest.lot_changes_seq_seq TO etl_rw;
GRANT SELECT ON TABLE public.lot_versions TO app_ro;
