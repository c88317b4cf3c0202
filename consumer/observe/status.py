"""`consumer status`: per file, rows published / committed / parse errors / ETL run state.

Read-only SQL over audit.v_ingest_count (and audit.etl_runs for the stuck-runs gauge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import asyncpg
import orjson

STUCK_AFTER = "30 minutes"

_FILES_SQL = """
SELECT file_id::text, coalesce(path, '') AS path, rows_published, rows_ingested,
       parse_errors, coalesce(run_status, 'unknown') AS run_status
FROM audit.v_ingest_count
ORDER BY ingested_at, path
"""


@dataclass(frozen=True, slots=True)
class FileStatus:
    file_id: str
    path: str
    rows_published: int | None  # None until the files topic 'completed' record is committed
    rows_committed: int
    parse_errors: int
    run_status: str


async def stuck_runs(pool: asyncpg.Pool) -> int:
    value = await pool.fetchval(
        "SELECT count(*) FROM audit.etl_runs "
        f"WHERE status = 'started' AND started_at < now() - interval '{STUCK_AFTER}'"
    )
    return int(value or 0)


async def file_statuses(conn: asyncpg.Connection) -> list[FileStatus]:
    rows = await conn.fetch(_FILES_SQL)
    return [
        FileStatus(
            file_id=r["file_id"],
            path=r["path"],
            rows_published=r["rows_published"],
            rows_committed=int(r["rows_ingested"]),
            parse_errors=int(r["parse_errors"]),
            run_status=r["run_status"],
        )
        for r in rows
    ]


def render_json(statuses: Sequence[FileStatus]) -> str:
    return orjson.dumps([asdict(s) for s in statuses], option=orjson.OPT_INDENT_2).decode()


def render_table(statuses: Sequence[FileStatus]) -> str:
    head = ("FILE", "PATH", "PUBLISHED", "COMMITTED", "PARSE_ERRORS", "RUN")
    body: list[tuple[Any, ...]] = [
        (
            s.file_id[:8],
            s.path,
            "-" if s.rows_published is None else s.rows_published,
            s.rows_committed,
            s.parse_errors,
            s.run_status,
        )
        for s in statuses
    ]
    cells = [tuple(str(c) for c in row) for row in (head, *body)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    if not body:
        lines.append("(no files yet)")
    return "\n".join(lines)
