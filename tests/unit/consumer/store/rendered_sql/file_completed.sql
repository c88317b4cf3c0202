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
SELECT (SELECT count(*) FROM returned)::int AS returned,
       (SELECT count(*) FROM removed)::int AS removed,
       (SELECT count(*) FROM still_removed)::int AS still_removed,
       0 AS removed_events, 0 AS returned_events
