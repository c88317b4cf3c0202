WITH prev AS (
  SELECT b.lot_external_id, p.vin, p.source_updated_at, p.source_digest, p.vals, p.old
  FROM vinops_batch b
  CROSS JOIN LATERAL (SELECT l.vin, l.source_updated_at, l.source_digest,
                             ROW(l.vin, l.vin_raw, l.yard_number, l.yard_name, l.item_number, l.grid_row, l.location_city, l.location_state, l.location_zip, l.location_country, l.sale_date, l.sale_time_hhmm, l.sale_time_zone, l.auction_datetime_utc, l.status, l.title_state, l.title_type, l.damage_description, l.secondary_damage, l.has_keys, l.keys_code, l.lot_cond_code, l.runs_drives, l.special_note, l.odometer, l.odometer_brand, l.currency_code, l.est_retail_value, l.repair_cost, l.high_bid, l.buy_it_now_price, l.make_offer_eligible, l.seller_name, l.offsite_address1, l.offsite_city, l.offsite_state, l.offsite_zip, l.rentals, l.wholesale, l.sale_light, l.auto_grade, l.announcements, l.image_thumbnail, l.image_url, l.source_created_at, l.source_updated_at, l.year, l.make, l.model_group, l.model_detail)::text AS vals, l AS old
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
            CASE WHEN l.xmax <> 0 THEN ROW(l.vin, l.vin_raw, l.yard_number, l.yard_name, l.item_number, l.grid_row, l.location_city, l.location_state, l.location_zip, l.location_country, l.sale_date, l.sale_time_hhmm, l.sale_time_zone, l.auction_datetime_utc, l.status, l.title_state, l.title_type, l.damage_description, l.secondary_damage, l.has_keys, l.keys_code, l.lot_cond_code, l.runs_drives, l.special_note, l.odometer, l.odometer_brand, l.currency_code, l.est_retail_value, l.repair_cost, l.high_bid, l.buy_it_now_price, l.make_offer_eligible, l.seller_name, l.offsite_address1, l.offsite_city, l.offsite_state, l.offsite_zip, l.rentals, l.wholesale, l.sale_light, l.auto_grade, l.announcements, l.image_thumbnail, l.image_url, l.source_created_at, l.source_updated_at, l.year, l.make, l.model_group, l.model_detail)::text END AS vals, l AS new
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
, told AS (
  INSERT INTO ingest.lot_changes (event_id, lot_external_id, kind, payload)
  SELECT e.id, e.lot_external_id, e.kind,
         jsonb_build_object('schema', 'vinops.lot-change/1', 'id', e.id, 'kind', e.kind,
           'lot', e.lot_external_id, 'vin', (e.new).vin,
           'source_updated_at', to_char(((e.new).source_updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'version', encode((e.new).source_digest, 'hex'),
           'file_id', (e.new).source_file_id, 'row_no', (e.new).source_row_no,
           'recorded_at', to_char((now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
         || CASE WHEN e.kind = 'created' THEN jsonb_build_object('fields', e.new_data)
            ELSE jsonb_build_object(
              'previous', jsonb_build_object(
                'source_updated_at', to_char(((e.old).source_updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                'version', encode((e.old).source_digest, 'hex')),
              'changes', COALESCE((SELECT jsonb_object_agg(k, jsonb_build_object('old', (e.old_data) -> k, 'new', (e.new_data) -> k)) FROM (SELECT jsonb_object_keys(e.old_data) UNION SELECT jsonb_object_keys(e.new_data)) AS keys(k) WHERE (e.old_data) -> k IS DISTINCT FROM (e.new_data) -> k), '{}'::jsonb)) END
  FROM (
    SELECT x.*, encode(substring(sha256(convert_to(COALESCE((x.kind)::text, '') || '|' || COALESCE((x.lot_external_id)::text, '') || '|' || COALESCE((to_char(((x.old).source_updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, '') || '|' || COALESCE((encode((x.old).source_digest, 'hex'))::text, '') || '|' || COALESCE((encode((x.new).source_digest, 'hex'))::text, ''), 'UTF8')) FROM 1 FOR 16), 'hex')::uuid AS id
    FROM (SELECT up.lot_external_id, up.new, prev.old,
                 CASE WHEN up.inserted THEN 'created' ELSE 'changed' END AS kind,
                 jsonb_strip_nulls(jsonb_build_object('vin', (up.new).vin, 'vin_raw', (up.new).vin_raw, 'yard_number', (up.new).yard_number, 'yard_name', (up.new).yard_name, 'item_number', (up.new).item_number, 'grid_row', (up.new).grid_row, 'location_city', (up.new).location_city, 'location_state', (up.new).location_state, 'location_zip', (up.new).location_zip, 'location_country', (up.new).location_country, 'sale_date', (up.new).sale_date, 'sale_time_hhmm', (up.new).sale_time_hhmm, 'sale_time_zone', (up.new).sale_time_zone, 'auction_datetime_utc', to_char(((up.new).auction_datetime_utc) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'status', (up.new).status, 'title_state', (up.new).title_state, 'title_type', (up.new).title_type, 'damage_description', (up.new).damage_description, 'secondary_damage', (up.new).secondary_damage, 'has_keys', (up.new).has_keys, 'keys_code', (up.new).keys_code, 'lot_cond_code', (up.new).lot_cond_code, 'runs_drives', (up.new).runs_drives, 'special_note', (up.new).special_note, 'odometer', (up.new).odometer, 'odometer_brand', (up.new).odometer_brand, 'currency_code', (up.new).currency_code, 'est_retail_value', (up.new).est_retail_value, 'repair_cost', (up.new).repair_cost, 'high_bid', (up.new).high_bid, 'buy_it_now_price', (up.new).buy_it_now_price, 'make_offer_eligible', (up.new).make_offer_eligible, 'seller_name', (up.new).seller_name, 'offsite_address1', (up.new).offsite_address1, 'offsite_city', (up.new).offsite_city, 'offsite_state', (up.new).offsite_state, 'offsite_zip', (up.new).offsite_zip, 'rentals', (up.new).rentals, 'wholesale', (up.new).wholesale, 'sale_light', (up.new).sale_light) || jsonb_build_object('auto_grade', (up.new).auto_grade, 'announcements', (up.new).announcements, 'image_thumbnail', (up.new).image_thumbnail, 'image_url', (up.new).image_url, 'source_created_at', (up.new).source_created_at, 'year', (up.new).year, 'make', (up.new).make, 'model_group', (up.new).model_group, 'model_detail', (up.new).model_detail)) AS new_data,
                 CASE WHEN NOT up.inserted THEN jsonb_strip_nulls(jsonb_build_object('vin', (prev.old).vin, 'vin_raw', (prev.old).vin_raw, 'yard_number', (prev.old).yard_number, 'yard_name', (prev.old).yard_name, 'item_number', (prev.old).item_number, 'grid_row', (prev.old).grid_row, 'location_city', (prev.old).location_city, 'location_state', (prev.old).location_state, 'location_zip', (prev.old).location_zip, 'location_country', (prev.old).location_country, 'sale_date', (prev.old).sale_date, 'sale_time_hhmm', (prev.old).sale_time_hhmm, 'sale_time_zone', (prev.old).sale_time_zone, 'auction_datetime_utc', to_char(((prev.old).auction_datetime_utc) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'status', (prev.old).status, 'title_state', (prev.old).title_state, 'title_type', (prev.old).title_type, 'damage_description', (prev.old).damage_description, 'secondary_damage', (prev.old).secondary_damage, 'has_keys', (prev.old).has_keys, 'keys_code', (prev.old).keys_code, 'lot_cond_code', (prev.old).lot_cond_code, 'runs_drives', (prev.old).runs_drives, 'special_note', (prev.old).special_note, 'odometer', (prev.old).odometer, 'odometer_brand', (prev.old).odometer_brand, 'currency_code', (prev.old).currency_code, 'est_retail_value', (prev.old).est_retail_value, 'repair_cost', (prev.old).repair_cost, 'high_bid', (prev.old).high_bid, 'buy_it_now_price', (prev.old).buy_it_now_price, 'make_offer_eligible', (prev.old).make_offer_eligible, 'seller_name', (prev.old).seller_name, 'offsite_address1', (prev.old).offsite_address1, 'offsite_city', (prev.old).offsite_city, 'offsite_state', (prev.old).offsite_state, 'offsite_zip', (prev.old).offsite_zip, 'rentals', (prev.old).rentals, 'wholesale', (prev.old).wholesale, 'sale_light', (prev.old).sale_light) || jsonb_build_object('auto_grade', (prev.old).auto_grade, 'announcements', (prev.old).announcements, 'image_thumbnail', (prev.old).image_thumbnail, 'image_url', (prev.old).image_url, 'source_created_at', (prev.old).source_created_at, 'year', (prev.old).year, 'make', (prev.old).make, 'model_group', (prev.old).model_group, 'model_detail', (prev.old).model_detail)) END AS old_data
          FROM up LEFT JOIN prev ON prev.lot_external_id = up.lot_external_id
          WHERE up.inserted OR up.vals IS DISTINCT FROM prev.vals) x
  ) e
  ORDER BY e.lot_external_id
  RETURNING kind
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
  (SELECT count(*) FROM told WHERE kind = 'created')::int AS created_events,
  (SELECT count(*) FROM told WHERE kind = 'changed')::int AS changed_events
