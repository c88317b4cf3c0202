WITH prev AS (
  SELECT run_id, status FROM audit.etl_runs WHERE run_id = ANY($1::uuid[])
), up AS (
  INSERT INTO audit.etl_runs AS r (run_id, file_id, status, rows_expected, rows_processed,
                                   errors, started_at, completed_at)
  SELECT x.id, x.id,
         CASE WHEN x.expected <= x.processed THEN 'completed'
              WHEN x.aborted THEN 'failed' ELSE 'started' END,
         x.expected, x.processed, x.errors, COALESCE(x.started_at, now()),
         CASE WHEN x.expected <= x.processed THEN now() END
  FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::bool[], $6::timestamptz[])
       AS x(id, expected, processed, errors, aborted, started_at)
  ORDER BY x.id
  ON CONFLICT (run_id) DO UPDATE SET
    rows_expected = COALESCE(EXCLUDED.rows_expected, r.rows_expected),
    rows_processed = r.rows_processed + EXCLUDED.rows_processed,
    errors = r.errors + EXCLUDED.errors,
    status = CASE WHEN r.status = 'completed' OR COALESCE(EXCLUDED.rows_expected, r.rows_expected) <= r.rows_processed + EXCLUDED.rows_processed THEN 'completed'
                  WHEN EXCLUDED.status = 'failed' THEN 'failed'
                  ELSE r.status END,
    completed_at = CASE WHEN r.status <> 'completed' AND COALESCE(EXCLUDED.rows_expected, r.rows_expected) <= r.rows_processed + EXCLUDED.rows_processed THEN now()
                        ELSE r.completed_at END
  WHERE EXCLUDED.rows_processed > 0 OR EXCLUDED.errors > 0
     OR (EXCLUDED.rows_expected IS NOT NULL
         AND EXCLUDED.rows_expected IS DISTINCT FROM r.rows_expected)
     OR (EXCLUDED.status = 'failed' AND r.status = 'started')
  RETURNING r.run_id, r.status
), off AS (
  INSERT INTO ingest.consumer_offsets AS o (group_id, topic, partition, next_offset)
  SELECT $7, t, p, n FROM unnest($8::text[], $9::int[], $10::bigint[]) AS x(t, p, n)
  ORDER BY t, p
  ON CONFLICT (group_id, topic, partition) DO UPDATE SET
    next_offset = GREATEST(o.next_offset, EXCLUDED.next_offset), updated_at = now()
  WHERE o.next_offset < EXCLUDED.next_offset
)
SELECT up.run_id, up.status FROM up LEFT JOIN prev ON prev.run_id = up.run_id
WHERE prev.status IS DISTINCT FROM up.status
