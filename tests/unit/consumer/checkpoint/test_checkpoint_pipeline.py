"""The checkpoint's pipeline: batches are written strictly in order, at most two are
outstanding, and nothing after a batch that was given up is written."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from consumer.checkpoint.checkpoint import AbandonedError
from consumer.config import errors
from consumer.config.settings import Settings
from consumer.intake.batch import Batch
from consumer.intake.offsets import BatchOffsets
from consumer.prepare.prepared import PreparedBatch
from consumer.service.service import Service
from tests.unit.consumer.feedrows import decoded, member_row, row_msg


class _Consumer:
    def assignment(self) -> set[Any]:
        return set()

    def pause(self, *_: Any) -> None: ...

    def resume(self, *_: Any) -> None: ...

    async def getmany(self, timeout_ms: int = 0) -> dict[Any, Any]:
        await asyncio.sleep(timeout_ms / 1000)
        return {}


class _Writer:
    """Records each write; the test opens a gate per write, or makes one give up."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.gates: dict[int, asyncio.Future[str]] = {}

    def gate(self, first_offset: int) -> asyncio.Future[str]:
        return self.gates.setdefault(first_offset, asyncio.get_running_loop().create_future())

    async def write(
        self, batch: Batch, sent: set[Any], prepared: PreparedBatch | None = None
    ) -> BatchOffsets:
        first = batch.messages[0].record.offset
        self.started.append(first)
        if await self.gate(first) == "abandon":
            raise AbandonedError
        return batch.offsets


def _pipeline() -> tuple[Service, _Writer]:
    service = Service(Settings(kafka_bootstrap="k:1", pg_dsn="postgresql://u:p@h/db"))
    writer = _Writer()
    service.state.writer = writer  # type: ignore[assignment]
    service.state.consumer = _Consumer()
    return service, writer


def _batch(first_offset: int) -> Batch:
    return decoded(
        [row_msg(member_row(str(first_offset)), row_no=first_offset, offset=first_offset)]
    )


async def _turns(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_batches_are_written_in_order_with_at_most_two_outstanding() -> None:
    service, writer = _pipeline()
    checkpoint = service.checkpoint
    await checkpoint.hand_off(_batch(0))
    await checkpoint.hand_off(_batch(1))  # returns at once: batch 0 is still the older one
    third = asyncio.create_task(checkpoint.hand_off(_batch(2)))
    await _turns()
    assert writer.started == [0]  # batch 1 waits for batch 0's write
    assert not third.done()  # and the fetch loop waits for batch 0 to commit
    writer.gate(0).set_result("ok")
    await _turns()
    assert third.done()
    assert writer.started == [0, 1]
    writer.gate(1).set_result("ok")
    writer.gate(2).set_result("ok")
    assert await checkpoint.await_inflight() is True
    assert writer.started == [0, 1, 2]
    assert checkpoint.idle()


async def test_nothing_after_a_batch_given_up_is_written() -> None:
    service, writer = _pipeline()
    checkpoint = service.checkpoint
    await checkpoint.hand_off(_batch(0))
    await checkpoint.hand_off(_batch(1))
    service.state.batcher.add(_batch(2).messages, 0.0)  # fetched since, not handed off yet
    writer.gate(0).set_result("abandon")
    await checkpoint.drain()  # as on a stop: what is in flight, then the batcher
    # Batch 1's or 2's offsets would move past batch 0's records, never written.
    assert writer.started == [0]
    assert len(service.state.batcher) == 1
    assert checkpoint.idle()


async def test_a_revoke_writes_nothing_after_a_batch_given_up() -> None:
    service, writer = _pipeline()
    await service.checkpoint.hand_off(_batch(0))
    service.state.batcher.add(_batch(1).messages, 0.0)
    writer.gate(0).set_result("abandon")
    await service.rebalance.on_partitions_revoked(set())
    assert writer.started == [0]
    assert len(service.state.batcher) == 0  # dropped: the next owner reads it from the DB


async def test_an_unexpected_error_surfaces_and_leaves_nothing_in_flight() -> None:
    service, writer = _pipeline()
    checkpoint = service.checkpoint
    await checkpoint.hand_off(_batch(0))
    await checkpoint.hand_off(_batch(1))
    writer.gate(0).set_exception(RuntimeError("bug"))
    with pytest.raises(RuntimeError, match="bug"):  # surfaces in the fetch loop
        await checkpoint.hand_off(_batch(2))
    assert checkpoint.idle()
    assert await checkpoint.await_inflight() is True  # the drain has nothing left to wait on
    assert writer.started == [0]


class _FlakySink:
    """A known-content look-up that fails the first ``failures`` times."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.asked = 0

    async def known_contents(self, digests: Sequence[bytes]) -> dict[bytes, Any]:
        self.asked += 1
        if self.asked <= self.failures:
            raise errors.TransientError("connection lost")
        return {}


class _SeeingWriter:
    def __init__(self) -> None:
        self.looked_up: list[bool | None] = []

    async def write(
        self, batch: Batch, sent: set[Any], prepared: PreparedBatch | None = None
    ) -> BatchOffsets:
        self.looked_up.append(None if prepared is None else prepared.looked_up)
        return batch.offsets


@pytest.mark.parametrize("failures", [1, 2])
async def test_a_batch_prepared_without_its_look_up_is_prepared_again_before_its_write(
    failures: int,
) -> None:
    # Written without the look-up, it would re-send every stored body (chunks nothing
    # references) and re-apply every applied row: it waits for the look-up instead.
    service = Service(
        Settings(kafka_bootstrap="k:1", pg_dsn="postgresql://u:p@h/db", retry_base_s=0.001)
    )
    sink, writer = _FlakySink(failures), _SeeingWriter()
    service.state.sink = sink  # type: ignore[assignment]
    service.state.writer = writer  # type: ignore[assignment]
    service.state.consumer = _Consumer()
    messages = _batch(0)
    prepared = await service.checkpoint._prepare(messages)
    assert not prepared.looked_up
    await service.checkpoint.flush(messages, prepared)
    assert writer.looked_up == [True]  # one write, after a look-up that answered
    assert sink.asked == failures + 1


async def test_a_batch_without_a_prepared_value_is_looked_up_before_its_write() -> None:
    service = Service(Settings(kafka_bootstrap="k:1", pg_dsn="postgresql://u:p@h/db"))
    sink, writer = _FlakySink(0), _SeeingWriter()
    service.state.sink = sink  # type: ignore[assignment]
    service.state.writer = writer  # type: ignore[assignment]
    service.state.consumer = _Consumer()
    await service.checkpoint.flush(_batch(0))  # the drain's path: no prepared batch
    assert (writer.looked_up, sink.asked) == ([True], 1)
