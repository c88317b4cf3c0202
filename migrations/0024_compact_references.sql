-- 0024_compact_references: a file's references are stored in blocks, not one row each.
-- Purpose: a repeated snapshot costs what changed. A reference row (file, row number, kind,
--   lot, digest, Kafka position, time) cost ~190-250 bytes with its index; a block holds the
--   rows one batch wrote for one file and partition as arrays, ~22 bytes a row:
--   raw.file_row_blocks  file_id, first_row_no..last_row_no, row_count, kafka_partition, ingested_at,
--                        and per row (in row order): row_gaps (row number minus the previous
--                        one; 0 first), offset_gaps (the same for Kafka offsets; NULL: no
--                        offsets), lots (the lot number when it is a plain integer), digests
--                        (the content digest, 16 bytes, as uuid: fixed width, no header).
--                        first_id: the id of its first row, the others follow one by one
--                        (id_gaps: the gaps between them, kept only for rows copied here).
--                        Ids number rows, nothing refers to them; they are kept all the same.
--                        observed: observation cells most of its rows share (a re-export's
--                        time is the same in every row), kept once.
--   raw.file_row_notes   what a row has beyond that, for the few that do: a refused
--                        ('malformed') row, a parse error, observation cells, a lot number that
--                        is not a plain integer, cells other than the block's. A note's
--                        columns replace the block's.
--   raw.file_rows        a view with the former table's columns (and its block's row range,
--                        for readers that page through it), so every reader is unchanged.
--   The former table's rows are copied over, compared column by column with the view (the
--   migration fails on any difference) and only then dropped: nothing is lost.
--   Ids: a block takes a range of 2^20 ids from raw.file_row_blocks_first_id_seq; copied rows
--   keep theirs (id_gaps: the consumer numbered a batch's rows across partitions).
-- Rollback: CREATE TABLE raw.file_rows_table AS SELECT id, file_id, row_no, kind,
--   lot_external_id, digest, parse_error, kafka_partition, kafka_offset, ingested_at, observed
--   FROM raw.file_rows; drop the views below, the view raw.file_rows and both tables; rename
--   the copy to raw.file_rows with its primary key (file_id, row_no); recreate the 0017 views.

-- A lot number kept in a block: a plain non-negative integer (no sign, no leading zero) that
-- fits an integer; any other spelling goes to a note so that it comes back exactly.
CREATE FUNCTION raw.lot_as_int(lot text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN lot ~ '^(0|[1-9][0-9]{0,9})$' AND lot::bigint <= 2147483647
            THEN lot::integer END;

CREATE SEQUENCE raw.file_row_blocks_first_id_seq INCREMENT BY 1048576;

CREATE TABLE raw.file_row_blocks (
    first_id        bigint NOT NULL DEFAULT nextval('raw.file_row_blocks_first_id_seq'),
    file_id         uuid NOT NULL,
    first_row_no    integer NOT NULL,
    last_row_no     integer NOT NULL,
    row_count       integer NOT NULL,
    kafka_partition integer,
    first_offset    bigint,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    row_gaps        smallint[] NOT NULL,
    offset_gaps     smallint[],
    lots            integer[] NOT NULL,
    digests         uuid[] NOT NULL,
    id_gaps         integer[],
    observed        text[],
    CONSTRAINT file_row_blocks_pkey PRIMARY KEY (file_id, first_row_no),
    CONSTRAINT file_row_blocks_shape_ck CHECK (
        row_count BETWEEN 1 AND 1048576
        AND cardinality(digests) = row_count
        AND cardinality(row_gaps) = cardinality(digests)
        AND cardinality(lots) = cardinality(digests)
        AND (offset_gaps IS NULL OR cardinality(offset_gaps) = cardinality(digests))
        AND (id_gaps IS NULL OR cardinality(id_gaps) = cardinality(digests))
        AND first_row_no <= last_row_no)
);
ALTER SEQUENCE raw.file_row_blocks_first_id_seq OWNED BY raw.file_row_blocks.first_id;
-- Readers of a row range (the next page of a rebuild, one row of a file) find their blocks
-- by their last row.
CREATE INDEX file_row_blocks_last_row_idx ON raw.file_row_blocks (file_id, last_row_no);
-- Digests do not compress: stored out of line as they are, no compression attempt. Gaps
-- (mostly 1) compress to almost nothing once a block is large enough to be toasted.
ALTER TABLE raw.file_row_blocks ALTER COLUMN digests SET STORAGE EXTERNAL;
DO $$
BEGIN
    ALTER TABLE raw.file_row_blocks ALTER COLUMN row_gaps SET COMPRESSION lz4;
    ALTER TABLE raw.file_row_blocks ALTER COLUMN offset_gaps SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;  -- a server built without lz4 keeps pglz: same result, a little larger
END
$$;

CREATE TABLE raw.file_row_notes (
    file_id         uuid NOT NULL,
    row_no          integer NOT NULL,
    kind            text NOT NULL CONSTRAINT file_row_notes_kind_ck
                        CHECK (kind IN ('row', 'malformed')),
    lot_external_id text,
    parse_error     text,
    observed        text[],
    CONSTRAINT file_row_notes_pkey PRIMARY KEY (file_id, row_no)
);

-- ---- the former table, moved without loss --------------------------------------------------
DROP VIEW raw.rows;
DROP VIEW raw.v_rows;
DROP VIEW audit.v_ingest_count;
DROP VIEW audit.v_unknown_rate;
ALTER TABLE raw.file_rows RENAME TO file_rows_0030;

-- A block: rows of one file and partition (in row order) written at one time (one batch),
-- offsets all present or all absent, gaps that fit their arrays.
CREATE TEMP TABLE old_refs ON COMMIT DROP AS
SELECT r.*,
       r.row_no - lag(r.row_no) OVER w AS row_gap,
       r.kafka_offset - lag(r.kafka_offset) OVER w AS offset_gap,
       r.id - lag(r.id) OVER w AS id_gap,
       lag(r.row_no) OVER w IS NULL AS first_of_partition,
       lag(r.ingested_at) OVER w AS prev_at,
       lag(r.kafka_offset IS NULL) OVER w AS prev_no_offset
FROM raw.file_rows_0030 r
WINDOW w AS (PARTITION BY r.file_id, r.kafka_partition ORDER BY r.row_no);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_refs WHERE octet_length(digest) <> 16) THEN
        RAISE EXCEPTION '0024: a reference digest is not 16 bytes; nothing was changed';
    END IF;
END
$$;

CREATE TEMP TABLE old_blocks ON COMMIT DROP AS
SELECT o.*, sum(o.starts::integer) OVER (PARTITION BY o.file_id, o.kafka_partition
                                         ORDER BY o.row_no) AS block_no
FROM (SELECT r.*,
             r.first_of_partition
             OR r.id_gap NOT BETWEEN -2147483648 AND 2147483647
             OR r.ingested_at <> r.prev_at
             OR (r.kafka_offset IS NULL) <> r.prev_no_offset
             OR r.row_gap > 32767
             OR (r.offset_gap IS NOT NULL AND r.offset_gap NOT BETWEEN -32768 AND 32767)
             AS starts
      FROM old_refs r) o;

CREATE TEMP TABLE old_shared ON COMMIT DROP AS
SELECT file_id, kafka_partition, block_no,
       CASE WHEN count(observed) * 2 > count(*)
            THEN mode() WITHIN GROUP (ORDER BY observed) END AS observed
FROM old_blocks GROUP BY file_id, kafka_partition, block_no;

INSERT INTO raw.file_row_blocks (first_id, file_id, first_row_no, last_row_no, row_count,
                                 kafka_partition, first_offset, ingested_at, row_gaps,
                                 offset_gaps, lots, digests, id_gaps, observed)
SELECT min(b.id) FILTER (WHERE b.starts), b.file_id, min(b.row_no), max(b.row_no), count(*), min(b.kafka_partition),
       min(b.kafka_offset) FILTER (WHERE b.starts), min(b.ingested_at),
       array_agg(CASE WHEN b.starts THEN 0 ELSE b.row_gap END::smallint ORDER BY b.row_no),
       CASE WHEN bool_or(b.kafka_offset IS NOT NULL) THEN
           array_agg(CASE WHEN b.starts THEN 0 ELSE b.offset_gap END::smallint ORDER BY b.row_no)
       END,
       array_agg(raw.lot_as_int(b.lot_external_id) ORDER BY b.row_no),
       array_agg(encode(b.digest, 'hex')::uuid ORDER BY b.row_no),
       array_agg(CASE WHEN b.starts THEN 0 ELSE b.id_gap END::integer ORDER BY b.row_no),
       s.observed
FROM old_blocks b
JOIN old_shared s ON s.file_id = b.file_id AND s.block_no = b.block_no
                 AND s.kafka_partition IS NOT DISTINCT FROM b.kafka_partition
GROUP BY b.file_id, b.kafka_partition, b.block_no, s.observed;

INSERT INTO raw.file_row_notes (file_id, row_no, kind, lot_external_id, parse_error, observed)
SELECT b.file_id, b.row_no, b.kind, b.lot_external_id, b.parse_error, b.observed
FROM old_blocks b
JOIN old_shared s ON s.file_id = b.file_id AND s.block_no = b.block_no
                 AND s.kafka_partition IS NOT DISTINCT FROM b.kafka_partition
WHERE b.kind <> 'row' OR b.parse_error IS NOT NULL OR b.observed IS DISTINCT FROM s.observed
   OR (b.lot_external_id IS NOT NULL AND raw.lot_as_int(b.lot_external_id) IS NULL);

SELECT setval('raw.file_row_blocks_first_id_seq',
              GREATEST((SELECT max(id) FROM raw.file_rows_0030), 1));

-- ---- the views ---------------------------------------------------------------------------------
-- One row per physical row, as the former table had them. A row's number and offset are its
-- block's first plus the running sum of the gaps; a note, when there is one, says the rest.
CREATE VIEW raw.file_rows AS
SELECT b.first_id + COALESCE(u.id_step, u.k - 1) AS id, b.file_id, u.row_no, COALESCE(n.kind, 'row') AS kind,
       CASE WHEN n.file_id IS NULL THEN u.lot::text ELSE n.lot_external_id END
           AS lot_external_id,
       uuid_send(u.digest) AS digest, n.parse_error, b.kafka_partition, u.kafka_offset,
       b.ingested_at, CASE WHEN n.file_id IS NULL THEN b.observed ELSE n.observed END AS observed,
       b.first_row_no AS block_first_row_no, b.last_row_no AS block_last_row_no
FROM raw.file_row_blocks b
CROSS JOIN LATERAL (
    SELECT x.k, (b.first_row_no + sum(x.row_gap) OVER w)::integer AS row_no,
           b.first_offset + sum(x.offset_gap) OVER w AS kafka_offset, x.lot, x.digest,
           sum(x.id_gap) OVER w AS id_step
    FROM unnest(b.row_gaps, b.offset_gaps, b.lots, b.digests, b.id_gaps)
         WITH ORDINALITY AS x(row_gap, offset_gap, lot, digest, id_gap, k)
    WINDOW w AS (ORDER BY x.k)
) u
LEFT JOIN raw.file_row_notes n ON n.file_id = b.file_id AND n.row_no = u.row_no;

DO $$
DECLARE
    lost bigint;
    added bigint;
BEGIN
    SELECT count(*) INTO lost FROM (
        SELECT id, file_id, row_no, kind, lot_external_id, digest, parse_error,
               kafka_partition, kafka_offset, ingested_at, observed FROM raw.file_rows_0030
        EXCEPT ALL
        SELECT id, file_id, row_no, kind, lot_external_id, digest, parse_error,
               kafka_partition, kafka_offset, ingested_at, observed FROM raw.file_rows) x;
    SELECT (SELECT count(*) FROM raw.file_rows) - (SELECT count(*) FROM raw.file_rows_0030)
      INTO added;
    IF lost <> 0 OR added <> 0 THEN
        RAISE EXCEPTION '0024: % reference(s) differ after the move, % more; nothing was changed',
            lost, added;
    END IF;
END
$$;

DROP TABLE raw.file_rows_0030;

-- The 0016 and 0017 views, unchanged, over the view.
CREATE VIEW raw.v_rows AS
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

CREATE VIEW raw.rows AS
SELECT id, file_id, row_no,
       CASE WHEN strpos(payload::text, '\u0000') = 0 THEN payload::jsonb END AS payload_jsonb,
       payload, kind, lot_external_id, parse_error, kafka_partition, kafka_offset, ingested_at,
       digest, observed
FROM raw.v_rows;

CREATE VIEW audit.v_ingest_count AS
SELECT f.file_id,
       f.path,
       f.sha256,
       f.rows_published,
       f.malformed_rows                   AS malformed_published,
       r.rows_ingested,
       r.rows_ok,
       r.rows_malformed,
       e.parse_errors,
       r.lots_touched,
       run.status                         AS run_status,
       run.rows_expected,
       run.rows_processed,
       run.started_at                     AS run_started_at,
       run.completed_at                   AS run_completed_at,
       f.ingested_at
FROM raw.csv_files f
CROSS JOIN LATERAL (
    SELECT count(*)                                                    AS rows_ingested,
           count(*) FILTER (WHERE rw.kind = 'row')                     AS rows_ok,
           count(*) FILTER (WHERE rw.kind = 'malformed')               AS rows_malformed,
           count(DISTINCT rw.lot_external_id) FILTER (WHERE rw.kind = 'row') AS lots_touched
    FROM raw.file_rows rw
    WHERE rw.file_id = f.file_id
) r
CROSS JOIN LATERAL (
    SELECT count(*) AS parse_errors FROM audit.parse_errors pe WHERE pe.file_id = f.file_id
) e
LEFT JOIN audit.etl_runs run ON run.file_id = f.file_id;

CREATE VIEW audit.v_unknown_rate AS
SELECT r.file_id,
       date_trunc('hour', COALESCE(c.source_updated_at, r.ingested_at), 'UTC') AS window_start_utc,
       count(*)                                                       AS rows,
       sum(c.fields_total)                                            AS fields_total,
       sum(c.fields_unknown)                                          AS fields_unknown,
       sum(c.fields_unknown)::numeric / nullif(sum(c.fields_total), 0) AS unknown_rate
FROM raw.file_rows r
JOIN raw.contents c ON c.digest = r.digest
WHERE r.kind = 'row' AND c.fields_total IS NOT NULL
GROUP BY 1, 2;

-- ---- privileges: write-once as before (0017) -----------------------------------------------
GRANT ALL ON TABLE raw.file_row_blocks, raw.file_row_notes, raw.file_rows, raw.v_rows, raw.rows,
    audit.v_ingest_count, audit.v_unknown_rate TO admin;
GRANT ALL ON SEQUENCE raw.file_row_blocks_first_id_seq TO admin;
REVOKE ALL ON TABLE raw.file_row_blocks, raw.file_row_notes FROM etl_rw;
GRANT SELECT, INSERT ON TABLE raw.file_row_blocks, raw.file_row_notes TO etl_rw;
-- A physical row refused before and applied by a later publication becomes a row.
GRANT UPDATE (kind, parse_error) ON TABLE raw.file_row_notes TO etl_rw;
GRANT USAGE ON SEQUENCE raw.file_row_blocks_first_id_seq TO etl_rw;
GRANT SELECT ON TABLE raw.file_rows, raw.v_rows, raw.rows, audit.v_ingest_count,
    audit.v_unknown_rate TO etl_rw;
GRANT EXECUTE ON FUNCTION raw.lot_as_int(text) TO admin, etl_rw;
