"""The raw archive's SQL: which files to archive, recording an archived file, and the prune
(a file's references, then the contents and chunks no reference names any more).

Run by `consumer archive` with a login granted raw_archiver (migration 0025): the consumer's
own login may not delete from the raw layer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

# Fully ingested: the file's run completed. Newest first (--keep-last counts from the top).
_FILES = """
SELECT f.file_id, f.sha256, f.path, f.bytes, f.dialect, f.encoding, f.rows_published,
       f.malformed_rows, f.archive_uri, f.archive_sha256, f.pruned_at, r.completed_at
FROM raw.csv_files f JOIN audit.etl_runs r ON r.file_id = f.file_id
WHERE r.status = 'completed' AND f.headers_jsonb IS NOT NULL
ORDER BY r.completed_at DESC, f.file_id DESC
"""
_RECORD = """
UPDATE raw.csv_files SET archived_at = now(), archive_uri = $2, archive_sha256 = $3
WHERE file_id = $1
"""
# One file's references, and the digests they named (candidates for the contents' prune).
_PRUNE_REFERENCES = """
WITH notes AS (
  DELETE FROM raw.file_row_notes WHERE file_id = $1
), gone AS (
  DELETE FROM raw.file_row_blocks WHERE file_id = $1 RETURNING digests, row_count
), marked AS (
  UPDATE raw.csv_files SET pruned_at = now() WHERE file_id = $1
)
SELECT coalesce((SELECT array_agg(DISTINCT d) FROM gone CROSS JOIN LATERAL unnest(gone.digests) d),
                '{}') AS digests,
       coalesce((SELECT sum(row_count) FROM gone), 0)::bigint AS rows
"""
# Contents among the candidates that no reference left names. Every block is read once
# (hash join against the candidates): no per-digest look-up.
_PRUNE_CONTENTS = """
WITH cand AS (
  SELECT DISTINCT u FROM unnest($1::uuid[]) AS x(u)
), still AS (
  SELECT DISTINCT d.u FROM raw.file_row_blocks b
  CROSS JOIN LATERAL unnest(b.digests) AS d(u)
  JOIN cand USING (u)
), gone AS (
  DELETE FROM raw.contents c
  USING cand
  WHERE c.digest = uuid_send(cand.u) AND cand.u NOT IN (SELECT u FROM still)
  RETURNING c.chunk_id
)
SELECT count(*)::bigint AS contents, coalesce(array_agg(DISTINCT chunk_id), '{}') AS chunks
FROM gone
"""
# Chunks a prune left half empty or less: their live bodies move, as they are, into new chunks
# (32 to a chunk, as the consumer writes them). A body's text is copied, never re-encoded: a
# digest still names the very same bytes; only where they sit changes (raw_archiver may update
# raw.contents' chunk_id and pos, nothing else). Without it, bodies of pruned contents would
# stay for as long as one content of their chunk lives.
_COMPACT_CHUNKS = """
WITH sparse AS (
  SELECT c.chunk_id FROM raw.contents c
  WHERE c.chunk_id = ANY($1::bigint[])
  GROUP BY c.chunk_id HAVING count(*) <= 16
), live AS (
  SELECT c.digest, c.chunk_id, ch.bodies[c.pos + 1] AS body,
         row_number() OVER (ORDER BY c.chunk_id, c.pos) - 1 AS n
  FROM raw.contents c
  JOIN sparse s ON s.chunk_id = c.chunk_id
  JOIN raw.content_chunks ch ON ch.chunk_id = c.chunk_id
), ids AS (
  SELECT chunk_no, nextval(pg_get_serial_sequence('raw.content_chunks', 'chunk_id')) AS chunk_id
  FROM (SELECT DISTINCT n / 32 AS chunk_no FROM live) x
), chunks AS (
  INSERT INTO raw.content_chunks (chunk_id, bodies)
  SELECT ids.chunk_id, array_agg(l.body ORDER BY l.n)
  FROM live l JOIN ids ON ids.chunk_no = l.n / 32
  GROUP BY ids.chunk_id
), moved AS (
  UPDATE raw.contents c SET chunk_id = ids.chunk_id, pos = (l.n % 32)::smallint
  FROM live l JOIN ids ON ids.chunk_no = l.n / 32
  WHERE c.digest = l.digest
  RETURNING l.chunk_id AS old
)
SELECT coalesce(array_agg(DISTINCT old), '{}') AS emptied, count(*)::bigint AS moved FROM moved
"""
# Chunks none of whose contents is left.
_PRUNE_CHUNKS = """
DELETE FROM raw.content_chunks ch
WHERE ch.chunk_id = ANY($1::bigint[])
  AND NOT EXISTS (SELECT 1 FROM raw.contents c WHERE c.chunk_id = ch.chunk_id)
"""


@dataclass(frozen=True, slots=True)
class StoredFile:
    file_id: uuid.UUID
    sha256: str
    path: str | None
    bytes: int | None
    dialect: str | None
    encoding: str | None
    rows_published: int | None
    malformed_rows: int | None
    archive_uri: str | None
    archive_sha256: str | None
    pruned_at: dt.datetime | None
    completed_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Pruned:
    files: int = 0
    references: int = 0
    contents: int = 0
    chunks: int = 0  # chunks deleted
    moved: int = 0  # bodies moved out of half-empty chunks


async def completed_files(conn: asyncpg.Connection) -> list[StoredFile]:
    return [StoredFile(**dict(r)) for r in await conn.fetch(_FILES)]


def select(
    files: list[StoredFile], *, before: dt.datetime | None, keep_last: int | None
) -> list[StoredFile]:
    """The files an archive run covers: completed before ``before``, or all but the
    ``keep_last`` newest; oldest first."""
    chosen = files[keep_last:] if keep_last is not None else files
    if before is not None:
        chosen = [f for f in chosen if f.completed_at < before]
    return list(reversed(chosen))


async def record(conn: asyncpg.Connection, file_id: uuid.UUID, uri: str, sha256: str) -> None:
    await conn.execute(_RECORD, file_id, uri, sha256)


async def prune(conn: asyncpg.Connection, file_ids: list[uuid.UUID]) -> Pruned:
    """Each file's references in its own transaction, then the contents and chunks left
    unnamed, in one more (a crash in between leaves only contents a later prune removes)."""
    candidates: set[Any] = set()
    references = 0
    for file_id in file_ids:
        async with conn.transaction():
            row = await conn.fetchrow(_PRUNE_REFERENCES, file_id)
        assert row is not None  # noqa: S101 - an aggregate returns one row
        candidates.update(row["digests"])
        references += int(row["rows"])
    async with conn.transaction():
        # Writers of references wait until this commits, and those in flight finish first, so
        # the look-up of what is still named sees every committed reference. A batch that
        # looked a content up before and writes its reference after finds it gone and is
        # prepared again (references_write.sql, ContentsPrunedError).
        await conn.execute("LOCK TABLE raw.file_row_blocks IN SHARE MODE")
        gone = await conn.fetchrow(_PRUNE_CONTENTS, list(candidates))
        assert gone is not None  # noqa: S101 - an aggregate returns one row
        compacted = await conn.fetchrow(_COMPACT_CHUNKS, list(gone["chunks"]))
        assert compacted is not None  # noqa: S101 - as above
        touched = list({*gone["chunks"], *compacted["emptied"]})
        chunks = await conn.execute(_PRUNE_CHUNKS, touched)
    return Pruned(
        len(file_ids), references, int(gone["contents"]), int(chunks.split()[-1]),
        int(compacted["moved"]),
    )  # fmt: skip
