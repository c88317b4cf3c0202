-- The cluster bootstrap: the one file every new cluster runs before `consumer migrate`, as
-- superuser via psql, idempotent. Run by devstack/stack.sh (local stack), by
-- deploy/postgres-init.sh in the postgres container of docker-compose.yml, and by the tests'
-- testcontainers fallback (tests/conftest.py mounts the same two files the same way).
-- psql variables (set on stdin by those callers, never on a command line): su_pw,
-- admin_pw, etl_pw.
-- It creates what is cluster-wide or needs a superuser: group roles, logins, the database
-- and the extensions. Migrations own every GRANT on objects. Migration 0011 also creates the
-- group roles and 0001 the extensions (both IF NOT EXISTS, no-ops after this file); applied
-- migrations never change, so they stay.
\set QUIET on
SET client_min_messages = warning;

ALTER ROLE postgres PASSWORD :'su_pw';

-- Group roles (NOLOGIN). Migrations create them too (IF NOT EXISTS style) and grant on them.
SELECT format('CREATE ROLE %I NOLOGIN', r)
FROM unnest(ARRAY['admin', 'etl_rw', 'app_ro']) AS r
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
\gexec

-- Owner login: runs migrations, owns db vinops; deliberately not a superuser.
SELECT 'CREATE ROLE vinops_admin LOGIN'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vinops_admin')
\gexec
ALTER ROLE vinops_admin LOGIN NOSUPERUSER CREATEROLE CREATEDB PASSWORD :'admin_pw';
GRANT admin TO vinops_admin;

-- Consumer login: only what etl_rw is granted.
SELECT 'CREATE ROLE vinops_etl LOGIN'
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vinops_etl')
\gexec
ALTER ROLE vinops_etl LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD :'etl_pw';
GRANT etl_rw TO vinops_etl;

-- The extensions, in template1 only: every database created from it later (vinops below,
-- the test and bench databases) has them from the start. pg_stat_statements is not a trusted
-- extension: only a superuser may create it. A vinops database that existed before this file
-- first ran does not get them here; create them there by hand.
\connect template1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS citext;
-- pg_partman (Debian postgresql-NN-partman, installed by devstack/stack.sh and .ci/run) keeps
-- staging.copart_raw's daily partitions (migration 0022). Not a trusted extension either; where
-- a server lacks it the consumer's own maintenance does the same work. The owner login creates
-- and drops the partitions through it (as the owner of the table), so admin may use its schema.
SELECT 'CREATE SCHEMA IF NOT EXISTS partman'
WHERE EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman')
\gexec
SELECT 'CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman'
WHERE EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman')
\gexec
SELECT g FROM unnest(ARRAY[
    'GRANT ALL ON SCHEMA partman TO admin',
    'GRANT ALL ON ALL TABLES IN SCHEMA partman TO admin',
    'GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA partman TO admin',
    'GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA partman TO admin']) AS g
WHERE EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_partman')
\gexec

\connect postgres
SELECT 'CREATE DATABASE vinops OWNER vinops_admin TEMPLATE template1'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'vinops')
\gexec
ALTER DATABASE vinops OWNER TO vinops_admin;
