"""Start-up: the connections a consumer needs, each retried until its service answers (a
dependency starting after the consumer is normal in compose), and the schema check.

A stop signal ends any wait at once (``StartupInterruptedError``): nothing was fetched, so
there is nothing to drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import asyncpg
from aiokafka.errors import KafkaError

from consumer import errors, migrate, streaks
from consumer.dlq import DeadLetterSender
from consumer.retry import Backoff
from consumer.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class StartupInterruptedError(Exception):
    """A stop signal arrived while start() still waited for a service: nothing to drain."""


async def retry_until_ready(
    settings: Settings, should_exit: asyncio.Event, what: str,
    attempt: Callable[[], Awaitable[T]],
) -> T:  # fmt: skip
    """Retry ``attempt`` until it succeeds; a stop signal ends the wait at once."""
    backoff = Backoff(settings.retry_base_s, settings.retry_cap_s)
    streak = streaks.Streak(log, f"start-up: {what}")
    while True:
        try:
            result = await unless_exit(should_exit, what, attempt())
        except (
            OSError, KafkaError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError
        ) as exc:  # fmt: skip
            if (refused := errors.refused_at_start(what, exc)) is not None:
                raise refused from exc
            if should_exit.is_set():
                raise StartupInterruptedError(what) from None
            delay = backoff.next_delay()
            streak.failed(error=type(exc).__name__, detail=str(exc)[:200], retry_in_s=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(should_exit.wait(), delay)
            continue
        streak.ended()
        return result


async def unless_exit(should_exit: asyncio.Event, what: str, work: Awaitable[T]) -> T:
    """Await ``work`` unless a stop signal comes first (then it is cancelled)."""
    if should_exit.is_set():
        if asyncio.iscoroutine(work):
            work.close()
        raise StartupInterruptedError(what)
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(should_exit.wait())
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
