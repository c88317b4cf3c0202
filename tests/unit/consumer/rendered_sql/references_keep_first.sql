WITH ins AS (
  INSERT INTO raw.file_rows (file_id, row_no, kind, lot_external_id, digest, parse_error,
                             kafka_partition, kafka_offset)
  SELECT file_id, row_no, kind, lot_external_id, digest, parse_error, kafka_partition,
         kafka_offset
  FROM vinops_refs
  ON CONFLICT (file_id, row_no) DO NOTHING
  RETURNING file_id, kind
)
SELECT file_id, count(*)::int AS n, (count(*) FILTER (WHERE kind = 'malformed'))::int AS bad
FROM ins GROUP BY file_id
