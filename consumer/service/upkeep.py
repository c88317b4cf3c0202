"""The service's slow timers: staging maintenance and the database size gauge.

Each runs once at start, then every interval (VINOPS_MAINTENANCE_INTERVAL_S,
VINOPS_STORAGE_METRICS_INTERVAL_S). Neither ever stops the service: a failed run is one
warning line (the error's class and text, no traceback) and ``vinops_upkeep_runs_total
{result="failed"}``, and the next tick tries again. Maintenance does not wait for the lock:
with several consumers, one does the work and the others count ``busy``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from consumer.config.settings import Storage
from consumer.observe.logs import ctx
from consumer.observe.metrics import Metrics
from consumer.store import storage
from consumer.store.maintenance import maintain

log = logging.getLogger(__name__)


async def _every(
    interval_s: float, task: str, run: Callable[[], Awaitable[None]], failed: Callable[[], None]
) -> None:
    while True:
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - an upkeep failure must never stop the service
            failed()
            log.warning(
                "%s failed, next try in %.0f s: %s: %s",
                task, interval_s, type(exc).__name__, " ".join(str(exc).split())[:300],
            )  # fmt: skip
        await asyncio.sleep(interval_s)


class Upkeep:
    def __init__(self, pool: asyncpg.Pool, settings: Storage, metrics: Metrics) -> None:
        self._pool = pool
        self._settings = settings
        self._metrics = metrics
        metrics.growth_alert_bytes_per_day.set(settings.growth_alert_bytes_per_day)

    async def maintain_once(self) -> None:
        retention = self._settings.staging_retention_days
        async with self._pool.acquire() as conn:
            done = await maintain(conn, retention, wait=False)
        m = self._metrics
        if done.busy:
            m.upkeep_runs.labels("maintenance", "busy").inc()
            return
        m.upkeep_runs.labels("maintenance", "ok").inc()
        m.staging_partitions.labels("created").inc(len(done.created))
        m.staging_partitions.labels("dropped").inc(len(done.dropped))
        if done.created or done.dropped:
            log.info(
                done.summary(retention),
                extra=ctx(created=list(done.created), dropped=list(done.dropped)),
            )

    async def measure_once(self) -> None:
        sizes = await storage.sample(self._pool)
        for schema, n in sizes.items():
            self._metrics.database_bytes.labels(schema).set(n)
        self._metrics.upkeep_runs.labels("storage", "ok").inc()

    def tasks(self) -> list[asyncio.Task[None]]:
        s, runs = self._settings, self._metrics.upkeep_runs
        maintenance = _every(
            s.maintenance_interval_s, "staging maintenance", self.maintain_once,
            runs.labels("maintenance", "failed").inc,
        )  # fmt: skip
        reading = _every(
            s.storage_metrics_interval_s, "storage reading", self.measure_once,
            runs.labels("storage", "failed").inc,
        )  # fmt: skip
        return [
            asyncio.create_task(maintenance, name="staging maintenance"),
            asyncio.create_task(reading, name="storage reading"),
        ]
