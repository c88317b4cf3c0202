WITH nv AS (
  SELECT DISTINCT ON (b.lot_external_id, b.source_updated_at, b.version)
         b.lot_external_id, b.source_updated_at AS valid_from, b.version,
         b.vin_normalized AS vin, b.file_id, b.row_no, b.digest, ARRAY[b.vin_normalized, b.vin_raw, (b.yard_number)::text, b.yard_name, (b.item_number)::text, b.grid_row, b.location_city, b.location_state, b.location_zip, b.location_country, to_char(b.sale_date, 'YYYY-MM-DD'), (b.sale_time_hhmm)::text, b.sale_time_zone, to_char((b.auction_datetime_utc) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), b.status, b.title_state, b.title_type, b.damage_description, b.secondary_damage, (b.has_keys)::text, b.keys_code, b.lot_cond_code, b.runs_drives, b.special_note, (b.odometer)::text, b.odometer_brand, b.currency_code, (b.est_retail_value)::text, (b.repair_cost)::text, (b.high_bid)::text, (b.buy_it_now_price)::text, (b.make_offer_eligible)::text, b.seller_name, b.offsite_address1, b.offsite_city, b.offsite_state, b.offsite_zip, b.rentals, b.wholesale, b.sale_light, b.auto_grade, b.announcements, b.image_thumbnail, b.image_url, to_char(b.source_created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US'), (b.year)::text, b.make, b.model_group, b.model_detail]::text[] AS data
  FROM vinops_batch b
  LEFT JOIN LATERAL (SELECT true AS found FROM public.lot_versions v
                     WHERE v.lot_external_id = b.lot_external_id
                       AND v.valid_from = b.source_updated_at AND v.version = b.version
                     OFFSET 0) s ON true
  WHERE b.version IS NOT NULL AND b.lot_external_id IS NOT NULL AND s.found IS NULL
  ORDER BY b.lot_external_id, b.source_updated_at, b.version, b.file_id, b.row_no
), near AS (
  SELECT p.lot_external_id, p.valid_from, p.version, p.data, p.at, true AS is_pred,
         false AS is_succ
  FROM nv CROSS JOIN LATERAL (
    SELECT v.lot_external_id, v.valid_from, v.version, CASE WHEN EXISTS (SELECT 1 FROM public.lot_versions x WHERE x.lot_external_id = v.lot_external_id AND (x.valid_from, x.version) > (v.valid_from, v.version)) THEN public.lot_version_values(v.lot_external_id, v.valid_from, v.version) ELSE v.data END AS data, v.ctid AS at
    FROM public.lot_versions v
    WHERE v.lot_external_id = nv.lot_external_id
      AND (v.valid_from, v.version) < (nv.valid_from, nv.version)
    ORDER BY v.valid_from DESC, v.version DESC LIMIT 1) p
  UNION ALL
  SELECT s.lot_external_id, s.valid_from, s.version, s.data, s.at, false, true
  FROM nv CROSS JOIN LATERAL (
    SELECT v.lot_external_id, v.valid_from, v.version, CASE WHEN EXISTS (SELECT 1 FROM public.lot_versions x WHERE x.lot_external_id = v.lot_external_id AND (x.valid_from, x.version) > (v.valid_from, v.version)) THEN public.lot_version_values(v.lot_external_id, v.valid_from, v.version) ELSE v.data END AS data, v.ctid AS at
    FROM public.lot_versions v
    WHERE v.lot_external_id = nv.lot_external_id
      AND (v.valid_from, v.version) > (nv.valid_from, nv.version)
    ORDER BY v.valid_from, v.version LIMIT 1) s
), seq AS (
  SELECT lot_external_id, valid_from, version, data, NULL::tid AS at, true AS new,
         false AS is_pred, false AS is_succ, vin, file_id, row_no, digest
  FROM nv
  UNION ALL
  SELECT lot_external_id, valid_from, version, min(data), at, false, bool_or(is_pred),
         bool_or(is_succ), NULL, NULL, NULL, NULL
  FROM near GROUP BY lot_external_id, valid_from, version, at
), ordered AS (
  SELECT q.*, lag(q.data) OVER w AS prev_data, lead(q.valid_from) OVER w AS next_from,
         lead(q.data) OVER w AS next_data
  FROM seq q
  WINDOW w AS (PARTITION BY q.lot_external_id ORDER BY q.valid_from, q.version)
), ins AS (
  INSERT INTO public.lot_versions (lot_external_id, valid_from, version, valid_to, vin, file_id,
                                   row_no, content_digest, changed, data)
  SELECT o.lot_external_id, o.valid_from, o.version,
         COALESCE(o.next_from, CASE WHEN r.is_removed AND r.removed_as_of > o.valid_from
                                    THEN r.removed_as_of END),
         o.vin, o.file_id, o.row_no, o.digest,
         CASE WHEN o.prev_data IS NOT NULL THEN ARRAY(SELECT u.f FROM unnest(ARRAY['vin', 'vin_raw', 'yard_number', 'yard_name', 'item_number', 'grid_row', 'location_city', 'location_state', 'location_zip', 'location_country', 'sale_date', 'sale_time_hhmm', 'sale_time_zone', 'auction_datetime_utc', 'status', 'title_state', 'title_type', 'damage_description', 'secondary_damage', 'has_keys', 'keys_code', 'lot_cond_code', 'runs_drives', 'special_note', 'odometer', 'odometer_brand', 'currency_code', 'est_retail_value', 'repair_cost', 'high_bid', 'buy_it_now_price', 'make_offer_eligible', 'seller_name', 'offsite_address1', 'offsite_city', 'offsite_state', 'offsite_zip', 'rentals', 'wholesale', 'sale_light', 'auto_grade', 'announcements', 'image_thumbnail', 'image_url', 'source_created_at', 'year', 'make', 'model_group', 'model_detail']::text[], o.prev_data, o.data) AS u(f, o, n) WHERE u.o IS DISTINCT FROM u.n) END,
         CASE WHEN o.next_data IS NULL THEN o.data ELSE ARRAY(SELECT CASE WHEN u.o IS DISTINCT FROM u.n THEN u.o END FROM unnest(o.data, o.next_data) WITH ORDINALITY AS u(o, n, i) ORDER BY u.i) END
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
      changed = CASE WHEN o.is_succ THEN ARRAY(SELECT u.f FROM unnest(ARRAY['vin', 'vin_raw', 'yard_number', 'yard_name', 'item_number', 'grid_row', 'location_city', 'location_state', 'location_zip', 'location_country', 'sale_date', 'sale_time_hhmm', 'sale_time_zone', 'auction_datetime_utc', 'status', 'title_state', 'title_type', 'damage_description', 'secondary_damage', 'has_keys', 'keys_code', 'lot_cond_code', 'runs_drives', 'special_note', 'odometer', 'odometer_brand', 'currency_code', 'est_retail_value', 'repair_cost', 'high_bid', 'buy_it_now_price', 'make_offer_eligible', 'seller_name', 'offsite_address1', 'offsite_city', 'offsite_state', 'offsite_zip', 'rentals', 'wholesale', 'sale_light', 'auto_grade', 'announcements', 'image_thumbnail', 'image_url', 'source_created_at', 'year', 'make', 'model_group', 'model_detail']::text[], o.prev_data, o.data) AS u(f, o, n) WHERE u.o IS DISTINCT FROM u.n) ELSE v.changed END,
      data = CASE WHEN o.is_pred THEN ARRAY(SELECT CASE WHEN u.o IS DISTINCT FROM u.n THEN u.o END FROM unnest(o.data, o.next_data) WITH ORDINALITY AS u(o, n, i) ORDER BY u.i) ELSE v.data END
  FROM ordered o
  WHERE v.ctid = ANY (ARRAY(SELECT at FROM ordered WHERE NOT new))
    AND NOT o.new AND v.ctid = o.at AND v.lot_external_id = o.lot_external_id
    AND v.valid_from = o.valid_from AND v.version = o.version
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS versions, (SELECT count(*) FROM fix)::int AS corrected
