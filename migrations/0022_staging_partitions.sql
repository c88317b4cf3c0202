-- 0022_staging_partitions: staging.copart_raw partitioned by day on ingested_at, a rolling
--   window kept by dropping whole partitions (never by deleting rows).
-- Purpose: staging only grew (nothing deleted from it). The table becomes a native RANGE
--   partitioned table, one partition per UTC day of ingested_at (the time the row was staged:
--   every insert lands in today's partition, made days ahead; a row's source time can be
--   years old and would land in a dropped day). A default partition catches a row that
--   finds no day made (maintenance stopped for longer than the days made ahead), so no
--   insert ever fails for want of a partition.
--   Partitions are made and dropped by staging.maintain_copart_raw(retention, premake, wait),
--   SECURITY DEFINER owned by the migrating login (the table's owner): etl_rw may EXECUTE it
--   and owns nothing. With the pg_partman extension in the database (a superuser created it:
--   it is not a trusted extension), pg_partman keeps the set (create_parent here,
--   run_maintenance there); without it the function does the same work itself. The children
--   carry pg_partman's names either way (copart_raw_pYYYY_MM_DD, copart_raw_default).
--   Every existing row is kept, whatever its age: a partition is made for each day that holds
--   one; rows older than the window go only when the retention drops their day.
--   Keys: the partition key must be in every unique key, so PRIMARY KEY (id, ingested_at) and
--   UNIQUE (file_id, row_no, ingested_at); the sink keeps one staging row per physical row by
--   probing (file_id, row_no) for rows whose content was stored before (consumer/store/sql/
--   contents_and_staging.sql). The window index of 0013 goes: retention no longer reads it.
--   etl_rw loses DELETE on staging.copart_raw (nothing deletes rows any more).
-- Rollback: CREATE TABLE staging.copart_raw_flat (LIKE staging.copart_raw INCLUDING DEFAULTS);
--   INSERT INTO staging.copart_raw_flat SELECT * FROM staging.copart_raw; DROP FUNCTION
--   staging.maintain_copart_raw, staging.copart_raw_day; SELECT partman.undo_partition(...) or
--   DROP TABLE staging.copart_raw; rename copart_raw_flat back, re-add the 0008/0013 keys and
--   index and the 0011 grants (DELETE included).

SET LOCAL TimeZone = 'UTC';

-- 1. The old table out of the way; its sequence carries on for the new one.
ALTER SEQUENCE staging.copart_raw_id_seq OWNED BY NONE;
ALTER TABLE staging.copart_raw RENAME TO copart_raw_unpartitioned;
ALTER TABLE staging.copart_raw_unpartitioned
    RENAME CONSTRAINT copart_raw_pkey TO copart_raw_unpartitioned_pkey;
ALTER TABLE staging.copart_raw_unpartitioned
    RENAME CONSTRAINT copart_raw_file_id_row_no_key TO copart_raw_unpartitioned_file_row_key;
ALTER TABLE staging.copart_raw_unpartitioned
    RENAME CONSTRAINT copart_raw_file_id_fkey TO copart_raw_unpartitioned_file_id_fkey;

-- 2. The partitioned table: the same columns in the same order.
CREATE TABLE staging.copart_raw (
    id                bigint NOT NULL DEFAULT nextval('staging.copart_raw_id_seq'::regclass),
    file_id           uuid NOT NULL,
    row_no            integer NOT NULL,
    window_start_utc  timestamptz NOT NULL,
    lot_external_id   text NOT NULL,
    vin_raw           text,
    vin_normalized    text,
    source_updated_at timestamptz,
    fields_total      smallint NOT NULL,
    fields_unknown    smallint NOT NULL,
    ingested_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT copart_raw_pkey PRIMARY KEY (id, ingested_at),
    CONSTRAINT copart_raw_file_id_row_no_key UNIQUE (file_id, row_no, ingested_at),
    CONSTRAINT copart_raw_file_id_fkey FOREIGN KEY (file_id) REFERENCES raw.csv_files (file_id)
) PARTITION BY RANGE (ingested_at);
ALTER SEQUENCE staging.copart_raw_id_seq OWNED BY staging.copart_raw.id;

-- 3. One day's partition, made when missing (pg_partman's name and bounds for a daily set).
--    Rows of that day already in the default partition (staged while no day was made) move
--    into it: PostgreSQL refuses a new partition whose rows the default partition holds.
CREATE FUNCTION staging.copart_raw_day(p_day date) RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    v_name text := 'copart_raw_p' || to_char(p_day, 'YYYY_MM_DD');
    v_from timestamptz := p_day::timestamptz;
    v_to timestamptz := (p_day + 1)::timestamptz;
    v_strays boolean := false;
