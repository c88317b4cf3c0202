#!/usr/bin/env bash
# The secrets docker-compose.yml mounts (compose `secrets:`): random URL-safe passwords and
# the two PostgreSQL DSNs built from them, in ./secrets/ (git-ignored). Existing files are
# kept, so running it again changes nothing; delete ./secrets/ (and the pg-data volume, which
# holds the logins) to start over. Nothing is printed but the file names.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=secrets
mkdir -p "$dir"
chmod 700 "$dir"
# Readable inside the containers, whose users (postgres 999, grafana 472, vinops 10001) are
# not the host's: a bind-mounted secret keeps the host file's mode. The directory is 700.
umask 022

random() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true; }

write() {  # write NAME VALUE: only when absent
    local path="$dir/$1"
    if [[ -s "$path" ]]; then
        echo "kept    $path"
    else
        printf '%s' "$2" >"$path"
        echo "written $path"
    fi
}

for name in postgres_password vinops_admin_password vinops_etl_password grafana_admin_password; do
    write "$name" "$(random)"
done
write pg_admin_dsn "postgresql://vinops_admin:$(<"$dir/vinops_admin_password")@postgres:5432/vinops"
write pg_etl_dsn "postgresql://vinops_etl:$(<"$dir/vinops_etl_password")@postgres:5432/vinops"
