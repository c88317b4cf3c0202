#!/usr/bin/env bash
# Local service stack without Docker: Kafka (KRaft, one JVM), PostgreSQL 15, optional Prometheus.
#   devstack/stack.sh up [--with-prometheus] | down [--purge] | status | env
#                     restart-pg [fast|immediate] | restart-kafka | kill-kafka | stop-pg | stop-kafka
# State lives in <repo>/.devstack (override: VINOPS_DEVSTACK_DIR); `up` writes .devstack/env.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVSTACK="$ROOT/devstack"
STATE="${VINOPS_DEVSTACK_DIR:-$ROOT/.devstack}"
# shellcheck source=devstack/lib.sh
. "$DEVSTACK/lib.sh"
# shellcheck source=devstack/tls.sh
. "$DEVSTACK/tls.sh"
# shellcheck source=devstack/kafka.sh
. "$DEVSTACK/kafka.sh"
# shellcheck source=devstack/pg.sh
. "$DEVSTACK/pg.sh"
# shellcheck source=devstack/prometheus.sh
. "$DEVSTACK/prometheus.sh"

cmd_up() {
    local want_prom="${VINOPS_WITH_PROMETHEUS:-0}"
    [[ "${1:-}" == "--with-prometheus" ]] && want_prom=1
    if kafka_external; then
        log "kafka: using VINOPS_KAFKA_BOOTSTRAP=$VINOPS_KAFKA_BOOTSTRAP (not started)"
    else
        kafka_up
    fi
    if pg_external; then
        log "postgres: using VINOPS_PG_DSN from the environment (not started)"
    else
        pg_up
    fi
    if [[ "$want_prom" == 1 ]]; then prom_up; fi
    write_env
    print_settings
}

cmd_down() {
    # The demo's consumer (devstack/demo.sh) first: it drains into services still up.
    stop_pid "$STATE/consumer.pid" "consumer" 30
    prom_stop
    kafka_stop
    pg_stop
    if [[ "${1:-}" == "--purge" ]]; then
        rm -rf "$STATE"
        log "purged $STATE"
    fi
}

cmd_status() {
    local rc=0
    if kafka_running; then log "kafka:      running  pid $(cat "$STATE/kafka.pid")  $KAFKA_BOOTSTRAP"
    else log "kafka:      stopped"; rc=3; fi
    if pg_running; then log "postgres:   running  $PG_HOST:$PG_PORT  data $PG_DATA"
    else log "postgres:   stopped"; rc=3; fi
    if prom_running; then log "prometheus: running  $PROM_URL"
    else log "prometheus: stopped (optional)"; fi
    if pg_exporter_running; then log "pg exporter: running  http://127.0.0.1:$PG_EXPORTER_PORT/metrics"
    else log "pg exporter: stopped (optional)"; fi
    return "$rc"
}

# Raw export lines for `eval "$(devstack/stack.sh env)"`; masked when shown on a terminal.
cmd_env() {
    [[ -f "$STATE/env" ]] || die "no $STATE/env yet: run 'make up'"
    if [[ -t 1 ]]; then mask_dsns <"$STATE/env"; else cat "$STATE/env"; fi
}

main() {
    local cmd="${1:-}"
    shift || true
    case "$cmd" in
        up|down|restart-pg|restart-kafka|kill-kafka|stop-pg|stop-kafka)
            mkdir -p "$STATE"
            chmod 755 "$STATE"
            take_lock ;;
    esac
    case "$cmd" in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        status) cmd_status ;;
        env) cmd_env ;;
        restart-pg) pg_restart "${1:-fast}" ;;
        restart-kafka) kafka_stop; kafka_up ;;
        kill-kafka) kafka_kill ;;
        stop-pg) pg_stop ;;
        stop-kafka) kafka_stop ;;
        *) die "usage: $0 up [--with-prometheus] | down [--purge] | status | env | restart-pg [fast|immediate] | restart-kafka | kill-kafka | stop-pg | stop-kafka" ;;
    esac
}

main "$@"
