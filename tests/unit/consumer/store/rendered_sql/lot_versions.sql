WITH nv AS (
  SELECT DISTINCT ON (b.lot_external_id, b.source_updated_at, b.version)
         b.lot_external_id, b.source_updated_at AS valid_from, b.version,
         b.vin_normalized AS vin, b.file_id, b.row_no, b.digest, jsonb_strip_nulls(jsonb_build_object('vin', b.vin_normalized, 'vin_raw', b.vin_raw, 'yard_number', b.yard_number, 'yard_name', b.yard_name, 'item_number', b.item_number, 'grid_row', b.grid_row, 'location_city', b.location_city, 'location_state', b.location_state, 'location_zip', b.location_zip, 'location_country', b.location_country, 'sale_date', b.sale_date, 'sale_time_hhmm', b.sale_time_hhmm, 'sale_time_zone', b.sale_time_zone, 'auction_datetime_utc', to_char((b.auction_datetime_utc) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'status', b.status, 'title_state', b.title_state, 'title_type', b.title_type, 'damage_description', b.damage_description, 'secondary_damage', b.secondary_damage, 'has_keys', b.has_keys, 'keys_code', b.keys_code, 'lot_cond_code', b.lot_cond_code, 'runs_drives', b.runs_drives, 'special_note', b.special_note, 'odometer', b.odometer, 'odometer_brand', b.odometer_brand, 'currency_code', b.currency_code, 'est_retail_value', b.est_retail_value, 'repair_cost', b.repair_cost, 'high_bid', b.high_bid, 'buy_it_now_price', b.buy_it_now_price, 'make_offer_eligible', b.make_offer_eligible, 'seller_name', b.seller_name, 'offsite_address1', b.offsite_address1, 'offsite_city', b.offsite_city, 'offsite_state', b.offsite_state, 'offsite_zip', b.offsite_zip, 'rentals', b.rentals, 'wholesale', b.wholesale, 'sale_light', b.sale_light) || jsonb_build_object('auto_grade', b.auto_grade, 'announcements', b.announcements, 'image_thumbnail', b.image_thumbnail, 'image_url', b.image_url, 'source_created_at', b.source_created_at, 'year', b.year, 'make', b.make, 'model_group', b.model_group, 'model_detail', b.model_detail)) AS data
  FROM vinops_batch b
  LEFT JOIN LATERAL (SELECT true AS found FROM public.lot_versions v
                     WHERE v.lot_external_id = b.lot_external_id
                       AND v.valid_from = b.source_updated_at AND v.version = b.version
                     OFFSET 0) s ON true
  WHERE b.version IS NOT NULL AND b.lot_external_id IS NOT NULL AND s.found IS NULL
  ORDER BY b.lot_external_id, b.source_updated_at, b.version, b.file_id, b.row_no
), near AS (
  SELECT p.lot_external_id, p.valid_from, p.version, p.data, true AS is_pred, false AS is_succ
  FROM nv CROSS JOIN LATERAL (
    SELECT v.lot_external_id, v.valid_from, v.version, v.data FROM public.lot_versions v
    WHERE v.lot_external_id = nv.lot_external_id
      AND (v.valid_from, v.version) < (nv.valid_from, nv.version)
    ORDER BY v.valid_from DESC, v.version DESC LIMIT 1) p
  UNION ALL
  SELECT s.lot_external_id, s.valid_from, s.version, s.data, false, true
  FROM nv CROSS JOIN LATERAL (
    SELECT v.lot_external_id, v.valid_from, v.version, v.data FROM public.lot_versions v
    WHERE v.lot_external_id = nv.lot_external_id
      AND (v.valid_from, v.version) > (nv.valid_from, nv.version)
    ORDER BY v.valid_from, v.version LIMIT 1) s
), seq AS (
  SELECT lot_external_id, valid_from, version, data, true AS new, false AS is_pred,
         false AS is_succ, vin, file_id, row_no, digest
  FROM nv
  UNION ALL
  SELECT lot_external_id, valid_from, version, (array_agg(data))[1], false, bool_or(is_pred),
         bool_or(is_succ), NULL, NULL, NULL, NULL
  FROM near GROUP BY lot_external_id, valid_from, version
), ordered AS (
  SELECT q.*, lag(q.data) OVER w AS prev_data, lead(q.valid_from) OVER w AS next_from
  FROM seq q
  WINDOW w AS (PARTITION BY q.lot_external_id ORDER BY q.valid_from, q.version)
), ins AS (
  INSERT INTO public.lot_versions (lot_external_id, valid_from, version, valid_to, vin, file_id,
                                   row_no, content_digest, changed, data)
  SELECT o.lot_external_id, o.valid_from, o.version,
         COALESCE(o.next_from, CASE WHEN r.is_removed AND r.removed_as_of > o.valid_from
                                    THEN r.removed_as_of END),
         o.vin, o.file_id, o.row_no, o.digest,
         CASE WHEN o.prev_data IS NOT NULL THEN ARRAY(SELECT k FROM (SELECT jsonb_object_keys(o.prev_data) UNION SELECT jsonb_object_keys(o.data)) AS keys(k) WHERE (o.prev_data) -> k IS DISTINCT FROM (o.data) -> k ORDER BY k) END, o.data
  FROM ordered o
  LEFT JOIN LATERAL (SELECT l.is_removed, l.removed_as_of FROM public.lots l
                     WHERE l.lot_external_id = o.lot_external_id OFFSET 0) r ON true
  WHERE o.new
  ORDER BY o.lot_external_id, o.valid_from, o.version
  ON CONFLICT DO NOTHING
  RETURNING 1
), fix AS (
  UPDATE public.lot_versions v
  SET valid_to = CASE WHEN o.is_pred THEN o.next_from ELSE v.valid_to END,
      changed = CASE WHEN o.is_succ THEN ARRAY(SELECT k FROM (SELECT jsonb_object_keys(o.prev_data) UNION SELECT jsonb_object_keys(o.data)) AS keys(k) WHERE (o.prev_data) -> k IS DISTINCT FROM (o.data) -> k ORDER BY k) ELSE v.changed END
  FROM ordered o
  WHERE NOT o.new AND v.lot_external_id = o.lot_external_id AND v.valid_from = o.valid_from
    AND v.version = o.version
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS versions, (SELECT count(*) FROM fix)::int AS corrected
