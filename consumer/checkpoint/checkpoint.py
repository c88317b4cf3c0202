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

from consumer.checkpoint.state import State
from consumer.config import errors
from consumer.config.retry import Backoff
from consumer.intake.batch import Batch
from consumer.intake.offsets import BatchOffsets
from consumer.observe import streaks
from consumer.observe.logs import ctx
from consumer.prepare.builder import BatchBuilder
from consumer.prepare.prepare import finish, take
from consumer.prepare.prepared import Known, PreparedBatch

log = logging.getLogger(__name__)

# Messages prepared between two turns of the event loop: ~0.5 ms of unchanged rows, ~20 ms
# of new ones (mapped).
_PREPARE_SLICE = 100


class AbandonedError(Exception):
    """The in-flight batch was given up (partitions revoked, or shutdown timed out)."""


class Checkpoint:
    """Owns the chain of batches in flight: each batch's task waits for its predecessor's,
    so batches are written strictly in order and offsets only ever move forward."""

    def __init__(self, state: State) -> None:
        self._state = state
        # The newest batch handed off; awaiting it awaits every batch in flight.
        self._inflight: asyncio.Task[bool] | None = None
        # The batch queued before the one in flight: hand_off waits for it.
        self._older: asyncio.Task[bool] | None = None

    async def hand_off(self, batch: Batch) -> None:
        """Queue this batch behind the one in flight; returns once the batch before that one
        has committed, so at most two are outstanding while the next one is fetched.

        Each stage waits on a different resource: the fetch on the broker, prepare() on the
        consumer's CPU and the write mostly on PostgreSQL, so a batch being fetched, one
        being prepared and one being written all progress at once. Writes stay strictly in
        order: each batch's flush waits for its predecessor's, and is given up with it.
        """
        prepared = asyncio.ensure_future(self._prepare(batch))
        previous, older = self._inflight, self._older
        self._inflight = asyncio.create_task(self._flush_after(previous, batch, prepared))
        self._older = previous
        if older is None:
            return
        try:
            await self._await(older)
        except Exception:
            # The batches queued behind it fail with it: nothing is left for the drain.
            queued, self._inflight, self._older = self._inflight, None, None
            if queued is not None:
                queued.cancel()
            raise

    async def await_inflight(self) -> bool:
        """Wait for every batch in flight (their unexpected errors surface here); False when
        one was given up, and so everything fetched after it must not be written either.
        Shielded: a waiter cancelled meanwhile (a forced stop cutting the fetch loop) leaves
        the batches in flight for the drain, which says what became of them."""
        task = self._inflight
        if task is None:
            return True
        try:
            return await self._await(task)
        finally:
            if task.done() and self._inflight is task:
                self._inflight = self._older = None

    async def _await(self, task: asyncio.Task[bool]) -> bool:
        return await asyncio.shield(task)

    async def abandon_inflight(self, timeout_s: float) -> None:
        """A forced stop: the batches in flight are cancelled (their transactions roll back
        and the next start re-reads them from the database offsets)."""
        task, self._inflight, self._older = self._inflight, None, None
        if task is not None and not task.done():
            task.cancel()  # cancels the predecessor it is waiting on, and so on down
            await asyncio.wait({task}, timeout=timeout_s)

    def idle(self) -> bool:
        inflight = self._inflight
        return inflight is None or inflight.done()

    async def drain(self) -> None:
        """Shutdown: the batches in flight, then what was fetched since, each committed."""
        if await self.await_inflight() and len(self._state.batcher):
            with contextlib.suppress(AbandonedError):
                await self.flush(Batch.of(self._state.batcher.take()))

    async def _prepare(self, batch: Batch) -> PreparedBatch:
        """prepare(), told which contents are already applied (those rows are only
        referenced). A failed look-up skips nothing; the batch says so (``looked_up``) and
        ``flush`` prepares it again before writing it, so no stored body is sent twice.

        On the event loop, a slice of messages at a time: the write in flight needs the loop
        only between its statements, and the fetch is waiting on the broker, so nothing is
        held up. A worker thread did the same work more slowly: every socket read of the loop
        then waited for the GIL (up to a switch interval) while prepare() held it.
        """
        s = self._state.settings
        digests = batch.digests()
        known: Known = {}
        looked_up = True
        if digests and self._state.sink is not None and s.skip_known:
            try:
                known = await self._state.sink.known_contents(digests)
            except errors.IngestError as exc:
                looked_up = False
                log.info("known-content look-up failed", extra=ctx(error=str(exc)[:200]))
        builder = BatchBuilder(known, s.max_row_bytes)
        builder.looked_up = looked_up
        messages = batch.messages
        for start in range(0, len(messages), _PREPARE_SLICE):
            take(builder, messages[start : start + _PREPARE_SLICE])
            await asyncio.sleep(0)
        return finish(builder, batch)

    async def _flush_after(
        self, previous: asyncio.Task[bool] | None, batch: Batch,
        prepared: asyncio.Future[PreparedBatch],
    ) -> bool:  # fmt: skip
        """True once committed; False when given up, or when the batch before it was (its
        offsets would move past records never written)."""
        if previous is not None and not await previous:
            prepared.cancel()
            return False
        try:
            await self.flush(batch, await prepared)
        except AbandonedError:
            return False
        return True

    async def flush(self, batch: Batch, prepared: PreparedBatch | None = None) -> None:
        """Commit a batch, retrying transient failures; raises AbandonedError if given up."""
        if not batch:
            return
        messages = batch.messages
        state = self._state
        backoff = Backoff(state.settings.retry_base_s, state.settings.retry_cap_s)
        paused = False
        sent: set[tuple[str, int, int]] = set()  # dead letters acked: not re-sent on retry
        streak = streaks.Streak(log, "batch write (consumption paused)")
        try:
            while True:
                started = time.monotonic()
                try:
                    if prepared is None or not prepared.looked_up:
                        # Prepared without a look-up (it failed, or the drain's own batch):
                        # ask now, as the write needs the database too, rather than re-send
                        # every stored body and re-apply every applied row.
                        prepared = await self._prepare(batch)
                        if not prepared.looked_up:
                            raise errors.TransientError("known-content look-up failed")
                    offsets = await state.require_writer().write(batch, sent, prepared)
                except (errors.TransientError, KafkaError, OSError) as exc:
                    if isinstance(exc, errors.ContentsPrunedError):
                        prepared = None  # its look-up is stale: ask again
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

    async def flush_once(self, batch: Batch) -> None:
        """One attempt, no retries: a revoke must not hold the group."""
        started = time.monotonic()
        offsets = await self._state.require_writer().write(batch, set())
        self._state.metrics.batch_duration.observe(time.monotonic() - started)
        self._state.metrics.batch_rows.observe(len(batch))
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
