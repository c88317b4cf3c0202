-- Contents already stored; the ones applied ('row') under this mapping version ($2) need no
-- decode, mapping or core write. One applied under another version is stored, not applied.
-- Arrays, not a row per content: decoded in asyncpg's C code, zipped into a dict in C too.
-- cut: the content was stored without its value's observation cells (its layout names them).
SELECT coalesce(array_agg(c.digest) FILTER (WHERE c.kind = 'row' AND c.mapping_version = $2), '{}') AS applied,
       coalesce(array_agg(coalesce(c.fields_total, 0)) FILTER (WHERE c.kind = 'row' AND c.mapping_version = $2), '{}') AS ft,
       coalesce(array_agg(coalesce(c.fields_unknown, 0)) FILTER (WHERE c.kind = 'row' AND c.mapping_version = $2), '{}') AS fu,
       coalesce(array_agg(coalesce(cardinality(l.observed) > 0, false))
                FILTER (WHERE c.kind = 'row' AND c.mapping_version = $2), '{}') AS cut,
       coalesce(array_agg(c.digest) FILTER (WHERE c.kind <> 'row' OR c.mapping_version <> $2), '{}') AS refused
FROM raw.contents c LEFT JOIN raw.layouts l ON l.layout_id = c.layout_id
WHERE c.digest = ANY($1::bytea[])
