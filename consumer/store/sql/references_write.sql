-- The batch's references (every row message of a file) as blocks (migration 0024): one per
-- file, partition and run of rows whose gaps fit a smallint; a note for the few rows that
-- have more to say (refused, parse error, observation cells other than the block's, a lot
-- number that is not a plain integer). A row some block already holds (a file published again) keeps its first record,
-- except that a row recorded as refused ('malformed') and applied now (a --force
-- re-publication after a fix) becomes a row: its note's kind and error only, never its digest
-- (write-once, 0017). Only rows recorded now count towards the run: a physical row is counted
-- once. Reading the rows already held costs only the blocks whose row range meets the batch's.
WITH batch AS (
  SELECT DISTINCT ON (file_id, row_no)
         file_id, row_no, kind, lot_external_id, digest, parse_error, kafka_partition,
         kafka_offset, observed
  FROM vinops_refs
  ORDER BY file_id, row_no, kind = 'row' DESC
), span AS (
  SELECT file_id, min(row_no) AS lo, max(row_no) AS hi FROM batch GROUP BY file_id
), seen AS (
  SELECT b.file_id, u.row_no
  FROM span s
  JOIN raw.file_row_blocks b
    ON b.file_id = s.file_id AND b.last_row_no >= s.lo AND b.first_row_no <= s.hi
  CROSS JOIN LATERAL (
    SELECT (b.first_row_no + sum(x.g) OVER (ORDER BY x.k))::integer AS row_no
    FROM unnest(b.row_gaps) WITH ORDINALITY AS x(g, k)
  ) u
), flipped AS (
  UPDATE raw.file_row_notes n SET kind = 'row', parse_error = NULL
  FROM batch x
  WHERE n.file_id = x.file_id AND n.row_no = x.row_no AND n.kind = 'malformed' AND x.kind = 'row'
), fresh AS (
  SELECT x.*,
         x.row_no - lag(x.row_no) OVER w AS row_gap,
         x.kafka_offset - lag(x.kafka_offset) OVER w AS offset_gap
  FROM batch x
  WHERE NOT EXISTS (SELECT 1 FROM seen s WHERE s.file_id = x.file_id AND s.row_no = x.row_no)
  WINDOW w AS (PARTITION BY x.file_id, x.kafka_partition ORDER BY x.row_no)
), cut AS (
  SELECT f.*, sum(f.starts::integer) OVER (PARTITION BY f.file_id, f.kafka_partition
                                           ORDER BY f.row_no) AS block_no
  FROM (SELECT fresh.*, row_gap IS NULL OR row_gap > 32767 OR offset_gap IS NULL
                        OR offset_gap NOT BETWEEN -32768 AND 32767 AS starts
        FROM fresh) f
), shared AS (
  -- Observation cells most rows of a block share (a re-export's time in every row): kept
  -- once, on the block; a row with other cells has a note.
  SELECT file_id, kafka_partition, block_no,
         CASE WHEN count(observed) * 2 > count(*)
              THEN mode() WITHIN GROUP (ORDER BY observed) END AS observed
  FROM cut GROUP BY file_id, kafka_partition, block_no
), blocks AS (
  INSERT INTO raw.file_row_blocks (file_id, first_row_no, last_row_no, row_count,
                                   kafka_partition, first_offset, row_gaps, offset_gaps, lots,
                                   digests, observed)
  SELECT c.file_id, min(c.row_no), max(c.row_no), count(*), c.kafka_partition,
         min(c.kafka_offset) FILTER (WHERE c.starts),
         array_agg(CASE WHEN c.starts THEN 0 ELSE c.row_gap END::smallint ORDER BY c.row_no),
         array_agg(CASE WHEN c.starts THEN 0 ELSE c.offset_gap END::smallint ORDER BY c.row_no),
         array_agg(raw.lot_as_int(c.lot_external_id) ORDER BY c.row_no),
         array_agg(encode(c.digest, 'hex')::uuid ORDER BY c.row_no),
         s.observed
  FROM cut c
  JOIN shared s ON s.file_id = c.file_id AND s.kafka_partition = c.kafka_partition
               AND s.block_no = c.block_no
  GROUP BY c.file_id, c.kafka_partition, c.block_no, s.observed
  ORDER BY c.file_id, min(c.row_no)
), notes AS (
  INSERT INTO raw.file_row_notes (file_id, row_no, kind, lot_external_id, parse_error, observed)
  SELECT c.file_id, c.row_no, c.kind, c.lot_external_id, c.parse_error, c.observed
  FROM cut c
  JOIN shared s ON s.file_id = c.file_id AND s.kafka_partition = c.kafka_partition
               AND s.block_no = c.block_no
  WHERE c.kind <> 'row' OR c.parse_error IS NOT NULL OR c.observed IS DISTINCT FROM s.observed
     OR (c.lot_external_id IS NOT NULL AND raw.lot_as_int(c.lot_external_id) IS NULL)
  ORDER BY c.file_id, c.row_no
), pruned AS (
  -- A content the batch's look-up found, pruned since (consumer archive --prune, which holds
  -- this statement until it commits): counted, and the sink has the batch prepared again.
  -- Asked only after a recent prune: one index probe per row otherwise saved.
  SELECT count(*)::int AS missing FROM batch x
  WHERE EXISTS (SELECT 1 FROM raw.csv_files f
                WHERE f.pruned_at > now() - interval '1 hour')
    AND NOT EXISTS (SELECT 1 FROM raw.contents c WHERE c.digest = x.digest OFFSET 0)
)
SELECT file_id, count(*)::int AS n, (count(*) FILTER (WHERE kind = 'malformed'))::int AS bad,
       (SELECT missing FROM pruned) AS missing
FROM fresh GROUP BY file_id
