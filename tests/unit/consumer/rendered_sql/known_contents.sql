SELECT coalesce(array_agg(digest) FILTER (WHERE kind = 'row'), '{}') AS applied,
       coalesce(array_agg(coalesce(fields_total, 0)) FILTER (WHERE kind = 'row'), '{}') AS ft,
       coalesce(array_agg(coalesce(fields_unknown, 0)) FILTER (WHERE kind = 'row'), '{}') AS fu,
       coalesce(array_agg(digest) FILTER (WHERE kind <> 'row'), '{}') AS refused
FROM raw.contents WHERE digest = ANY($1::bytea[])
