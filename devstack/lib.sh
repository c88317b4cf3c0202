# Shared helpers for devstack/stack.sh (sourced, not executed).

# Below Linux's ephemeral range (32768-60999): a port in it can be taken as the source port
# of an outgoing connection while a service restarts, and the restart then fails to bind.
KAFKA_PORT="${VINOPS_DEVSTACK_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${VINOPS_DEVSTACK_KAFKA_CONTROLLER_PORT:-19093}"
PG_PORT="${VINOPS_DEVSTACK_PG_PORT:-15432}"
PROM_PORT="${VINOPS_DEVSTACK_PROMETHEUS_PORT:-19090}"
# prometheus/prometheus.yml scrapes the exporter here; another port is written into the
# stack's own copy of that config.
PG_EXPORTER_PORT="${VINOPS_DEVSTACK_PG_EXPORTER_PORT:-19187}"
# Next to the plain listener, so a second stack's ports never collide with the first one's.
KAFKA_SASL_PORT="${VINOPS_DEVSTACK_KAFKA_SASL_PORT:-$((KAFKA_PORT + 2))}"
KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
KAFKA_SASL_BOOTSTRAP="127.0.0.1:$KAFKA_SASL_PORT"
KAFKA_SASL_USER=vinops
PG_HOST=127.0.0.1
PROM_URL="http://127.0.0.1:$PROM_PORT"

log() { printf '%s\n' "$*"; }
die() { printf 'devstack: %s\n' "$*" >&2; exit 1; }

# One stack operation at a time: helpers may call `make up` concurrently.
take_lock() {
    exec 9>"$STATE/.lock"
    flock -w 300 9 || die "another devstack operation holds $STATE/.lock"
}

# pid_alive FILE PATTERN: the pid in FILE runs and its command line contains PATTERN
# (guards against a recycled pid or another stack's process).
pid_alive() {
    local file="$1" pattern="$2" pid
    [[ -f "$file" ]] || return 1
    pid="$(cat "$file")"
    [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -F -- "$pattern" >/dev/null
}

# alive PID: the process exists and is not a zombie waiting for a parent that may never reap it.
alive() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# stop_pid FILE PATTERN SECONDS: SIGTERM, wait, then SIGKILL; never leaves the process behind.
stop_pid() {
    local file="$1" pattern="$2" secs="$3" pid i
    if pid_alive "$file" "$pattern"; then
        pid="$(cat "$file")"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < secs * 10; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
        if alive "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
            while alive "$pid"; do sleep 0.1; done
        fi
    fi
    rm -f "$file"
}

# wait_until SECONDS WHAT CMD...: poll CMD every 0.25 s.
wait_until() {
    local secs="$1" what="$2" i
    shift 2
    for ((i = 0; i < secs * 4; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.25
    done
    return 1
}

# port_free PORT NAME ENVVAR: fail early and clearly when something else listens there.
port_free() {
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
        die "port $1 ($2) is taken by another process: stop it or set $3 (and VINOPS_DEVSTACK_DIR) for a second stack"
    fi
}

random_secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Passwords are created once and kept in $STATE/secrets (mode 600).
load_secrets() {
    local f="$STATE/secrets"
    if [[ ! -f "$f" ]]; then
        (
            umask 077
            {
                echo "PG_SUPERUSER_PASSWORD=$(random_secret)"
                echo "PG_ADMIN_PASSWORD=$(random_secret)"
                echo "PG_ETL_PASSWORD=$(random_secret)"
            } >"$f.tmp"
            mv "$f.tmp" "$f"
        )
    fi
    chmod 600 "$f"
    # A secrets file from before the SASL listener lacks its password: add it once.
    grep -q '^KAFKA_SASL_PASSWORD=' "$f" || echo "KAFKA_SASL_PASSWORD=$(random_secret)" >>"$f"
    # shellcheck disable=SC1090
    . "$f"
}

kafka_external() {
    [[ -n "${VINOPS_KAFKA_BOOTSTRAP:-}" && "$VINOPS_KAFKA_BOOTSTRAP" != "$KAFKA_BOOTSTRAP" ]]
}

pg_external() {
    [[ -n "${VINOPS_PG_DSN:-}" && "$VINOPS_PG_DSN" != *"@$PG_HOST:$PG_PORT/"* ]]
}

write_env() {
    local tmp="$STATE/env.tmp" kafka pg admin su=""
    kafka_external || load_secrets
    if kafka_external; then kafka="$VINOPS_KAFKA_BOOTSTRAP"; else kafka="$KAFKA_BOOTSTRAP"; fi
    if pg_external; then
        pg="$VINOPS_PG_DSN"
        admin="${VINOPS_PG_ADMIN_DSN:-}"
        su="${VINOPS_PG_SUPERUSER_DSN:-}"
    else
        load_secrets
        pg="postgresql://vinops_etl:$PG_ETL_PASSWORD@$PG_HOST:$PG_PORT/vinops"
        admin="postgresql://vinops_admin:$PG_ADMIN_PASSWORD@$PG_HOST:$PG_PORT/vinops"
        su="postgresql://postgres:$PG_SUPERUSER_PASSWORD@$PG_HOST:$PG_PORT/postgres"
    fi
    (
        umask 077
        {
            echo "# written by devstack/stack.sh up; contains passwords - do not commit or print"
            echo "export VINOPS_DEVSTACK_DIR=$STATE"
            echo "export VINOPS_KAFKA_BOOTSTRAP=$kafka"
            echo "export VINOPS_PG_DSN=$pg"
            [[ -n "$admin" ]] && echo "export VINOPS_PG_ADMIN_DSN=$admin"
            [[ -n "$su" ]] && echo "export VINOPS_PG_SUPERUSER_DSN=$su"
            if ! kafka_external; then
                # The SASL_SSL listener (SCRAM-SHA-512), for the TLS/SASL tests and a try.
                echo "export VINOPS_DEVSTACK_KAFKA_SASL_BOOTSTRAP=$KAFKA_SASL_BOOTSTRAP"
                echo "export VINOPS_DEVSTACK_KAFKA_SASL_USERNAME=$KAFKA_SASL_USER"
                echo "export VINOPS_DEVSTACK_KAFKA_SASL_PASSWORD=$KAFKA_SASL_PASSWORD"
            fi
            # The CA of the stack's certificates (PostgreSQL and the SASL_SSL listener).
            if [[ -s "$TLS_CA" ]]; then echo "export VINOPS_DEVSTACK_CA_FILE=$TLS_CA"; fi
            if prom_running; then echo "export VINOPS_PROMETHEUS_URL=$PROM_URL"; fi
        } >"$tmp"
    )
    mv "$tmp" "$STATE/env"
}

mask_dsns() { sed -e 's#://\([^:/@]*\):[^@]*@#://\1:***@#' -e 's#_PASSWORD=.*#_PASSWORD=***#'; }

print_settings() {
    log "devstack ready (settings in $STATE/env; load them with: . $STATE/env)"
    # Passwords stay in the env file; show everything else.
    grep -v '^#' "$STATE/env" | mask_dsns | sed -e 's/^export /  /'
}
