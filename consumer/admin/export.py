"""`consumer export-raw FILE`: a file of the raw layer written back as CSV.

FILE is a file id or sha256, or a unique prefix of either. The output is the file's header
(raw.csv_files.headers_jsonb), then every stored physical row in row_no order: a row content
as a CSV record of its values (array bodies as stored; object bodies ordered by the message
keys of the header), a malformed row as its raw text verbatim. A CSV reader then gives the
source file's cells: csv QUOTE_MINIMAL quotes every cell that holds a delimiter, quote, CR or
LF, so embedded newlines survive; records end in CRLF (RFC 4180), the raw text of a malformed
row keeps its own line ending (one is added when it had none, so the next record starts on a
new line). Output is UTF-8 without BOM: cp1252 rows come back as the text they decoded to.

Completeness. Blank lines are numbered by the producer but never published, so a hole in
row_no is not by itself a lost row. The stored rows are counted against rows_published of
the file's 'completed' record instead: what exists is always written, and when rows are
missing (or the publication never completed, or a content is missing or unreadable) the
count goes to stderr and the exit code is 1. Nothing is invented in place of a missing row.

Memory is constant: one REPEATABLE READ read-only transaction (header, layouts and rows from
one snapshot) and a server-side cursor fetched in chunks of ``CHUNK_ROWS``. The command's
glue (output file, exit codes) is consumer/admin/export_cli.py.
"""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import asyncpg
import orjson

from feed.keys import message_keys

CHUNK_ROWS = 2000
LINE_END = "\r\n"
_REF = re.compile(r"[0-9a-f-]+")

_FIND = """
SELECT file_id, sha256, headers_jsonb::text AS headers
FROM raw.csv_files
WHERE file_id::text LIKE $1 || '%' OR replace(file_id::text, '-', '') LIKE $1 || '%'
   OR lower(sha256) LIKE $1 || '%'
ORDER BY file_id LIMIT 2
"""
# LEFT JOIN: a reference whose content is missing is counted, not silently skipped.
_ROWS = """
SELECT r.row_no, r.observed, c.layout_id, c.body
FROM raw.file_rows r LEFT JOIN raw.v_contents c ON c.digest = r.digest
WHERE r.file_id = $1 ORDER BY r.row_no
"""


class ExportError(Exception):
    """The export cannot start; ``str()`` is one line. Exit code 2: nothing was written."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    file_id: uuid.UUID
    sha256: str
    header: list[str]


@dataclass(slots=True)
class Counts:
    written: int = 0  # physical rows written (row contents and malformed raw texts)
    unreadable: int = 0  # references without content, or content of no known shape
    missing: int | None = None  # rows_published - stored; None: publication not completed

    def problems(self) -> list[str]:
        out = []
        if self.missing is None:
            out.append("the file's publication never completed: completeness unknown")
        elif self.missing:
            out.append(f"{self.missing} published row(s) missing from raw.file_rows")
        if self.unreadable:
            out.append(f"{self.unreadable} row(s) without a readable content")
        return out


class CsvRebuilder:
    """Writes one file's records to ``out`` (a text stream opened with newline='')."""

    def __init__(self, header: Sequence[str], layouts: Mapping[int, StoredLayout], out: TextIO):
        self._keys = message_keys(header)
        self._key_set = frozenset(self._keys)
        self._layouts = layouts
        # Layouts equal to this file's keys (its own, normally): values are written as stored.
        self._aligned = {i for i, lay in layouts.items() if tuple(lay.names) == self._keys}
        self._out = out
        self._csv = csv.writer(out, lineterminator=LINE_END, quoting=csv.QUOTE_MINIMAL)
        self._header = list(header)

    def header(self) -> None:
        self._csv.writerow(self._header)

    def row(
        self, layout_id: int | None, body: str | None, row_no: int = 0,
        observed: Sequence[str] | None = None,
    ) -> bool:  # fmt: skip
        """One physical row from its raw.v_contents (layout_id, body) and the observation cells
        raw.file_rows kept for it (None: its row number); False when unreadable."""
        if body is None:
            return False
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError:  # valid for PostgreSQL's json, not for orjson
            return False
        if layout_id is not None:
            layout = self._layouts.get(layout_id)
            if layout is None or not isinstance(value, list):
                return False
            if layout.observed:
                value = layout.with_cells(value, observed or (str(row_no),) * len(layout.observed))
                if value is None:
                    return False
            if len(value) != len(layout.names):
                return False
            if layout_id in self._aligned:
                self._csv.writerow(value)
                return True
            value = dict(zip(layout.names, value, strict=True))
        if not isinstance(value, dict):
            return False
        if value.keys() == self._key_set:
            self._csv.writerow([value[k] for k in self._keys])
            return True
        raw = value.get("raw")
        if not isinstance(raw, str):
            return False
        # A malformed row: the producer's (or consumer's) wrapper of its exact text.
        self._out.write(raw)
        if not raw.endswith(("\n", "\r")):
            self._out.write(LINE_END)
        return True


@dataclass(frozen=True, slots=True)
class StoredLayout:
    """A raw.layouts row: the value's names, and the 1-based positions of those whose values
    each physical row keeps (observation cells, in the order raw.file_rows.observed holds
    them), left out of the body."""

    names: tuple[str, ...]
    observed: tuple[int, ...] = ()

    def with_cells(self, body: list[Any], cells: Sequence[str]) -> list[Any] | None:
        """The value's cells in name order: the body with the row's cells put back."""
        if len(cells) != len(self.observed) or len(body) + len(cells) != len(self.names):
            return None
        out = list(body)
        for position, cell in sorted(zip(self.observed, cells, strict=True)):
            out.insert(position - 1, cell)
        return out


async def find_file(conn: asyncpg.Connection, ref: str) -> SourceFile:
    """The one file whose id or sha256 starts with ``ref``, or ExportError."""
    key = ref.strip().lower()
    if not _REF.fullmatch(key):
        raise ExportError(f"{ref!r} is not a file id or sha256 (prefix)")
    rows = await conn.fetch(_FIND, key)
    if not rows:
        raise ExportError(f"no file matches {ref!r}")
    if len(rows) > 1:
        raise ExportError(f"{ref!r} is ambiguous: it matches more than one file")
    r = rows[0]
    if r["headers"] is None:
        raise ExportError(f"file {r['file_id']} has no header recorded (no 'started' record)")
    return SourceFile(r["file_id"], r["sha256"], orjson.loads(r["headers"]))


async def export_rows(conn: asyncpg.Connection, source: SourceFile, out: TextIO) -> Counts:
    """Write the file to ``out``: header, then every stored row in row_no order."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        published = await conn.fetchval(
            "SELECT rows_published FROM raw.csv_files WHERE file_id = $1", source.file_id
        )
        layouts = {
            int(r["layout_id"]): StoredLayout(tuple(r["names"]), tuple(r["observed"]))
            for r in await conn.fetch("SELECT layout_id, names, observed FROM raw.layouts")
        }
        rebuild = CsvRebuilder(source.header, layouts, out)
        rebuild.header()
        counts = Counts()
        stored = 0
        record: Any
        async for record in conn.cursor(_ROWS, source.file_id, prefetch=CHUNK_ROWS):
            stored += 1
            if rebuild.row(record["layout_id"], record["body"], record["row_no"],
                           record["observed"]):  # fmt: skip
                counts.written += 1
            else:
                counts.unreadable += 1
    if published is not None:
        counts.missing = max(published - stored, 0)
    return counts
