#!/usr/bin/env bash
# Benchmarks against the local Kafka and PostgreSQL (started with devstack if not up).
#   bench/run.sh            full run (200,000 rows, ~10 minutes on 2 cores)
#   bench/run.sh --quick    CI size (~20,000 rows, < 3 minutes); fails only on a crash
#                           or a wrong row count, never on timing
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${VINOPS_KAFKA_BOOTSTRAP:-}" || -z "${VINOPS_PG_ADMIN_DSN:-}" ]]; then
  # Idempotent: reuses running services, starts missing ones, (re)writes .devstack/env.
  bash devstack/stack.sh up >&2
  # shellcheck disable=SC1091
  . .devstack/env
fi
exec .venv/bin/python -m bench.run "$@"
