"""The change relay: the outbox (ingest.lot_changes) to the change topic, exactly once in effect.

A round, in one transaction: lock the topic's position row (``FOR UPDATE SKIP LOCKED``: of
several consumers one relays, the others skip the round), read the events after it in
(txid, seq) order, send them (key = lot number) and await Kafka's acknowledgement, then store
the last one as the position and delete what was relayed. Killed between the acknowledgement
and the COMMIT, the round is sent again by the next one: at least once, and each event carries
its stable id (payload ``id``, header ``vinops-event-id``) so a reader that drops a repeated id
gets each event once.

Only events of transactions older than every running one are read (``txid <
pg_snapshot_xmin``): a transaction still open may commit an event ordered before the
position, which a plain sequence could not rule out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer

from consumer.config.retry import Backoff
from consumer.config.settings import Settings
from consumer.observe.logs import ctx
from consumer.observe.metrics import Metrics
from consumer.observe.streaks import Streak
from consumer.store.dlq import ensure_topic

log = logging.getLogger(__name__)

_CREATE_POSITION = """
INSERT INTO ingest.relay_positions (topic) VALUES ($1) ON CONFLICT DO NOTHING
"""
_POSITION = """
SELECT last_txid::text AS last_txid, last_seq FROM ingest.relay_positions WHERE topic = $1
FOR UPDATE SKIP LOCKED
"""
_EVENTS = """
SELECT txid::text AS txid, seq, event_id, lot_external_id, kind, payload::text AS payload
FROM ingest.lot_changes
WHERE (txid, seq) > ($1::text::xid8, $2::bigint)
  AND txid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY txid, seq LIMIT $3
