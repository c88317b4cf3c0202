"""Health: readiness (/readyz), lag gauges, "caught up and idle" for --exit-when-idle, and the
slow gauges refreshed in the background (stuck ETL runs).

Everything here runs in background tasks, never in the fetch loop: a lag refresh waits on the
broker and the database (0.1-0.5 s under load), which the loop would otherwise wait out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import asyncpg
from aiokafka.errors import KafkaError

from consumer.checkpoint.state import State
from consumer.config import errors
from consumer.observe import status, streaks
from consumer.observe.logs import ctx
from consumer.service.group_lag import GroupLag
from consumer.service.startup import Startup

log = logging.getLogger(__name__)

_LAG_EVERY_S = 1.0
_STUCK_EVERY_S = 30.0
_PROBE_TIMEOUT_S = 2.0


class Health:
    def __init__(self, state: State, stopped: asyncio.Event, startup: Startup) -> None:
        self._state = state
        self._stopped = stopped
        self._startup = startup
        self._group_lag_probe: GroupLag | None = None
        self._waiting_logged_at = float("-inf")

    async def ready_reason(self) -> str | None:
        reason = await self._ready_reason()
        self._state.metrics.ready.set(1 if reason is None else 0)
        return reason

    async def _ready_reason(self) -> str | None:
        state = self._state
        if self._stopped.is_set() or state.should_exit.is_set():
            return "shutting down"
        if state.retrying is not None:
            return f"retrying transient failure ({state.retrying})"
        if self._startup.waiting_for is not None:
            return f"start-up: waiting for {self._startup.waiting_for}"
        if not state.joined or state.sink is None or state.consumer is None:
            return "consumer group not joined yet"
        try:
            await asyncio.wait_for(state.sink.ping(), _PROBE_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return f"database unreachable ({type(exc).__name__})"
        try:
            await asyncio.wait_for(state.consumer.topics(), _PROBE_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001
            return f"broker unreachable ({type(exc).__name__})"
        return None

    async def update_lag(self) -> bool:
        """Refresh the lag gauges; True when every partition of the subscribed topics, this
        process's or not, is committed to its end in PostgreSQL."""
        state = self._state
        consumer = state.consumer
        caught_up = state.joined and state.retrying is None
        try:
            group_done = await self._group_lag().refresh()
        except (KafkaError, TimeoutError, errors.IngestError) as exc:
            log.debug("group lag refresh failed", extra=ctx(error=repr(exc)[:200]))
            group_done = False
        if caught_up and not group_done and state.settings.exit_when_idle_s is not None:
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
            state.metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
            caught_up = caught_up and lag == 0
        return caught_up

    async def watch_lag(self, writing: Callable[[], bool]) -> None:
        """Every second: the lag gauges, and with --exit-when-idle the exit once caught up
        and idle (``writing``: a batch is still in flight). What the fetch loop takes in after
        that is drained by stop() like any other batch."""
        state = self._state
        while not state.should_exit.is_set():
            try:
                caught_up = await self.update_lag()
            except Exception as exc:  # noqa: BLE001 - a gauge refresh must never kill us
                log.warning("lag refresh failed", extra=ctx(error=repr(exc)[:200]))
                caught_up = False
            if self.idle_done(caught_up, writing=writing()):
                log.info(
                    "caught up and idle: exiting",
                    extra=ctx(idle_s=state.settings.exit_when_idle_s),
                )
                state.should_exit.set()
                return
            await asyncio.sleep(_LAG_EVERY_S)

    def idle_done(self, caught_up: bool, writing: bool) -> bool:
        """--exit-when-idle: caught up, nothing buffered or being written, and no record
        for the idle time."""
        state = self._state
        idle = state.settings.exit_when_idle_s
        return (
            idle is not None
            and caught_up
            and not len(state.batcher)
            and not writing
            and time.monotonic() - state.last_record_at >= idle
        )

    def _group_lag(self) -> GroupLag:
        if self._group_lag_probe is None:
            s = self._state.settings
            self._group_lag_probe = GroupLag(
                self._state.consumer, self._state.require_sink(), (s.topic, s.files_topic),
                self._state.metrics,
            )  # fmt: skip
        return self._group_lag_probe

    def _log_waiting_for_group(self) -> None:
        """Once a minute at most: idle here, but partitions elsewhere still have lag."""
        now = time.monotonic()
        if now - self._waiting_logged_at >= 60:
            self._waiting_logged_at = now
            log.info("assigned partitions caught up; waiting for the rest of the group's")

    async def housekeeping(self, pool: asyncpg.Pool) -> None:
        """Refresh slow gauges: stuck ETL runs (DB query every 30 s) and readiness."""
        next_stuck = 0.0
        while True:
            if time.monotonic() >= next_stuck:
                next_stuck = time.monotonic() + _STUCK_EVERY_S
                try:
                    stuck = await asyncio.wait_for(status.stuck_runs(pool), 10)
                    self._state.metrics.etl_runs_stuck.set(stuck)
                except Exception as exc:  # noqa: BLE001 - a gauge refresh must never kill us
                    log.debug("stuck-run refresh failed", extra=ctx(error=repr(exc)[:200]))
            await self.ready_reason()
            streaks.KAFKA_REPEATS.flush()
            await asyncio.sleep(5)
