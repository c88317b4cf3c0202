"""Accumulates one batch message by message: each row message becomes a bare reference (its
content already applied), a new content with its mapped row, or a malformed row with its parse
error and dead letter; file events update what the batch knows of their file.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from consumer.intake.records import Inbound
from consumer.prepare.file_events import merge_event
from consumer.prepare.known import KnownContents
from consumer.prepare.mapping import RowProblemError, map_row
from consumer.prepare.prepared import (
    DeadLetter,
    FileInfo,
    Known,
    LayoutKey,
    ParseErrorRecord,
    RawRow,
    Reference,
    reference_of,
)
from consumer.prepare.rejects import one_line, parse_error_of, text_of
from feed.contract import (
    CONTRACT_VERSION,
    DEFAULT_MAX_ROW_BYTES,
    H_CONTRACT,
    H_DIALECT,
    H_ENCODING,
    H_FILE_ID,
    H_KIND,
    H_ROW_NO,
    H_SHA256,
    ContractError,
    RowKind,
    RowMeta,
    content_digest,
    decode_value,
    file_event_of,
    header_map,
    observation_cells,
    row_digest,
)


def touch_file(files: dict[uuid.UUID, FileInfo], meta: RowMeta) -> None:
    """The batch knows the row's file (from its headers) unless a file event said more."""
    if meta.file_id not in files:
        files[meta.file_id] = FileInfo(
            meta.file_id, meta.sha256, dialect=meta.dialect, encoding=meta.encoding
        )


