"""What prepare() makes of one batch: the rows, references, rejects and winners the sink writes
(types only, no logic).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from consumer.intake.batch import Batch
from consumer.intake.offsets import BatchOffsets
from consumer.intake.records import Inbound
from consumer.prepare.mapped import MappedRow
from feed.contract import (
    RowMeta,
)

# Contents the raw layer already stores: digest -> (fields_total, fields_unknown, cut) when the
# content was applied to the core tables, None when it was not (malformed, refused). cut: the
# content was stored with observation cells cut from its value (its layout names them).
Known = Mapping[bytes, tuple[int, int, bool] | None]
# A stored layout: the value's keys in order, and the 1-based positions of the keys whose
# values are observation cells, kept per physical row (raw.file_rows.observed), not in the body.
LayoutKey = tuple[tuple[str, ...], tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class NewContent:
    """A content this batch decoded: mapped with its stored form, or refused by the mapping."""

    mapped: MappedRow | None
    body: str  # raw.contents.body as the row's value gives it
    layout: LayoutKey | None
    digest: bytes  # may differ from the row's: a value kept whole is its own content
    cut: bool  # observation cells were cut from the value
    problem: tuple[str, str] | None = None  # (reason, error) when the mapping refused it


# (dialect, digest) -> what decoding and mapping made of the content
Contents = Mapping[tuple[str, bytes], NewContent]


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message refused, once: its audit.parse_errors row and its dead letter are both read
    from this record."""

    record: Inbound
    reason: str  # audit.parse_errors.reason
    error: str  # one line
    error_class: str  # the dead letter's vinops-error-class
    letter_reason: str  # the dead letter's vinops-reason (malformed_row, oversized, ...)
    file_id: uuid.UUID | None  # its place in a file, when its headers can be trusted
    row_no: int | None
    raw: str | None  # the text audit.parse_errors keeps
    # A rejected row message of a known file still counts towards its run's progress.
    counts_as_row: bool = False

    @property
    def dedup_key(self) -> str:
        """'{file_id}:{row_no}' when its place is known, else '{topic}:{partition}:{offset}'."""
        if self.file_id is not None and self.row_no is not None:
            return f"{self.file_id}:{self.row_no}"
        r = self.record
        return f"{r.topic}:{r.partition}:{r.offset}"


class Reference(NamedTuple):
    """One physical row as raw.file_rows records it (fields in its COPY column order).

    Every row message of a file gets one; a row whose content is already applied gets
    nothing else (no ``RawRow``, no decode, no mapping).
    """

    file_id: uuid.UUID
    row_no: int
    kind: str  # 'row' | 'malformed'
    lot_external_id: str | None
    digest: bytes
    parse_error: str | None
    kafka_partition: int
    kafka_offset: int
    # The observation cells cut from the value; None when none was cut, or when they are
    # just the row number (the member feed's Id, as a fresh download numbers it).
    observed: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class RawRow:
    """A row message that brings a content not stored yet, or one to apply (mapped).

    ``body`` is None when the content is already stored but not applied (the database
    refused it before) or repeats a content earlier in this batch.
    """

    record: Inbound
    meta: RowMeta
    body: str | None  # raw.contents.body: JSON array of values (with layout) or the JSON value
    kind: str  # 'row' | 'malformed'
    lot_external_id: str | None
    parse_error: str | None
    mapped: MappedRow | None
    digest: bytes = b""
    layout: LayoutKey | None = None  # the value's keys when body is an array of values
    observed: tuple[str, ...] | None = None  # as Reference.observed


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
    full_snapshot: bool | None = None  # from the 'started' record: lists every lot for sale
    has_event: bool = False  # True: fill columns (DO UPDATE); False: create only (DO NOTHING)
    aborted: bool = False  # the last lifecycle event of this batch was 'aborted'


@dataclass(frozen=True, slots=True)
class Winners:
    """Indexes into ``PreparedBatch.rows`` of the versions each upsert applies."""

    lots: tuple[int, ...] = ()
    vehicles: tuple[tuple[int, str], ...] = ()  # (row index, the winner's raw spelling)
    sale_events: tuple[int, ...] = ()
    images: tuple[tuple[int, int], ...] = ()  # (row index, index into mapped.images)


@dataclass(frozen=True)
class PreparedBatch:
    batch: Batch
    rows: tuple[RawRow, ...] = ()
    references: tuple[Reference, ...] = ()  # one per row message of a file, rows included
    rejections: tuple[Rejection, ...] = ()
    files: tuple[FileInfo, ...] = ()
    winners: Winners = field(default_factory=Winners)
    deduped_stale: int = 0  # lot versions dropped because a newer one is in the batch
    fields_total: int = 0
    fields_unknown: int = 0
    unchanged: int = 0  # rows whose content was already applied: referenced, not processed
    digest_mismatches: int = 0  # rows whose digest header named another content
    # The contents the look-up found stored: a bisected half is prepared with them, so it
    # neither re-applies what was applied nor re-sends bodies the raw layer holds.
    known: Known = field(default_factory=dict)
    # What this batch decoded and mapped, by (dialect, digest): a bisected half reuses it.
    contents: Contents = field(default_factory=dict)
    # False when the look-up failed: the batch would re-send stored bodies and re-apply applied
    # rows, so the checkpoint prepares it again (with a look-up) before writing it.
    looked_up: bool = True

    @property
    def offsets(self) -> BatchOffsets:
        return self.batch.offsets

    @property
    def newest_timestamp_ms(self) -> int | None:
        return self.batch.newest_timestamp_ms


def reference_of(row: RawRow) -> Reference:
    return Reference(
        row.meta.file_id, row.meta.row_no, row.kind, row.lot_external_id, row.digest,
        row.parse_error, row.record.partition, row.record.offset,
        per_row_cells(row.observed, row.meta.row_no),
    )  # fmt: skip


def per_row_cells(observed: tuple[str, ...] | None, row_no: int) -> tuple[str, ...] | None:
    """What raw.file_rows keeps of a row's observation cells: nothing when they are only its
    row number (the member feed's Id in a fresh download, the common case)."""
    if observed is None or (len(observed) == 1 and observed[0] == str(row_no)):
        return None
    return observed
