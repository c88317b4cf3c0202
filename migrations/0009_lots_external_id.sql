-- 0009_lots_external_id: the business key and the last-write-wins version.
-- Purpose: lots are upserted on lot_external_id (Copart "Lot number"); an update applies only
--   when its source_updated_at ("Last Updated Time") is newer than the stored one. Vehicles
--   and sale events carry their own version for the same rule.
--   NOT NULL without default: this runs on an empty table (a populated one needs a backfill).
-- Rollback: ALTER TABLE public.lots DROP COLUMN lot_external_id, DROP COLUMN source_updated_at;
--   ALTER TABLE public.vehicles DROP COLUMN source_updated_at;
--   ALTER TABLE public.sale_events DROP COLUMN source_updated_at;
ALTER TABLE public.lots
    ADD COLUMN lot_external_id text NOT NULL,
    ADD COLUMN source_updated_at timestamptz NOT NULL,
    ADD CONSTRAINT lots_lot_external_id_key UNIQUE (lot_external_id);

ALTER TABLE public.vehicles ADD COLUMN source_updated_at timestamptz;

ALTER TABLE public.sale_events ADD COLUMN source_updated_at timestamptz NOT NULL;
