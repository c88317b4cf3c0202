-- A content stored as 'malformed' (refused before), or applied under an older mapping version,
-- that maps now: rare, so its own statement,
-- run only when the batch has one (an UPDATE ... FROM the temp table may scan raw.contents).
UPDATE raw.contents c SET kind = 'row', fields_total = x.ft, fields_unknown = x.fu,
       source_updated_at = x.su, mapping_version = $5
FROM unnest($1::bytea[], $2::smallint[], $3::smallint[], $4::timestamptz[]) AS x(d, ft, fu, su)
WHERE c.digest = x.d AND (c.kind <> 'row' OR c.mapping_version <> $5)
