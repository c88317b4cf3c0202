"""The interface between the live dashboard test and the consumer's end-to-end fixtures.

tests/e2e/test_dashboards_live.py asks for `observed_consumer`. Whoever can run a real
consumer provides it by defining a fixture of the same name in tests/e2e/conftest.py (a
conftest fixture overrides this plugin's). The fixture below only states the contract and
fails with it when nothing provides a real consumer: a missing service is a failure.

Why a callable and not an already-ingested consumer: rate() needs two samples of a counter
that moved, so Prometheus must scrape the consumer before AND after the ingest. The test
starts Prometheus, waits for two scrapes, then calls `ingest()`.

Import ObservedConsumer from tests.e2e.prom, not from here: pytest loads this module as a
plugin, and importing it earlier defeats its assertion rewriting (an error under -W error).
"""

from __future__ import annotations

import pytest

from tests.e2e.prom import ObservedConsumer


@pytest.fixture
def observed_consumer() -> ObservedConsumer:
    pytest.fail(
        "no consumer for the live dashboard test: define an `observed_consumer` fixture in "
        "tests/e2e/conftest.py returning ObservedConsumer(metrics_url, ingest) "
        "(see tests/e2e/conftest_observability.py)"
    )
