INSERT INTO raw.csv_files (file_id, sha256, dialect, encoding)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) ORDER BY 1
ON CONFLICT DO NOTHING
