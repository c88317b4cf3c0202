"""A batch's route from the checkpoint through the write: each stage entered once, in order,
and nothing parsed again after intake (traced call by call, against the real PostgreSQL)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from types import FrameType
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry

from consumer.config.settings import Settings
from consumer.observe.metrics import Metrics
from consumer.service.service import Service
from consumer.store.dlq import DeadLetterSender
from consumer.store.sink import Sink
from consumer.store.writer import BatchWriter
from tests.databases import FreshDb
from tests.unit.consumer.feedrows import decoded, member_row, row_msg

pytestmark = pytest.mark.integration

# Data types a stage hands on (their accessors are not a stage's work), and the utilities
# every stage may call (logs, metrics, settings, error translation).
TYPES = {
    "consumer.intake.batch", "consumer.intake.offsets", "consumer.intake.messages",
    "consumer.intake.records", "consumer.prepare.prepared", "consumer.prepare.mapped",
}  # fmt: skip
UTILITIES = {"config", "observe"}


class _Consumer:
    def assignment(self) -> set[Any]:
        return set()

    def pause(self, *_: Any) -> None: ...

    def resume(self, *_: Any) -> None: ...


@pytest_asyncio.fixture
async def service(fresh_db: FreshDb, kafka_bootstrap: str) -> AsyncIterator[Service]:
    service = Service(Settings(kafka_bootstrap=kafka_bootstrap, pg_dsn=fresh_db.etl_dsn))
    async with asyncpg.create_pool(fresh_db.etl_dsn, min_size=1, max_size=2) as pool:
        sink = Sink(pool, group_id="route", consumer_name="route-1")
        dlq = DeadLetterSender(
            kafka_bootstrap, "vinops.test.unused.dlq", "t", max_message_bytes=1 << 20
        )
        service.state.sink = sink
        service.state.writer = BatchWriter(sink, dlq, Metrics(CollectorRegistry()))
        service.state.consumer = _Consumer()
        await dlq.start()
        try:
            yield service
        finally:
            await dlq.stop()


async def _route(work: Callable[[], Awaitable[object]]) -> tuple[list[str], set[str]]:
    """The consumer stages entered, in order (repeats collapsed), and every module called."""
    stages: list[str] = []
    modules: set[str] = set()
    # A coroutine resumed is a 'call' of the same frame again: only its first entry counts.
    entered: set[FrameType] = set()

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event != "call" or frame in entered:
            return
        entered.add(frame)
        module = str(frame.f_globals.get("__name__"))
        modules.add(module)
        if not module.startswith("consumer.") or module in TYPES:
            return
        stage = module.split(".")[1]
        if stage not in UTILITIES and (not stages or stages[-1] != stage):
            stages.append(stage)

    sys.setprofile(profile)
    try:
        await work()
    finally:
        sys.setprofile(None)
    return stages, modules


def _batch(first: int) -> Any:
    rows = [row_msg(member_row(str(n)), row_no=n, offset=n) for n in range(first, first + 40)]
    return decoded(rows + rows[:10])  # repeats: referenced, not mapped twice


async def test_a_batch_enters_each_stage_once(service: Service) -> None:
    checkpoint = service.checkpoint

    batch = _batch(1)

    async def hand_off_and_commit() -> None:
        await checkpoint.hand_off(batch)
        assert await checkpoint.await_inflight() is True

    stages, modules = await _route(hand_off_and_commit)
    # The look-up of known contents is the store's answer to the checkpoint; then prepare,
    # then the write, then the commit: no stage is entered twice for one batch.
    assert stages == ["checkpoint", "store", "checkpoint", "prepare", "checkpoint", "store",
                      "checkpoint"]  # fmt: skip
    assert not {m for m in modules if m.startswith("consumer.intake.decoder")}


async def test_the_write_of_a_prepared_batch_parses_nothing(service: Service) -> None:
    checkpoint = service.checkpoint
    prepared = await checkpoint._prepare(_batch(100))

    stages, modules = await _route(lambda: checkpoint.flush(prepared.batch, prepared))
    assert stages == ["checkpoint", "store", "checkpoint"]
    # No header, digest or value is read again (feed.contract), nothing mapped again.
    assert not modules & {"consumer.intake.decoder", "feed.contract", "feed.dialects"}
    assert "consumer.prepare.mapping" not in modules