class BatchBuilder:
    """Accumulates one batch; ``prepare`` drives it message by message."""

    def __init__(
        self, known: Known | None = None, max_row_bytes: int = DEFAULT_MAX_ROW_BYTES, *,
        digest_mismatches: int = 0,
    ) -> None:  # fmt: skip
        self.max_row_bytes = max_row_bytes
        self.digest_mismatches = digest_mismatches
        self.looked_up = True  # False: the known-content look-up failed (see PreparedBatch)
        self.rows: list[RawRow] = []
        self.references: list[Reference] = []
        self.parse_errors: list[ParseErrorRecord] = []
        self.dead: list[DeadLetter] = []
        self.files: dict[uuid.UUID, FileInfo] = {}
        # Bound to the files, not to self: a reference back to the builder would make every
        # batch a reference cycle, its ~10 objects a row left for the cyclic GC to find.
        self.known = KnownContents(known or {}, functools.partial(touch_file, self.files))
        # Rows of one file share every header but the row number: parse them (UUID, enum)
        # once per batch and file, not once per row.
        self._metas: dict[tuple[bytes | None, ...], RowMeta] = {}

    def add(self, row: RawRow) -> None:
        self.rows.append(row)
        self.references.append(reference_of(row))

    def meta(self, found: Mapping[str, bytes]) -> RowMeta:
        """``RowMeta.from_header_map``, reusing what an earlier row of the file parsed (that
        row's headers were valid, so only the row number is left to check)."""
        get = found.get  # spelled out: this runs for every row of a batch
        key = (get(H_FILE_ID), get(H_SHA256), get(H_DIALECT), get(H_KIND), get(H_ENCODING),
               get(H_CONTRACT))  # fmt: skip
        known = self._metas.get(key)
        if known is not None:
            try:
                row_no = int(found[H_ROW_NO])
            except (KeyError, ValueError):
                pass  # from_header_map says what is wrong
            else:
                return RowMeta(known.file_id, known.sha256, row_no, known.dialect, known.kind,
                               known.encoding, known.contract)  # fmt: skip
        meta = RowMeta.from_header_map(found)
        self._metas[key] = meta
        return meta

    def dead_letter(self, message: Inbound, reason: str, error: BaseException | str) -> None:
        error_class = type(error).__name__ if isinstance(error, BaseException) else reason
        self.dead.append(DeadLetter(message, reason, error_class, one_line(error)))

    def reject(
        self, message: Inbound, reason: str, error: BaseException, *, trusted_headers: bool = True
    ) -> None:
        self.parse_errors.append(
            parse_error_of(
                message,
                reason,
                one_line(error),
                raw=text_of(message.value),
                trusted_headers=trusted_headers,
            )
        )
        self.dead_letter(message, reason, error)

    def file_event(self, message: Inbound) -> None:
        try:
            data = decode_value(message.value)
        except ContractError as exc:
            self.reject(message, "bad_json", exc)
            return
        try:
            event = file_event_of(data)
            file_id = uuid.UUID(event.file_id)
        except (ContractError, ValueError) as exc:
            self.reject(message, "bad_value", exc)
            return
        if event.contract != CONTRACT_VERSION:
            self.reject(message, "contract_version", ContractError(f"contract {event.contract}"))
            return
        try:
            self.files[file_id] = merge_event(self.files.get(file_id), file_id, event)
        except ValueError as exc:
            self.reject(message, "bad_value", exc)

    def row(self, message: Inbound) -> None:
        reference = self.known.reference(message)
        if reference is not None:
            self.references.append(reference)
            return
        # The full path: headers read once, checked by the contract (its error names the
        # reason: missing_headers, contract_version, bad_value), then passed on.
        found = header_map(message.headers)
        try:
            meta = self.meta(found)
        except ContractError as exc:
            self.reject(message, exc.reason, exc, trusted_headers=False)
            return
        touch_file(self.files, meta)
        value = message.value
        digest, observed = message.digest, message.observed
        if meta.kind is RowKind.ROW and value is not None:
            if digest is None:  # its header disagreed, or it never passed prepare.identify
                digest, observed = row_digest(value, meta.dialect)
            reference = self.known.reference_parsed(message, meta, digest, observed)
            if reference is not None:
                self.references.append(reference)
                return
        if value is not None and len(value) > self.max_row_bytes:
            self._oversized(message, meta, value)
            return
        try:
            values = decode_value(value)
        except ContractError as exc:
            # Keep the physical row anyway (lossless): its text, wrapped as a JSON object.
            payload = orjson.dumps({"raw": text_of(value), "error": str(exc)}).decode()
            self._malformed(
                message,
                meta,
                payload,
                reason="bad_json",
                error=one_line(exc),
                dlq_reason="bad_json",
            )
            return
        assert value is not None  # noqa: S101 - decode_value refuses None
        payload = value.decode("utf-8")
        original = values
        if b"\\u0000" in value:
            # PostgreSQL text cannot hold NUL: typed columns drop it (the raw layer keeps the JSON).
            values = {
                k: c.replace("\x00", "") if isinstance(c, str) else c for k, c in values.items()
            }
        if meta.kind is RowKind.MALFORMED:
            error = str(values.get("error") or "malformed")
            reason = _reason_of(error)
            self._malformed(
                message, meta, payload, reason=reason, error=error, dlq_reason="malformed_row",
                raw=str(values.get("raw", "")),
            )  # fmt: skip
            return
        assert digest is not None  # noqa: S101 - set above for every row with a value
        try:
            mapped = map_row(meta.dialect, values)
        except RowProblemError as exc:
            self._malformed(
                message,
                meta,
                payload,
                reason=exc.reason,
                error=str(exc),
                dlq_reason="malformed_row",
            )
            return
        canonical = orjson.dumps(original) == value
        if observed is not None and not canonical:
            # Cells are cut only from a value stored as an array of its cells: one written
            # otherwise is kept whole, as received, and is its own content.
            digest, observed = content_digest(value), None
        self.known.mapped(digest, mapped.fields_total, mapped.fields_unknown)
        # Stored but never applied (the database refused it before): only applied now.
        body, layout = (
            (None, None)
            if self.known.stored(digest)
            else _compact(original, payload, canonical=canonical, cut=observed is not None,
                          dialect=meta.dialect)
        )  # fmt: skip
        self.add(
            RawRow(
                message, meta, body, "row", mapped.lot_external_id, None, mapped,
                digest=digest, layout=layout, observed=observed,
            )
        )  # fmt: skip

    def _oversized(self, message: Inbound, meta: RowMeta, value: bytes) -> None:
        """Kept whole (raw.rows, audit.parse_errors), never mapped: no real row is this long."""
        error = f"oversized: {len(value)} bytes, over VINOPS_MAX_ROW_BYTES={self.max_row_bytes}"
        try:
            decode_value(value)
            payload = value.decode("utf-8")
        except (ContractError, UnicodeDecodeError):
            payload = orjson.dumps({"raw": text_of(value), "error": error}).decode()
        self._malformed(
            message, meta, payload, reason="oversized", error=error, dlq_reason="oversized"
        )

    def _malformed(
        self,
        message: Inbound,
        meta: RowMeta,
        payload: str,
        *,
        reason: str,
        error: str,
        dlq_reason: str,
        raw: str | None = None,
    ) -> None:
        digest = content_digest(message.value or b"")
        body = None if self.known.stored(digest) else payload  # stored once, whatever repeats
        self.add(RawRow(message, meta, body, "malformed", None, error, None, digest=digest))
        self.parse_errors.append(
            ParseErrorRecord(
                dedup_key=f"{meta.file_id}:{meta.row_no}",
                file_id=meta.file_id,
                row_no=meta.row_no,
                lot_external_id=None,
                reason=reason,
                message=error,
                raw=raw if raw is not None else text_of(message.value),
                message_ref=message,
            )
        )
        self.dead_letter(message, dlq_reason, error)


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
