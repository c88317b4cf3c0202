-- 0011_roles: S2 role split - admin (DDL), etl_rw (the consumer), app_ro (the read API).
-- Purpose: group roles are NOLOGIN; logins (vinops_admin, vinops_etl) are created outside
--   migrations (devstack/bootstrap.sql) and only made members. Roles are cluster-wide, so
--   creation is idempotent and tolerates a concurrent migration of another database.
--   etl_rw may read/insert/update its tables, delete only where retention needs it, use
--   sequences, create TEMP tables (the sink COPYs into them), but never CREATE/ALTER/DROP.
--   app_ro reads public tables only (no raw/staging/audit/ingest).
--   Objects are owned by the login that runs the migrations (a member of admin); later
--   migrations GRANT explicitly, the default privileges below are only a safety net.
-- Rollback: REVOKE the grants below (REVOKE ALL ... FROM etl_rw, app_ro, admin) and
--   ALTER DEFAULT PRIVILEGES ... REVOKE; roles are shared by other databases: never drop
--   them here.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['admin', 'etl_rw', 'app_ro'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created meanwhile by a migration of another database
            END;
        END IF;
    END LOOP;
END
$$;

-- Database level: the sink needs TEMP; everyone needs CONNECT.
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO etl_rw', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO app_ro', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY, CREATE ON DATABASE %I TO admin', current_database());
END
$$;

CREATE SCHEMA IF NOT EXISTS ingest;

-- Nobody but the owner creates objects in public (PostgreSQL 15 default; explicit for 14-era
-- clusters and restored dumps).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

GRANT USAGE, CREATE ON SCHEMA public, raw, staging, audit, ingest TO admin;
GRANT USAGE ON SCHEMA public, raw, staging, audit, ingest TO etl_rw;
GRANT USAGE ON SCHEMA public TO app_ro;

-- Tables are listed, not "ALL TABLES IN SCHEMA": public also holds extension views
-- (pg_stat_statements) that we do not own.
GRANT ALL ON TABLE
    public.vehicles, public.lots, public.sale_events, public.images,
    raw.csv_files, raw.rows, staging.copart_raw,
    audit.vin_conflicts, audit.parse_errors, audit.etl_runs,
    audit.v_ingest_count, audit.v_unknown_rate, audit.v_parse_errors
TO admin;
GRANT ALL ON SEQUENCE
    public.lots_id_seq, public.sale_events_id_seq, public.images_id_seq,
    raw.rows_id_seq, staging.copart_raw_id_seq,
    audit.vin_conflicts_id_seq, audit.parse_errors_id_seq
TO admin;

GRANT SELECT, INSERT, UPDATE ON TABLE
    public.vehicles, public.lots, public.sale_events, public.images,
    raw.csv_files, raw.rows, staging.copart_raw,
    audit.vin_conflicts, audit.parse_errors, audit.etl_runs
TO etl_rw;
GRANT DELETE ON TABLE staging.copart_raw TO etl_rw;  -- rolling retention window
GRANT SELECT ON TABLE audit.v_ingest_count, audit.v_unknown_rate, audit.v_parse_errors TO etl_rw;
GRANT USAGE, SELECT ON SEQUENCE
    public.lots_id_seq, public.sale_events_id_seq, public.images_id_seq,
    raw.rows_id_seq, staging.copart_raw_id_seq,
    audit.vin_conflicts_id_seq, audit.parse_errors_id_seq
TO etl_rw;

GRANT SELECT ON TABLE public.vehicles, public.lots, public.sale_events, public.images TO app_ro;

GRANT EXECUTE ON FUNCTION
    public.normalize_vin(text), public.vin_check_digit(text), public.vin_check_digit_ok(text)
TO admin, etl_rw, app_ro;

-- The migration ledger (created by `consumer migrate` before 0001): readable, never writable,
-- by the consumer, so it can check the schema version. Absent when applied by hand with psql.
DO $$
BEGIN
    IF to_regclass('ingest.schema_migrations') IS NOT NULL THEN
        GRANT SELECT ON TABLE ingest.schema_migrations TO etl_rw;
        GRANT ALL ON TABLE ingest.schema_migrations TO admin;
    END IF;
END
$$;

-- Safety net for objects later created by the same migrating login.
ALTER DEFAULT PRIVILEGES IN SCHEMA public, raw, staging, audit, ingest
    GRANT ALL ON TABLES TO admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public, raw, staging, audit, ingest
    GRANT ALL ON SEQUENCES TO admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public, raw, staging, audit, ingest
    GRANT SELECT ON TABLES TO etl_rw;
ALTER DEFAULT PRIVILEGES IN SCHEMA public, raw, staging, audit, ingest
    GRANT USAGE, SELECT ON SEQUENCES TO etl_rw;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT ON TABLES TO app_ro;
