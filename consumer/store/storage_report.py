"""What `consumer status --storage` shows: where the bytes are and how fast they come.

Size and rows per schema and table (a partitioned table counted with its partitions), the
database's growth per day (ingest.storage_daily, kept by the consumer's storage timer, next
to what the files of each day brought), staging's partitions (its rolling window, 0022), and
the files archived or not. Read-only; the consumer's login is enough.

Rows: exact where a count is cheap, the planner's estimate above ``EXACT_ROWS_BELOW`` (a
count of a large table reads all of it); each table says which (``rows_exact``).

Archive: raw.csv_files gains ``archived_at`` (and ``pruned_at``: the references removed
from PostgreSQL) with the raw archive (#26's archive command); until those columns exist
every file counts as not archived and none as pruned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from consumer.store.storage import SCHEMAS, schema_bytes

EXACT_ROWS_BELOW = 200_000
GROWTH_DAYS = 14

_TABLES = """
SELECT n.nspname AS schema, r.relname AS name, r.relkind = 'p' AS partitioned,
       coalesce(sum(pg_total_relation_size(p.oid)), 0)::bigint AS bytes,
       sum(greatest(p.reltuples, 0))::bigint AS estimate
FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace
JOIN pg_class p ON p.oid = r.oid
  OR (r.relkind = 'p' AND p.relispartition AND pg_partition_root(p.oid) = r.oid)
WHERE r.relkind IN ('r', 'p', 'm') AND NOT r.relispartition AND n.nspname = ANY($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = r.oid AND d.deptype = 'e')
GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2
"""
_GROWTH = """
WITH days AS (
  SELECT day, sum(bytes)::bigint AS bytes FROM ingest.storage_daily
  WHERE day > (now() AT TIME ZONE 'UTC')::date - $1::int - 1 GROUP BY day
), files AS (
  SELECT (ingested_at AT TIME ZONE 'UTC')::date AS day, count(*) AS files,
         coalesce(sum(bytes), 0)::bigint AS csv_bytes,
         coalesce(sum(rows_published), 0)::bigint AS rows_published
  FROM raw.csv_files WHERE ingested_at > now() - make_interval(days => $1::int + 1) GROUP BY 1
)
SELECT day, d.bytes, d.bytes - lag(d.bytes) OVER (ORDER BY day) AS growth,
       coalesce(f.files, 0) AS files, coalesce(f.csv_bytes, 0) AS csv_bytes,
       coalesce(f.rows_published, 0) AS rows_published
FROM days d FULL JOIN files f USING (day) ORDER BY day
"""
_PARTITIONS = """
SELECT c.relname AS name, pg_total_relation_size(c.oid)::bigint AS bytes,
       greatest(c.reltuples, 0)::bigint AS estimate,
       substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \\(''([^'']+)''\\)')::timestamptz
         AS lower,
       substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''([^'']+)''\\)')::timestamptz
         AS upper
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'staging.copart_raw'::regclass ORDER BY 4 NULLS FIRST, 1
"""
# pg_partman's template table exists once create_parent has registered staging.copart_raw
# (its config table is not readable by the consumer's login; the catalog is).
_PARTMAN = """
SELECT EXISTS (SELECT 1 FROM pg_extension e JOIN pg_class c ON c.relnamespace = e.extnamespace
               WHERE e.extname = 'pg_partman' AND c.relname = 'template_staging_copart_raw')
"""
_COLUMN = """
SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'raw.csv_files'::regclass
               AND attname = $1 AND NOT attisdropped)
"""
_FILES = """
SELECT {archived} AS archived, {pruned} AS pruned, count(*) AS files,
       coalesce(sum(bytes), 0)::bigint AS bytes, coalesce(sum(rows_published), 0)::bigint AS rows
