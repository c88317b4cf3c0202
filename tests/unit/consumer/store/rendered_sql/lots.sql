WITH prev AS (
  SELECT b.lot_external_id, p.vin, p.source_updated_at, p.source_digest, p.vals
  FROM vinops_batch b
  CROSS JOIN LATERAL (SELECT l.vin, l.source_updated_at, l.source_digest,
                             ROW(l.vin, l.vin_raw, l.yard_number, l.yard_name, l.item_number, l.grid_row, l.location_city, l.location_state, l.location_zip, l.location_country, l.sale_date, l.sale_time_hhmm, l.sale_time_zone, l.auction_datetime_utc, l.status, l.title_state, l.title_type, l.damage_description, l.secondary_damage, l.has_keys, l.keys_code, l.lot_cond_code, l.runs_drives, l.special_note, l.odometer, l.odometer_brand, l.currency_code, l.est_retail_value, l.repair_cost, l.high_bid, l.buy_it_now_price, l.make_offer_eligible, l.seller_name, l.offsite_address1, l.offsite_city, l.offsite_state, l.offsite_zip, l.rentals, l.wholesale, l.sale_light, l.auto_grade, l.announcements, l.image_thumbnail, l.image_url, l.source_created_at, l.source_updated_at, l.year, l.make, l.model_group, l.model_detail)::text AS vals
                      FROM public.lots l
                      WHERE l.lot_external_id = b.lot_external_id OFFSET 0) p
  WHERE b.lot_win
), up AS (
  INSERT INTO public.lots AS l (lot_external_id, vin, vin_raw, yard_number, yard_name, item_number, grid_row, location_city, location_state, location_zip, location_country, sale_date, sale_time_hhmm, sale_time_zone, auction_datetime_utc, status, title_state, title_type, damage_description, secondary_damage, has_keys, keys_code, lot_cond_code, runs_drives, special_note, odometer, odometer_brand, currency_code, est_retail_value, repair_cost, high_bid, buy_it_now_price, make_offer_eligible, seller_name, offsite_address1, offsite_city, offsite_state, offsite_zip, rentals, wholesale, sale_light, auto_grade, announcements, image_thumbnail, image_url, source_created_at, source_updated_at,
                                year, make, model_group, model_detail, source_file_id, source_row_no,
                                source_digest)
  SELECT lot_external_id, vin_normalized, vin_raw, yard_number, yard_name, item_number, grid_row, location_city, location_state, location_zip, location_country, sale_date, sale_time_hhmm, sale_time_zone, auction_datetime_utc, status, title_state, title_type, damage_description, secondary_damage, has_keys, keys_code, lot_cond_code, runs_drives, special_note, odometer, odometer_brand, currency_code, est_retail_value, repair_cost, high_bid, buy_it_now_price, make_offer_eligible, seller_name, offsite_address1, offsite_city, offsite_state, offsite_zip, rentals, wholesale, sale_light, auto_grade, announcements, image_thumbnail, image_url, source_created_at, source_updated_at,
         year, make, model_group, model_detail, file_id, row_no, version
  FROM vinops_batch WHERE lot_win ORDER BY lot_external_id
  ON CONFLICT (lot_external_id) DO UPDATE SET
    yard_number = EXCLUDED.yard_number, yard_name = EXCLUDED.yard_name, item_number = EXCLUDED.item_number, grid_row = EXCLUDED.grid_row, location_city = EXCLUDED.location_city, location_state = EXCLUDED.location_state, location_zip = EXCLUDED.location_zip, location_country = EXCLUDED.location_country, sale_date = EXCLUDED.sale_date, sale_time_hhmm = EXCLUDED.sale_time_hhmm, sale_time_zone = EXCLUDED.sale_time_zone, auction_datetime_utc = EXCLUDED.auction_datetime_utc, status = EXCLUDED.status, title_state = EXCLUDED.title_state, title_type = EXCLUDED.title_type, damage_description = EXCLUDED.damage_description, secondary_damage = EXCLUDED.secondary_damage, has_keys = EXCLUDED.has_keys, keys_code = EXCLUDED.keys_code, lot_cond_code = EXCLUDED.lot_cond_code, runs_drives = EXCLUDED.runs_drives, special_note = EXCLUDED.special_note, odometer = EXCLUDED.odometer, odometer_brand = EXCLUDED.odometer_brand, currency_code = EXCLUDED.currency_code, est_retail_value = EXCLUDED.est_retail_value, repair_cost = EXCLUDED.repair_cost, high_bid = EXCLUDED.high_bid, buy_it_now_price = EXCLUDED.buy_it_now_price, make_offer_eligible = EXCLUDED.make_offer_eligible, seller_name = EXCLUDED.seller_name, offsite_address1 = EXCLUDED.offsite_address1, offsite_city = EXCLUDED.offsite_city, offsite_state = EXCLUDED.offsite_state, offsite_zip = EXCLUDED.offsite_zip, rentals = EXCLUDED.rentals, wholesale = EXCLUDED.wholesale, sale_light = EXCLUDED.sale_light, auto_grade = EXCLUDED.auto_grade, announcements = EXCLUDED.announcements, image_thumbnail = EXCLUDED.image_thumbnail, image_url = EXCLUDED.image_url, source_created_at = EXCLUDED.source_created_at, source_updated_at = EXCLUDED.source_updated_at, year = EXCLUDED.year, make = EXCLUDED.make, model_group = EXCLUDED.model_group, model_detail = EXCLUDED.model_detail,
    vin = EXCLUDED.vin,
    vin_raw = EXCLUDED.vin_raw,
    source_file_id = EXCLUDED.source_file_id,
    source_row_no = EXCLUDED.source_row_no,
    source_digest = EXCLUDED.source_digest,
    updated_at = CASE WHEN ROW(l.vin, l.vin_raw, l.yard_number, l.yard_name, l.item_number, l.grid_row, l.location_city, l.location_state, l.location_zip, l.location_country, l.sale_date, l.sale_time_hhmm, l.sale_time_zone, l.auction_datetime_utc, l.status, l.title_state, l.title_type, l.damage_description, l.secondary_damage, l.has_keys, l.keys_code, l.lot_cond_code, l.runs_drives, l.special_note, l.odometer, l.odometer_brand, l.currency_code, l.est_retail_value, l.repair_cost, l.high_bid, l.buy_it_now_price, l.make_offer_eligible, l.seller_name, l.offsite_address1, l.offsite_city, l.offsite_state, l.offsite_zip, l.rentals, l.wholesale, l.sale_light, l.auto_grade, l.announcements, l.image_thumbnail, l.image_url, l.source_created_at, l.source_updated_at, l.year, l.make, l.model_group, l.model_detail)
                           IS NOT DISTINCT FROM
                           ROW(EXCLUDED.vin, EXCLUDED.vin_raw, EXCLUDED.yard_number, EXCLUDED.yard_name, EXCLUDED.item_number, EXCLUDED.grid_row, EXCLUDED.location_city, EXCLUDED.location_state, EXCLUDED.location_zip, EXCLUDED.location_country, EXCLUDED.sale_date, EXCLUDED.sale_time_hhmm, EXCLUDED.sale_time_zone, EXCLUDED.auction_datetime_utc, EXCLUDED.status, EXCLUDED.title_state, EXCLUDED.title_type, EXCLUDED.damage_description, EXCLUDED.secondary_damage, EXCLUDED.has_keys, EXCLUDED.keys_code, EXCLUDED.lot_cond_code, EXCLUDED.runs_drives, EXCLUDED.special_note, EXCLUDED.odometer, EXCLUDED.odometer_brand, EXCLUDED.currency_code, EXCLUDED.est_retail_value, EXCLUDED.repair_cost, EXCLUDED.high_bid, EXCLUDED.buy_it_now_price, EXCLUDED.make_offer_eligible, EXCLUDED.seller_name, EXCLUDED.offsite_address1, EXCLUDED.offsite_city, EXCLUDED.offsite_state, EXCLUDED.offsite_zip, EXCLUDED.rentals, EXCLUDED.wholesale, EXCLUDED.sale_light, EXCLUDED.auto_grade, EXCLUDED.announcements, EXCLUDED.image_thumbnail, EXCLUDED.image_url, EXCLUDED.source_created_at, EXCLUDED.source_updated_at, EXCLUDED.year, EXCLUDED.make, EXCLUDED.model_group, EXCLUDED.model_detail)
                      THEN l.updated_at ELSE now() END
  WHERE (l.source_updated_at, COALESCE(l.source_digest, ''::bytea)) < (EXCLUDED.source_updated_at, EXCLUDED.source_digest)
  RETURNING l.lot_external_id, l.vin, (l.xmax = 0) AS inserted,
            CASE WHEN l.xmax <> 0 THEN ROW(l.vin, l.vin_raw, l.yard_number, l.yard_name, l.item_number, l.grid_row, l.location_city, l.location_state, l.location_zip, l.location_country, l.sale_date, l.sale_time_hhmm, l.sale_time_zone, l.auction_datetime_utc, l.status, l.title_state, l.title_type, l.damage_description, l.secondary_damage, l.has_keys, l.keys_code, l.lot_cond_code, l.runs_drives, l.special_note, l.odometer, l.odometer_brand, l.currency_code, l.est_retail_value, l.repair_cost, l.high_bid, l.buy_it_now_price, l.make_offer_eligible, l.seller_name, l.offsite_address1, l.offsite_city, l.offsite_state, l.offsite_zip, l.rentals, l.wholesale, l.sale_light, l.auto_grade, l.announcements, l.image_thumbnail, l.image_url, l.source_created_at, l.source_updated_at, l.year, l.make, l.model_group, l.model_detail)::text END AS vals
), changed AS (
  INSERT INTO audit.vin_conflicts (vin_raw, vin_normalized, lot_external_id, conflict_reason,
                                   previous_value, file_id, row_no)
  SELECT b.vin_raw, up.vin, up.lot_external_id, 'lot_vin_changed', prev.vin, b.file_id, b.row_no
  FROM up
  JOIN prev ON prev.lot_external_id = up.lot_external_id
  JOIN vinops_batch b ON b.lot_external_id = up.lot_external_id AND b.lot_win
  WHERE NOT up.inserted AND prev.vin IS NOT NULL AND up.vin IS NOT NULL AND up.vin <> prev.vin
  ORDER BY b.file_id, b.row_no
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT
  (SELECT count(*) FROM up WHERE inserted)::int AS inserted,
  (SELECT count(*) FROM up JOIN prev ON prev.lot_external_id = up.lot_external_id
    WHERE NOT up.inserted AND up.vals IS DISTINCT FROM prev.vals)::int AS updated,
  ((SELECT count(*) FROM vinops_batch b JOIN prev ON prev.lot_external_id = b.lot_external_id
    WHERE b.lot_win AND prev.source_updated_at = b.source_updated_at
      AND prev.source_digest IS NOT DISTINCT FROM b.version
      AND NOT EXISTS (SELECT 1 FROM up WHERE up.lot_external_id = b.lot_external_id))
   + (SELECT count(*) FROM up JOIN prev ON prev.lot_external_id = up.lot_external_id
      WHERE NOT up.inserted AND up.vals IS NOT DISTINCT FROM prev.vals))::int AS unchanged,
  (SELECT count(*) FROM changed)::int AS vin_changed,
  (SELECT coalesce(array_agg(up.lot_external_id), '{}') FROM up
    JOIN prev ON prev.lot_external_id = up.lot_external_id
    WHERE NOT up.inserted AND up.vin IS DISTINCT FROM prev.vin) AS vin_moved,
  0 AS created_events, 0 AS changed_events
