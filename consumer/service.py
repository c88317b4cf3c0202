"""`consumer run`: the service's lifecycle. The data flow is five modules:
fetch (fetch.py) -> batch (batcher.py) -> prepare (prepare.py) -> sink (sink.py) ->
checkpoint (checkpoint.py); rebalance.py positions partitions, health.py answers /readyz.

Exactly-once in effect: each batch's rows and its next offsets commit in ONE PostgreSQL
transaction; on assignment partitions seek to the DB offsets. Kafka commits follow only so
that lag stays visible to Kafka tools. Bad data is bisected out of a batch and dead-lettered;
transient failures pause consumption and retry with backoff, never dead-letter.

Shutdown order is checkpoint order: stop fetching, flush the batch, commit, close the
consumer and the DLQ producer, close the pool (terminate after a timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from types import TracebackType

import asyncpg
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from consumer.batcher import Batcher
from consumer.checkpoint import Checkpoint
from consumer.dlq import DeadLetterSender, ensure_topic
from consumer.fetch import Fetch
from consumer.health import Health
from consumer.http import HttpServer
from consumer.logs import ctx
from consumer.metrics import Metrics
from consumer.rebalance import Rebalance
from consumer.settings import Settings
from consumer.sink import Sink
from consumer.startup import (
    StartupInterruptedError,
    create_pool,
    require_migrated,
    retry_until_ready,
    start_dlq,
)
from consumer.state import State
from consumer.topic_limits import fetch_sizes, max_message_bytes
from consumer.writer import BatchWriter
from feed.kafka_security import check_login

__all__ = ["Service", "StartupInterruptedError"]

log = logging.getLogger(__name__)

_LAG_EVERY_S = 1.0


class Service:
    def __init__(self, settings: Settings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics(registry or CollectorRegistry())
        self.state = State(
            settings, self.metrics,
            Batcher(settings.batch_size, settings.batch_max_wait_ms / 1000),
        )  # fmt: skip
        self._stopped = asyncio.Event()
        self.checkpoint = Checkpoint(self.state)
        self.rebalance = Rebalance(self.state, self.checkpoint)
        self.health = Health(self.state, self._stopped)
        self.fetch = Fetch(self.state)
        self.http = HttpServer(self.metrics.registry, self.health.ready_reason)
        self._signals = 0
        self._pool: asyncpg.Pool | None = None
        self._dlq: DeadLetterSender | None = None
        self._tasks: list[asyncio.Task[None]] = []

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
        self._pool = pool = await retry_until_ready(
            s, state.should_exit, "postgres", lambda: create_pool(s)
        )
        await require_migrated(pool)
        state.sink = Sink(pool, group_id=s.group_id, consumer_name=s.consumer_name)
        security = s.kafka_security
        await retry_until_ready(
            s, state.should_exit, "kafka login", lambda: check_login(s.kafka_bootstrap, security)
        )
        await retry_until_ready(
            s, state.should_exit, "dlq topic",
            lambda: ensure_topic(s.kafka_bootstrap, s.dlq_topic, security),
        )  # fmt: skip
        topics = [s.topic, s.files_topic, s.dlq_topic]
        limits = await retry_until_ready(
            s, state.should_exit, "topic limits",
            lambda: max_message_bytes(s.kafka_bootstrap, topics, security),
        )  # fmt: skip
        partition_fetch, fetch_max = fetch_sizes({t: limits[t] for t in (s.topic, s.files_topic)})
        log.info(
            "topic limits",
            extra=ctx(max_message_bytes=limits, max_partition_fetch_bytes=partition_fetch,
                      fetch_max_bytes=fetch_max, max_row_bytes=s.max_row_bytes),
        )  # fmt: skip
        self._dlq = dlq = await retry_until_ready(
            s, state.should_exit, "dlq producer", lambda: start_dlq(s, limits)
        )
        state.writer = BatchWriter(
            state.sink, dlq, self.metrics, row_topic=s.topic, files_topic=s.files_topic,
            max_row_bytes=s.max_row_bytes,
        )  # fmt: skip
        state.consumer = consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            group_id=s.group_id,
            client_id=s.consumer_name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=s.max_poll_interval_ms,
            session_timeout_ms=20000,
            heartbeat_interval_ms=3000,
            max_partition_fetch_bytes=partition_fetch,
            fetch_max_bytes=fetch_max,
            **security.client_options(),
        )
        consumer.subscribe([s.topic, s.files_topic], listener=self.rebalance)
        await retry_until_ready(s, state.should_exit, "kafka consumer", consumer.start)
        self._tasks.append(asyncio.create_task(self.health.housekeeping(pool), name="housekeeping"))

    def request_exit(self) -> None:
        """Signal handler: the first signal drains, the second one exits at once."""
        self._signals += 1
        if self._signals == 1:
            log.info("shutdown requested: draining")
            self.state.exit_deadline = time.monotonic() + self.settings.shutdown_timeout_s
            self.state.should_exit.set()
            return
        log.error("second signal: exiting without draining (DB offsets make this safe)")
        logging.shutdown()
        os._exit(130)

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
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if state.consumer is not None and state.sink is not None:
            async with state.lock:
                await self.checkpoint.drain()
        if state.consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(state.consumer.stop(), 10)
        if self._dlq is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._dlq.stop(), 10)
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 5)
            except (TimeoutError, Exception):  # noqa: BLE001 - closing must not fail shutdown
                self._pool.terminate()
        await self.http.stop()
        self.metrics.ready.set(0)
        log.info("consumer stopped", extra=ctx(totals=self.totals()))

    def totals(self) -> dict[str, int]:
        """Row outcomes and dead letters counted by this process (logged at exit)."""
        get = self.metrics.registry.get_sample_value
        out = {
            o: int(get("vinops_ingested_rows_total", {"outcome": o}) or 0)
            for o in ("inserted", "updated", "unchanged", "stale")
        }
        out["unchanged_content"] = int(get("vinops_rows_unchanged_total") or 0)
        out["commits"] = int(get("vinops_commits_total") or 0)
        for delivery in ("truncated", "unsent"):
            out[f"dead_letters_{delivery}"] = int(
                get("vinops_dead_letters_incomplete_total", {"delivery": delivery}) or 0
            )
        return out

    async def run(self) -> int:
        """Fetch, batch, hand full batches to the checkpoint; every second, the lag."""
        state, batcher = self.state, self.state.batcher
        next_lag = 0.0
        while not state.should_exit.is_set():
            fetched = await self.fetch.fetch(batcher.time_left(time.monotonic()), batcher.room())
            async with state.lock:
                records = self.fetch.accept(fetched)
                if records:
                    state.last_record_at = time.monotonic()
                batcher.add(records, time.monotonic())
                if batcher.due(time.monotonic()):
                    await self.checkpoint.hand_off(batcher.take())
            if time.monotonic() >= next_lag:
                next_lag = time.monotonic() + _LAG_EVERY_S
                caught_up = await self.health.update_lag()
                if self.health.idle_done(caught_up, writing=not self.checkpoint.idle()):
                    log.info(
                        "caught up and idle: exiting",
                        extra=ctx(idle_s=self.settings.exit_when_idle_s),
                    )
                    break
        return state.exit_code
