-- 0014_lots_vehicle_description: year, make and model on the lot itself.
-- Purpose: about a third of lots have no usable VIN (masked, [PREMIUM], junk), so they never
--   reach public.vehicles; without these columns their make and model would live only in
--   raw.rows. Written with every applied lot version (same LWW rule as the rest of the lot).
-- Rollback: ALTER TABLE public.lots DROP COLUMN year, DROP COLUMN make,
--   DROP COLUMN model_group, DROP COLUMN model_detail;
ALTER TABLE public.lots
    ADD COLUMN year smallint,
    ADD COLUMN make text,
    ADD COLUMN model_group text,
    ADD COLUMN model_detail text;
