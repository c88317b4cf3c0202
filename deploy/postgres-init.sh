#!/usr/bin/env bash
# The cluster bootstrap's runner: roles, logins, database `vinops` and extensions, from
# devstack/bootstrap.sql. The postgres:17 container of docker-compose.yml runs it on its first
# start (mounted into /docker-entrypoint-initdb.d, once on an empty data directory), the
# tests' postgres container likewise (tests/conftest.py), and devstack/pg.sh on every
# `make up` (PGHOST/PGPORT set, VINOPS_BOOTSTRAP_SQL pointing at the repository's file).
# Passwords (each also as NAME_FILE, a file holding it: compose `secrets:`) reach psql as
# variables on stdin, never on a command line. Tables and grants come
# later from `consumer migrate` (the `migrate` service).
#
# The body runs in a subshell: the entrypoint sources non-executable scripts, and our
# shell options must not leak into it.
vinops_bootstrap() (
    set -euo pipefail
    # NAME_FILE names a file holding NAME (compose `secrets:`); setting both is an error.
    local name file
    for name in POSTGRES_PASSWORD VINOPS_ADMIN_PASSWORD VINOPS_ETL_PASSWORD; do
        file="${name}_FILE"
        if [[ -n "${!file:-}" ]]; then
            if [[ -n "${!name:-}" && "${!name}" != "$(<"${!file}")" ]]; then
                echo "postgres-init: set $name or $file, not both" >&2
                exit 1
            fi
            printf -v "$name" '%s' "$(<"${!file}")"
        fi
    done
    : "${POSTGRES_PASSWORD:?}" "${VINOPS_ADMIN_PASSWORD:?}" "${VINOPS_ETL_PASSWORD:?}"
    {
        printf '\\set su_pw %s\n\\set admin_pw %s\n\\set etl_pw %s\n' \
            "$POSTGRES_PASSWORD" "$VINOPS_ADMIN_PASSWORD" "$VINOPS_ETL_PASSWORD"
        cat "${VINOPS_BOOTSTRAP_SQL:-/vinops/bootstrap.sql}"
    } | psql -X -q -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" \
        --dbname postgres -f -
)

vinops_bootstrap