FROM raw.csv_files GROUP BY 1, 2
"""


@dataclass(frozen=True, slots=True)
class TableSize:
    table: str
    bytes: int
    rows: int
    rows_exact: bool


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    bytes: int | None  # the day's last reading of the database (None: no reading that day)
    growth_bytes: int | None  # against the day before (None: no reading to compare with)
    files: int  # files first seen that day, their CSV bytes and rows
    csv_bytes: int
    rows_published: int


@dataclass(frozen=True, slots=True)
class StagingPartition:
    name: str
    lower: datetime | None  # None: the default partition
    upper: datetime | None
    bytes: int
    rows: int


@dataclass(slots=True)
class StorageReport:
    database_bytes: int = 0
    schemas: dict[str, int] = field(default_factory=dict)  # schema -> bytes
    schema_rows: dict[str, int] = field(default_factory=dict)
    tables: list[TableSize] = field(default_factory=list)
    growth: list[Day] = field(default_factory=list)
    staging_managed_by: str = "consumer"  # or "pg_partman"
    staging_partitions: list[StagingPartition] = field(default_factory=list)
    archive_tracked: bool = False  # raw.csv_files.archived_at exists
    files: dict[str, dict[str, int]] = field(default_factory=dict)  # archived|not_archived|pruned

    def as_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return value.isoformat() if isinstance(value, date | datetime) else value

        return {
            "database_bytes": self.database_bytes,
            "schemas": [
                {"schema": s, "bytes": b, "rows": self.schema_rows.get(s, 0)}
                for s, b in self.schemas.items()
            ],
            "tables": [asdict(t) for t in self.tables],
            "growth_per_day": [{k: plain(v) for k, v in asdict(d).items()} for d in self.growth],
            "staging": {
                "managed_by": self.staging_managed_by,
                "partitions": [
                    {k: plain(v) for k, v in asdict(p).items()} for p in self.staging_partitions
                ],
            },
            "files": {"archive_tracked": self.archive_tracked, **self.files},
        }


async def _rows(conn: asyncpg.Connection, relation: str, estimate: int) -> tuple[int, bool]:
    if estimate >= EXACT_ROWS_BELOW:
        return estimate, False
    return int(await conn.fetchval(f"SELECT count(*) FROM {relation}")), True


async def gather(conn: asyncpg.Connection) -> StorageReport:
    report = StorageReport()
    report.database_bytes = int(await conn.fetchval("SELECT pg_database_size(current_database())"))
    report.schemas = await schema_bytes(conn)
    for r in await conn.fetch(_TABLES, list(SCHEMAS)):
        name = f'"{r["schema"]}"."{r["name"]}"'
        rows, exact = await _rows(conn, name, int(r["estimate"]))
        report.tables.append(TableSize(f"{r['schema']}.{r['name']}", int(r["bytes"]), rows, exact))
        report.schema_rows[r["schema"]] = report.schema_rows.get(r["schema"], 0) + rows
    report.growth = [
        Day(r["day"], r["bytes"], r["growth"], int(r["files"]), int(r["csv_bytes"]),
            int(r["rows_published"]))
        for r in await conn.fetch(_GROWTH, GROWTH_DAYS)
    ]  # fmt: skip
    if await conn.fetchval(_PARTMAN):
        report.staging_managed_by = "pg_partman"
    for r in await conn.fetch(_PARTITIONS):
        rows, _ = await _rows(conn, f'staging."{r["name"]}"', int(r["estimate"]))
        report.staging_partitions.append(
            StagingPartition(r["name"], r["lower"], r["upper"], int(r["bytes"]), rows)
        )
    report.archive_tracked = bool(await conn.fetchval(_COLUMN, "archived_at"))
    pruned_tracked = bool(await conn.fetchval(_COLUMN, "pruned_at"))
    sql = _FILES.format(
        archived="archived_at IS NOT NULL" if report.archive_tracked else "false",
        pruned="pruned_at IS NOT NULL" if pruned_tracked else "false",
    )
    kinds = ("archived", "not_archived", "pruned")  # pruned: a part of archived
    report.files = {kind: {"files": 0, "bytes": 0, "rows": 0} for kind in kinds}
    for r in await conn.fetch(sql):
        counts = {"files": int(r["files"]), "bytes": int(r["bytes"]), "rows": int(r["rows"])}
        kinds_of_row = ["archived" if r["archived"] else "not_archived"]
        if r["pruned"]:
            kinds_of_row.append("pruned")
        for kind in kinds_of_row:
            for key, n in counts.items():
                report.files[kind][key] += n
    return report
