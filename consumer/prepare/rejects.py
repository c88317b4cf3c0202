"""Messages turned into recorded rejections: parse errors, dead letters, and the raw row of a
message the database refused (kept as 'malformed', lossless).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from consumer.intake.offsets import BatchOffsets
from consumer.intake.records import Inbound
from consumer.prepare.prepared import (
    DeadLetter,
    FileInfo,
    ParseErrorRecord,
    PreparedBatch,
    RawRow,
    reference_of,
)
from feed.contract import (
    H_SHA256,
    ContractError,
    RowMeta,
    content_digest,
    decode_value,
    file_position,
    header_map,
)


def text_of(value: bytes | None) -> str:
    return "" if value is None else value.decode("utf-8", "replace")


def one_line(error: BaseException | str) -> str:
    return " ".join(str(error).split())[:1000]


def parse_error_of(
    message: Inbound,
    reason: str,
    error: str,
    *,
    raw: str | None,
    counts_as_row: bool = False,
    trusted_headers: bool = True,
    found: Mapping[str, bytes] | None = None,
) -> ParseErrorRecord:
    """``found``: the message's headers by name, when the caller has them already."""
    # Untrusted headers (missing, wrong contract) may repeat another message's file id and
    # row number: such an error is keyed by its position in Kafka, so it cannot be lost.
    file_id, row_no = (None, None)
    if trusted_headers:
        file_id, row_no = file_position(header_map(message.headers) if found is None else found)
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
    text = f"{type(error).__name__}: {one_line(error)}"
    rows: list[RawRow] = []
    records: list[ParseErrorRecord] = []
    files: dict[uuid.UUID, FileInfo] = {}
    for m in messages:
        found = header_map(m.headers)
        kept = _refused_row(m, found, text) if keep_raw else None
        if kept is not None:
            rows.append(kept)
        record = parse_error_of(
            m, reason, text, raw=text_of(m.value), counts_as_row=kept is None, found=found
        )
        records.append(record)
        # parse_errors.file_id has no FK, but the run of the file must exist to be counted.
        sha = found.get(H_SHA256)
        if record.file_id is not None and sha is not None and record.file_id not in files:
            files[record.file_id] = FileInfo(record.file_id, sha.decode("utf-8", "replace"))
    return PreparedBatch(
        messages=tuple(messages),
        offsets=BatchOffsets.of(messages),
        dead_letters=tuple(DeadLetter(m, reason, type(error).__name__, text) for m in messages),
        rows=tuple(rows),
        references=tuple(map(reference_of, rows)),
        parse_errors=tuple(records),
        files=tuple(files.values()),
    )


def lot_of_key(key: bytes | None) -> str | None:
    """The lot number as mapping derives it from the key: NUL dropped (text cannot hold it),
    then stripped. A raw key would make the reference's INSERT fail on a NUL."""
    text = key.decode("utf-8", "replace") if key else ""
    return text.replace("\x00", "").strip() or None


def _refused_row(message: Inbound, found: Mapping[str, bytes], error: str) -> RawRow | None:
    """The raw row of a refused row message, when it is one (valid headers, JSON value)."""
    try:
        meta = RowMeta.from_header_map(found)
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
