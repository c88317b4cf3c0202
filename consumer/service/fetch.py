"""Fetch: records from Kafka, accepted in offset order per partition from where this process
positioned it (positions.py), and decoded once into typed messages for the batcher."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka.errors import KafkaError

from consumer.checkpoint.state import State, partition_name
from consumer.config.retry import Backoff
from consumer.intake.decoder import Decoder
from consumer.intake.messages import Message
from consumer.observe import streaks
from consumer.observe.logs import ctx

log = logging.getLogger(__name__)


class Fetch:
    def __init__(self, state: State) -> None:
        self._state = state
        self._backoff = Backoff(state.settings.retry_base_s, state.settings.retry_cap_s)
        self._failing = streaks.Streak(log, "fetch")
        s = state.settings
        # One decoder for the process: its per-file templates outlive a batch.
        self.decoder = Decoder(s.topic, s.files_topic)

    async def fetch(self, timeout_s: float, max_records: int) -> Mapping[Any, Sequence[Any]]:
        """What getmany returns; {} after a failed fetch (aiokafka retries inside, so one
        that surfaces is rare: backed off here, and logged once per streak)."""
        try:
            fetched = await self._state.consumer.getmany(
                timeout_ms=max(int(timeout_s * 1000), 1), max_records=max(max_records, 1)
            )
        except KafkaError as exc:
            self._failing.failed(error=repr(exc)[:200])
            await asyncio.sleep(self._backoff.next_delay())
            return {}
        self._failing.ended()
        self._backoff.reset()
        return fetched  # type: ignore[no-any-return]

    def accept(self, fetched: Mapping[Any, Sequence[Any]]) -> list[Message]:
        """Fetched records to write: each partition in order from its expected offset.
        Called under the state's lock (a rebalance resets the positions)."""
        state = self._state
        consumer = state.consumer
        verdict = state.positions.accept(fetched, consumer.assignment(), consumer.seek)
        for gap in verdict.gaps:
            state.metrics.offset_gaps.inc()
            log.warning(
                "records skipped by a fetch: re-reading from the expected offset",
                extra=ctx(partition=partition_name(gap.partition), expected=gap.expected,
                          found=gap.found),
            )  # fmt: skip
        return self.decoder.decode_fetched(verdict.records)
