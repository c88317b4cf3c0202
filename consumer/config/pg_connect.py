"""The one connection of a one-shot command (`status`, `export-raw`, `dlq`).

A failure to connect is not a failure of the command's work: scripts tell them apart by the
exit code (5, as `consumer run` and `consumer migrate`), not by parsing stderr.
"""

from __future__ import annotations

import asyncpg

from consumer.config.errors import CannotConnectError, ConfigError, refused_at_start
from consumer.config.pg_dsn import mask_dsn

CONNECT_TIMEOUT_S = 10.0


async def connect(dsn: str) -> asyncpg.Connection:
    """A connection, else CannotConnectError (exit 5) or, for a DSN naming no database or an
    unreadable CA file, ConfigError (exit 2). The message shows the DSN masked."""
    try:
        return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        masked = mask_dsn(dsn)
        verdict = refused_at_start("PostgreSQL", exc, masked)
        if isinstance(verdict, ConfigError | CannotConnectError):
            raise verdict from exc
        detail = " ".join(str(exc).split())[:300]
        raise CannotConnectError(
            f"cannot connect to PostgreSQL at {masked}: {type(exc).__name__}: {detail}"
        ) from exc
