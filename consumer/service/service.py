"""`consumer run`: the service's lifecycle. The data flow, stage by stage:
fetch and decode (service/fetch.py, intake/decoder.py) -> batch (intake/batcher.py) ->
checkpoint (checkpoint/): prepare (prepare/) -> write (store/writer.py, store/sink.py) ->
commit; rebalance.py positions partitions, health.py answers /readyz.

Exactly-once in effect: each batch's rows and its next offsets commit in ONE PostgreSQL
transaction; on assignment partitions seek to the DB offsets. Kafka commits follow only so
that lag stays visible to Kafka tools. Bad data is bisected out of a batch and dead-lettered;
transient failures pause consumption and retry with backoff, never dead-letter.

Shutdown order is checkpoint order: stop fetching, flush the batch, commit, close the
consumer and the DLQ producer, close the pool (terminate after a timeout). A second signal
forces the exit the way uvicorn does: a flag that cuts every wait (the drain at once, each
close to a second), so the pool is still closed and the totals line still logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from types import TracebackType
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry

from consumer.checkpoint.checkpoint import Checkpoint
from consumer.checkpoint.state import State
from consumer.config.errors import CannotConnectError
from consumer.config.membership import GroupConsumer
from consumer.config.settings import Settings
from consumer.intake.batch import Batch
from consumer.intake.batcher import Batcher
from consumer.observe.http import HttpServer
from consumer.observe.logs import ctx
from consumer.observe.metrics import Metrics
from consumer.service.dead_members import free_dead_members, keep_freeing
from consumer.service.fetch import Fetch
from consumer.service.health import Health
from consumer.service.rebalance import Rebalance
from consumer.service.relay import Relay
from consumer.service.startup import (
    Startup,
    StartupInterruptedError,
    create_pool,
    require_migrated,
    start_dlq,
)
from consumer.service.topic_limits import fetch_sizes, max_message_bytes
from consumer.service.upkeep import Upkeep
from consumer.store import gc_policy
from consumer.store.dlq import DeadLetterSender, ensure_topic
from consumer.store.sink import Sink
from consumer.store.writer import BatchWriter
from feed.kafka_security import check_login

__all__ = ["FORCED_EXIT_CODE", "CannotConnectError", "Service", "StartupInterruptedError"]

log = logging.getLogger(__name__)

# After a second signal each close step (consumer, DLQ producer, pool) gets this long.
_FORCED_CLOSE_S = 1.0
FORCED_EXIT_CODE = 130


class Service:
    def __init__(self, settings: Settings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics(registry or CollectorRegistry())
        self.state = State(
            settings, self.metrics,
            Batcher(settings.batch_size, settings.batch_max_wait_ms / 1000),
        )  # fmt: skip
        self._stopped = asyncio.Event()
        self._forced = asyncio.Event()  # a second signal: cut every remaining wait
        self.startup = Startup(settings, self.state.should_exit)
        self.checkpoint = Checkpoint(self.state)
        self.rebalance = Rebalance(self.state, self.checkpoint)
        self.health = Health(self.state, self._stopped, self.startup)
        self.fetch = Fetch(self.state)
        self.http = HttpServer(self.metrics.registry, self.health.ready_reason)
        self._signals = 0
        self._pool: asyncpg.Pool | None = None
        self._dlq: DeadLetterSender | None = None
        self._relay: Relay | None = None  # the change relay (history on)
        self._tasks: list[asyncio.Task[None]] = []
        self._gc_managed = False

    @property
    def exit_code(self) -> int:
        return self.state.exit_code

    async def __aenter__(self) -> Service:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        s, state = self.settings, self.state

        log.info("starting consumer", extra=ctx(settings=s.describe()))
        port = await self.http.start(s.metrics_host, s.metrics_port)
        log.info("metrics port bound", extra=ctx(metrics_port=port))
        ready = self.startup.ready
        self._pool = pool = await ready("PostgreSQL", lambda: create_pool(s))
        await require_migrated(pool)
        state.sink = Sink(
            pool, group_id=s.group_id, consumer_name=s.consumer_name, history=s.history.enabled
        )
        security = s.kafka_security
        await ready("Kafka (login)", lambda: check_login(s.kafka_bootstrap, security))
        await ready(
            "Kafka (dead-letter topic)",
            lambda: ensure_topic(s.kafka_bootstrap, s.dlq_topic, security),
        )
        topics = [s.topic, s.files_topic, s.dlq_topic]
        limits = await ready(
            "Kafka (topic limits)", lambda: max_message_bytes(s.kafka_bootstrap, topics, security)
        )
        partition_fetch, fetch_max = fetch_sizes({t: limits[t] for t in (s.topic, s.files_topic)})
        log.info(
            "topic limits",
            extra=ctx(max_message_bytes=limits, max_partition_fetch_bytes=partition_fetch,
                      fetch_max_bytes=fetch_max, max_row_bytes=s.max_row_bytes),
        )  # fmt: skip
        self._dlq = dlq = await ready("Kafka (dead-letter producer)", lambda: start_dlq(s, limits))
        if s.history.enabled:
            relay = Relay(pool, s, self.metrics)
            await ready("Kafka (change relay)", relay.start)
            self._relay = relay
        state.writer = BatchWriter(
            state.sink, dlq, self.metrics, max_row_bytes=s.max_row_bytes,
            on_changes=self._relay.wake if self._relay else None,
        )  # fmt: skip
        state.consumer = consumer = GroupConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            group_id=s.group_id,
            group_instance_id=s.group_instance_id or None,
            client_id=s.consumer_name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=s.max_poll_interval_ms,
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=3000,
            max_partition_fetch_bytes=partition_fetch,
            fetch_max_bytes=fetch_max,
            **security.client_options(),
        )
        consumer.subscribe([s.topic, s.files_topic], listener=self.rebalance)
        if s.group_instance_id:
            await free_dead_members(s.kafka_bootstrap, s.group_id, s.group_instance_id, security)
        await ready("Kafka (consumer group)", consumer.start)
        self.startup.done()
        if gc_policy.start(s.gc_interval_s):
            self._gc_managed = True
            self._tasks.append(
                asyncio.create_task(gc_policy.collect_every(s.gc_interval_s), name="gc")
            )
        if s.group_instance_id:
            freeing = keep_freeing(s.kafka_bootstrap, s.group_id, s.group_instance_id, security)
            self._tasks.append(asyncio.create_task(freeing, name="dead members"))
        if self._relay is not None:
            self._relay.spawn()  # stopped after the drain: its last batches are relayed too
        writing = lambda: not self.checkpoint.idle()  # noqa: E731
        self._tasks += [
            asyncio.create_task(self.health.housekeeping(pool), name="housekeeping"),
            asyncio.create_task(self.health.watch_lag(writing), name="lag"),
            *Upkeep(pool, s.storage, self.metrics).tasks(),
        ]

    def request_exit(self) -> None:
        """Signal handler: the first signal drains, the second one cuts the drain short."""
        self._signals += 1
        if self._signals == 1:
            log.info("shutdown requested: draining")
            self.state.exit_deadline = time.monotonic() + self.settings.shutdown_timeout_s
            self.state.should_exit.set()
            return
        if self._forced.is_set():
            return
        # No os._exit: closing the pool and logging the totals take a second at most, and
        # an abandoned batch is safe (the database only holds whole batches with offsets).
        log.warning("second signal: abandoning the drain, closing (exit %d)", FORCED_EXIT_CODE)
        self.state.exit_code = FORCED_EXIT_CODE
        self.state.exit_deadline = time.monotonic()
        self.state.should_exit.set()
        self._forced.set()

    @property
    def forced(self) -> bool:
        return self._forced.is_set()

    async def _cut(self, work: Awaitable[Any], limit_s: float | None) -> None:
        """Await ``work`` for ``limit_s`` seconds at most (None: no limit); a second signal
        cancels it at once, and once forced every wait gets a second at most. Raises
        TimeoutError when cut (the work is cancelled), else what ``work`` raised."""
        task = asyncio.ensure_future(work)
        if self.forced:
            limit = _FORCED_CLOSE_S if limit_s is None else min(limit_s, _FORCED_CLOSE_S)
            await asyncio.wait({task}, timeout=limit)
        else:
            forced = asyncio.ensure_future(self._forced.wait())
            try:
                first = asyncio.FIRST_COMPLETED
                await asyncio.wait({task, forced}, timeout=limit_s, return_when=first)
            finally:
                forced.cancel()
        if not task.done():
            task.cancel()
            # Its clean-up may wait on a dead server too: bounded like the rest.
            await asyncio.wait({task}, timeout=_FORCED_CLOSE_S)
            raise TimeoutError
        task.result()

    async def stop(self) -> None:
        """Idempotent; drains the in-flight batch first (bounded by the shutdown timeout)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        state = self.state
        state.should_exit.set()
        if state.exit_deadline is None:
            state.exit_deadline = time.monotonic() + self.settings.shutdown_timeout_s
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # Bounded: a background task whose clean-up waits on a broker (the dead-member
            # check's admin client) must not hold the exit (the soak once saw one hang).
            _, stuck = await asyncio.wait(self._tasks, timeout=_FORCED_CLOSE_S)
            if stuck:
                log.warning(
                    "background task(s) did not stop in time",
                    extra=ctx(tasks=sorted(t.get_name() for t in stuck)),
                )
        if state.consumer is not None and state.sink is not None:
            try:
                # Bounded by the shutdown deadline (a retried batch gives up there, a hung
                # write is cancelled there) and cut at once by a second signal.
                left = max(state.exit_deadline - time.monotonic(), 0.0)
                await self._cut(self._drain(), left + _FORCED_CLOSE_S)
            except TimeoutError:
                log.warning("drain cut short: the in-flight batch is re-read on restart")
                await self.checkpoint.abandon_inflight(_FORCED_CLOSE_S)
        if self._relay is not None:
            # What the drain's last batches told goes out before the stop (else: next start).
            with contextlib.suppress(Exception):
                await self._cut(self._relay.close(5.0), 12.0)
        if state.consumer is not None:
            with contextlib.suppress(Exception):
                await self._cut(state.consumer.stop(), 10)
        if self._dlq is not None:
            with contextlib.suppress(Exception):
                await self._cut(self._dlq.stop(), 10)
        if self._pool is not None:
            try:
                await self._cut(self._pool.close(), 5)
            except (TimeoutError, Exception):  # noqa: BLE001 - closing must not fail shutdown
                self._pool.terminate()
        await self.http.stop()
        if self._gc_managed:
            gc_policy.stop()
        self.metrics.ready.set(0)
        log.info("consumer stopped", extra=ctx(totals=self.totals()))

    async def _drain(self) -> None:
        async with self.state.lock:
            await self.checkpoint.drain()

    def totals(self) -> dict[str, int]:
        return self.metrics.totals()

    async def run(self) -> int:
        """The fetch loop until a stop signal (or idle exit); a second signal cancels it
        even while it waits on a stuck batch write."""
        with contextlib.suppress(TimeoutError):
            await self._cut(self._run(), None)
        return self.state.exit_code

    async def _run(self) -> None:
        """Fetch, batch, hand full batches to the checkpoint (health.py watches the lag)."""
        state, batcher = self.state, self.state.batcher
        while not state.should_exit.is_set():
            fetched = await self.fetch.fetch(batcher.time_left(time.monotonic()), batcher.room())
            async with state.lock:
                records = self.fetch.accept(fetched)
                if records:
                    state.last_record_at = time.monotonic()
                batcher.add(records, time.monotonic())
                if batcher.due(time.monotonic()):
                    await self.checkpoint.hand_off(Batch.of(batcher.take()))
