"""The assignment callback must not fail silently (aiokafka logs and swallows it)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiokafka import TopicPartition

from consumer.config.settings import Settings
from consumer.service.service import Service

ENV = {
    "VINOPS_KAFKA_BOOTSTRAP": "127.0.0.1:1",
    "VINOPS_PG_DSN": "postgresql://u:secret@127.0.0.1:1/db",
}


class BrokenSink:
    async def committed_offsets(self, topic: str, partitions: Any) -> dict[int, int]:
        raise RuntimeError("schema changed under us")


async def test_a_failing_assignment_makes_the_service_exit_1(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = Service(Settings.from_env(ENV))
    service.state.sink = BrokenSink()  # type: ignore[assignment]  # no database in a unit test
    with caplog.at_level(logging.ERROR, logger="consumer.service.rebalance"):
        await service.rebalance.on_partitions_assigned({TopicPartition("vinops.copart.lots", 0)})
    assert service.exit_code == 1
    assert service.state.should_exit.is_set()
    assert "positioning assigned partitions failed: exiting" in caplog.text
    assert "schema changed under us" in caplog.text
