"""Batch -> prepare -> sink -> commit: a full batch is handed off, written in one transaction
with its next offsets, then mirrored to Kafka's committed offsets (for lag tools only).

Transient failures pause consumption and retry with backoff, never dead-letter; the batch is
given up (``AbandonedError``) only when its partitions are revoked or shutdown runs out of
time, and the next owner re-reads it from the database offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka.errors import KafkaError

from consumer import errors, streaks
from consumer.logs import ctx
from consumer.offsets import BatchOffsets
from consumer.prepare import content_digests, prepare
from consumer.prepared import PreparedBatch
from consumer.records import Inbound
from consumer.retry import Backoff
from consumer.state import State

log = logging.getLogger(__name__)


class AbandonedError(Exception):
    """The in-flight batch was given up (partitions revoked, or shutdown timed out)."""


class Checkpoint:
    def __init__(self, state: State) -> None:
        self._state = state

    async def hand_off(self, messages: list[Inbound]) -> None:
        """Prepare this batch (in a thread) while the previous one is still being written.

        prepare() is pure Python and the write mostly waits on PostgreSQL, so overlapping
        them uses both cores; the write itself starts only after the previous one committed.
        """
        prepared = asyncio.ensure_future(self._prepare(messages))
        try:
            await self.await_inflight()
        except BaseException:
            prepared.cancel()
            raise
        self._state.inflight = asyncio.create_task(self._flush_quietly(messages, prepared))

    async def await_inflight(self) -> None:
        """Wait for the batch in flight (its unexpected errors surface here). Shielded: a
        waiter cancelled meanwhile (a forced stop cutting the fetch loop) leaves the batch
        in flight for the drain, which says what became of it."""
        task = self._state.inflight
        if task is None:
            return
        try:
            await asyncio.shield(task)
        finally:
            if task.done() and self._state.inflight is task:
                self._state.inflight = None

    async def abandon_inflight(self, timeout_s: float) -> None:
        """A forced stop: the batch in flight is cancelled (its transaction rolls back and
        the next start re-reads it from the database offsets)."""
        task, self._state.inflight = self._state.inflight, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=timeout_s)

    def idle(self) -> bool:
        inflight = self._state.inflight
        return inflight is None or inflight.done()

    async def drain(self) -> None:
        """Shutdown: the batch in flight, then what was fetched since, each committed."""
        await self.await_inflight()
        if len(self._state.batcher):
            with contextlib.suppress(AbandonedError):
                await self.flush(self._state.batcher.take())

    async def _prepare(self, messages: list[Inbound]) -> PreparedBatch:
        """prepare() in a thread, told which contents are already applied (those rows are
        only referenced). A failed look-up costs speed, not correctness: nothing is skipped."""
        s = self._state.settings
        digests = await asyncio.to_thread(content_digests, messages, s.topic)
        known: dict[bytes, tuple[int, int] | None] = {}
        if digests and self._state.sink is not None:
            try:
                known = await self._state.sink.known_contents(digests)
            except errors.IngestError as exc:
                log.info("known-content look-up failed", extra=ctx(error=str(exc)[:200]))
        return await asyncio.to_thread(
            prepare, messages, row_topic=s.topic, files_topic=s.files_topic, known=known,
            max_row_bytes=s.max_row_bytes,
        )  # fmt: skip

    async def _flush_quietly(
        self, messages: list[Inbound], prepared: asyncio.Future[PreparedBatch]
    ) -> None:
        with contextlib.suppress(AbandonedError):
            await self.flush(messages, await prepared)

    async def flush(self, messages: list[Inbound], prepared: PreparedBatch | None = None) -> None:
        """Commit a batch, retrying transient failures; raises AbandonedError if given up."""
        if not messages:
            return
        state = self._state
        backoff = Backoff(state.settings.retry_base_s, state.settings.retry_cap_s)
        paused = False
        sent: set[tuple[str, int, int]] = set()  # dead letters acked: not re-sent on retry
        streak = streaks.Streak(log, "batch write (consumption paused)")
        try:
            while True:
                started = time.monotonic()
                try:
                    offsets = await state.require_writer().write(messages, sent, prepared)
                except (errors.TransientError, KafkaError, OSError) as exc:
                    state.retrying = f"{type(exc).__name__}: {str(exc)[:120]}"
                    state.metrics.ready.set(0)
                    if not paused:
                        state.consumer.pause(*state.consumer.assignment())
                        state.metrics.retry_started.set(time.time())
                        paused = True
                    delay = backoff.next_delay()
                    streak.failed(messages=len(messages), error=state.retrying)
                    log.debug("batch failed transiently", extra=ctx(retry_in_s=round(delay, 3)))
                    await self._pause_for(delay)
                    if state.abandon or state.past_deadline():
                        streak.ended("abandoned", messages=len(messages))
                        raise AbandonedError from exc
                    continue
                streak.ended("committed", messages=len(messages))
                seconds = time.monotonic() - started
                state.metrics.batch_duration.observe(seconds)
                state.metrics.batch_rows.observe(len(messages))
                await self.kafka_commit(offsets)
                log.info(
                    "batch committed",
                    extra=ctx(
                        messages=len(messages), seconds=round(seconds, 4), **offsets.describe(),
                    ),
                )  # fmt: skip
                return
        finally:
            state.retrying = None
            state.metrics.retry_started.set(0)
            if paused:
                with contextlib.suppress(Exception):
                    state.consumer.resume(*state.consumer.assignment())

    async def flush_once(self, messages: list[Inbound]) -> None:
        """One attempt, no retries: a revoke must not hold the group."""
        started = time.monotonic()
        offsets = await self._state.require_writer().write(messages, set())
        self._state.metrics.batch_duration.observe(time.monotonic() - started)
        self._state.metrics.batch_rows.observe(len(messages))
        await self.kafka_commit(offsets)

    async def _pause_for(self, seconds: float) -> None:
        """Wait while paused; keeps calling getmany so the poll interval never expires."""
        state = self._state
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not state.abandon:
            with contextlib.suppress(KafkaError):
                # All partitions are paused: this only keeps the member polling. Anything
                # it does return (a partition assigned since) is read again later.
                fetched = await state.consumer.getmany(
                    timeout_ms=max(int(min(left, 0.5) * 1000), 1)
                )
                for tp, records in fetched.items():
                    if records and tp in state.consumer.assignment():
                        state.consumer.seek(tp, records[0].offset)
            if state.past_deadline():
                return

    async def kafka_commit(self, offsets: BatchOffsets) -> None:
        """Mirror DB offsets to Kafka for lag tooling only; failures do not matter."""
        consumer = self._state.consumer
        todo = offsets.kafka_commit(consumer.assignment())
        if not todo:
            return
        try:
            await asyncio.wait_for(consumer.commit(todo), 5)
        except (KafkaError, TimeoutError) as exc:
            log.debug("kafka offset commit skipped", extra=ctx(error=repr(exc)[:200]))
