-- New contents: their bodies 32 to a chunk (PostgreSQL compresses only values over ~2 KB; one
-- row's ~0.7 KB of values is below that, 32 of them compress to ~45% with lz4), then a content
-- row per digest pointing into its chunk, and the staging row of each mapped row. The batch
-- carries each body once, and none that is already stored. A content stored as 'malformed'
-- (a row the database refused before) that maps now is flipped to 'row': kind = 'row' means
-- applied. Its stored body stays (the raw layer is write-once: 0017): the same digest is the
-- same content, whichever form its body was kept in.
-- Staging is partitioned by day of ingested_at (0022), so its unique key holds per day; one
-- staging row per physical row is kept by a probe of (file_id, row_no) in every partition,
-- paid only by rows whose content was stored before this statement (mapped again: a new
-- mapping version, a refused row applied now, --no-skip-known, a replayed batch). A row whose
-- content this statement inserts was never staged: staging and contents are written together.
WITH ids AS (
  SELECT chunk_no, nextval(pg_get_serial_sequence('raw.content_chunks', 'chunk_id')) AS chunk_id
  FROM (SELECT DISTINCT chunk_no FROM vinops_batch WHERE body IS NOT NULL) x
), chunks AS (
  INSERT INTO raw.content_chunks (chunk_id, bodies)
  SELECT ids.chunk_id, x.bodies
  FROM (SELECT chunk_no, array_agg(body::text ORDER BY chunk_pos) AS bodies
        FROM vinops_batch WHERE body IS NOT NULL GROUP BY chunk_no) x
  JOIN ids USING (chunk_no)
), con AS (
  INSERT INTO raw.contents AS c (digest, kind, layout_id, chunk_id, pos, fields_total,
                                 fields_unknown, source_updated_at, mapping_version)
  SELECT b.digest, b.content_kind, b.layout_id, ids.chunk_id, b.chunk_pos, b.fields_total,
         b.fields_unknown, b.su_real, $1::smallint
  FROM vinops_batch b JOIN ids USING (chunk_no)
  WHERE b.body IS NOT NULL
  ON CONFLICT (digest) DO UPDATE SET
    kind = EXCLUDED.kind, fields_total = EXCLUDED.fields_total,
    fields_unknown = EXCLUDED.fields_unknown, source_updated_at = EXCLUDED.source_updated_at,
    mapping_version = EXCLUDED.mapping_version
  WHERE (c.kind <> 'row' OR c.mapping_version <> EXCLUDED.mapping_version)
    AND EXCLUDED.kind = 'row'
  RETURNING c.digest, c.xmax = 0 AS fresh  -- xmax 0: inserted now, not updated
), stg AS (
  INSERT INTO staging.copart_raw (file_id, row_no, window_start_utc, lot_external_id, vin_raw,
                                  vin_normalized, source_updated_at, fields_total, fields_unknown)
  SELECT file_id, row_no, date_trunc('hour', COALESCE(su_real, now()), 'UTC'), lot_external_id,
         vin_raw, vin_normalized, su_real, fields_total, fields_unknown
  FROM vinops_batch b WHERE kind = 'row' AND lot_external_id IS NOT NULL
    AND (digest IN (SELECT digest FROM con WHERE fresh) OR NOT EXISTS (
      SELECT 1 FROM staging.copart_raw s WHERE s.file_id = b.file_id AND s.row_no = b.row_no))
  ON CONFLICT (file_id, row_no, ingested_at) DO NOTHING
)
SELECT 1
