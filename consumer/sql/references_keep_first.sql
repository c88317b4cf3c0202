-- References of rows some of which raw.file_rows already holds (a file published again): the
-- first record of a physical row stays. No ORDER BY: they are COPYed sorted by (file_id, row_no).
WITH ins AS (
  INSERT INTO raw.file_rows (file_id, row_no, kind, lot_external_id, digest, parse_error,
                             kafka_partition, kafka_offset, observed)
  SELECT file_id, row_no, kind, lot_external_id, digest, parse_error, kafka_partition,
         kafka_offset, observed
  FROM vinops_refs
  ON CONFLICT (file_id, row_no) DO NOTHING
  RETURNING file_id, kind
)
SELECT file_id, count(*)::int AS n, (count(*) FILTER (WHERE kind = 'malformed'))::int AS bad
FROM ins GROUP BY file_id
