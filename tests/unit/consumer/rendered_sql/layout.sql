WITH x AS (SELECT sha256(convert_to(array_to_json($1::text[])::text, 'UTF8')) AS digest),
ins AS (
  INSERT INTO raw.layouts (digest, names) SELECT digest, $1::text[] FROM x
  ON CONFLICT (digest) DO NOTHING RETURNING layout_id
)
SELECT layout_id FROM ins
UNION ALL SELECT l.layout_id FROM raw.layouts l JOIN x ON l.digest = x.digest
LIMIT 1
