"""`consumer rebuild`: the core tables re-derived from the raw layer through the current mapping.

Every physical row of the selection that the raw layer records as a row is read back as the
message value it came in (layout, body and the row's own observation cells), in (file, row)
order, a batch at a time, and goes through the same ``prepare`` and the same upserts as a
consumed batch (``Sink.rederive``): the same rule decides, so a rebuild beside a running
consumer loses no update, and a rebuild of a consistent database writes nothing. What a new
mapping version maps differently wins its tie (``mapped.version_of``) and is written; the
contents are then marked applied under that version.

Resumable: after each committed batch the last row done is recorded in ingest.rebuilds; a
rebuild of the same selection under the same mapping version that did not finish continues
from there.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from consumer.admin.export import StoredLayout
from consumer.intake.batch import Batch
from consumer.intake.decoder import Decoder
from consumer.intake.records import Inbound
from consumer.prepare import mapped
from consumer.prepare.prepare import prepare
from consumer.prepare.prepared import PreparedBatch
from consumer.store.sink import Sink
from feed.contract import RowMeta

REBUILD_TOPIC = "vinops.rebuild"  # what the rebuilt messages say they came from
DEFAULT_BATCH = 5000

# Rows in (after, upto]: the references are stored in blocks (0024), so a page is bounded by
# whole blocks first (upto, from _UPTO) and only those blocks are read and sorted.
_ROWS = """
SELECT r.file_id, r.row_no, r.lot_external_id, r.observed, c.layout_id, c.body::text AS body,
       f.sha256, f.dialect
FROM raw.file_rows r
JOIN raw.v_contents c ON c.digest = r.digest
JOIN raw.csv_files f ON f.file_id = r.file_id
WHERE r.kind = 'row' AND f.dialect IS NOT NULL
  AND (r.file_id, r.block_last_row_no) > ($1::uuid, $2::int)
  AND ($7::uuid IS NULL OR (r.file_id, r.block_first_row_no) <= ($7::uuid, $8::int))
  AND (r.file_id, r.row_no) > ($1::uuid, $2::int)
  AND ($7::uuid IS NULL OR (r.file_id, r.row_no) <= ($7::uuid, $8::int))
  AND ($4::uuid IS NULL OR r.file_id = $4)
  AND ($5::timestamptz IS NULL OR r.ingested_at >= $5)
  AND ($6::text IS NULL OR r.lot_external_id = $6)
ORDER BY r.file_id, r.row_no
LIMIT $3
"""
# The last row a page needs to look at: the blocks wholly after ``after``, in order, until they
# hold a page of rows; None when fewer rows than that are left (the page reads to the end).
_UPTO = """
WITH ahead AS (
  SELECT b.file_id, b.last_row_no, b.row_count,
         sum(b.row_count) OVER (ORDER BY b.file_id, b.first_row_no) AS cum
  FROM raw.file_row_blocks b
  WHERE (b.file_id, b.first_row_no) > ($1::uuid, $2::int) AND ($4::uuid IS NULL OR b.file_id = $4)
  ORDER BY b.file_id, b.first_row_no
  LIMIT $3
)
SELECT file_id, last_row_no FROM ahead
WHERE cum - row_count < $3 AND (SELECT max(cum) FROM ahead) >= $3
ORDER BY file_id DESC, last_row_no DESC
LIMIT 1
"""
_COUNT = """
SELECT count(*) FROM raw.file_rows r JOIN raw.csv_files f ON f.file_id = r.file_id
WHERE r.kind = 'row' AND f.dialect IS NOT NULL
  AND ($1::uuid IS NULL OR r.file_id = $1)
  AND ($2::timestamptz IS NULL OR r.ingested_at >= $2)
  AND ($3::text IS NULL OR r.lot_external_id = $3)
"""
_RESUME = """
SELECT rebuild_id, last_file_id, last_row_no, rows_done, lots_changed FROM ingest.rebuilds
WHERE selection = $1 AND mapping_version = $2 AND finished_at IS NULL
ORDER BY rebuild_id DESC LIMIT 1
"""
_START = """
INSERT INTO ingest.rebuilds (selection, mapping_version) VALUES ($1, $2) RETURNING rebuild_id
"""
_PROGRESS = """
UPDATE ingest.rebuilds SET last_file_id = $2, last_row_no = $3, rows_done = $4,
       lots_changed = $5, updated_at = now(),
       finished_at = CASE WHEN $6 THEN now() END
