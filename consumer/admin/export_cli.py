"""``consumer export-raw FILE [--out PATH]``: argparse glue and the output file only.

A pruned file (`consumer archive --prune`) is read from its archive object, checked against
the SHA-256 raw.csv_files recorded for it.

Exit codes: 0 the whole file was written; 1 rows are missing (what exists is written, the
count is on stderr), the database failed, or a pruned file's archive cannot be read or is not
the one recorded (nothing is written); 2 no DSN, or FILE names no file or several;
5 cannot connect (nothing answers, the login or the certificate refused).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from consumer.admin import export
from consumer.admin.archive import export_pruned
from consumer.config import pg_connect
from consumer.config.archive import ArchiveSettings
from consumer.config.settings import read_dsn
from consumer.store.archive_objects import ArchiveError


def add_export_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``export-raw`` on the CLI's subparsers (``parser.add_subparsers()``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "export-raw",
        help="write a file of the raw layer back as CSV",
        description="Write a file back as CSV from raw.file_rows and raw.contents.",
    )
    parser.add_argument("file", metavar="FILE", help="file id or sha256, or a unique prefix")
    parser.add_argument("--out", metavar="PATH", help="output file; '-' or absent: stdout")
    return parser


@contextlib.contextmanager
def _output(path: str | None, stdout: BinaryIO) -> Iterator[TextIO]:
    """UTF-8 text with no newline translation (the CSV writer chooses the line endings).
    A file is written aside and renamed when complete: a failed export leaves no file."""
    if path in (None, "-"):
        text = io.TextIOWrapper(stdout, encoding="utf-8", newline="")
        try:
            yield text
        finally:
            text.flush()
            text.detach()
        return
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as written:
            yield written
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


async def run_export(
    args: argparse.Namespace, env: Mapping[str, str], stdout: BinaryIO | None = None
) -> int:
    dsn = read_dsn("export-raw", env)
    if dsn is None:
        return 2
    conn = await pg_connect.connect(dsn)
    try:
        # Resolved first, so an ambiguous or unknown FILE creates no output at all.
        source = await export.find_file(conn, args.file)
        settings = ArchiveSettings.from_env(env)
        with _output(args.out, stdout or sys.stdout.buffer) as out:
            # A pruned file's rows are in its archive only.
            counts = await export_pruned(conn, source, out, settings)
            if counts is None:
                counts = await export.export_rows(conn, source, out)
    except ArchiveError as exc:
        print(f"consumer export-raw: {source.file_id}: {exc}", file=sys.stderr)
        return 1
    except export.ExportError as exc:
        print(f"consumer export-raw: {exc}", file=sys.stderr)
        return 2
    finally:
        await conn.close()
    problems = counts.problems()
    for problem in problems:
        print(f"consumer export-raw: {source.file_id}: {problem}", file=sys.stderr)
    return 1 if problems else 0
