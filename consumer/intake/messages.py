"""The closed set of typed messages a fetched record becomes, once, at intake (``decoder``):
a row of a file, a file's lifecycle event, or a message that breaks the contract. Each keeps
its record (the original bytes). Every stage after intake dispatches on the type and reads
these fields; none parses a header or computes a digest again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import NamedTuple

from consumer.intake.records import Inbound
from feed.contract import FileEvent, RowMeta


class RowMessage(NamedTuple):
    """A row message with valid headers. A NamedTuple: one is built for every row fetched,
    and ``tuple.__new__`` builds it in C."""

    record: Inbound
    # The file's headers, one object shared by the file's rows: its row_no is the first row's.
    file: RowMeta
    row_no: int
    # The content digest, computed from the value itself (observation cells cut): a digest
    # header is only compared. For a malformed row (or none cut): the value's own digest.
    digest: bytes
    observed: tuple[str, ...] | None  # the observation cells cut from the value
    lot: str | None  # the lot number as the key gives it (NUL dropped, stripped)
    header_disagreed: bool  # the producer's digest header named another content

    @property
    def meta(self) -> RowMeta:
        """This row's own headers (built on demand: only a new content needs them)."""
        f = self.file
        return RowMeta(f.file_id, f.sha256, self.row_no, f.dialect, f.kind, f.encoding,
                       f.contract)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FileEventMessage:
    record: Inbound
    file_id: uuid.UUID
    event: FileEvent


@dataclass(frozen=True, slots=True)
class BadMessage:
    """A message that breaks the contract: recorded (audit.parse_errors) and dead-lettered.

    ``file_id``/``row_no``: its place in a file when its headers say so and can be trusted
    (missing or foreign-contract headers may repeat another message's place), else None.
    """

    record: Inbound
    reason: str  # missing_headers, contract_version, bad_json, bad_value
    error_class: str
    error: str  # one line
    file_id: uuid.UUID | None = None
    row_no: int | None = None
    sha256: str | None = None  # the file's, when its headers name it


Message = RowMessage | FileEventMessage | BadMessage
