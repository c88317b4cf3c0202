-- 0002_constraints: primary keys, foreign keys and CHECKs of the core tables.
-- Purpose: identity and referential integrity. A lot/sale/image may exist without a usable
--   VIN (masked, junk, empty), so VIN references are nullable and ON DELETE SET NULL; a
--   deleted lot takes its sale events and images with it (CASCADE).
--   The VIN format CHECK arrives with normalize_vin() in 0006.
-- Rollback: ALTER TABLE ... DROP CONSTRAINT for each constraint named below.
ALTER TABLE public.vehicles ADD CONSTRAINT vehicles_pkey PRIMARY KEY (vin);
ALTER TABLE public.lots ADD CONSTRAINT lots_pkey PRIMARY KEY (id);
ALTER TABLE public.sale_events ADD CONSTRAINT sale_events_pkey PRIMARY KEY (id);
ALTER TABLE public.images ADD CONSTRAINT images_pkey PRIMARY KEY (id);

ALTER TABLE public.lots
    ADD CONSTRAINT lots_vin_fkey FOREIGN KEY (vin)
        REFERENCES public.vehicles (vin) ON DELETE SET NULL;

ALTER TABLE public.sale_events
    ADD CONSTRAINT sale_events_lot_id_fkey FOREIGN KEY (lot_id)
        REFERENCES public.lots (id) ON DELETE CASCADE,
    ADD CONSTRAINT sale_events_vin_fkey FOREIGN KEY (vin)
        REFERENCES public.vehicles (vin) ON DELETE SET NULL,
    ADD CONSTRAINT sale_events_lot_id_sale_date_key UNIQUE (lot_id, sale_date);

ALTER TABLE public.images
    ADD CONSTRAINT images_lot_id_fkey FOREIGN KEY (lot_id)
        REFERENCES public.lots (id) ON DELETE CASCADE,
    ADD CONSTRAINT images_vin_fkey FOREIGN KEY (vin)
        REFERENCES public.vehicles (vin) ON DELETE SET NULL,
    ADD CONSTRAINT images_kind_ck CHECK (kind IN ('thumbnail', 'lot_images')),
    ADD CONSTRAINT images_lot_id_kind_storage_key_key UNIQUE (lot_id, kind, storage_key);
