"""A file's lifecycle events (started, completed, aborted) merged into what a batch knows of
the file (raw.csv_files columns, its run's expected rows).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

from consumer.prepare.prepared import FileInfo
from feed.contract import (
    FileAborted,
    FileCompleted,
    FileEvent,
    FileStarted,
)


def _iso(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def merge_event(prior: FileInfo | None, file_id: uuid.UUID, event: FileEvent) -> FileInfo:
    base = prior or FileInfo(file_id, event.sha256)
    if not base.has_event:
        # A row header's encoding is that row's (utf-8 or cp1252), not the file's: an event
        # fills the column, so it must not write a row's value over the file's.
        base = replace(base, encoding=None)
    if isinstance(event, FileStarted):
        return replace(
            base, sha256=event.sha256, dialect=event.dialect, encoding=event.encoding,
            path=event.path, bytes=event.bytes, headers=tuple(event.headers),
            started_at=_iso(event.started_at), full_snapshot=event.full_snapshot, has_event=True,
            aborted=False,
        )  # fmt: skip
    if isinstance(event, FileCompleted):
        return replace(
            base, encoding=base.encoding or event.encoding, rows_published=event.rows,
            malformed_rows=event.malformed, completed_at=_iso(event.completed_at), has_event=True,
        )  # fmt: skip
    return replace(base, has_event=True, aborted=isinstance(event, FileAborted))
