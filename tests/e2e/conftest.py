"""Shared e2e fixtures: a harness with its own topics, group and freshly migrated database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.conftest import UniqueName
from tests.databases import FreshDb
from tests.e2e.fixtures import Feed, realistic_feed
from tests.e2e.harness import Harness
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
