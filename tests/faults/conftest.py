"""Fault-test fixtures: one 50,000-row topic and one clean-run baseline per session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.conftest import UniqueName
from tests.databases import FreshDb, MigratedTemplate, fresh_database
from tests.e2e.fixtures import big_feed
from tests.e2e.harness import Harness, dump
from tests.kafka import create_topics

BIG_ROWS = 50_000


@dataclass(frozen=True)
class BigTopic:
    topic: str
    files_topic: str
    rows: int
    baseline: dict[str, list[tuple[Any, ...]]]


@pytest_asyncio.fixture(scope="session")
async def big_topic(  # noqa: PLR0917 - pytest injects fixtures positionally
    tmp_path_factory: pytest.TempPathFactory,
    kafka_bootstrap: str,
    migrated_template: MigratedTemplate,
    pg_admin_dsn: str,
    pg_dsn: str,
    pg_superuser_dsn: str,
) -> AsyncIterator[BigTopic]:
    path: Path = tmp_path_factory.mktemp("big") / "big_member.csv"
    feed = big_feed(path, BIG_ROWS)
    tag = UniqueName("t.faults-big.x")
    async with fresh_database(migrated_template, pg_admin_dsn, pg_dsn, pg_superuser_dsn) as db:
        h = Harness(
            bootstrap=kafka_bootstrap, etl_dsn=db.etl_dsn, admin_dsn=db.admin_dsn,
            topic=tag("rows"), files_topic=tag("files"), dlq_topic=tag("dlq"), group=tag("g"),
        )  # fmt: skip
        await create_topics(kafka_bootstrap, h.topic, h.files_topic)
        h.publish([path])
        h.consume()
        yield BigTopic(h.topic, h.files_topic, len(feed.rows), await dump(db.admin_dsn))


@pytest_asyncio.fixture
async def big(
    big_topic: BigTopic,
    kafka_bootstrap: str,
    unique_name: UniqueName,
    fresh_db: FreshDb,
) -> AsyncIterator[Harness]:
    """A harness on the shared 50k topic with its own group, DLQ topic and database."""
    h = Harness(
        bootstrap=kafka_bootstrap, etl_dsn=fresh_db.etl_dsn, admin_dsn=fresh_db.admin_dsn,
        topic=big_topic.topic, files_topic=big_topic.files_topic,
        dlq_topic=unique_name("dlq"), group=unique_name("group"),
    )  # fmt: skip
    yield h
    h.cleanup()
