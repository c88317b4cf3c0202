"""Streaming CSV reading: bytes -> physical records with row numbers and their encoding.

One physical *record* is the unit (a quoted field may span lines). Lines are read as bytes,
each decoded on its own (a newline byte never occurs inside a UTF-8 or cp1252 character,
so per-line decoding equals per-record decoding): UTF-8 when valid, otherwise cp1252 with
latin-1 for cp1252's five undefined bytes, so that no byte is ever dropped. The decoded
lines feed Python's C csv parser, which pulls exactly the lines of one record; the lines it
pulled are the record's exact raw text (kept for malformed rows).

Memory is constant in the file size: ``records()`` is a generator holding one record.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

BOM = codecs.BOM_UTF8
UTF8 = "utf-8"
CP1252 = "cp1252"
# A quoted field may legitimately be large (100 KB descriptions occur); past this the csv
# parser stops with an error, which bounds the memory of a runaway (unterminated) quote and
# keeps one malformed message under Kafka's default 1 MiB message limit.
FIELD_LIMIT = 384 * 1024


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    # cp1252 leaves 0x81 0x8D 0x8F 0x90 0x9D undefined; latin-1 maps them to U+0081..: kept.
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("vinops-latin1", _latin1_fallback)
# Process-wide setting of the csv module; raised once here (the default is 128 KiB).
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))


def decode_line(raw: bytes) -> tuple[str, bool]:
    """The text of one line and whether it needed the cp1252 fallback."""
    try:
        return raw.decode(UTF8), False
    except UnicodeDecodeError:
        return raw.decode(CP1252, "vinops-latin1"), True


class Record(NamedTuple):
    """One physical CSV record (a NamedTuple: built per row, so it must be cheap)."""

    row_no: int  # 1-based record number after the header
    fields: list[str]  # parsed fields; [] when the parser failed
    raw: str  # exact decoded text of the record, line endings included
    encoding: str  # "utf-8" or "cp1252"
    error: str | None  # csv parser error, if any
    offset: int  # bytes of the file consumed so far (for progress)


class CsvReader:
    """Reads the header, then yields records one by one from a binary stream."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pending: list[str] = []
        self._fallback = False
        self._offset = 0
        self._first = True
        self.bom = False
        self._csv = csv.reader(self._lines(), strict=False)
        self.header: list[str] | None = self._read_header()

    def _lines(self) -> Iterator[str]:
        pending = self._pending
        for raw in self._stream:
            self._offset += len(raw)
            if self._first:
                self._first = False
                if raw.startswith(BOM):
                    self.bom = True
                    raw = raw[len(BOM) :]  # noqa: PLW2901 - the BOM is not part of the header
            try:
                text = raw.decode(UTF8)
            except UnicodeDecodeError:
                text = raw.decode(CP1252, "vinops-latin1")
                self._fallback = True
            pending.append(text)
            yield text

    def _take(self) -> tuple[str, str]:
        raw = self._pending[0] if len(self._pending) == 1 else "".join(self._pending)
        self._pending.clear()
        encoding = CP1252 if self._fallback else UTF8
        self._fallback = False
        return raw, encoding

    def _read_header(self) -> list[str] | None:
        try:
            header = next(self._csv, None)
        except csv.Error:
            header = None
        self._take()
        return header

    @property
    def offset(self) -> int:
        return self._offset

    def records(self) -> Iterator[Record]:
        """Every record after the header, numbered from 1 (blank lines included)."""
        parser = self._csv
        take = self._take
        row_no = 0
        while True:
            try:
                fields = next(parser)
                error = None
            except StopIteration:
                return
            except csv.Error as exc:
                fields, error = [], f"csv: {exc}"
                if not self._pending:  # the parser failed at end of data, nothing consumed
                    return
            row_no += 1
            raw, encoding = take()
            yield Record(row_no, fields, raw, encoding, error, self._offset)