"""
_STORE = """
WITH pos AS (
  UPDATE ingest.relay_positions SET last_txid = $2::text::xid8, last_seq = $3,
         relayed = relayed + $4, updated_at = now()
  WHERE topic = $1
)
DELETE FROM ingest.lot_changes WHERE (txid, seq) <= ($2::text::xid8, $3::bigint)
"""
_LAG = """
SELECT count(*) AS pending, extract(epoch FROM now() - min(c.recorded_at))::float8 AS oldest_s
FROM ingest.lot_changes c
LEFT JOIN ingest.relay_positions p ON p.topic = $1
WHERE p.topic IS NULL OR (c.txid, c.seq) > (p.last_txid, p.last_seq)
"""
# The outbox's size for its gauge: counted at most this often (a stuck relay's outbox grows).
_LAG_EVERY_S = 5.0


class Relay:
    def __init__(self, pool: asyncpg.Pool, settings: Settings, metrics: Metrics) -> None:
        self._pool = pool
        self._bootstrap = settings.kafka_bootstrap
        self._settings = settings.history
        self._topic = settings.history.changes_topic
        self._security = settings.kafka_security
        self._metrics = metrics
        self._client_id = f"{settings.consumer_name}-relay"
        self._producer: Any = None
        self._started = False
        self._lag_at = 0.0
        # Set at a clean stop: the loop ends between rounds (a round cancelled after its send
        # would be sent again by the flush).
        self._stopping = asyncio.Event()
        # Set by a commit that wrote events (``wake``) or by the stop: the loop's wait ends,
        # so events go out right after their batch instead of at the next look.
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Create the topic and the position row if need be, start a producer (a new one on
        each attempt: a producer that failed to start cannot start again)."""
        await ensure_topic(self._bootstrap, self._topic, self._security)
        async with self._pool.acquire() as conn:
            await conn.execute(_CREATE_POSITION, self._topic)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=True,
            compression_type="lz4", linger_ms=5, request_timeout_ms=15000,
            client_id=self._client_id, **self._security.client_options(),
        )  # fmt: skip
        try:
            await self._producer.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            raise
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._producer.stop()

    async def round(self) -> int:
        """One round: events relayed (0: none waiting, or another relay holds the position)."""
        async with self._pool.acquire() as conn, conn.transaction():
            position = await conn.fetchrow(_POSITION, self._topic)
            if position is None:
                return 0
            events = await conn.fetch(
                _EVENTS, position["last_txid"], position["last_seq"], self._settings.relay_batch
            )
            if not events:
                return 0
            sent = []
            for e in events:
                headers = [("vinops-event-id", str(e["event_id"]).encode()),
                           ("vinops-event-kind", e["kind"].encode())]  # fmt: skip
                key = e["lot_external_id"].encode()
                sent.append(await self._producer.send(
                    self._topic, e["payload"].encode(), key=key, headers=headers))  # fmt: skip
            await asyncio.gather(*sent)
            if self._settings.relay_pause_s:
                log.info("relay: events sent, storing the position", extra=ctx(events=len(events)))
                await asyncio.sleep(self._settings.relay_pause_s)
            last = events[-1]
            await conn.execute(_STORE, self._topic, last["txid"], last["seq"], len(events))
        self._metrics.changes_relayed.inc(len(events))
        return len(events)

    async def measure(self, *, force: bool = False) -> int:
        """Refresh the lag gauges (at most every few seconds unless ``force``); the pending
        count, or -1 when not measured now."""
        now = time.monotonic()
        if not force and now - self._lag_at < _LAG_EVERY_S:
            return -1
        self._lag_at = now
        async with self._pool.acquire() as conn:
            lag = await conn.fetchrow(_LAG, self._topic)
            total = await conn.fetchval("SELECT count(*) FROM ingest.lot_changes")
        assert lag is not None  # noqa: S101 - an aggregate returns one row
        pending = int(lag["pending"])
        self._metrics.relay_lag_rows.set(pending)
        self._metrics.relay_lag_seconds.set(float(lag["oldest_s"] or 0.0))
        self._metrics.outbox_rows.set(int(total))
        return pending

    def spawn(self) -> None:
        """Relay in the background until ``close``."""
        self._task = asyncio.create_task(self.run(), name="change relay")

    def wake(self) -> None:
        """A batch with change events committed: relay now."""
        self._woken.set()

    async def close(self, flush_s: float) -> None:
        """A clean stop: the loop ends after its round, what is waiting is relayed (for
        ``flush_s`` at most), the producer closes."""
        self._stopping.set()
        self._woken.set()
        if self._task is not None:
            _, running = await asyncio.wait({self._task}, timeout=flush_s)
            if running:
                self._task.cancel()
                await asyncio.wait({self._task}, timeout=1.0)
        await self.flush(flush_s)
        await self.stop()

    async def _pause(self, seconds: float, *, wakeable: bool = True) -> None:
        """Wait ``seconds``, less when stopped (or, ``wakeable``, when a commit wakes it)."""
        with contextlib.suppress(TimeoutError):
            event = self._woken if wakeable else self._stopping
            await asyncio.wait_for(event.wait(), seconds)
        self._woken.clear()

    async def run(self) -> None:
        """Relay until ``close`` (or cancelled); failures (PostgreSQL or Kafka away) retried
        with backoff."""
        backoff = Backoff()
        streak = Streak(log, "change relay")
        interval = self._settings.relay_interval_ms / 1000
        while not self._stopping.is_set():
            try:
                relayed = await self.round()
                await self.measure()
            except Exception as exc:  # noqa: BLE001 - PostgreSQL or Kafka away: retried, never fatal
                streak.failed(error=type(exc).__name__, detail=str(exc)[:200])
                await self._pause(backoff.next_delay(), wakeable=False)
                continue
            streak.ended()
            backoff.reset()
            if relayed < self._settings.relay_batch:
                await self._pause(interval)

    async def flush(self, limit_s: float) -> None:
        """At a clean stop: relay what is waiting, for ``limit_s`` seconds at most."""
        deadline = time.monotonic() + limit_s
        try:
            while time.monotonic() < deadline:
                if await self.round() == 0:
                    if await self.measure(force=True) == 0:
                        return
                    await asyncio.sleep(0.2)
        except Exception as exc:  # noqa: BLE001 - the next start relays it
            log.warning("change relay: not flushed at stop", extra=ctx(error=type(exc).__name__))
