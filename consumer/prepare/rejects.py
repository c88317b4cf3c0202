"""The messages of a batch the database refused (after bisecting): each becomes a rejection,
and a refused row of a file keeps its raw row as 'malformed' (lossless)."""

from __future__ import annotations

import uuid

from consumer.intake.batch import Batch
from consumer.intake.decoder import one_line, whole_digest
from consumer.intake.messages import BadMessage, RowMessage
from consumer.prepare.builder import text_of
from consumer.prepare.prepared import (
    FileInfo,
    PreparedBatch,
    RawRow,
    Rejection,
    reference_of,
)
from feed.contract import ContractError, decode_value


def reject(
    batch: Batch, *, reason: str, error: BaseException, keep_raw: bool = True
) -> PreparedBatch:
    """A refused row of a file still lands in raw.file_rows, as ``malformed`` with the
    database's reason; only its core upserts are skipped."""
    text = f"{type(error).__name__}: {one_line(error)}"
    error_class = type(error).__name__
    rows: list[RawRow] = []
    rejections: list[Rejection] = []
    files: dict[uuid.UUID, FileInfo] = {}
    for m in batch.messages:
        file_id: uuid.UUID | None = None
        row_no: int | None = None
        sha256: str | None = None
        kept: RawRow | None = None
        if isinstance(m, RowMessage):
            file_id, row_no, sha256 = m.file.file_id, m.row_no, m.file.sha256
            kept = _refused_row(m, text) if keep_raw else None
        elif isinstance(m, BadMessage):
            file_id, row_no, sha256 = m.file_id, m.row_no, m.sha256
        if kept is not None:
            rows.append(kept)
        rejections.append(
            Rejection(
                m.record,
                reason,
                text,
                error_class,
                reason,
                file_id,
                row_no,
                text_of(m.record.value),
                counts_as_row=kept is None and file_id is not None,
            )
        )
        # parse_errors.file_id has no FK, but the run of the file must exist to be counted.
        if file_id is not None and sha256 is not None and file_id not in files:
            files[file_id] = FileInfo(file_id, sha256)
    return PreparedBatch(
        batch=batch, rows=tuple(rows), references=tuple(map(reference_of, rows)),
        rejections=tuple(rejections), files=tuple(files.values()),
    )  # fmt: skip


def _refused_row(m: RowMessage, error: str) -> RawRow | None:
    """The raw row of a refused row message, when its value is JSON."""
    value = m.record.value
    try:
        decode_value(value)
    except ContractError:
        return None
    assert value is not None  # noqa: S101 - decode_value refuses None
    return RawRow(m.record, m.meta, value.decode("utf-8"), "malformed", m.lot, error, None,
                  digest=whole_digest(m.record))  # fmt: skip
