"""Decode, map and dedupe one batch of Kafka records (pure, no I/O).

Every row message with usable headers becomes exactly one ``RawRow`` (the raw layer is lossless,
malformed and undecodable rows included). For the core upserts only the newest version per
key survives: Postgres refuses to update one row twice in one INSERT ... ON CONFLICT.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from consumer.mapping import EPOCH, MappedRow, RowProblemError, map_row
from consumer.records import Inbound
from feed.contract import (
    CONTRACT_VERSION,
    DEFAULT_MAX_ROW_BYTES,
    DIGEST_BYTES,
    H_CONTRACT,
    H_DIALECT,
    H_DIGEST,
    H_ENCODING,
    H_FILE_ID,
    H_KIND,
    H_ROW_NO,
    H_SHA256,
    ContractError,
    FileAborted,
    FileCompleted,
    FileEvent,
    FileStarted,
    RowKind,
    RowMeta,
    content_digest,
    decode_file_event,
    decode_value,
)

_REQUIRED_HEADERS = (H_FILE_ID, H_SHA256, H_ROW_NO, H_DIALECT)
# Contents the raw layer already stores: digest -> (fields_total, fields_unknown) when the
# content was applied to the core tables, None when it was not (malformed, refused).
Known = Mapping[bytes, tuple[int, int] | None]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message: Inbound
    reason: str
    error_class: str
    error: str


@dataclass(frozen=True, slots=True)
class ParseErrorRecord:
    dedup_key: str  # '{file_id}:{row_no}' when known, else '{topic}:{partition}:{offset}'
    file_id: uuid.UUID | None
    row_no: int | None
    lot_external_id: str | None
    reason: str
    message: str
    raw: str | None
    message_ref: Inbound
    # A rejected row message of a known file still counts towards its run's progress.
    counts_as_row: bool = False


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row message: its reference in raw.file_rows, its content when new, the typed row.

    ``body`` is None when the content is already stored (applied in an earlier batch, or
    earlier in this one): the row is then only referenced, never decoded or mapped.
    """

    message: Inbound
    meta: RowMeta
    body: str | None  # raw.contents.body: JSON array of values (with layout) or the JSON value
    kind: str  # 'row' | 'malformed'
    lot_external_id: str | None
    parse_error: str | None
    mapped: MappedRow | None
    digest: bytes = b""
    layout: tuple[str, ...] | None = None  # the value's keys when body is an array of values


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What this batch knows of one file, merged from its row headers and file events."""

    file_id: uuid.UUID
    sha256: str
    dialect: str | None = None
    encoding: str | None = None
    path: str | None = None
    bytes: int | None = None
    headers: tuple[str, ...] | None = None
    rows_published: int | None = None
    malformed_rows: int | None = None
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    has_event: bool = False  # True: fill columns (DO UPDATE); False: create only (DO NOTHING)
    aborted: bool = False  # the last lifecycle event of this batch was 'aborted'


@dataclass(frozen=True, slots=True)
class Winners:
    """Indexes into ``PreparedBatch.rows`` of the versions each upsert applies."""

    lots: tuple[int, ...] = ()
    vehicles: tuple[tuple[int, str], ...] = ()  # (row index, first-seen raw spelling)
    sale_events: tuple[int, ...] = ()
    images: tuple[tuple[int, int], ...] = ()  # (row index, index into mapped.images)


@dataclass(frozen=True)
class PreparedBatch:
    messages: tuple[Inbound, ...]
    offsets: dict[tuple[str, int], int]
    dead_letters: tuple[DeadLetter, ...] = ()
    rows: tuple[RawRow, ...] = ()
    parse_errors: tuple[ParseErrorRecord, ...] = ()
    files: tuple[FileInfo, ...] = ()
    winners: Winners = field(default_factory=Winners)
    deduped_stale: int = 0  # lot versions dropped because a newer one is in the batch
    fields_total: int = 0
    fields_unknown: int = 0
    unchanged: int = 0  # rows whose content was already applied: referenced, not processed

    @property
    def newest_timestamp_ms(self) -> int | None:
        return max((m.timestamp_ms for m in self.messages), default=None)


def next_offsets(messages: Sequence[Inbound]) -> dict[tuple[str, int], int]:
    offsets: dict[tuple[str, int], int] = {}
    for m in messages:
        key = (m.topic, m.partition)
        offsets[key] = max(offsets.get(key, 0), m.offset + 1)
    return offsets


def _text(value: bytes | None) -> str:
    return "" if value is None else value.decode("utf-8", "replace")


def _one_line(error: BaseException | str) -> str:
    return " ".join(str(error).split())[:1000]


def _header_meta(message: Inbound) -> tuple[uuid.UUID | None, int | None]:
    """File id and row number when the headers carry them (for dedup keys of rejects)."""
    found = dict(message.headers)
    try:
        return uuid.UUID(found[H_FILE_ID].decode()), int(found[H_ROW_NO])
    except (KeyError, ValueError, UnicodeDecodeError):
        return None, None


def _parse_error(
    message: Inbound,
    reason: str,
    error: str,
    *,
    raw: str | None,
    counts_as_row: bool = False,
    trusted_headers: bool = True,
) -> ParseErrorRecord:
    # Untrusted headers (missing, wrong contract) may repeat another message's file id and
    # row number: such an error is keyed by its position in Kafka, so it cannot be lost.
    file_id, row_no = _header_meta(message) if trusted_headers else (None, None)
    known = file_id is not None and row_no is not None
    return ParseErrorRecord(
        dedup_key=f"{file_id}:{row_no}"
        if known
        else f"{message.topic}:{message.partition}:{message.offset}",
        file_id=file_id if known else None,
        row_no=row_no if known else None,
        lot_external_id=None,
        reason=reason,
        message=error,
        raw=raw,
        message_ref=message,
        counts_as_row=counts_as_row and known,
    )


def reject(
    messages: Sequence[Inbound], *, reason: str, error: BaseException, keep_raw: bool = True
) -> PreparedBatch:
    """Messages the database refused (after bisecting): raw rows, parse_errors, offsets, DLQ.

    A refused row of a file still lands in raw.file_rows (lossless), as ``malformed`` with the
    database's reason; only its core upserts are skipped.
    """
    text = f"{type(error).__name__}: {_one_line(error)}"
    rows: list[RawRow] = []
    records: list[ParseErrorRecord] = []
    for m in messages:
        kept = _refused_row(m, text) if keep_raw else None
        if kept is not None:
            rows.append(kept)
        records.append(
            _parse_error(m, reason, text, raw=_text(m.value), counts_as_row=kept is None)
        )
    return PreparedBatch(
        messages=tuple(messages),
        offsets=next_offsets(messages),
        dead_letters=tuple(DeadLetter(m, reason, type(error).__name__, text) for m in messages),
        rows=tuple(rows),
        parse_errors=tuple(records),
        files=_files_of_rejects(records, messages),
    )


def _refused_row(message: Inbound, error: str) -> RawRow | None:
    """The raw row of a refused row message, when it is one (valid headers, JSON value)."""
    try:
        meta = RowMeta.from_kafka_headers(message.headers)
        decode_value(message.value)
    except ContractError:
        return None
    if message.value is None:
        return None
    lot = message.key.decode("utf-8", "replace").replace("\x00", "") if message.key else None
    return RawRow(
        message, meta, message.value.decode("utf-8"), "malformed", lot, error, None,
        digest=content_digest(message.value),
    )  # fmt: skip


def _files_of_rejects(
    records: Sequence[ParseErrorRecord], messages: Sequence[Inbound]
) -> tuple[FileInfo, ...]:
    # parse_errors.file_id has no FK, but the run of the file must exist to be counted.
    files: dict[uuid.UUID, FileInfo] = {}
    for record, message in zip(records, messages, strict=True):
        sha = dict(message.headers).get(H_SHA256)
        if record.file_id is not None and sha is not None and record.file_id not in files:
            files[record.file_id] = FileInfo(record.file_id, sha.decode("utf-8", "replace"))
    return tuple(files.values())


class _Builder:
    """Accumulates one batch; ``prepare`` drives it message by message."""

    def __init__(
        self, known: Known | None = None, max_row_bytes: int = DEFAULT_MAX_ROW_BYTES
    ) -> None:
        self.known: Known = known or {}
        self.max_row_bytes = max_row_bytes
        self.unchanged = 0
        self.known_fields = [0, 0]
        # Contents first seen in this batch and mapped: a repeat is referenced, not processed.
        self.new_rows: set[bytes] = set()
        self.rows: list[RawRow] = []
        self.parse_errors: list[ParseErrorRecord] = []
        self.dead: list[DeadLetter] = []
        self.files: dict[uuid.UUID, FileInfo] = {}
        # Rows of one file share every header but the row number: parse them (UUID, enum)
        # once per batch and file, not once per row.
        self._metas: dict[tuple[bytes | None, ...], RowMeta] = {}

    def meta(self, found: Mapping[str, bytes], message: Inbound) -> RowMeta:
        """``RowMeta.from_kafka_headers``, reusing what an earlier row of the file parsed."""
        get = found.get  # spelled out: this runs for every row of a batch
        key = (get(H_FILE_ID), get(H_SHA256), get(H_DIALECT), get(H_KIND), get(H_ENCODING),
               get(H_CONTRACT))  # fmt: skip
        known = self._metas.get(key)
        if known is not None:
            try:
                row_no = int(found[H_ROW_NO])
            except ValueError:
                pass  # from_kafka_headers says what is wrong
            else:
                return RowMeta(known.file_id, known.sha256, row_no, known.dialect, known.kind,
                               known.encoding, known.contract)  # fmt: skip
        meta = RowMeta.from_kafka_headers(message.headers)
        self._metas[key] = meta
        return meta

    def dead_letter(self, message: Inbound, reason: str, error: BaseException | str) -> None:
        error_class = type(error).__name__ if isinstance(error, BaseException) else reason
        self.dead.append(DeadLetter(message, reason, error_class, _one_line(error)))

    def reject(
        self, message: Inbound, reason: str, error: BaseException, *, trusted_headers: bool = True
    ) -> None:
        self.parse_errors.append(
            _parse_error(
                message,
                reason,
                _one_line(error),
                raw=_text(message.value),
                trusted_headers=trusted_headers,
            )
        )
        self.dead_letter(message, reason, error)

    def touch_file(self, meta: RowMeta) -> None:
        if meta.file_id not in self.files:
            self.files[meta.file_id] = FileInfo(
                meta.file_id, meta.sha256, dialect=meta.dialect, encoding=meta.encoding
            )

    def file_event(self, message: Inbound) -> None:
        try:
            decode_value(message.value)
        except ContractError as exc:
            self.reject(message, "bad_json", exc)
            return
        try:
            event = decode_file_event(message.value)
            file_id = uuid.UUID(event.file_id)
        except (ContractError, ValueError) as exc:
            self.reject(message, "bad_value", exc)
            return
        if event.contract != CONTRACT_VERSION:
            self.reject(message, "contract_version", ContractError(f"contract {event.contract}"))
            return
        try:
            self.files[file_id] = _merge_event(self.files.get(file_id), file_id, event)
        except ValueError as exc:
            self.reject(message, "bad_value", exc)

    def row(self, message: Inbound) -> None:
        found = dict(message.headers)
        missing = [h for h in _REQUIRED_HEADERS if h not in found]
        if missing:
            missing_error = ContractError(f"missing {missing}")
            self.reject(message, "missing_headers", missing_error, trusted_headers=False)
            return
        if found.get(H_CONTRACT, b"").decode("utf-8", "replace") != CONTRACT_VERSION:
            version_error = ContractError("contract version")
            self.reject(message, "contract_version", version_error, trusted_headers=False)
            return
        try:
            meta = self.meta(found, message)
        except ContractError as exc:
            self.reject(message, "bad_value", exc, trusted_headers=False)
            return
        self.touch_file(meta)
        if meta.kind is RowKind.ROW and self._reference_only(found, message, meta):
            return
        if message.value is not None and len(message.value) > self.max_row_bytes:
            self._oversized(message, meta, message.value)
            return
        try:
            values = decode_value(message.value)
        except ContractError as exc:
            # Keep the physical row anyway (lossless): its text, wrapped as a JSON object.
            payload = orjson.dumps({"raw": _text(message.value), "error": str(exc)}).decode()
            self._malformed(
                message,
                meta,
                payload,
                reason="bad_json",
                error=_one_line(exc),
                dlq_reason="bad_json",
            )
            return
        payload = message.value.decode("utf-8") if message.value is not None else "{}"
        original = values
        if message.value is not None and b"\\u0000" in message.value:
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
        digest = content_digest(message.value or b"")
        self.new_rows.add(digest)
        # Stored but never applied (the database refused it before): only applied now.
        body, layout = (
            (None, None) if digest in self.known else _compact(original, message.value, payload)
        )
        self.rows.append(
            RawRow(
                message, meta, body, "row", mapped.lot_external_id, None, mapped,
                digest=digest, layout=layout,
            )
        )  # fmt: skip

    def _reference_only(self, found: Mapping[str, bytes], message: Inbound, meta: RowMeta) -> bool:
        """Record a row whose content was already applied as a bare reference."""
        digest = _header_digest(found)
        if digest is None:
            return False
        known = self.known.get(digest)
        if known is None and digest not in self.new_rows:
            return False  # new, or stored but never applied: processed again
        if known is not None:
            self.known_fields[0] += known[0]
            self.known_fields[1] += known[1]
        self.unchanged += 1
        # The lot number as mapping derives it: NUL dropped (text cannot hold it), then
        # stripped. A raw key would make the reference's INSERT fail on a NUL.
        key = message.key.decode("utf-8", "replace") if message.key else ""
        lot = key.replace("\x00", "").strip() or None
        self.rows.append(RawRow(message, meta, None, "row", lot, None, None, digest=digest))
        return True

    def _oversized(self, message: Inbound, meta: RowMeta, value: bytes) -> None:
        """Kept whole (raw.rows, audit.parse_errors), never mapped: no real row is this long."""
        error = f"oversized: {len(value)} bytes, over VINOPS_MAX_ROW_BYTES={self.max_row_bytes}"
        try:
            decode_value(value)
            payload = value.decode("utf-8")
        except (ContractError, UnicodeDecodeError):
            payload = orjson.dumps({"raw": _text(value), "error": error}).decode()
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
        body = None if digest in self.known else payload  # stored once, whatever repeats
        self.rows.append(RawRow(message, meta, body, "malformed", None, error, None, digest=digest))
        self.parse_errors.append(
            ParseErrorRecord(
                dedup_key=f"{meta.file_id}:{meta.row_no}",
                file_id=meta.file_id,
                row_no=meta.row_no,
                lot_external_id=None,
                reason=reason,
                message=error,
                raw=raw if raw is not None else _text(message.value),
                message_ref=message,
            )
        )
        self.dead_letter(message, dlq_reason, error)


def _reason_of(error: str) -> str:
    """The short class of a producer error: 'csv_field_count: expected 49' -> 'csv_field_count'."""
    head = error.split(":", 1)[0].strip()
    ok = head and len(head) <= 40 and head.replace("_", "").isalnum() and " " not in head
    return head if ok else "malformed"


def _iso(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _merge_event(prior: FileInfo | None, file_id: uuid.UUID, event: FileEvent) -> FileInfo:
    base = prior or FileInfo(file_id, event.sha256)
    if not base.has_event:
        # A row header's encoding is that row's (utf-8 or cp1252), not the file's: an event
        # fills the column, so it must not write a row's value over the file's.
        base = replace(base, encoding=None)
    if isinstance(event, FileStarted):
        return replace(
            base, sha256=event.sha256, dialect=event.dialect, encoding=event.encoding,
            path=event.path, bytes=event.bytes, headers=tuple(event.headers),
            started_at=_iso(event.started_at), has_event=True, aborted=False,
        )  # fmt: skip
    if isinstance(event, FileCompleted):
        return replace(
            base, encoding=base.encoding or event.encoding, rows_published=event.rows,
            malformed_rows=event.malformed, completed_at=_iso(event.completed_at), has_event=True,
        )  # fmt: skip
    return replace(base, has_event=True, aborted=isinstance(event, FileAborted))


def _compact(
    values: dict[str, Any], value: bytes | None, payload: str
) -> tuple[str | None, tuple[str, ...] | None]:
    """A row's values as a JSON array aligned with its keys (stored once per layout), when
    keys and array give back the very same bytes; else the JSON value as received."""
    if value is not None and orjson.dumps(values) == value:
        return orjson.dumps(list(values.values())).decode(), tuple(values)
    return payload, None


def _header_digest(found: Mapping[str, bytes]) -> bytes | None:
    return _parse_digest(found.get(H_DIGEST))


def _parse_digest(text: bytes | None) -> bytes | None:
    if text is None or len(text) != 2 * DIGEST_BYTES:
        return None
    try:
        return bytes.fromhex(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        return None


def _version(row: RawRow) -> tuple[dt.datetime, bytes]:
    """Last write wins by source time; equal times go to the larger content digest, a rule
    that needs no arrival order (and so holds when a known content is skipped)."""
    updated = row.mapped.source_updated_at if row.mapped is not None else None
    return (updated or EPOCH, row.digest)


def _winners(rows: Sequence[RawRow]) -> tuple[Winners, int]:
    lots: dict[str, int] = {}
    vehicles: dict[str, int] = {}
    first_raw: dict[str, str] = {}
    sales: dict[tuple[str, dt.date], int] = {}
    images: dict[tuple[str, str, str], tuple[int, int]] = {}
    mapped_count = 0
    for i, row in enumerate(rows):
        m = row.mapped
        if m is None:
            continue
        mapped_count += 1
        version = _version(row)
        lot = m.lot_external_id
        if lot not in lots or _version(rows[lots[lot]]) <= version:
            lots[lot] = i
        if m.vin is not None and m.vin.normalized is not None:
            vin = m.vin.normalized
            first_raw.setdefault(vin, m.vin.raw)
            if vin not in vehicles or _version(rows[vehicles[vin]]) <= version:
                vehicles[vin] = i
        if m.sale_date is not None:
            key = (lot, m.sale_date)
            if key not in sales or _version(rows[sales[key]]) <= version:
                sales[key] = i
        for j, image in enumerate(m.images):
            images.setdefault((lot, image.kind, image.storage_key), (i, j))
    winners = Winners(
        lots=tuple(sorted(lots.values())),
        vehicles=tuple(sorted((i, first_raw[vin]) for vin, i in vehicles.items())),
        sale_events=tuple(sorted(sales.values())),
        images=tuple(sorted(images.values())),
    )
    return winners, mapped_count - len(lots)


def content_digests(messages: Sequence[Inbound], row_topic: str) -> list[bytes]:
    """The digests that row messages announce in their headers (for the known-content look-up)."""
    out: list[bytes] = []
    for message in messages:
        if message.topic != row_topic:
            continue
        for name, value in message.headers:
            if name == H_DIGEST:
                digest = _parse_digest(value)
                if digest is not None:
                    out.append(digest)
                break
    return out


def prepare(
    messages: Sequence[Inbound], *, row_topic: str, files_topic: str, known: Known | None = None,
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
) -> PreparedBatch:  # fmt: skip
    """``known``: contents already applied; their rows are referenced without being decoded."""
    builder = _Builder(known, max_row_bytes)
    for message in messages:
        if message.topic == files_topic:
            builder.file_event(message)
        elif message.topic == row_topic:
            builder.row(message)
        else:
            builder.reject(message, "bad_value", ContractError(f"unexpected {message.topic!r}"))
    rows = tuple(builder.rows)
    winners, deduped = _winners(rows)
    mapped = [r.mapped for r in rows if r.mapped is not None]
    return PreparedBatch(
        messages=tuple(messages),
        offsets=next_offsets(messages),
        dead_letters=tuple(builder.dead),
        rows=rows,
        parse_errors=tuple(builder.parse_errors),
        files=tuple(builder.files.values()),
        winners=winners,
        deduped_stale=deduped,
        fields_total=sum(m.fields_total for m in mapped) + builder.known_fields[0],
        fields_unknown=sum(m.fields_unknown for m in mapped) + builder.known_fields[1],
        unchanged=builder.unchanged,
    )
