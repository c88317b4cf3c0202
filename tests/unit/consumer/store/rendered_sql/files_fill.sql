INSERT INTO raw.csv_files AS f (file_id, sha256, dialect, encoding, path, bytes, headers_jsonb,
                                rows_published, malformed_rows, started_at, completed_at,
                                full_snapshot)
SELECT i, s, d, e, p, b, h::jsonb, rp, mr, sa, ca, fs
FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
            $7::text[], $8::int[], $9::int[], $10::timestamptz[], $11::timestamptz[],
            $12::bool[])
     AS x(i, s, d, e, p, b, h, rp, mr, sa, ca, fs)
ORDER BY i
ON CONFLICT (file_id) DO UPDATE SET
  path = COALESCE(EXCLUDED.path, f.path), bytes = COALESCE(EXCLUDED.bytes, f.bytes), headers_jsonb = COALESCE(EXCLUDED.headers_jsonb, f.headers_jsonb), dialect = COALESCE(EXCLUDED.dialect, f.dialect), encoding = COALESCE(EXCLUDED.encoding, f.encoding), rows_published = COALESCE(EXCLUDED.rows_published, f.rows_published), malformed_rows = COALESCE(EXCLUDED.malformed_rows, f.malformed_rows), started_at = COALESCE(EXCLUDED.started_at, f.started_at), completed_at = COALESCE(EXCLUDED.completed_at, f.completed_at), full_snapshot = COALESCE(EXCLUDED.full_snapshot, f.full_snapshot)
WHERE (f.path, f.bytes, f.headers_jsonb, f.dialect, f.encoding, f.rows_published, f.malformed_rows, f.started_at, f.completed_at, f.full_snapshot)
      IS DISTINCT FROM (COALESCE(EXCLUDED.path, f.path), COALESCE(EXCLUDED.bytes, f.bytes), COALESCE(EXCLUDED.headers_jsonb, f.headers_jsonb), COALESCE(EXCLUDED.dialect, f.dialect), COALESCE(EXCLUDED.encoding, f.encoding), COALESCE(EXCLUDED.rows_published, f.rows_published), COALESCE(EXCLUDED.malformed_rows, f.malformed_rows), COALESCE(EXCLUDED.started_at, f.started_at), COALESCE(EXCLUDED.completed_at, f.completed_at), COALESCE(EXCLUDED.full_snapshot, f.full_snapshot))