WHERE rebuild_id = $1
"""
_FIRST = (uuid.UUID(int=0), 0)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which rows to re-derive: all, one file, rows ingested since a time, or one lot."""

    file_id: uuid.UUID | None = None
    since: dt.datetime | None = None
    lot: str | None = None

    @property
    def key(self) -> str:
        """What ingest.rebuilds records, so that the same rebuild is resumed."""
        parts = [f"file:{self.file_id}" if self.file_id else "",
                 f"since:{self.since.isoformat()}" if self.since else "",
                 f"lot:{self.lot}" if self.lot else ""]  # fmt: skip
        return " ".join(p for p in parts if p) or "all"

    def args(self) -> tuple[Any, ...]:
        return self.file_id, self.since, self.lot


@dataclass(slots=True)
class Progress:
    rows_total: int
    rows_done: int = 0
    lots_changed: int = 0  # lots inserted or updated by the rebuild
    resumed: bool = False


def message_of(record: asyncpg.Record, layouts: dict[int, StoredLayout], n: int) -> Inbound | None:
    """The row message a stored row came in as (its value as the producer wrote it)."""
    body = record["body"]
    layout_id = record["layout_id"]
    if layout_id is None:
        value = body.encode()  # kept as received
    else:
        layout = layouts[layout_id]
        cells = orjson.loads(body)
        if layout.observed:
            cells = layout.with_cells(cells, record["observed"] or [str(record["row_no"])])
            if cells is None:
                return None
        value = orjson.dumps(dict(zip(layout.names, cells, strict=True)))
    meta = RowMeta(record["file_id"], record["sha256"], record["row_no"], record["dialect"])
    key = (record["lot_external_id"] or "").encode()
    return Inbound(REBUILD_TOPIC, 0, n, key, value, tuple(meta.kafka_headers()), 0)


async def _layouts(conn: asyncpg.Connection) -> dict[int, StoredLayout]:
    rows = await conn.fetch("SELECT layout_id, names, observed FROM raw.layouts")
    return {r["layout_id"]: StoredLayout(tuple(r["names"]), tuple(r["observed"])) for r in rows}


async def rebuild(
    conn: asyncpg.Connection, sink: Sink, selection: Selection, *,
    batch: int = DEFAULT_BATCH, dry_run: bool = False,
    on_batch: Callable[[Progress], None] | None = None, stop_after: int | None = None,
) -> Progress:  # fmt: skip
    """Re-derive the selection's core rows; ``stop_after`` batches ends it early (as a kill
    would, for tests: the progress so far stays recorded)."""
    progress = Progress(int(await conn.fetchval(_COUNT, *selection.args())))
    if dry_run:
        return progress
    version = mapped.MAPPING_VERSION
    resume = await conn.fetchrow(_RESUME, selection.key, version)
    if resume is not None:
        rebuild_id = resume["rebuild_id"]
        after = (resume["last_file_id"] or _FIRST[0], resume["last_row_no"] or 0)
        progress.rows_done, progress.lots_changed = resume["rows_done"], resume["lots_changed"]
        progress.resumed = True
    else:
        rebuild_id = await conn.fetchval(_START, selection.key, version)
        after = _FIRST
    layouts = await _layouts(conn)
    batches = 0
    while True:
        upto = await conn.fetchrow(_UPTO, *after, batch, selection.file_id)
        bound = (upto["file_id"], upto["last_row_no"]) if upto is not None else (None, None)
        records = await conn.fetch(_ROWS, *after, batch, *selection.args(), *bound)
        if not records and bound[0] is not None:
            after = bound  # nothing selected up to there: the next blocks
            continue
        if not records:
            await conn.execute(_PROGRESS, rebuild_id, *after, progress.rows_done,
                               progress.lots_changed, True)  # fmt: skip
            return progress
        if any(r["layout_id"] is not None and r["layout_id"] not in layouts for r in records):
            layouts = await _layouts(conn)  # a layout stored since the rebuild began
        messages = _messages(records, layouts, progress.rows_done)
        outcome = await sink.rederive(_prepared(messages))
        progress.rows_done += len(records)
        progress.lots_changed += outcome["inserted"] + outcome["updated"]
        after = (records[-1]["file_id"], records[-1]["row_no"])
        await conn.execute(_PROGRESS, rebuild_id, *after, progress.rows_done,
                           progress.lots_changed, False)  # fmt: skip
        if on_batch is not None:
            on_batch(progress)
        batches += 1
        if stop_after is not None and batches >= stop_after:
            return progress


def _messages(
    records: Sequence[asyncpg.Record], layouts: dict[int, StoredLayout], start: int
) -> list[Inbound]:
    out = []
    for n, record in enumerate(records, start):
        message = message_of(record, layouts, n)
        if message is not None:
            out.append(message)
    return out


def _prepared(messages: list[Inbound]) -> PreparedBatch:
    """Every content is stored: marked so (None), so that each is mapped and none re-sent."""
    batch = Batch.of(Decoder(REBUILD_TOPIC, "").decode_all(messages))
    return prepare(batch, known=dict.fromkeys(batch.digests()))
