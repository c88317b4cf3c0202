-- Contents already stored; the applied ones ('row') need no decode, mapping or core write.
-- Arrays, not a row per content: decoded in asyncpg's C code, zipped into a dict in C too.
SELECT coalesce(array_agg(digest) FILTER (WHERE kind = 'row'), '{}') AS applied,
       coalesce(array_agg(coalesce(fields_total, 0)) FILTER (WHERE kind = 'row'), '{}') AS ft,
       coalesce(array_agg(coalesce(fields_unknown, 0)) FILTER (WHERE kind = 'row'), '{}') AS fu,
       coalesce(array_agg(digest) FILTER (WHERE kind <> 'row'), '{}') AS refused
FROM raw.contents WHERE digest = ANY($1::bytea[])
