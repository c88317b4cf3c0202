# Optional Prometheus (up --with-prometheus or VINOPS_WITH_PROMETHEUS=1). Sourced by stack.sh.

PROM_DIR="$STATE/prometheus"
PROM_PATTERN="--storage.tsdb.path=$PROM_DIR/data"

prom_running() { pid_alive "$STATE/prometheus.pid" "$PROM_PATTERN"; }

prom_answers() { curl -fsS -m 2 "$PROM_URL/-/ready" >/dev/null 2>&1; }

prom_up() {
    local bin config="$ROOT/prometheus/prometheus.yml"
    bin="$(command -v prometheus || true)"
    [[ -n "$bin" ]] || die "prometheus not found: install it (apt-get install -y prometheus) or drop --with-prometheus"
    if prom_running && prom_answers; then
        log "prometheus: already running at $PROM_URL"
        return 0
    fi
    prom_stop
    port_free "$PROM_PORT" prometheus VINOPS_DEVSTACK_PROMETHEUS_PORT
    mkdir -p "$PROM_DIR/data"
    if [[ ! -f "$config" ]]; then
        config="$PROM_DIR/prometheus.yml"
        printf 'global:\n  scrape_interval: 5s\nscrape_configs: []\n' >"$config"
    fi
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
}
