"""Losing one reference on purpose (tests of what export and the audit say then): references
are stored in blocks since 0024, so one row is taken out of its block and the block is put
back afterwards, exactly as it was."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

_BLOCKS = """
SELECT * FROM raw.file_row_blocks
WHERE file_id = $1 AND first_row_no <= $2 AND last_row_no >= $2
"""
_NOTE = "DELETE FROM raw.file_row_notes WHERE file_id = $1 AND row_no = $2 RETURNING *"


def _sums(start: int | None, gaps: list[int] | None, n: int, step: int = 0) -> list[Any]:
    if start is None:
        return [None] * n
    return [
        start + s
        for s in itertools.accumulate(gaps if gaps is not None else [0] + [step] * (n - 1))
    ]


@asynccontextmanager
async def reference_lost(
    conn: asyncpg.Connection, file_id: uuid.UUID, row_no: int
) -> AsyncIterator[None]:
    """Row ``row_no`` of the file is missing from the raw layer inside the block (as admin)."""
    block = None
    for candidate in await conn.fetch(_BLOCKS, file_id, row_no):
        if row_no in _sums(candidate["first_row_no"], candidate["row_gaps"], 1):
            block = candidate
    assert block is not None, f"row {row_no} is not stored"
    n = block["row_count"]
    rows = _sums(block["first_row_no"], block["row_gaps"], n)
    offsets = _sums(block["first_offset"], block["offset_gaps"], n)
    ids = _sums(block["first_id"], block["id_gaps"], n, step=1)
    keep = [i for i in range(n) if rows[i] != row_no]
    note = await conn.fetchrow(_NOTE, file_id, row_no)
    await conn.execute(
        "DELETE FROM raw.file_row_blocks WHERE file_id = $1 AND first_row_no = $2",
        file_id, block["first_row_no"],
    )  # fmt: skip
    if keep:
        first = keep[0]
        await conn.execute(
            "INSERT INTO raw.file_row_blocks (first_id, file_id, first_row_no, last_row_no, "
            "row_count, kafka_partition, first_offset, ingested_at, row_gaps, offset_gaps, lots,"
            " digests, id_gaps, observed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
            " $12, $13, $14)",
            ids[first], file_id, rows[first], rows[keep[-1]], len(keep), block["kafka_partition"],
            offsets[first], block["ingested_at"],
            [0] + [rows[b] - rows[a] for a, b in itertools.pairwise(keep)],
            None if offsets[first] is None
            else [0] + [offsets[b] - offsets[a] for a, b in itertools.pairwise(keep)],
            [block["lots"][i] for i in keep], [block["digests"][i] for i in keep],
            [0] + [ids[b] - ids[a] for a, b in itertools.pairwise(keep)], block["observed"],
        )  # fmt: skip
    try:
        yield
    finally:
        await conn.execute(
            "DELETE FROM raw.file_row_blocks WHERE file_id = $1 AND first_row_no = $2",
            file_id, rows[keep[0]] if keep else block["first_row_no"],
        )  # fmt: skip
        columns = list(block.keys())
        await conn.execute(
            f"INSERT INTO raw.file_row_blocks ({', '.join(columns)}) VALUES "
            f"({', '.join(f'${i}' for i in range(1, len(columns) + 1))})",
            *block.values(),
        )
        if note is not None:
            await conn.execute(
                "INSERT INTO raw.file_row_notes VALUES ($1, $2, $3, $4, $5, $6)", *note.values()
            )
