"""Accumulates one batch message by message, dispatching on the message's type: a row whose
content is applied becomes a bare reference; a new content is decoded and mapped (or kept as a
malformed row with its rejection); a file event updates what the batch knows of its file; a
message that breaks the contract becomes a rejection.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from consumer.intake.decoder import one_line, whole_digest
from consumer.intake.messages import BadMessage, FileEventMessage, Message, RowMessage
from consumer.prepare.file_events import merge_event
from consumer.prepare.known import KnownContents
from consumer.prepare.mapping import RowProblemError, map_row
from consumer.prepare.prepared import (
    FileInfo,
    Known,
    LayoutKey,
    NewContent,
    RawRow,
    Reference,
    Rejection,
    per_row_cells,
    reference_of,
)
from feed.contract import (
    DEFAULT_MAX_ROW_BYTES,
    ContractError,
    RowKind,
    RowMeta,
    decode_value,
    observation_cells,
)

# A NamedTuple's own constructor is a Python function; tuple.__new__ builds the same object
# in C, which counts when it runs for every unchanged row.
_new_reference = tuple.__new__


def text_of(value: bytes | None) -> str:
    return "" if value is None else value.decode("utf-8", "replace")


class BatchBuilder:
    """Accumulates one batch; ``prepare`` drives it message by message."""

    def __init__(
        self, known: Known | None = None, max_row_bytes: int = DEFAULT_MAX_ROW_BYTES, *,
        contents: Mapping[tuple[str, bytes], NewContent] | None = None,
    ) -> None:  # fmt: skip
        """``known``: the contents the raw layer holds (the look-up's answer). ``contents``:
        what an earlier pass over these messages decoded and mapped (a bisected half)."""
        self.max_row_bytes = max_row_bytes
        self.digest_mismatches = 0
        self.looked_up = True  # False: the known-content look-up failed (see PreparedBatch)
        self.rows: list[RawRow] = []
        self.references: list[Reference] = []
        self.rejections: list[Rejection] = []
        self.files: dict[uuid.UUID, FileInfo] = {}
        self.known = KnownContents(known or {})
        self.contents: dict[tuple[str, bytes], NewContent] = dict(contents or {})
        # The files' shared header objects seen in this batch (held, so an id stays theirs).
        self._file_seen: dict[int, RowMeta] = {}

    def take(self, message: Message) -> None:
        if message.__class__ is RowMessage:
            self.row(message)
        elif isinstance(message, FileEventMessage):
            self.file_event(message)
        elif isinstance(message, BadMessage):
            self.rejections.append(
                Rejection(
                    message.record,
                    message.reason,
                    message.error,
                    message.error_class,
                    letter_reason=message.reason,
                    file_id=message.file_id,
                    row_no=message.row_no,
                    raw=text_of(message.record.value),
                )
            )

    def add(self, row: RawRow) -> None:
        self.rows.append(row)
        self.references.append(reference_of(row))

    def file_event(self, message: FileEventMessage) -> None:
        try:
            merged = merge_event(self.files.get(message.file_id), message.file_id, message.event)
        except ValueError as exc:
            self.rejections.append(
                Rejection(
                    message.record,
                    "bad_value",
                    one_line(exc),
                    type(exc).__name__,
                    letter_reason="bad_value",
                    file_id=None,
                    row_no=None,
                    raw=text_of(message.record.value),
                )
            )
            return
        self.files[message.file_id] = merged

    def row(self, m: RowMessage) -> None:
        file = m.file
        if id(file) not in self._file_seen:
            self._file_seen[id(file)] = file
            # The batch knows the row's file from its headers unless a file event said more.
            self.files.setdefault(
                file.file_id,
                FileInfo(file.file_id, file.sha256, dialect=file.dialect, encoding=file.encoding),
            )
        if m.header_disagreed:
            self.digest_mismatches += 1
        value = m.record.value
        row_kind = file.kind is RowKind.ROW and value is not None
        if row_kind and self.known.applied(m.digest, m.observed):
            self._reference(m, m.digest, m.observed)
            return
        if value is not None and len(value) > self.max_row_bytes:
            self._oversized(m, value)
            return
        if row_kind:
            assert value is not None  # noqa: S101 - row_kind says so
            content = self.contents.get((file.dialect, m.digest))
            if content is None:
                content = self._decode_and_map(m, value)
                if content is None:
                    return  # kept as a malformed row (bad JSON)
            self._apply(m, content, value)
            return
        self._producer_malformed(m, value)

    def _reference(self, m: RowMessage, digest: bytes, observed: tuple[str, ...] | None) -> None:
        """The bare reference of an applied row (raw.file_rows' COPY column order)."""
        record = m.record
        self.references.append(_new_reference(
            Reference, (m.file.file_id, m.row_no, "row", m.lot, digest, None, record.partition,
                        record.offset, per_row_cells(observed, m.row_no)),
        ))  # fmt: skip

    def _decode_and_map(self, m: RowMessage, value: bytes) -> NewContent | None:
        """The one place a row's JSON value is decoded: only when its content is new."""
        try:
            values = decode_value(value)
        except ContractError as exc:
            # Keep the physical row anyway (lossless): its text, wrapped as a JSON object.
            payload = orjson.dumps({"raw": text_of(value), "error": str(exc)}).decode()
            self._malformed(m, payload, reason="bad_json", error=one_line(exc),
                            letter_reason="bad_json")  # fmt: skip
            return None
        payload = value.decode("utf-8")
        original = values
        if b"\\u0000" in value:
            # PostgreSQL text cannot hold NUL: typed columns drop it (the raw layer keeps the JSON).
            values = {
                k: c.replace("\x00", "") if isinstance(c, str) else c for k, c in values.items()
            }
        dialect = m.file.dialect
        try:
            mapped = map_row(dialect, values)
        except RowProblemError as exc:
            content = NewContent(None, payload, None, m.digest, False, (exc.reason, str(exc)))
        else:
            canonical = orjson.dumps(original) == value
            digest, cut = m.digest, m.observed is not None
            if cut and not canonical:
                # Cells are cut only from a value stored as an array of its cells: one written
                # otherwise is kept whole, as received, and is its own content.
                digest, cut = whole_digest(m.record), False
            body, layout = _compact(original, payload, canonical=canonical, cut=cut,
                                    dialect=dialect)  # fmt: skip
            content = NewContent(mapped, body, layout, digest, cut)
        self.contents[dialect, m.digest] = content
        return content

    def _apply(self, m: RowMessage, content: NewContent, value: bytes) -> None:
        mapped = content.mapped
        if mapped is None:
            assert content.problem is not None  # noqa: S101 - a refused content says why
            reason, error = content.problem
            self._malformed(m, value.decode("utf-8"), reason=reason, error=error,
                            letter_reason="malformed_row")  # fmt: skip
            return
        digest = content.digest
        observed = m.observed if content.cut else None
        if digest != m.digest and self.known.applied(digest, None):
            # Kept whole (not compact JSON): its own content, applied earlier in the batch.
            self._reference(m, digest, None)
            return
        self.known.mapped(digest, mapped.fields_total, mapped.fields_unknown)
        # Stored but never applied (the database refused it before): only applied now.
        stored = self.known.stored(digest)
        self.add(
            RawRow(
                m.record, m.meta, None if stored else content.body, "row", mapped.lot_external_id,
                None, mapped, digest=digest, layout=None if stored else content.layout,
                observed=observed,
            )
        )  # fmt: skip

    def _producer_malformed(self, m: RowMessage, value: bytes | None) -> None:
        """A row the producer could not parse (kind 'malformed'), or one without a value."""
        try:
            values = decode_value(value)
        except ContractError as exc:
            payload = orjson.dumps({"raw": text_of(value), "error": str(exc)}).decode()
            self._malformed(m, payload, reason="bad_json", error=one_line(exc),
                            letter_reason="bad_json")  # fmt: skip
            return
        assert value is not None  # noqa: S101 - decode_value refuses None
        error = str(values.get("error") or "malformed").replace("\x00", "")
        self._malformed(m, value.decode("utf-8"), reason=_reason_of(error), error=error,
                        letter_reason="malformed_row",
                        raw=str(values.get("raw", "")).replace("\x00", ""))  # fmt: skip

    def _oversized(self, m: RowMessage, value: bytes) -> None:
        """Kept whole (raw.rows, audit.parse_errors), never mapped: no real row is this long."""
        error = f"oversized: {len(value)} bytes, over VINOPS_MAX_ROW_BYTES={self.max_row_bytes}"
        try:
            decode_value(value)
            payload = value.decode("utf-8")
        except (ContractError, UnicodeDecodeError):
            payload = orjson.dumps({"raw": text_of(value), "error": error}).decode()
        self._malformed(m, payload, reason="oversized", error=error, letter_reason="oversized")

    def _malformed(
        self, m: RowMessage, payload: str, *, reason: str, error: str, letter_reason: str,
        raw: str | None = None,
    ) -> None:  # fmt: skip
        digest = whole_digest(m.record)
        body = None if self.known.stored(digest) else payload  # stored once, whatever repeats
        meta = m.meta
        self.add(RawRow(m.record, meta, body, "malformed", None, error, None, digest=digest))
        self.rejections.append(
            Rejection(
                m.record,
                reason,
                error,
                letter_reason,
                letter_reason,
                meta.file_id,
                meta.row_no,
                raw if raw is not None else text_of(m.record.value),
            )
        )


def _reason_of(error: str) -> str:
    """The short class of a producer error: 'csv_field_count: expected 49' -> 'csv_field_count'."""
    head = error.split(":", 1)[0].strip()
    ok = head and len(head) <= 40 and head.replace("_", "").isalnum() and " " not in head
    return head if ok else "malformed"


def _compact(
    values: dict[str, Any], payload: str, *, canonical: bool, cut: bool, dialect: str
) -> tuple[str, LayoutKey | None]:
    """A row's values as a JSON array aligned with its keys (stored once per layout), when
    keys and array give back the very same bytes; else the JSON value as received. Cells cut
    from the value (``cut``) are left out of the array: each row keeps its own."""
    if not canonical:
        return payload, None
    cells = observation_cells(dialect) if cut else ()
    keys = tuple(values)
    if not cells:
        return orjson.dumps(list(values.values())).decode(), (keys, ())
    # In the cells' own order: raw.file_rows.observed holds the values in that order.
    positions = tuple(keys.index(cell) + 1 for cell in cells)
    body = orjson.dumps([v for key, v in values.items() if key not in cells]).decode()
    return body, (keys, positions)
