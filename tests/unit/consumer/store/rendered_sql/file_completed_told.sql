WITH f AS (
  UPDATE raw.csv_files cf
  SET as_of = (SELECT max(c.source_updated_at) FROM raw.file_rows r
               JOIN raw.contents c ON c.digest = r.digest
               WHERE r.file_id = $1 AND r.kind = 'row')
  WHERE cf.file_id = $1
    AND (cf.full_snapshot OR EXISTS (SELECT 1 FROM raw.csv_files s WHERE s.full_snapshot))
  RETURNING cf.file_id, cf.as_of, cf.full_snapshot
), listed AS (
  SELECT DISTINCT r.lot_external_id FROM raw.file_rows r
  WHERE r.file_id = $1 AND r.kind = 'row' AND r.lot_external_id IS NOT NULL
), returned AS (
  UPDATE public.lots l SET is_removed = false, removed_at = NULL, removed_as_of = NULL
  FROM f
  WHERE l.is_removed AND l.removed_as_of < f.as_of
    AND (l.lot_external_id IN (SELECT lot_external_id FROM listed)) IS TRUE
  RETURNING l.id, l.lot_external_id, l.vin
), newer AS (
  SELECT lot_external_id FROM listed
  UNION ALL
  SELECT r.lot_external_id FROM raw.csv_files cf
  JOIN f ON f.full_snapshot AND cf.as_of >= f.as_of AND cf.file_id <> f.file_id
  JOIN raw.file_rows r ON r.file_id = cf.file_id
  WHERE r.kind = 'row' AND r.lot_external_id IS NOT NULL
), removed AS (
  UPDATE public.lots l SET is_removed = true, removed_at = now(), removed_as_of = f.as_of
  FROM f
  WHERE f.full_snapshot AND f.as_of IS NOT NULL AND NOT l.is_removed
    AND l.lot_external_id NOT IN (SELECT lot_external_id FROM newer)
  RETURNING l.id, l.lot_external_id, l.vin
), still_removed AS (
  UPDATE public.lots l SET removed_as_of = f.as_of
  FROM f
  WHERE f.full_snapshot AND l.is_removed AND l.removed_as_of < f.as_of
    AND l.lot_external_id NOT IN (SELECT lot_external_id FROM newer)
  RETURNING l.id, l.lot_external_id, l.vin
)
, ends AS (
  SELECT last.at, x.lot_external_id, x.valid_to
  FROM (SELECT r.lot_external_id, f.as_of AS valid_to FROM removed r, f
        UNION ALL SELECT s.lot_external_id, f.as_of FROM still_removed s, f
        UNION ALL SELECT r.lot_external_id, NULL::timestamptz FROM returned r) x
  CROSS JOIN LATERAL (SELECT w.ctid AS at FROM public.lot_versions w
                      WHERE w.lot_external_id = x.lot_external_id
                      ORDER BY w.valid_from DESC, w.version DESC LIMIT 1) last
), closed AS (
  UPDATE public.lot_versions v SET valid_to = e.valid_to
  FROM ends e
  WHERE v.ctid = ANY (ARRAY(SELECT at FROM ends)) AND v.ctid = e.at
    AND v.lot_external_id = e.lot_external_id
    AND (e.valid_to IS NULL OR e.valid_to > v.valid_from)
  RETURNING 1
), told AS (
  INSERT INTO ingest.lot_changes (event_id, lot_external_id, kind, payload)
  SELECT e.id, e.lot_external_id, e.kind,
         json_build_object('schema', 'vinops.lot-change/1', 'id', e.id, 'kind', e.kind,
           'lot', e.lot_external_id, 'vin', e.vin, 'as_of', to_char((e.as_of) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'file_id', $1::uuid, 'recorded_at', to_char((now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
  FROM (SELECT x.*, encode(substring(sha256(convert_to(COALESCE((x.kind)::text, '') || '|' || COALESCE((x.lot_external_id)::text, '') || '|' || COALESCE((to_char((x.as_of) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, ''), 'UTF8')) FROM 1 FOR 16), 'hex')::uuid AS id
        FROM (SELECT 'removed' AS kind, r.lot_external_id, r.vin, f.as_of FROM removed r, f
              UNION ALL
              SELECT 'returned', r.lot_external_id, r.vin, f.as_of FROM returned r, f) x) e
  ORDER BY e.lot_external_id, e.kind
  RETURNING kind
)
SELECT (SELECT count(*) FROM returned)::int AS returned,
       (SELECT count(*) FROM removed)::int AS removed,
       (SELECT count(*) FROM still_removed)::int AS still_removed,
       (SELECT count(*) FROM told WHERE kind = 'removed')::int AS removed_events,
       (SELECT count(*) FROM told WHERE kind = 'returned')::int AS returned_events
