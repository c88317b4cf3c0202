-- 0004_policy_flags: soft-delete flags.
-- Purpose: a vehicle or lot withdrawn from the catalogue is flagged, never deleted, so the
--   raw layer and the history keep pointing at it.
-- Rollback: ALTER TABLE public.vehicles DROP COLUMN is_removed;
--   ALTER TABLE public.lots DROP COLUMN is_removed;
ALTER TABLE public.vehicles ADD COLUMN is_removed boolean NOT NULL DEFAULT false;
ALTER TABLE public.lots ADD COLUMN is_removed boolean NOT NULL DEFAULT false;