BEGIN
    IF to_regclass(format('staging.%I', v_name)) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    IF to_regclass('staging.copart_raw_default') IS NOT NULL THEN
        SELECT EXISTS (SELECT 1 FROM staging.copart_raw_default
                       WHERE ingested_at >= v_from AND ingested_at < v_to) INTO v_strays;
    END IF;
    IF NOT v_strays THEN
        EXECUTE format(
            'CREATE TABLE staging.%I PARTITION OF staging.copart_raw FOR VALUES FROM (%L) TO (%L)',
            v_name, v_from, v_to);
        RETURN v_name;
    END IF;
    EXECUTE format('CREATE TABLE staging.%I (LIKE staging.copart_raw INCLUDING DEFAULTS)', v_name);
    EXECUTE format(
        'WITH moved AS (DELETE FROM staging.copart_raw_default WHERE ingested_at >= %L '
        'AND ingested_at < %L RETURNING *) INSERT INTO staging.%I SELECT * FROM moved',
        v_from, v_to, v_name);
    EXECUTE format(
        'ALTER TABLE staging.copart_raw ATTACH PARTITION staging.%I FOR VALUES FROM (%L) TO (%L)',
        v_name, v_from, v_to);
    RETURN v_name;
END
$$;
REVOKE ALL ON FUNCTION staging.copart_raw_day(date) FROM PUBLIC;

-- 4. The partitions: pg_partman's set when the extension is here, else our own; then a day
--    for every day the existing rows were staged on, and the next days.
DO $$
DECLARE
    v_partman text := (SELECT n.nspname FROM pg_extension e
                       JOIN pg_namespace n ON n.oid = e.extnamespace
                       WHERE e.extname = 'pg_partman');
    v_day date;
BEGIN
    IF v_partman IS NOT NULL THEN
        EXECUTE format(
            'SELECT %I.create_parent(p_parent_table => %L, p_control => %L, p_type => %L, '
            'p_interval => %L, p_premake => 4, p_jobmon => false)',
            v_partman, 'staging.copart_raw', 'ingested_at', 'native', 'daily');
        -- Days made ahead of now even when nothing arrives (staging may be idle for days);
        -- the retention is the consumer's setting, written by each maintenance run.
        EXECUTE format(
            'UPDATE %I.part_config SET infinite_time_partitions = true, retention = %L, '
            'retention_keep_table = false, retention_keep_index = false '
            'WHERE parent_table = %L',
            v_partman, '30 days', 'staging.copart_raw');
    ELSE
        CREATE TABLE staging.copart_raw_default PARTITION OF staging.copart_raw DEFAULT;
    END IF;
    FOR v_day IN
        SELECT DISTINCT (ingested_at AT TIME ZONE 'UTC')::date FROM staging.copart_raw_unpartitioned
        UNION
        SELECT (now() AT TIME ZONE 'UTC')::date + d FROM generate_series(0, 4) AS d
    LOOP
        PERFORM staging.copart_raw_day(v_day);
    END LOOP;
END
$$;

-- 5. Every existing row, then the old table.
INSERT INTO staging.copart_raw SELECT * FROM staging.copart_raw_unpartitioned;
DROP TABLE staging.copart_raw_unpartitioned;

