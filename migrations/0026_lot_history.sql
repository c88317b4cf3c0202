-- 0026_lot_history: every version of a lot, and an outbox of lot changes relayed to Kafka.
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
-- Rollback: DROP VIEW public.v_lot_versions; DROP TABLE public.lot_versions,
--   ingest.lot_changes, ingest.relay_positions; DROP FUNCTION public.lot_history_fields().

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
    data            text[] NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lot_versions_pkey PRIMARY KEY (lot_external_id, valid_from, version)
);
-- What a version's data holds, in order (consumer.store.history_sql.HISTORY_FIELDS; a test
-- keeps them equal). Fields are only ever appended: an older, shorter array reads NULL for a
-- field added later. Redefined by the migration that appends one.
CREATE FUNCTION public.lot_history_fields() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY['vin', 'vin_raw', 'yard_number', 'yard_name', 'item_number', 'grid_row',
    'location_city', 'location_state', 'location_zip', 'location_country', 'sale_date',
    'sale_time_hhmm', 'sale_time_zone', 'auction_datetime_utc', 'status', 'title_state',
    'title_type', 'damage_description', 'secondary_damage', 'has_keys', 'keys_code',
    'lot_cond_code', 'runs_drives', 'special_note', 'odometer', 'odometer_brand',
    'currency_code', 'est_retail_value', 'repair_cost', 'high_bid', 'buy_it_now_price',
    'make_offer_eligible', 'seller_name', 'offsite_address1', 'offsite_city', 'offsite_state',
    'offsite_zip', 'rentals', 'wholesale', 'sale_light', 'auto_grade', 'announcements',
    'image_thumbnail', 'image_url', 'source_created_at', 'year', 'make', 'model_group',
    'model_detail']::text[]
$$;

-- "History of one VIN": the versions that carried it, in time order.
CREATE INDEX lot_versions_vin_idx ON public.lot_versions (vin, valid_from) WHERE vin IS NOT NULL;

CREATE TABLE ingest.lot_changes (
    txid            xid8 NOT NULL DEFAULT pg_current_xact_id(),
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    event_id        uuid NOT NULL,
    lot_external_id text NOT NULL,
    kind            text NOT NULL,
    payload         json NOT NULL,
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

-- The history for people and applications: each version's values as a JSON object.
CREATE VIEW public.v_lot_versions AS
SELECT v.lot_external_id, v.valid_from, v.valid_to, v.version, v.vin, v.changed,
       (SELECT jsonb_object_agg(u.f, u.value) FROM unnest(public.lot_history_fields(), v.data)
          AS u(f, value) WHERE u.value IS NOT NULL) AS data,
       v.file_id, v.row_no, v.content_digest, v.recorded_at
FROM public.lot_versions v;

GRANT ALL ON TABLE public.lot_versions, public.v_lot_versions, ingest.lot_changes,
    ingest.relay_positions TO admin;
GRANT SELECT ON TABLE public.v_lot_versions TO etl_rw, app_ro;
GRANT EXECUTE ON FUNCTION public.lot_history_fields() TO etl_rw, app_ro;
GRANT SELECT, INSERT, UPDATE ON TABLE public.lot_versions TO etl_rw;
-- DELETE: the relay prunes what it relayed.
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE ingest.lot_changes TO etl_rw;
GRANT SELECT, INSERT, UPDATE ON TABLE ingest.relay_positions TO etl_rw;
GRANT USAGE, SELECT ON SEQUENCE ingest.lot_changes_seq_seq TO etl_rw;
GRANT SELECT ON TABLE public.lot_versions TO app_ro;
