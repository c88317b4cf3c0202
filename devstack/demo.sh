#!/usr/bin/env bash
# The demo: migrate, run the consumer, publish the bundled sample feeds, show what landed.
# Called by `make demo` after `make venv up`; the consumer keeps running (metrics stay
# scrapeable) until `make down`.
set -euo pipefail
cd "$(dirname "$0")/.."
. .devstack/env
bin=.venv/bin
state=.devstack
metrics_port=${VINOPS_METRICS_PORT:-9108}

echo "== migrate"
"$bin/consumer" migrate

if [[ -f $state/consumer.pid ]] && kill -0 "$(cat "$state/consumer.pid")" 2>/dev/null; then
  echo "== consumer already running (pid $(cat "$state/consumer.pid"))"
else
  echo "== consumer run (log: $state/consumer.log)"
  VINOPS_METRICS_PORT=$metrics_port nohup "$bin/consumer" run --log-format json \
    >"$state/consumer.log" 2>&1 &
  echo $! >"$state/consumer.pid"
fi

echo "== producer publish samples/*.csv"
"$bin/producer" publish samples/copart-sample.csv samples/copart-sample-camel.csv

echo "== waiting for every published row to be committed"
for _ in $(seq 1 120); do
  pending=$(psql "$VINOPS_PG_DSN" -Atc \
    "SELECT count(*) FROM audit.etl_runs WHERE status <> 'completed'" 2>/dev/null || echo 1)
  done_runs=$(psql "$VINOPS_PG_DSN" -Atc "SELECT count(*) FROM audit.etl_runs" 2>/dev/null || echo 0)
  if [[ $pending == 0 && $done_runs -ge 2 ]]; then break; fi
  sleep 1
done

echo "== what landed"
psql "$VINOPS_PG_DSN" -P pager=off -c "
  SELECT (SELECT count(*) FROM public.lots)            AS lots,
         (SELECT count(*) FROM public.vehicles)        AS vehicles,
         (SELECT count(*) FROM public.sale_events)     AS sale_events,
         (SELECT count(*) FROM public.images)          AS images,
         (SELECT count(*) FROM raw.file_rows)               AS raw_rows,
         (SELECT count(*) FROM audit.parse_errors)     AS parse_errors,
         (SELECT count(*) FROM audit.vin_conflicts)    AS vin_conflicts"
"$bin/consumer" status
echo
echo "metrics:  http://127.0.0.1:$metrics_port/metrics   (health: /healthz, /readyz)"
echo "stop everything with: make down"
