"""Shared e2e fixtures: a harness with its own topics, group and freshly migrated database."""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from tests.conftest import UniqueName
from tests.databases import FreshDb
from tests.e2e.fixtures import Feed, realistic_feed
from tests.e2e.harness import ROOT, Harness, free_port
from tests.e2e.prom import ObservedConsumer
from tests.kafka import create_topics


@pytest_asyncio.fixture
async def harness(
    kafka_bootstrap: str,
    unique_name: UniqueName,
    fresh_db: FreshDb,
) -> AsyncIterator[Harness]:
    h = Harness(
        bootstrap=kafka_bootstrap,
        etl_dsn=fresh_db.etl_dsn,
        admin_dsn=fresh_db.admin_dsn,
        topic=unique_name("rows"),
        files_topic=unique_name("files"),
        dlq_topic=unique_name("dlq"),
        group=unique_name("group"),
    )
    # Created up front (6 partitions, like `producer publish`) so every test starts alike.
    await create_topics(kafka_bootstrap, h.topic, h.files_topic)
    yield h
    h.cleanup()


@pytest.fixture
def feed(tmp_path: Path) -> Feed:
    return realistic_feed(tmp_path)


# The bundled samples: the member file brings malformed rows and VIN conflicts, the camelCase
# re-export ~30% [PREMIUM]/empty cells, so the unknown-rate alert must fire on them.
SAMPLES = (ROOT / "samples" / "copart-sample-camel.csv", ROOT / "samples" / "copart-sample.csv")
_COMPLETED = re.compile(r'^vinops_etl_runs_total\{status="completed"\} (\S+)$', re.MULTILINE)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
            return int(resp.status), resp.read().decode()
    except OSError:
        return 0, ""


def _wait(what: str, done: Callable[[], bool], wait_s: float = 120) -> None:
    deadline = time.monotonic() + wait_s
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def observed_consumer(harness: Harness) -> ObservedConsumer:
    """A real consumer, ready and scraped; ingest() publishes the samples and waits for them."""
    port = free_port()
    harness.start(extra=["--metrics-port", str(port)])
    base = f"http://127.0.0.1:{port}"
    _wait("the consumer to be ready", lambda: _get(f"{base}/readyz")[0] == 200)

    def completed_runs() -> float:
        found = _COMPLETED.search(_get(f"{base}/metrics")[1])
        return float(found.group(1)) if found else 0.0

    def ingest() -> None:
        harness.publish(SAMPLES)
        _wait("both sample runs to complete", lambda: completed_runs() >= len(SAMPLES))

    return ObservedConsumer(metrics_url=f"{base}/metrics", ingest=ingest)  # harness stops it
