"""The database's size per schema: read for the consumer's gauge, kept per day for growth.

The consumer's storage timer calls ``sample``: one catalog query (sizes are the files'
sizes, no table is scanned) and one upsert of today's row per schema into
ingest.storage_daily (0023), so each day keeps its last reading and ``consumer status
--storage`` can show growth per day without Prometheus.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from consumer.config.errors import PG_ERRORS, translate_pg

# A connection of its own (status) or one lent by the service's pool.
Conn = asyncpg.Connection | PoolConnectionProxy

SCHEMAS = ("public", "raw", "staging", "audit", "ingest")

# Tables, their indexes and TOAST (pg_total_relation_size); a partitioned table's bytes are
# its partitions' (ordinary tables of the same schema), so every byte is counted once.
SCHEMA_BYTES = """
SELECT n.nspname AS schema, coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
FROM pg_namespace n
LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind IN ('r', 'm')
WHERE n.nspname = ANY($1::text[])
GROUP BY 1 ORDER BY 1
"""
_KEEP_DAY = """
INSERT INTO ingest.storage_daily AS d (day, schema_name, bytes)
SELECT (now() AT TIME ZONE 'UTC')::date, s, b FROM unnest($1::text[], $2::bigint[]) AS x (s, b)
ON CONFLICT (day, schema_name) DO UPDATE SET bytes = EXCLUDED.bytes, sampled_at = now()
"""


async def schema_bytes(conn: Conn) -> dict[str, int]:
    """Bytes per schema of ours (every schema listed, 0 when empty)."""
    return {r["schema"]: int(r["bytes"]) for r in await conn.fetch(SCHEMA_BYTES, list(SCHEMAS))}


async def sample(pool: asyncpg.Pool) -> Mapping[str, int]:
    """Read the sizes and keep them as today's reading; returns bytes per schema."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            sizes = await schema_bytes(conn)
            await conn.execute(_KEEP_DAY, list(sizes), list(sizes.values()))
    except PG_ERRORS as exc:
        raise translate_pg(exc) from exc
    return sizes
