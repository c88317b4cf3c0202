-- Row headers only create the file row (DO NOTHING takes no lock on an existing row, so
-- consumers of one file do not queue behind each other); file events fill its columns.
INSERT INTO raw.csv_files (file_id, sha256, dialect, encoding)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) ORDER BY 1
ON CONFLICT DO NOTHING
