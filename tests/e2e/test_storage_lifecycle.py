"""A real `consumer run` keeps staging's window and exports the database's size on its own
timers (short intervals here): an old staging day is dropped without any command, and
/metrics carries the bytes per schema and the runs."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from tests.e2e.harness import Harness, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def scrape(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
            return str(resp.read().decode())
    except OSError:
        return ""


def value(text: str, series: str) -> float:
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def test_the_service_drops_an_old_day_and_exports_the_sizes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = datetime.now(UTC) - timedelta(days=45)
    day = f"copart_raw_p{old:%Y_%m_%d}"
    admin = await asyncpg.connect(harness.admin_dsn)
    try:
        await admin.execute("SELECT staging.copart_raw_day($1::date)", old.date())
    finally:
        await admin.close()
    monkeypatch.setenv("VINOPS_MAINTENANCE_INTERVAL_S", "1")
    monkeypatch.setenv("VINOPS_STORAGE_METRICS_INTERVAL_S", "1")
    monkeypatch.setenv("VINOPS_STAGING_RETENTION_DAYS", "30")
    port = free_port()
    proc = harness.start(extra=["--metrics-port", str(port)])
    url = f"http://127.0.0.1:{port}/metrics"
    deadline = time.monotonic() + 120
    while True:
        text = scrape(url)
        done = (
            value(text, 'vinops_upkeep_runs_total{result="ok",task="storage"}') >= 2
            and value(text, 'vinops_upkeep_runs_total{result="ok",task="maintenance"}') >= 2
        )
        if done:
            break
        assert proc.poll() is None, "the consumer exited"
        assert time.monotonic() < deadline, "timed out waiting for the timers"
        await asyncio.sleep(0.3)
    assert value(text, 'vinops_staging_partitions_changed_total{action="dropped"}') == 1
    for schema in ("public", "raw", "staging", "audit", "ingest"):
        assert value(text, f'vinops_database_bytes{{schema="{schema}"}}') > 0, schema
    admin = await asyncpg.connect(harness.admin_dsn)
    try:
        assert await admin.fetchval("SELECT to_regclass($1)", f"staging.{day}") is None
        assert await admin.fetchval("SELECT count(*) FROM ingest.storage_daily") == 5
    finally:
        await admin.close()
    assert proc.poll() is None
