-- Idempotent cluster bootstrap for the devstack, run by stack.sh as superuser via psql.
-- psql variables (set by stack.sh, never on a command line): su_pw, admin_pw, etl_pw.
-- Migrations own every GRANT on objects; this file only creates roles, logins, the
-- database and the extensions that need a superuser.
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

-- template1 first: databases created later (vinops, test databases) inherit the extensions.
\connect template1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS citext;

\connect postgres
SELECT 'CREATE DATABASE vinops OWNER vinops_admin'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'vinops')
\gexec
ALTER DATABASE vinops OWNER TO vinops_admin;

\connect vinops
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS citext;
