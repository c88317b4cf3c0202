WITH se AS (
  INSERT INTO public.sale_events AS s (lot_id, vin, sale_date, auction_datetime_utc, status,
                                       final_bid, currency_code, source_updated_at, source_digest)
  SELECT l.id, b.vin_normalized, b.sale_date, b.auction_datetime_utc, b.status, b.high_bid,
         b.currency_code, b.source_updated_at, b.version
  FROM vinops_batch b
  CROSS JOIN LATERAL (SELECT id FROM public.lots WHERE lot_external_id = b.lot_external_id
                      OFFSET 0) l
  WHERE b.sale_win ORDER BY l.id, b.sale_date
  ON CONFLICT (lot_id, sale_date) DO UPDATE SET
    vin = EXCLUDED.vin,
    auction_datetime_utc = EXCLUDED.auction_datetime_utc,
    status = EXCLUDED.status,
    final_bid = EXCLUDED.final_bid,
    currency_code = EXCLUDED.currency_code,
    source_updated_at = EXCLUDED.source_updated_at,
    source_digest = EXCLUDED.source_digest,
    updated_at = now()
  WHERE (s.source_updated_at, COALESCE(s.source_digest, ''::bytea)) < (EXCLUDED.source_updated_at, EXCLUDED.source_digest)
  RETURNING 1
), im AS (
  INSERT INTO public.images (lot_id, vin, kind, url, storage_key)
  SELECT l.id, l.vin, x.kind, x.url, x.storage_key
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS x(lot, kind, url, storage_key)
  CROSS JOIN LATERAL (SELECT id, vin FROM public.lots WHERE lot_external_id = x.lot OFFSET 0) l
  ORDER BY l.id, x.kind, x.storage_key
  ON CONFLICT (lot_id, kind, storage_key) DO NOTHING
  RETURNING 1
), imv AS (
  UPDATE public.images i SET vin = l.vin
  FROM unnest($16::text[]) AS b(lot_external_id)
  CROSS JOIN LATERAL (SELECT id, vin FROM public.lots WHERE lot_external_id = b.lot_external_id
                      OFFSET 0) l
  WHERE i.lot_id = l.id AND i.vin IS DISTINCT FROM l.vin
  RETURNING 1
), vc AS (
  INSERT INTO audit.vin_conflicts (vin_raw, vin_normalized, lot_external_id, conflict_reason,
                                   previous_value, file_id, row_no)
  SELECT * FROM (
    SELECT b.vin_raw, b.vin_normalized, b.lot_external_id, b.vin_flag, NULL::text,
           b.file_id, b.row_no
    FROM vinops_batch b WHERE b.vin_flag IS NOT NULL
    UNION ALL
    SELECT b.vin_raw, b.vin_normalized, b.lot_external_id, 'spelling_differs', v.vin_raw,
           b.file_id, b.row_no
    FROM vinops_batch b
    CROSS JOIN LATERAL (SELECT vin_raw FROM public.vehicles WHERE vin = b.vin_normalized
                        OFFSET 0) v
    WHERE v.vin_raw <> b.vin_raw
  ) c ORDER BY 6, 7, 4
  ON CONFLICT (file_id, row_no, conflict_reason) DO NOTHING
  RETURNING conflict_reason
), pe AS (
  INSERT INTO audit.parse_errors (dedup_key, file_id, row_no, lot_external_id, reason, message,
                                  raw, kafka_topic, kafka_partition, kafka_offset, consumer)
  SELECT k, f, r, l, re, m, rw, t, p, o, $15
  FROM unnest($5::text[], $6::uuid[], $7::int[], $8::text[], $9::text[], $10::text[],
              $11::text[], $12::text[], $13::int[], $14::bigint[])
       AS x(k, f, r, l, re, m, rw, t, p, o)
  ORDER BY k
  ON CONFLICT (dedup_key) DO NOTHING
  RETURNING dedup_key
)
SELECT (SELECT count(*) FROM se)::int AS sale_events,
       (SELECT count(*) FROM im)::int AS images,
       (SELECT count(*) FROM imv)::int AS images_moved,
       (SELECT array_agg(conflict_reason) FROM vc) AS conflicts,
       (SELECT array_agg(dedup_key) FROM pe) AS parse_errors