-- 6. Maintenance: the days ahead made, the days past the window dropped, one process at a
--    time (a transaction-scoped advisory lock: p_wait false returns 'busy' at once when
--    another holds it, true waits for it). Returns what it did, one row per partition.
--    A day is dropped when its end is more than p_retention_days before now (pg_partman's
--    rule): no row staged within the window is ever dropped.
CREATE FUNCTION staging.maintain_copart_raw(
    p_retention_days integer, p_premake_days integer DEFAULT 4, p_wait boolean DEFAULT false
) RETURNS TABLE (action text, partition_name text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC'
-- Making or dropping a day locks staging.copart_raw itself (ACCESS EXCLUSIVE): the batches of
-- every consumer queue behind a maintenance that waits for a long transaction. Give up after
-- a few seconds instead; the next run tries again.
SET lock_timeout = '5s'
AS $$
DECLARE
    v_lock constant bigint := 7335014026;  -- 'staging maintenance' (any constant of ours)
    v_partman text := (SELECT n.nspname FROM pg_extension e
                       JOIN pg_namespace n ON n.oid = e.extnamespace
                       WHERE e.extname = 'pg_partman');
    v_managed boolean := false;
    v_before text[];
    v_after text[];
    v_name text;
    v_upper timestamptz;
BEGIN
    IF p_retention_days IS NULL OR p_retention_days < 1 OR p_premake_days IS NULL
       OR p_premake_days < 1 THEN
        RAISE EXCEPTION 'retention and premake must be >= 1 day, got % and %',
            p_retention_days, p_premake_days USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_wait THEN
        PERFORM pg_advisory_xact_lock(v_lock);
    ELSIF NOT pg_try_advisory_xact_lock(v_lock) THEN
        action := 'busy';
        RETURN NEXT;
        RETURN;
    END IF;
    IF v_partman IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.part_config WHERE parent_table = %L)',
                       v_partman, 'staging.copart_raw') INTO v_managed;
    END IF;
    -- Rows the default partition caught (no day was made for them) go to their own day
    -- first, whoever keeps the set: the retention below then treats them like any other.
    IF to_regclass('staging.copart_raw_default') IS NOT NULL THEN
        FOR v_name IN
            SELECT staging.copart_raw_day(d) FROM (
                SELECT DISTINCT (ingested_at AT TIME ZONE 'UTC')::date AS d
                FROM staging.copart_raw_default ORDER BY 1) AS days
        LOOP
            CONTINUE WHEN v_name IS NULL;
            action := 'created'; partition_name := v_name; RETURN NEXT;
        END LOOP;
    END IF;
    IF v_managed THEN
        SELECT array_agg(c.relname::text) INTO v_before FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'staging.copart_raw'::regclass;
        EXECUTE format(
            'UPDATE %I.part_config SET retention = %L, premake = %s, '
            'infinite_time_partitions = true, retention_keep_table = false '
            'WHERE parent_table = %L',
            v_partman, p_retention_days || ' days', p_premake_days, 'staging.copart_raw');
        EXECUTE format('SELECT %I.run_maintenance(p_parent_table => %L, p_jobmon => false)',
                       v_partman, 'staging.copart_raw');
        SELECT array_agg(c.relname::text) INTO v_after FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'staging.copart_raw'::regclass;
        FOR v_name IN SELECT unnest(v_after) EXCEPT SELECT unnest(v_before) ORDER BY 1 LOOP
            action := 'created'; partition_name := v_name; RETURN NEXT;
        END LOOP;
        FOR v_name IN SELECT unnest(v_before) EXCEPT SELECT unnest(v_after) ORDER BY 1 LOOP
            action := 'dropped'; partition_name := v_name; RETURN NEXT;
        END LOOP;
        RETURN;
    END IF;
    -- Our own: the default partition, today and the days ahead, then the retention.
    IF to_regclass('staging.copart_raw_default') IS NULL THEN
        CREATE TABLE staging.copart_raw_default PARTITION OF staging.copart_raw DEFAULT;
        action := 'created'; partition_name := 'copart_raw_default'; RETURN NEXT;
    END IF;
    FOR v_name IN
        SELECT staging.copart_raw_day((now() AT TIME ZONE 'UTC')::date + d)
        FROM generate_series(0, p_premake_days) AS d
    LOOP
        CONTINUE WHEN v_name IS NULL;
        action := 'created'; partition_name := v_name; RETURN NEXT;
    END LOOP;
    FOR v_name, v_upper IN
        SELECT c.relname::text,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'staging.copart_raw'::regclass
        ORDER BY 2
    LOOP
        CONTINUE WHEN v_upper IS NULL;  -- the default partition
        EXIT WHEN v_upper >= now() - make_interval(days => p_retention_days);
        EXECUTE format('DROP TABLE staging.%I', v_name);
        action := 'dropped'; partition_name := v_name; RETURN NEXT;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION staging.maintain_copart_raw(integer, integer, boolean) FROM PUBLIC;

-- 7. Privileges: through the parent only (a query on the parent checks the parent's grants).
GRANT ALL ON TABLE staging.copart_raw TO admin;
GRANT SELECT, INSERT, UPDATE ON TABLE staging.copart_raw TO etl_rw;
GRANT EXECUTE ON FUNCTION staging.maintain_copart_raw(integer, integer, boolean)
    TO etl_rw, admin;
GRANT EXECUTE ON FUNCTION staging.copart_raw_day(date) TO admin;
