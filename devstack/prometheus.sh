# Optional Prometheus (up --with-prometheus or VINOPS_WITH_PROMETHEUS=1) and, beside it, the
# PostgreSQL exporter (Debian's prometheus-postgres-exporter) with the dashboard's queries
# (prometheus/postgres-exporter/queries.yml). Sourced by stack.sh.

PROM_DIR="$STATE/prometheus"
PROM_PATTERN="--storage.tsdb.path=$PROM_DIR/data"

prom_running() { pid_alive "$STATE/prometheus.pid" "$PROM_PATTERN"; }

prom_answers() { curl -fsS -m 2 "$PROM_URL/-/ready" >/dev/null 2>&1; }

prom_up() {
    local bin config="$PROM_DIR/prometheus.yml"
    bin="$(command -v prometheus || true)"
    [[ -n "$bin" ]] || die "prometheus not found: install it (apt-get install -y prometheus) or drop --with-prometheus"
    pg_exporter_up
    if prom_running && prom_answers; then
        log "prometheus: already running at $PROM_URL"
        return 0
    fi
    stop_pid "$STATE/prometheus.pid" "$PROM_PATTERN" 15  # not prom_stop: the exporter stays
    port_free "$PROM_PORT" prometheus VINOPS_DEVSTACK_PROMETHEUS_PORT
    mkdir -p "$PROM_DIR/data"
    # The repository's config with this stack's exporter port and absolute rule paths.
    sed -e "s|127.0.0.1:19187|127.0.0.1:$PG_EXPORTER_PORT|" \
        -e "s|- rules/\*.yml|- $ROOT/prometheus/rules/*.yml|" \
        "$ROOT/prometheus/prometheus.yml" >"$config"
    log "prometheus: starting at $PROM_URL (config $config)"
    setsid "$bin" --config.file="$config" "$PROM_PATTERN" \
        --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-lifecycle \
        >>"$STATE/prometheus.log" 2>&1 </dev/null 9>&- &
    echo $! >"$STATE/prometheus.pid"
    wait_until 30 prometheus prom_answers || die "prometheus did not become ready (see $STATE/prometheus.log)"
    log "prometheus: ready"
}

prom_stop() {
    if prom_running; then log "prometheus: stopping"; fi
    stop_pid "$STATE/prometheus.pid" "$PROM_PATTERN" 15
    pg_exporter_stop
}

PG_EXPORTER_PATTERN="--web.listen-address=127.0.0.1:$PG_EXPORTER_PORT"

pg_exporter_running() { pid_alive "$STATE/pg-exporter.pid" "$PG_EXPORTER_PATTERN"; }

pg_exporter_answers() { curl -fsS -m 2 "http://127.0.0.1:$PG_EXPORTER_PORT/metrics" >/dev/null 2>&1; }

pg_exporter_up() {
    local bin
    if pg_external; then
        log "postgres exporter: not started (PostgreSQL is external)"
        return 0
    fi
    bin="$(command -v prometheus-postgres-exporter || true)"
    [[ -n "$bin" ]] || die "prometheus-postgres-exporter not found: install it (apt-get install -y prometheus-postgres-exporter) or drop --with-prometheus"
    if pg_exporter_running && pg_exporter_answers; then
        log "postgres exporter: already running at 127.0.0.1:$PG_EXPORTER_PORT"
        return 0
    fi
    pg_exporter_stop
    port_free "$PG_EXPORTER_PORT" "postgres exporter" VINOPS_DEVSTACK_PG_EXPORTER_PORT
    load_secrets
    # The superuser reads every statement's text and the control file (checkpoints); its
    # password goes in a file, never on a command line or in the environment's DSN.
    install -m 600 /dev/null "$STATE/pg-exporter.pass"
    printf '%s' "$PG_SUPERUSER_PASSWORD" >"$STATE/pg-exporter.pass"
    log "postgres exporter: starting at 127.0.0.1:$PG_EXPORTER_PORT"
    DATA_SOURCE_URI="$PG_HOST:$PG_PORT/vinops?sslmode=disable" DATA_SOURCE_USER=postgres \
        DATA_SOURCE_PASS_FILE="$STATE/pg-exporter.pass" \
        setsid "$bin" "$PG_EXPORTER_PATTERN" \
        --extend.query-path="$ROOT/prometheus/postgres-exporter/queries.yml" \
        --no-collector.bgwriter \
        >>"$STATE/pg-exporter.log" 2>&1 </dev/null 9>&- &
    echo $! >"$STATE/pg-exporter.pid"
    wait_until 30 "postgres exporter" pg_exporter_answers || die "postgres exporter did not answer (see $STATE/pg-exporter.log)"
    log "postgres exporter: ready"
}

pg_exporter_stop() {
    if pg_exporter_running; then log "postgres exporter: stopping"; fi
    stop_pid "$STATE/pg-exporter.pid" "$PG_EXPORTER_PATTERN" 15
}
