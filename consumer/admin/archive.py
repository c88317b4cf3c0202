"""`consumer archive`: each fully ingested file of the raw layer to one object, verified, then
(with --prune) its references out of PostgreSQL; and export-raw of a pruned file, from the
archive.

A file is archived once its run completed and the raw layer gives every published row back
(export-raw exits 0 for it): the object is export-raw's own output behind a manifest line
(consumer.store.archive_objects), written, read back and compared byte for byte (SHA-256),
and only then recorded in raw.csv_files. A file already recorded at the same place with the
same SHA-256 is left as it is: archiving again changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

import asyncpg
import orjson

from consumer.admin import export
from consumer.config.archive import ArchiveSettings
from consumer.store import archive_db, archive_objects
from consumer.store.archive_objects import MANIFEST_SUFFIX, ArchiveError, Manifest, Place

_PRUNED = "SELECT archive_uri, archive_sha256 FROM raw.csv_files WHERE file_id = $1 AND pruned_at IS NOT NULL"  # noqa: E501


@dataclass(slots=True)
class Outcome:
    archived: int = 0  # objects written and verified now
    already: int = 0  # recorded before at this place, object present and intact
    skipped: list[str] = field(default_factory=list)  # "file_id: why" (not archived)
    pruned: archive_db.Pruned = field(default_factory=archive_db.Pruned)


async def _object_of(conn: asyncpg.Connection, stored: archive_db.StoredFile) -> tuple[bytes, str]:
    """The file's object, or ArchiveError when the raw layer cannot give it back whole."""
    source = await export.find_file(conn, str(stored.file_id))
    text = io.StringIO(newline="")
    counts = await export.export_rows(conn, source, text)
    problems = counts.problems()
    if problems:
        raise ArchiveError("; ".join(problems))
    rows = text.getvalue().encode("utf-8")
    manifest = Manifest(
        file_id=str(stored.file_id), sha256=stored.sha256, rows=counts.written,
        rows_published=stored.rows_published, malformed_rows=stored.malformed_rows,
        path=stored.path, bytes=stored.bytes, dialect=stored.dialect, encoding=stored.encoding,
        header=list(source.header), csv_sha256=hashlib.sha256(rows).hexdigest(),
    )  # fmt: skip
    return archive_objects.pack(manifest, rows), manifest.file_id


async def archive_one(
    conn: asyncpg.Connection, where: Place, stored: archive_db.StoredFile
) -> bool:
    """Write, verify and record one file; False when it was archived here already."""
    name = f"{stored.file_id}{archive_objects.OBJECT_SUFFIX}"
    if stored.archive_uri == where.object_uri(stored.file_id) and stored.archive_sha256:
        data = await archive_objects.get(where, name)
        if hashlib.sha256(data).hexdigest() == stored.archive_sha256:
            return False  # idempotent: recorded, present, intact
    if stored.pruned_at is not None:
        raise ArchiveError("pruned, and its archive is not at this place")
    data, _ = await _object_of(conn, stored)
    digest = hashlib.sha256(data).hexdigest()
    manifest, _ = archive_objects.unpack(data)
    await archive_objects.put(where, name, data)
    await archive_objects.put(
        where, f"{stored.file_id}{MANIFEST_SUFFIX}", archive_objects.sidecar(manifest, digest, name)
    )
    back = await archive_objects.get(where, name)  # what the store really holds
    if hashlib.sha256(back).hexdigest() != digest:
        raise ArchiveError(f"{where.object_uri(stored.file_id)}: read back differs from written")
    archive_objects.unpack(back)
    await archive_db.record(conn, stored.file_id, where.object_uri(stored.file_id), digest)
    return True


async def archive(
    conn: asyncpg.Connection, where: Place, *, before: dt.datetime | None,
    keep_last: int | None, prune: bool, say: Callable[[str], None] = lambda _: None,
) -> Outcome:  # fmt: skip
    files = archive_db.select(
        await archive_db.completed_files(conn), before=before, keep_last=keep_last
    )
    outcome = Outcome()
    done = []
    for stored in files:
        try:
            if await archive_one(conn, where, stored):
                outcome.archived += 1
                say(f"archived {stored.file_id} -> {where.object_uri(stored.file_id)}")
            else:
                outcome.already += 1
            done.append(stored)
        except ArchiveError as exc:
            outcome.skipped.append(f"{stored.file_id}: {exc}")
    if prune:
        pending = [s.file_id for s in done if s.pruned_at is None]
        if pending:
            outcome.pruned = await archive_db.prune(conn, pending)
    return outcome


async def export_pruned(
    conn: asyncpg.Connection, source: export.SourceFile, out: TextIO, settings: ArchiveSettings
) -> export.Counts | None:
    """A pruned file written from its archive (checked against the recorded SHA-256); None
    when the file is not pruned (its rows are in PostgreSQL)."""
    row = await conn.fetchrow(_PRUNED, source.file_id)
    if row is None:
        return None
    manifest, rows = await archive_objects.read_verified(
        row["archive_uri"], row["archive_sha256"], settings
    )
    if manifest.file_id != str(source.file_id):
        raise ArchiveError(f"{row['archive_uri']}: holds file {manifest.file_id}")
    out.write(rows.decode("utf-8"))
    return export.Counts(written=manifest.rows, missing=0)


def summary(outcome: Outcome) -> str:
    return orjson.dumps(
        {"archived": outcome.archived, "already": outcome.already,
         "skipped": len(outcome.skipped), **dataclasses.asdict(outcome.pruned)}
    ).decode()  # fmt: skip
