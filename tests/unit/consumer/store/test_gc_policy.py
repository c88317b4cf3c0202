"""The garbage-collection policy, and what it relies on: the data path makes no cycles."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from consumer.prepare.prepare import prepare_records
from consumer.store import gc_policy
from tests.unit.consumer.feedrows import (
    FILES_TOPIC,
    ROW_TOPIC,
    completed_msg,
    digest_of,
    malformed_msg,
    member_row,
    row_msg,
    started_msg,
)


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("collector_off")
def test_a_prepared_batch_is_freed_by_reference_counting_alone() -> None:
    """With automatic collection off, a batch that formed a cycle would stay in memory until
    the next timed collection: every kind of message, and nothing left for the collector."""
    known_row = row_msg(member_row("1"), row_no=2, offset=1)
    assert known_row.value is not None
    messages = [
        started_msg(offset=0),
        known_row,
        row_msg(member_row("2"), row_no=3, offset=2),
        row_msg(member_row("2"), row_no=4, offset=3),  # a repeat in the batch
        malformed_msg(row_no=5, offset=4),
        row_msg(b"\xff not json", row_no=6, offset=5),
        row_msg(member_row("3"), row_no=7, offset=6, headers=()),  # refused: no headers
        completed_msg(rows=6, offset=7),
    ]
    known = {digest_of(known_row): (49, 0, True)}
    prepare_records(
        messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, known=known
    )  # warm caches
    gc.collect()

    batch = prepare_records(messages, row_topic=ROW_TOPIC, files_topic=FILES_TOPIC, known=known)
    assert (len(batch.references), len(batch.rejections), batch.unchanged) == (5, 3, 2)
    del batch
    assert gc.collect() == 0


def test_a_zero_interval_leaves_pythons_collector_in_charge() -> None:
    assert gc_policy.start(0) is False
    assert gc.isenabled()


def test_start_freezes_the_start_up_heap_and_stop_undoes_it() -> None:
    try:
        assert gc_policy.start(10) is True
        assert not gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc_policy.stop()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


async def test_collect_every_collects_on_its_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def collect(*_: int) -> int:
        calls.append(1)
        return 0

    monkeypatch.setattr(gc, "collect", collect)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) > 3:
            raise RuntimeError("enough")

    monkeypatch.setattr(asyncio, "sleep", sleep)
    with pytest.raises(RuntimeError, match="enough"):
        await gc_policy.collect_every(7.5)
    assert waits == [7.5, 7.5, 7.5, 7.5]
    assert len(calls) == 3
