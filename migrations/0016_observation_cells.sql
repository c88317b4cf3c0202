-- 0016_observation_cells: a row's content identity leaves out the cells that describe the
-- download, not the lot (docs/observation-cells.md): the member feed's `Id` (a row counter,
-- renumbered whenever a lot is sold or listed) and a re-export's `_lastSeenAt`.
-- Purpose: an unchanged lot in a renumbered snapshot is the same content, so it is skipped.
--   raw.layouts.observed    1-based positions of the layout's names whose values are kept per
--                           physical row, not in the body (empty: none). Such a layout's
--                           digest is SHA-256 of its names' JSON array followed by this array's.
--   raw.file_rows.observed  those values for one physical row; NULL when they are just its row
--                           number (a fresh download's Id) or when its content cut nothing.
--   Contents stored by 0015's consumer are re-keyed: a member or camelCase content whose value
--   (rebuilt from its layout and body, and checked against its digest) holds the cell gets the
--   digest of the value without it; its rows keep the cell. A content that cannot be rebuilt exactly keeps its digest (it stays
--   valid: its rows are simply not shared with a renumbered snapshot).
--   source_digest on lots, vehicles and sale events becomes the version digest from now on
--   (consumer.mapped.version_of: a digest of the values a version maps to, so that versions
--   that map alike never overwrite each other); a version stored before keeps the content
--   digest it was stored with.
-- Rollback: the re-keyed bodies and cells are what 0015 stored, split; to undo, rebuild each
--   re-keyed row's value (raw.v_rows.payload), store it under its own digest, and DROP COLUMN
--   raw.file_rows.observed, raw.layouts.observed.

ALTER TABLE raw.layouts ADD COLUMN observed smallint[] NOT NULL DEFAULT '{}';
ALTER TABLE raw.file_rows ADD COLUMN observed text[];

-- ---- contents to re-key ------------------------------------------------------------------
CREATE TEMP TABLE rekey_source ON COMMIT DROP AS
SELECT c.digest AS old_digest, c.kind, l.names, c.fields_total, c.fields_unknown,
       c.source_updated_at, c.stored_at, ch.bodies[c.pos + 1]::json AS body,
       CASE WHEN 'lotId' = ANY (l.names) THEN array_position(l.names, '_lastSeenAt')
            WHEN 'Lot number' = ANY (l.names) THEN array_position(l.names, 'Id')
       END AS p
FROM raw.contents c
JOIN raw.layouts l ON l.layout_id = c.layout_id
JOIN raw.content_chunks ch ON ch.chunk_id = c.chunk_id
WHERE cardinality(l.observed) = 0;

DELETE FROM rekey_source
WHERE p IS NULL OR json_typeof(body) <> 'array' OR json_array_length(body) <> cardinality(names);

-- The value as the producer sent it, and without the cell. Kept only when the rebuilt value
-- hashes to the stored digest: then every byte of both texts is the producer's. A cell with
-- an escape in it is left alone (its text would have to be decoded).
CREATE TEMP TABLE rekey ON COMMIT DROP AS
SELECT s.old_digest, s.kind, s.names, s.p, s.fields_total, s.fields_unknown,
       s.source_updated_at, s.stored_at, t.new_body, c.cell,
       substring(sha256(convert_to(t.new_text, 'UTF8')) FROM 1 FOR 16) AS new_digest
FROM rekey_source s
CROSS JOIN LATERAL (
    SELECT '{' || string_agg(to_json(s.names[e.n])::text || ':' || e.v::text, ','
                             ORDER BY e.n) || '}' AS old_text,
           '{' || coalesce(string_agg(to_json(s.names[e.n])::text || ':' || e.v::text, ','
                                      ORDER BY e.n) FILTER (WHERE e.n <> s.p), '') || '}'
               AS new_text,
           '[' || coalesce(string_agg(e.v::text, ',' ORDER BY e.n)
                           FILTER (WHERE e.n <> s.p), '') || ']' AS new_body,
           max(e.v::text) FILTER (WHERE e.n = s.p) AS cell_json
    FROM json_array_elements(s.body) WITH ORDINALITY AS e(v, n)
) t
CROSS JOIN LATERAL (SELECT substr(t.cell_json, 2, length(t.cell_json) - 2) AS cell) c
WHERE substring(sha256(convert_to(t.old_text, 'UTF8')) FROM 1 FOR 16) = s.old_digest
  AND t.cell_json LIKE '"%"' AND strpos(t.cell_json, '\') = 0;

-- A new digest some other stored content already has (a value that never had the cell)
-- would mix a content with its cell cut and one without: such contents keep their digest.
DELETE FROM rekey k USING raw.contents c WHERE c.digest = k.new_digest;

-- ---- the new layouts and contents ----------------------------------------------------------
INSERT INTO raw.layouts (digest, names, observed)
SELECT DISTINCT sha256(convert_to(array_to_json(names)::text
                                  || array_to_json(ARRAY[p]::smallint[])::text, 'UTF8')),
       names, ARRAY[p]::smallint[]
FROM rekey
ON CONFLICT (digest) DO NOTHING;

-- One content per new digest: an applied one first (the cell is never mapped, so every
-- version of it maps alike), numbered so that rows of one file share chunks.
CREATE TEMP TABLE rekey_contents ON COMMIT DROP AS
SELECT x.*, row_number() OVER (ORDER BY x.stored_at, x.new_digest) - 1 AS n
FROM (
    SELECT DISTINCT ON (k.new_digest)
           k.new_digest, k.kind, l.layout_id, k.new_body, k.fields_total, k.fields_unknown,
           k.source_updated_at, k.stored_at
    FROM rekey k
    JOIN raw.layouts l
      ON l.digest = sha256(convert_to(array_to_json(k.names)::text
                                      || array_to_json(ARRAY[k.p]::smallint[])::text, 'UTF8'))
    ORDER BY k.new_digest, k.kind = 'row' DESC, k.stored_at
) x;

CREATE TEMP TABLE rekey_chunks ON COMMIT DROP AS
SELECT chunk_no, nextval(pg_get_serial_sequence('raw.content_chunks', 'chunk_id')) AS chunk_id
FROM (SELECT DISTINCT n / 32 AS chunk_no FROM rekey_contents) x;

INSERT INTO raw.content_chunks (chunk_id, bodies)
SELECT k.chunk_id, array_agg(c.new_body ORDER BY c.n)
FROM rekey_contents c JOIN rekey_chunks k ON k.chunk_no = c.n / 32
GROUP BY k.chunk_id;

INSERT INTO raw.contents (digest, kind, layout_id, chunk_id, pos, fields_total, fields_unknown,
                          source_updated_at, stored_at)
SELECT c.new_digest, c.kind, c.layout_id, k.chunk_id, (c.n % 32)::smallint, c.fields_total,
       c.fields_unknown, c.source_updated_at, c.stored_at
FROM rekey_contents c JOIN rekey_chunks k ON k.chunk_no = c.n / 32;

-- ---- every reference to an old digest ------------------------------------------------------
UPDATE raw.file_rows r
SET digest = k.new_digest,
    observed = CASE WHEN k.cell = r.row_no::text THEN NULL ELSE ARRAY[k.cell] END
FROM rekey k WHERE r.digest = k.old_digest;

-- The old contents are their new content plus their rows' cells: nothing is lost with them.
DELETE FROM raw.contents c USING rekey k WHERE c.digest = k.old_digest;
DELETE FROM raw.content_chunks ch
WHERE NOT EXISTS (SELECT 1 FROM raw.contents c WHERE c.chunk_id = ch.chunk_id);

-- ---- views ----------------------------------------------------------------------------------
-- A body element's name: its position among the layout's names that are not observation cells.
CREATE OR REPLACE VIEW raw.v_rows AS
SELECT r.id, r.file_id, r.row_no, r.kind, r.lot_external_id,
       CASE WHEN c.layout_id IS NULL THEN c.body
            WHEN cardinality(l.observed) = 0 THEN
                (SELECT json_object_agg(l.names[e.n], e.value ORDER BY e.n)
                 FROM json_array_elements(c.body) WITH ORDINALITY AS e(value, n))
            ELSE
                (SELECT json_object_agg(l.names[x.n], x.value ORDER BY x.n)
                 FROM (SELECT (SELECT array_agg(i ORDER BY i)
                               FROM generate_series(1, cardinality(l.names)) AS i
                               WHERE i <> ALL (l.observed))[e.n] AS n, e.value
                       FROM json_array_elements(c.body) WITH ORDINALITY AS e(value, n)
                       UNION ALL
                       SELECT o.p, to_json(COALESCE(r.observed[o.k], r.row_no::text))
                       FROM unnest(l.observed) WITH ORDINALITY AS o(p, k)) x)
       END AS payload,
       r.parse_error, r.kafka_partition, r.kafka_offset, r.ingested_at, r.digest, r.observed
FROM raw.file_rows r
JOIN raw.v_contents c ON c.digest = r.digest
LEFT JOIN raw.layouts l ON l.layout_id = c.layout_id;
