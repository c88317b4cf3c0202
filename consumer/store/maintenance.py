"""Staging's rolling window: days made ahead, days past the retention dropped (migration 0022).

The work is one SQL function, ``staging.maintain_copart_raw``, SECURITY DEFINER and owned by
the migrating login (the table's owner), so the consumer's login runs it without owning or
being able to alter any table. It hands the work to pg_partman when the extension keeps the
table, else does it itself; either way whole partitions are dropped, never rows deleted.

One maintainer at a time: the function takes a transaction-scoped advisory lock. The
service's timer does not wait for it (another consumer is doing the work: ``busy``);
``consumer maintain`` waits, so the operator sees the work done.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from consumer.config.errors import PG_ERRORS, translate_pg

# Days made ahead of today: rows never miss a partition while maintenance is down for less
# than this (the default partition catches them after that; status --storage shows it).
PREMAKE_DAYS = 4
_MAINTAIN = "SELECT action, partition_name FROM staging.maintain_copart_raw($1, $2, $3)"

# A connection of its own (a one-shot command) or one lent by the service's pool.
Conn = asyncpg.Connection | PoolConnectionProxy


@dataclass(frozen=True, slots=True)
class Maintenance:
    """What one run did; ``busy``: another maintainer held the lock, nothing was done."""

    created: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    busy: bool = False

    def summary(self, retention_days: int) -> str:
        if self.busy:
            return "staging maintenance: another maintainer is running, nothing done"
        return (
            f"staging maintenance: {len(self.created)} partition(s) created, "
            f"{len(self.dropped)} dropped (retention {retention_days} days)"
        )


async def maintain(
    conn: Conn, retention_days: int, *, wait: bool,
    premake_days: int = PREMAKE_DAYS,
) -> Maintenance:  # fmt: skip
    """Run the staging maintenance once, in its own transaction (the lock ends with it)."""
    try:
        async with conn.transaction():
            rows = await conn.fetch(_MAINTAIN, retention_days, premake_days, wait)
    except PG_ERRORS as exc:
        raise translate_pg(exc) from exc
    if any(r["action"] == "busy" for r in rows):
        return Maintenance(busy=True)
    return Maintenance(
        created=tuple(r["partition_name"] for r in rows if r["action"] == "created"),
        dropped=tuple(r["partition_name"] for r in rows if r["action"] == "dropped"),
    )
