"""The array parameters of the sink's statements, read from a prepared batch (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from consumer.prepare.prepared import PreparedBatch


@dataclass(frozen=True)
class BatchOutcome:
    rows: Mapping[str, int]  # inserted|updated|unchanged|stale
    parse_errors: Mapping[str, int]  # reason -> newly recorded
    conflicts: Mapping[str, int]  # kind -> newly recorded
    fields_total: int
    fields_unknown: int
    runs: Mapping[str, int]  # status transitions: started|completed|failed
    raw_rows_inserted: int = 0
    newest_timestamp_ms: int | None = None
    lots_removed: Mapping[str, int] = field(default_factory=dict)  # removed|returned


def files_params(batch: PreparedBatch, *, events: bool) -> list[Any]:
    files = sorted((f for f in batch.files if f.has_event == events), key=lambda f: f.file_id)
    params: list[Any] = [
        [f.file_id for f in files],
        [f.sha256 for f in files],
        [f.dialect for f in files],
        [f.encoding for f in files],
    ]
    if events:
        params += [
            [f.path for f in files],
            [f.bytes for f in files],
            [orjson.dumps(list(f.headers)).decode() if f.headers is not None else None
             for f in files],
            [f.rows_published for f in files],
            [f.malformed_rows for f in files],
            [f.started_at for f in files],
            [f.completed_at for f in files],
            [f.full_snapshot for f in files],
        ]  # fmt: skip
    return params


def clean_text(text: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL; a recorded error must never fail its own batch.
    return None if text is None else text.replace("\x00", "\ufffd")


def side_params(batch: PreparedBatch, vin_moved: list[str], consumer: str) -> list[Any]:
    """Images, parse errors, the consumer's name and the lots whose VIN moved."""
    images = [
        (row.lot_external_id, row.mapped.images[j])
        for i, j in batch.winners.images
        if (row := batch.rows[i]).mapped is not None
    ]
    errors = sorted(batch.rejections, key=lambda p: p.dedup_key)
    return [
        [lot for lot, _ in images],
        [image.kind for _, image in images],
        [image.url for _, image in images],
        [image.storage_key for _, image in images],
        [p.dedup_key for p in errors],
        [p.file_id for p in errors],
        [p.row_no for p in errors],
        [None] * len(errors),  # the lot of a rejected message is not trusted
        [p.reason for p in errors],
        [clean_text(p.error) or "" for p in errors],
        [clean_text(p.raw) for p in errors],
        [p.record.topic for p in errors],
        [p.record.partition for p in errors],
        [p.record.offset for p in errors],
        consumer,
        vin_moved,
    ]


def runs_params(
    batch: PreparedBatch,
    per_file_rows: Mapping[uuid.UUID, int],
    per_file_errors: Mapping[uuid.UUID, int],
) -> list[Any]:
    files = sorted(batch.files, key=lambda f: f.file_id)
    return [
        [f.file_id for f in files],
        [f.rows_published for f in files],
        [per_file_rows.get(f.file_id, 0) for f in files],
        [per_file_errors.get(f.file_id, 0) for f in files],
        [f.aborted for f in files],
        [f.started_at for f in files],
    ]
