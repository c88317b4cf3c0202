"""Rows -> Kafka messages (key, value, headers), following ``feed.contract``.

Message keys of the JSON value are the header names exactly as in the file; a name that
occurs more than once gets ``#2``, ``#3``... appended to its later occurrences (the exact
header list travels in the files topic ``started`` record, so the file stays rebuildable).
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

import orjson

from feed.contract import (
    H_ROW_NO,
    RowKind,
    RowMeta,
    digest_header,
    encode_malformed,
    malformed_key,
)
from feed.dialects import Layout
from feed.keys import message_keys
from producer.reader import Record

Headers = list[tuple[str, bytes]]


class Message(NamedTuple):
    key: bytes
    value: bytes
    headers: Headers
    malformed: bool


class MessageBuilder:
    """Builds the message of each record; per-file constants are computed once."""

    def __init__(self, layout: Layout, file_id: uuid.UUID, sha256: str) -> None:
        self.keys = message_keys(layout.headers)
        self._n = len(self.keys)
        self._lot = layout.lot_index
        self._sha256 = sha256
        # Headers are RowMeta.kafka_headers() exactly; only the row number varies per row,
        # so one template per (kind, encoding) avoids rebuilding six constant headers.
        self._templates: dict[tuple[RowKind, str], Headers] = {}
        self._meta = RowMeta(file_id=file_id, sha256=sha256, row_no=0, dialect=layout.dialect)
        self._row_no_at = [name for name, _ in self._meta.kafka_headers()].index(H_ROW_NO)

    def _headers(self, kind: RowKind, encoding: str, row_no: int) -> Headers:
        template = self._templates.get((kind, encoding))
        if template is None:
            meta = RowMeta(
                file_id=self._meta.file_id,
                sha256=self._sha256,
                row_no=0,
                dialect=self._meta.dialect,
                kind=kind,
                encoding=encoding,
            )
            template = self._templates[kind, encoding] = meta.kafka_headers()
        headers = template.copy()
        headers[self._row_no_at] = (H_ROW_NO, b"%d" % row_no)
        return headers

    def build(self, record: Record) -> Message:
        fields = record.fields
        if record.error is None and len(fields) == self._n:
            lot = fields[self._lot].strip()
            if lot:
                value = orjson.dumps(dict(zip(self.keys, fields, strict=False)))
                headers = self._headers(RowKind.ROW, record.encoding, record.row_no)
                headers.append(digest_header(value, self._meta.dialect))
                return Message(lot.encode(), value, headers, False)
        return self.malformed(record)

    def malformed(self, record: Record) -> Message:
        fields = record.fields
        if record.error is not None:
            reason = record.error
        elif len(fields) != self._n:
            reason = f"{len(fields)} field(s), the header has {self._n}"
        else:
            reason = "empty lot number"
        lot = fields[self._lot].strip() if len(fields) > self._lot else ""
        key = lot.encode() if lot else malformed_key(self._sha256, record.row_no).encode()
        value = encode_malformed(record.raw, reason, fields)
        headers = self._headers(RowKind.MALFORMED, record.encoding, record.row_no)
        headers.append(digest_header(value))
        return Message(key, value, headers, True)


def is_blank(record: Record) -> bool:
    """An empty line: no data to lose, so it is counted but not published."""
    return not record.fields and record.error is None
