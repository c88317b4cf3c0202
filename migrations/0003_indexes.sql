-- 0003_indexes: read-path indexes of the catalogue and vehicle pages.
-- Purpose: catalogue by status and auction time, vehicle detail by VIN, sale history,
--   image gallery. Foreign-key columns lots.vin / sale_events.vin / images.vin are covered,
--   so ON DELETE SET NULL from vehicles does not scan.
-- Rollback: DROP INDEX public.lots_status_auction_idx, public.lots_vin_idx,
--   public.sale_events_vin_sale_date_idx, public.images_vin_lot_id_idx;
CREATE INDEX lots_status_auction_idx ON public.lots (status, auction_datetime_utc);
CREATE INDEX lots_vin_idx ON public.lots (vin);
CREATE INDEX sale_events_vin_sale_date_idx ON public.sale_events (vin, sale_date);
CREATE INDEX images_vin_lot_id_idx ON public.images (vin, lot_id);
