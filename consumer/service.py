"""`consumer run`: fetch -> batch -> prepare -> sink.write (one transaction) -> commit.

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
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import asyncpg
from aiokafka import TopicPartition
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from consumer import errors, migrate, status, streaks
from consumer.batcher import Batcher
from consumer.dlq import DeadLetterSender, ensure_topic
from consumer.group_lag import GroupLag
from consumer.http import HttpServer
from consumer.logs import ctx
from consumer.membership import GroupConsumer
from consumer.metrics import Metrics
from consumer.offsets import DbOffsetsListener
from consumer.positions import Positions
from consumer.prepare import PreparedBatch, content_digests, prepare
from consumer.records import Inbound
from consumer.retry import Backoff
from consumer.settings import Settings
from consumer.sink import Sink
from consumer.topic_limits import fetch_sizes, max_message_bytes
from consumer.writer import BatchWriter

log = logging.getLogger(__name__)

_LAG_EVERY_S = 1.0
_STUCK_EVERY_S = 30.0
_PROBE_TIMEOUT_S = 2.0


class _AbandonedError(Exception):
    """The in-flight batch was given up (partitions revoked, or shutdown timed out)."""


class StartupInterruptedError(Exception):
    """A stop signal arrived while start() still waited for a service: nothing to drain."""


def to_inbound(record: Any) -> Inbound:
    return Inbound(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers=tuple((k, bytes(v)) for k, v in (record.headers or ())),
        timestamp_ms=int(record.timestamp),
    )


class Service:
    def __init__(self, settings: Settings, registry: CollectorRegistry | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics(registry or CollectorRegistry())
        self.http = HttpServer(self.metrics.registry, self.ready_reason)
        self._batcher: Batcher[Inbound] = Batcher(
            settings.batch_size, settings.batch_max_wait_ms / 1000
        )
        self._should_exit = asyncio.Event()
        self._exit_deadline: float | None = None
        self._signals = 0
        self._lock = asyncio.Lock()  # one writer at a time: main loop or rebalance callback
        # Set by the seeks in _on_assigned, advanced as records are accepted (positions.py).
        self._positions = Positions()
        self._abandon = False
        self._joined = False
        self._retrying: str | None = None
        self._last_record_at = time.monotonic()
        self._pool: asyncpg.Pool | None = None
        self._sink: Sink | None = None
        self._dlq: DeadLetterSender | None = None
        self._batch_writer: BatchWriter | None = None
        self._consumer: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        # The batch being written while the next one is fetched and prepared: at most one,
        # and written strictly in order, so offsets only ever move forward.
        self._inflight: asyncio.Task[None] | None = None
        self._group_lag_probe: GroupLag | None = None
        self._waiting_logged_at = float("-inf")
        self._stopped = False
        self.exit_code = 0

    # ---- lifecycle -------------------------------------------------------------------

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
        s = self.settings
        log.info("starting consumer", extra=ctx(settings=s.describe()))
        port = await self.http.start(s.metrics_host, s.metrics_port)
        log.info("metrics port bound", extra=ctx(metrics_port=port))
        self._pool = await self._retry_until_ready("postgres", self._create_pool)
        await self._require_migrated(self._pool)
        self._sink = Sink(self._pool, group_id=s.group_id, consumer_name=s.consumer_name)
        await self._retry_until_ready(
            "dlq topic", lambda: ensure_topic(s.kafka_bootstrap, s.dlq_topic)
        )
        limits: dict[str, int] = await self._retry_until_ready(
            "topic limits",
            lambda: max_message_bytes(s.kafka_bootstrap, [s.topic, s.files_topic, s.dlq_topic]),
        )
        partition_fetch, fetch_max = fetch_sizes({t: limits[t] for t in (s.topic, s.files_topic)})
        log.info(
            "topic limits",
            extra=ctx(max_message_bytes=limits, max_partition_fetch_bytes=partition_fetch,
                      fetch_max_bytes=fetch_max, max_row_bytes=s.max_row_bytes),
        )  # fmt: skip
        self._dlq = await self._retry_until_ready("dlq producer", lambda: self._start_dlq(limits))
        self._batch_writer = BatchWriter(
            self._sink, self._dlq, self.metrics, row_topic=s.topic, files_topic=s.files_topic,
            max_row_bytes=s.max_row_bytes,
        )  # fmt: skip
        self._consumer = GroupConsumer(
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
        )
        self._consumer.subscribe(
            [s.topic, s.files_topic],
            listener=DbOffsetsListener(self._on_revoked, self._on_assigned),
        )
        await self._retry_until_ready("kafka consumer", self._consumer.start)
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))

    async def _create_pool(self) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            self.settings.pg_dsn,
            min_size=1,
            max_size=self.settings.pool_size,
            command_timeout=300,
            server_settings={"application_name": self.settings.consumer_name[:60]},
        )
        assert pool is not None  # noqa: S101 - create_pool returns a pool when awaited
        return pool

    async def _start_dlq(self, limits: Mapping[str, int]) -> DeadLetterSender:
        s = self.settings
        dlq = DeadLetterSender(
            s.kafka_bootstrap, s.dlq_topic, s.consumer_name,
            max_message_bytes=limits[s.dlq_topic],
        )  # fmt: skip
        await dlq.start()
        return dlq

    async def _require_migrated(self, pool: asyncpg.Pool) -> None:
        """Refuse to start on a database that lacks migrations this code needs."""
        try:
            registry = migrate.load_registry(migrate.default_migrations_dir())
        except migrate.MigrateError:
            return  # installed without migrations/: the migrate job owns the schema
        try:
            async with pool.acquire() as conn:
                missing = await migrate.unapplied(conn, registry)
        except asyncpg.InsufficientPrivilegeError:
            log.warning("cannot read ingest.schema_migrations: schema version not checked")
            return
        if missing:
            raise errors.ConfigError(
                f"the database lacks {len(missing)} migration(s) (first: {missing[0].file}); "
                "run `consumer migrate`"
            )

    async def _retry_until_ready(self, what: str, attempt: Any) -> Any:
        """Retry ``attempt`` until it succeeds; a stop signal ends the wait at once."""
        backoff = Backoff(self.settings.retry_base_s, self.settings.retry_cap_s)
        streak = streaks.Streak(log, f"start-up: {what}")
        while True:
            try:
                result = await self._unless_exit(what, attempt())
            except (OSError, KafkaError, asyncpg.PostgresError, TimeoutError) as exc:
                if self._should_exit.is_set():
                    raise StartupInterruptedError(what) from None
                delay = backoff.next_delay()
                streak.failed(error=type(exc).__name__, detail=str(exc)[:200], retry_in_s=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._should_exit.wait(), delay)
                continue
            streak.ended()
            return result

    async def _unless_exit(self, what: str, work: Any) -> Any:
        """Await ``work`` unless a stop signal comes first (then it is cancelled)."""
        if self._should_exit.is_set():
            work.close()
            raise StartupInterruptedError(what)
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self._should_exit.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            raise StartupInterruptedError(what)
        return task.result()

    def request_exit(self) -> None:
        """Signal handler: the first signal drains, the second one exits at once."""
        self._signals += 1
        if self._signals == 1:
            log.info("shutdown requested: draining")
            self._exit_deadline = time.monotonic() + self.settings.shutdown_timeout_s
            self._should_exit.set()
            return
        log.error("second signal: exiting without draining (DB offsets make this safe)")
        logging.shutdown()
        os._exit(130)

    async def stop(self) -> None:
        """Idempotent; drains the in-flight batch first (bounded by the shutdown timeout)."""
        if self._stopped:
            return
        self._stopped = True
        self._should_exit.set()
        if self._exit_deadline is None:
            self._exit_deadline = time.monotonic() + self.settings.shutdown_timeout_s
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._consumer is not None and self._sink is not None:
            async with self._lock:
                await self._await_inflight()
                if len(self._batcher):
                    with contextlib.suppress(_AbandonedError):
                        await self._flush(self._batcher.take())
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._consumer.stop(), 10)
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

    # ---- main loop ---------------------------------------------------------------------

    async def run(self) -> int:
        consumer = self._consumer
        backoff = Backoff(self.settings.retry_base_s, self.settings.retry_cap_s)
        fetching = streaks.Streak(log, "fetch")
        next_lag = 0.0
        while not self._should_exit.is_set():
            now = time.monotonic()
            try:
                fetched = await consumer.getmany(
                    timeout_ms=max(int(self._batcher.time_left(now) * 1000), 1),
                    max_records=max(self._batcher.room(), 1),
                )
            except KafkaError as exc:  # fetch errors are rare: aiokafka retries inside
                fetching.failed(error=repr(exc)[:200])
                await asyncio.sleep(backoff.next_delay())
                continue
            fetching.ended()
            backoff.reset()
            async with self._lock:
                records = self._accept(fetched)
                if records:
                    self._last_record_at = time.monotonic()
                self._batcher.add(records, time.monotonic())
                if self._batcher.due(time.monotonic()):
                    await self._hand_off(self._batcher.take())
            if time.monotonic() >= next_lag:
                next_lag = time.monotonic() + _LAG_EVERY_S
                caught_up = await self._update_lag()
                if self._idle_done(caught_up):
                    log.info(
                        "caught up and idle: exiting",
                        extra=ctx(idle_s=self.settings.exit_when_idle_s),
                    )
                    break
        return self.exit_code

    def _accept(self, fetched: Mapping[Any, Sequence[Any]]) -> list[Inbound]:
        """Fetched records to write: each partition in order from its expected offset."""
        consumer = self._consumer
        verdict = self._positions.accept(fetched, consumer.assignment(), consumer.seek)
        for gap in verdict.gaps:
            self.metrics.offset_gaps.inc()
            log.warning(
                "records skipped by a fetch: re-reading from the expected offset",
                extra=ctx(partition=_name(gap.partition), expected=gap.expected, found=gap.found),
            )
        return [to_inbound(r) for r in verdict.records]

    def _idle_done(self, caught_up: bool) -> bool:
        idle = self.settings.exit_when_idle_s
        return (
            idle is not None
            and caught_up
            and not len(self._batcher)
            and (self._inflight is None or self._inflight.done())
            and time.monotonic() - self._last_record_at >= idle
        )

    async def _update_lag(self) -> bool:
        """Refresh the lag gauges; True when every partition of the subscribed topics, this
        process's or not, is committed to its end in PostgreSQL."""
        consumer = self._consumer
        caught_up = self._joined and self._retrying is None
        try:
            group_done = await self._group_lag().refresh()
        except (KafkaError, TimeoutError, errors.IngestError) as exc:
            log.debug("group lag refresh failed", extra=ctx(error=repr(exc)[:200]))
            group_done = False
        if caught_up and not group_done and self.settings.exit_when_idle_s is not None:
            self._log_waiting_for_group()
        caught_up = caught_up and group_done
        for tp in list(consumer.assignment()):
            highwater = consumer.highwater(tp)
            try:
                position = await asyncio.wait_for(consumer.position(tp), _PROBE_TIMEOUT_S)
            except (KafkaError, TimeoutError):
                caught_up = False
                continue
            if highwater is None:
                caught_up = False
                continue
            lag = max(highwater - position, 0)
            self.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
            caught_up = caught_up and lag == 0
        return caught_up

    def _group_lag(self) -> GroupLag:
        if self._group_lag_probe is None:
            assert self._sink is not None  # noqa: S101 - set in start()
            s = self.settings
            self._group_lag_probe = GroupLag(
                self._consumer, self._sink, (s.topic, s.files_topic), self.metrics
            )
        return self._group_lag_probe

    def _log_waiting_for_group(self) -> None:
        """Once a minute at most: idle here, but partitions elsewhere still have lag."""
        now = time.monotonic()
        if now - self._waiting_logged_at >= 60:
            self._waiting_logged_at = now
            log.info("assigned partitions caught up; waiting for the rest of the group's")

    # ---- flushing a batch --------------------------------------------------------------

    async def _hand_off(self, messages: list[Inbound]) -> None:
        """Prepare this batch (in a thread) while the previous one is still being written.

        prepare() is pure Python and the write mostly waits on PostgreSQL, so overlapping
        them uses both cores; the write itself starts only after the previous one committed.
        """
        prepared = asyncio.ensure_future(self._prepare(messages))
        try:
            await self._await_inflight()
        except BaseException:
            prepared.cancel()
            raise
        self._inflight = asyncio.create_task(self._flush_quietly(messages, prepared))

    async def _prepare(self, messages: list[Inbound]) -> PreparedBatch:
        """prepare() in a thread, told which contents are already applied (those rows are
        only referenced). A failed look-up costs speed, not correctness: nothing is skipped."""
        s = self.settings
        digests = await asyncio.to_thread(content_digests, messages, s.topic)
        known: dict[bytes, tuple[int, int] | None] = {}
        if digests and self._sink is not None:
            try:
                known = await self._sink.known_contents(digests)
            except errors.IngestError as exc:
                log.info("known-content look-up failed", extra=ctx(error=str(exc)[:200]))
        return await asyncio.to_thread(
            prepare, messages, row_topic=s.topic, files_topic=s.files_topic, known=known,
            max_row_bytes=s.max_row_bytes,
        )  # fmt: skip

    async def _flush_quietly(
        self, messages: list[Inbound], prepared: asyncio.Future[PreparedBatch]
    ) -> None:
        with contextlib.suppress(_AbandonedError):
            await self._flush(messages, await prepared)

    async def _await_inflight(self) -> None:
        """Wait for the batch in flight (its unexpected errors surface here)."""
        task, self._inflight = self._inflight, None
        if task is not None:
            await task

    async def _flush(self, messages: list[Inbound], prepared: PreparedBatch | None = None) -> None:
        """Commit a batch, retrying transient failures; raises _AbandonedError if given up."""
        if not messages:
            return
        backoff = Backoff(self.settings.retry_base_s, self.settings.retry_cap_s)
        paused = False
        sent: set[tuple[str, int, int]] = set()  # dead letters acked: not re-sent on retry
        streak = streaks.Streak(log, "batch write (consumption paused)")
        try:
            while True:
                started = time.monotonic()
                try:
                    offsets = await self._writer().write(messages, sent, prepared)
                except (errors.TransientError, KafkaError, OSError) as exc:
                    self._retrying = f"{type(exc).__name__}: {str(exc)[:120]}"
                    self.metrics.ready.set(0)
                    if not paused:
                        self._consumer.pause(*self._consumer.assignment())
                        self.metrics.retry_started.set(time.time())
                        paused = True
                    delay = backoff.next_delay()
                    streak.failed(messages=len(messages), error=self._retrying)
                    log.debug("batch failed transiently", extra=ctx(retry_in_s=round(delay, 3)))
                    await self._pause_for(delay)
                    if self._abandon or self._past_deadline():
                        streak.ended("abandoned", messages=len(messages))
                        raise _AbandonedError from exc
                    continue
                streak.ended("committed", messages=len(messages))
                seconds = time.monotonic() - started
                self.metrics.batch_duration.observe(seconds)
                self.metrics.batch_rows.observe(len(messages))
                await self._kafka_commit(offsets)
                log.info(
                    "batch committed",
                    extra=ctx(
                        messages=len(messages), seconds=round(seconds, 4),
                        offsets={f"{t}:{p}": o for (t, p), o in sorted(offsets.items())},
                    ),
                )  # fmt: skip
                return
        finally:
            self._retrying = None
            self.metrics.retry_started.set(0)
            if paused:
                with contextlib.suppress(Exception):
                    self._consumer.resume(*self._consumer.assignment())

    async def _pause_for(self, seconds: float) -> None:
        """Wait while paused; keeps calling getmany so the poll interval never expires."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self._abandon:
            with contextlib.suppress(KafkaError):
                # All partitions are paused: this only keeps the member polling. Anything
                # it does return (a partition assigned since) is read again later.
                fetched = await self._consumer.getmany(
                    timeout_ms=max(int(min(left, 0.5) * 1000), 1)
                )
                for tp, records in fetched.items():
                    if records and tp in self._consumer.assignment():
                        self._consumer.seek(tp, records[0].offset)
            if self._past_deadline():
                return

    def _past_deadline(self) -> bool:
        return self._exit_deadline is not None and time.monotonic() > self._exit_deadline

    def _writer(self) -> BatchWriter:
        assert self._batch_writer is not None  # noqa: S101 - set in start()
        return self._batch_writer

    async def _kafka_commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Mirror DB offsets to Kafka for lag tooling only; failures do not matter."""
        assigned = self._consumer.assignment()
        todo = {TopicPartition(t, p): o for (t, p), o in offsets.items()}
        todo = {tp: o for tp, o in todo.items() if tp in assigned}
        if not todo:
            return
        try:
            await asyncio.wait_for(self._consumer.commit(todo), 5)
        except (KafkaError, TimeoutError) as exc:
            log.debug("kafka offset commit skipped", extra=ctx(error=repr(exc)[:200]))

    # ---- rebalance ---------------------------------------------------------------------

    async def _on_revoked(self, revoked: frozenset[Any]) -> None:
        self._joined = False
        for tp in revoked:  # no stale series: this process no longer reads them
            with contextlib.suppress(KeyError):
                self.metrics.consumer_lag.remove(tp.topic, str(tp.partition))
        self._abandon = True  # a batch stuck in retries gives up instead of holding the group
        async with self._lock:
            self._positions.reset({})
            try:
                await self._await_inflight()
            except Exception as exc:  # noqa: BLE001 - the next owner re-reads from DB offsets
                log.warning("in-flight batch failed on revoke", extra=ctx(error=repr(exc)[:200]))
            self._abandon = False
            messages = self._batcher.take()
            if messages and not self._past_deadline():
                try:
                    await self._flush_once(messages)
                except Exception as exc:  # noqa: BLE001 - the next owner re-reads from DB offsets
                    log.warning(
                        "flush on revoke failed: batch dropped",
                        extra=ctx(messages=len(messages), error=repr(exc)[:200]),
                    )
        log.info("partitions revoked", extra=ctx(partitions=_names(revoked)))

    async def _flush_once(self, messages: list[Inbound]) -> None:
        started = time.monotonic()
        offsets = await self._writer().write(messages, set())
        self.metrics.batch_duration.observe(time.monotonic() - started)
        self.metrics.batch_rows.observe(len(messages))
        await self._kafka_commit(offsets)

    async def _on_assigned(self, assigned: frozenset[Any]) -> None:
        try:
            await self._position(assigned)
        except Exception:
            # aiokafka logs and swallows a failing callback: the partitions would stay
            # unpositioned and every record of them dropped. Exit; a restart re-joins.
            log.exception("positioning assigned partitions failed: exiting")
            self.exit_code = 1
            self._should_exit.set()

    async def _position(self, assigned: frozenset[Any]) -> None:
        consumer = self._consumer
        by_topic: dict[str, list[int]] = {}
        for tp in assigned:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        backoff = Backoff(self.settings.retry_base_s, self.settings.retry_cap_s)
        stored: dict[str, dict[int, int]] = {}
        while True:
            try:
                assert self._sink is not None  # noqa: S101 - set in start()
                for topic, parts in by_topic.items():
                    stored[topic] = await self._sink.committed_offsets(topic, parts)
                break
            except (errors.TransientError, OSError) as exc:
                if self._should_exit.is_set():
                    # Kafka offsets never run ahead of the DB: starting there only replays.
                    return
                log.warning("cannot read DB offsets, retrying", extra=ctx(error=repr(exc)[:200]))
                await asyncio.sleep(backoff.next_delay())
        async with self._lock:
            positions = {
                tp: stored[tp.topic][tp.partition]
                for tp in assigned
                if tp.partition in stored.get(tp.topic, {})
            }
            fresh = [tp for tp in assigned if tp not in positions]
            if fresh:
                # Explicit offsets, not seek_to_beginning(): its reset is applied lazily.
                positions.update(await consumer.beginning_offsets(fresh))
            for tp, offset in positions.items():
                consumer.seek(tp, offset)
            # The fetcher starts as soon as the assignment is known, from Kafka's position,
            # while this callback is still reading PostgreSQL: what it handed out before these
            # seeks was never written and will be fetched again from the DB offsets.
            self._batcher.take()
            self._positions.reset(positions)
        self._joined = True
        log.info(
            "partitions assigned",
            extra=ctx(
                partitions=_names(assigned),
                db_offsets={_name(tp): o for tp, o in positions.items() if tp not in fresh},
                from_beginning=_names(fresh),
            ),
        )

    # ---- readiness and housekeeping -----------------------------------------------------

    async def ready_reason(self) -> str | None:
        reason = await self._ready_reason()
        self.metrics.ready.set(1 if reason is None else 0)
        return reason

    async def _ready_reason(self) -> str | None:
        if self._stopped or self._should_exit.is_set():
            return "shutting down"
        if self._retrying is not None:
            return f"retrying transient failure ({self._retrying})"
        if not self._joined or self._sink is None or self._consumer is None:
            return "consumer group not joined yet"
        try:
            await asyncio.wait_for(self._sink.ping(), _PROBE_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return f"database unreachable ({type(exc).__name__})"
        try:
            await asyncio.wait_for(self._consumer.topics(), _PROBE_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001
            return f"broker unreachable ({type(exc).__name__})"
        return None

    async def _housekeeping(self) -> None:
        """Refresh slow gauges: stuck ETL runs (DB query every 30 s) and readiness."""
        next_stuck = 0.0
        while True:
            if time.monotonic() >= next_stuck and self._pool is not None:
                next_stuck = time.monotonic() + _STUCK_EVERY_S
                try:
                    stuck = await asyncio.wait_for(status.stuck_runs(self._pool), 10)
                    self.metrics.etl_runs_stuck.set(stuck)
                except Exception as exc:  # noqa: BLE001 - a gauge refresh must never kill us
                    log.debug("stuck-run refresh failed", extra=ctx(error=repr(exc)[:200]))
            await self.ready_reason()
            streaks.KAFKA_REPEATS.flush()
            await asyncio.sleep(5)


def _name(tp: Any) -> str:
    return f"{tp.topic}:{tp.partition}"


def _names(tps: Any) -> list[str]:
    return sorted(map(_name, tps))
