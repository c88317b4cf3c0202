-- References of rows some of which raw.file_rows already holds (a file published again): the
-- first record of a physical row stays, except that a row recorded as refused ('malformed')
-- and applied now (a --force re-publication after a fix) becomes a row: its kind and error
-- only, never its digest (the raw layer is write-once, 0017; the content it names holds the
-- same value). Only rows inserted count towards the run: a physical row is counted once.
WITH ins AS (
  INSERT INTO raw.file_rows AS r (file_id, row_no, kind, lot_external_id, digest, parse_error,
                                  kafka_partition, kafka_offset, observed)
  SELECT DISTINCT ON (file_id, row_no)
         file_id, row_no, kind, lot_external_id, digest, parse_error, kafka_partition,
         kafka_offset, observed
  FROM vinops_refs
  ORDER BY file_id, row_no, kind = 'row' DESC
  ON CONFLICT (file_id, row_no) DO UPDATE SET kind = 'row', parse_error = NULL
  WHERE r.kind = 'malformed' AND EXCLUDED.kind = 'row'
  RETURNING r.file_id, r.kind, (r.xmax = 0) AS inserted
)
SELECT file_id, (count(*) FILTER (WHERE inserted))::int AS n,
       (count(*) FILTER (WHERE inserted AND kind = 'malformed'))::int AS bad
FROM ins GROUP BY file_id
