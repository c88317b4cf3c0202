-- consumer rebuild applied these contents under this mapping version ($2): the next snapshot
-- skips them again. Only the version moves: the content itself is immutable.
UPDATE raw.contents SET mapping_version = $2
WHERE digest = ANY($1::bytea[]) AND kind = 'row' AND mapping_version <> $2
