"""Start-up: the connections a consumer needs, each retried while its service is unreachable
(a dependency starting after the consumer is normal in compose), up to the start-up timeout.

A refused login or certificate ends the wait at once (exit 5), so does a misconfiguration
(exit 2, see errors.refused_at_start); a stop signal too (``StartupInterruptedError``:
nothing was fetched, so there is nothing to drain).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import asyncpg
from aiokafka.errors import KafkaError
from asyncpg.pool import PoolConnectionProxy

from consumer.config import errors
from consumer.config.retry import Backoff
from consumer.config.settings import Settings
from consumer.observe import streaks
from consumer.store import migrate
from consumer.store.dlq import DeadLetterSender

log = logging.getLogger(__name__)
T = TypeVar("T")

_UNREACHABLE = (OSError, KafkaError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)


class StartupInterruptedError(Exception):
    """A stop signal arrived while start() still waited for a service: nothing to drain."""


class _AttemptCutError(TimeoutError):
    """A start-up attempt still pending when the start-up timeout ran out."""


class Startup:
    """Waits for the consumer's services; ``waiting_for`` names the one not answering yet
    (shown by /readyz)."""

    def __init__(self, settings: Settings, should_exit: asyncio.Event) -> None:
        self._settings = settings
        self._should_exit = should_exit
        limit = settings.startup_timeout_s
        self._deadline = time.monotonic() + limit if limit > 0 else None
        self.waiting_for: str | None = None

    def done(self) -> None:
        """Started: from now on outages are waited out without limit."""
        self._deadline = None

    def _left(self) -> float | None:
        if self._deadline is None:
            return None
        return max(self._deadline - time.monotonic(), 0.0)

    async def ready(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Retry ``attempt`` while ``what`` is unreachable, up to the start-up timeout."""
        backoff = Backoff(self._settings.retry_base_s, self._settings.retry_cap_s)
        streak = streaks.Streak(log, f"start-up: {what}")
        cause: BaseException | None = None  # the last real failure, for the final line
        while True:
            try:
                result = await self._unless_exit(what, attempt())
            except Exception as exc:
                if (
                    refused := errors.refused_at_start(what, exc, self._settings.masked_dsn)
                ) is not None:
                    raise refused from None
                if not isinstance(exc, _UNREACHABLE):
                    raise
                if self._should_exit.is_set():
                    raise StartupInterruptedError(what) from None
                if cause is None or not isinstance(exc, _AttemptCutError):
                    cause = exc
                self.waiting_for = f"{what}: {type(cause).__name__}"
                left = self._left()
                if left is not None and left <= 0:
                    detail = " ".join(str(cause).split())[:300]
                    raise errors.CannotConnectError(
                        f"{what} still unreachable after {self._settings.startup_timeout_s:g} s"
                        f" (VINOPS_STARTUP_TIMEOUT_S): {type(cause).__name__}: {detail}"
                    ) from None
                delay = backoff.next_delay() if left is None else min(backoff.next_delay(), left)
                streak.failed(error=type(exc).__name__, detail=str(exc)[:200], retry_in_s=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._should_exit.wait(), delay)
                continue
            streak.ended()
            self.waiting_for = None
            return result

    async def _unless_exit(self, what: str, work: Awaitable[T]) -> T:
        """Await ``work`` unless a stop signal comes first (then it is cancelled); an
        attempt outlasting the start-up timeout is cancelled too (``_AttemptCutError``)."""
        if self._should_exit.is_set():
            if asyncio.iscoroutine(work):
                work.close()
            raise StartupInterruptedError(what)
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self._should_exit.wait())
        try:
            await asyncio.wait(
                {task, stop}, timeout=self._left(), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            if not self._should_exit.is_set():
                raise _AttemptCutError(f"no answer within the start-up timeout ({what})")
            raise StartupInterruptedError(what)
        return task.result()


async def create_pool(settings: Settings) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        settings.connect_dsn,
        min_size=1,
        max_size=settings.pool_size,
        command_timeout=300,
        server_settings={"application_name": settings.consumer_name[:60]},
    )
    assert pool is not None  # noqa: S101 - create_pool returns a pool when awaited
    return pool


async def start_dlq(settings: Settings, limits: Mapping[str, int]) -> DeadLetterSender:
    dlq = DeadLetterSender(
        settings.kafka_bootstrap, settings.dlq_topic, settings.consumer_name,
        max_message_bytes=limits[settings.dlq_topic], security=settings.kafka_security,
    )  # fmt: skip
    await dlq.start()
    return dlq


async def require_migrated(pool: asyncpg.Pool) -> None:
    """Refuse to start on a database that lacks migrations this code needs."""
    async with pool.acquire() as conn:
        await require_migrated_on(conn)


async def require_migrated_on(conn: asyncpg.Connection | PoolConnectionProxy) -> None:
    """``require_migrated`` on one connection (a one-shot command's)."""
    try:
        registry = migrate.load_registry(migrate.default_migrations_dir())
    except migrate.MigrateError:
        return  # installed without migrations/: the migrate job owns the schema
    try:
        missing = await migrate.unapplied(conn, registry)
    except asyncpg.InsufficientPrivilegeError:
        log.warning("cannot read ingest.schema_migrations: schema version not checked")
        return
    if missing:
        raise errors.ConfigError(
            f"the database lacks {len(missing)} migration(s) (first: {missing[0].file}); "
            "run `consumer migrate`"
        )
