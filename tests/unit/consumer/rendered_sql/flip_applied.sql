UPDATE raw.contents c SET kind = 'row', fields_total = x.ft, fields_unknown = x.fu,
       source_updated_at = x.su
FROM unnest($1::bytea[], $2::smallint[], $3::smallint[], $4::timestamptz[]) AS x(d, ft, fu, su)
WHERE c.digest = x.d AND c.kind <> 'row'
