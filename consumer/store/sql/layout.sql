-- Autocommitted before the batch's transaction, so a cached id never names a rolled-back row.
-- A layout's identity is its names; one whose observation cells are kept per row ($2, their
-- positions) also names those (a layout without them keeps the digest it always had).
WITH x AS (
  SELECT sha256(convert_to(array_to_json($1::text[])::text
                           || CASE WHEN cardinality($2::smallint[]) > 0
                                   THEN array_to_json($2::smallint[])::text ELSE '' END,
                           'UTF8')) AS digest
), ins AS (
  INSERT INTO raw.layouts (digest, names, observed) SELECT digest, $1::text[], $2::smallint[] FROM x
  ON CONFLICT (digest) DO NOTHING RETURNING layout_id
)
SELECT layout_id FROM ins
UNION ALL SELECT l.layout_id FROM raw.layouts l JOIN x ON l.digest = x.digest
LIMIT 1
