"""``consumer archive (--before DATE | --keep-last N) --to URI [--prune]``: argparse glue.

Exit codes: 0 every selected file is archived (now or before) and, with --prune, pruned;
1 some file could not be archived (each named on stderr, the others done); 2 bad arguments,
no DSN or an unusable archive location; 5 cannot connect.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Mapping
from typing import Any

from consumer.admin import archive
from consumer.config import pg_connect
from consumer.config.archive import ArchiveSettings
from consumer.config.settings import read_dsn
from consumer.store import archive_objects


def _date(text: str) -> dt.datetime:
    """A date or an ISO time; without a zone, UTC."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD[THH:MM])") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (0, 1, 2, ...)")
    return int(text)


def add_archive_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "archive",
        help="archive fully ingested files of the raw layer to a directory or S3 bucket",
        description="Write each fully ingested file as one verified object (export-raw's rows "
        "and a manifest) and record it in raw.csv_files; --prune then removes its references "
        "from PostgreSQL (export-raw reads it back from the archive).",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--before", type=_date, metavar="DATE",
                       help="files whose ingest completed before DATE (UTC)")  # fmt: skip
    which.add_argument("--keep-last", type=_count, metavar="N",
                       help="every file but the N most recently ingested")  # fmt: skip
    parser.add_argument("--to", required=True, metavar="URI",
                        help="a directory (or file:///dir) or s3://bucket/prefix")  # fmt: skip
    parser.add_argument("--prune", action="store_true",
                        help="then delete the archived files' references and the contents "
                        "no other reference names (never the default)")  # fmt: skip
    return parser


async def run_archive(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    dsn = read_dsn("archive", env)
    if dsn is None:
        return 2
    try:
        where = archive_objects.place(args.to, ArchiveSettings.from_env(env))
    except archive_objects.ArchiveError as exc:
        print(f"consumer archive: {exc}", file=sys.stderr)
        return 2
    conn = await pg_connect.connect(dsn)
    try:
        outcome = await archive.archive(
            conn, where, before=args.before, keep_last=args.keep_last, prune=args.prune,
            say=lambda line: print(f"consumer archive: {line}", file=sys.stderr),
        )  # fmt: skip
    finally:
        await conn.close()
    for problem in outcome.skipped:
        print(f"consumer archive: not archived: {problem}", file=sys.stderr)
    print(archive.summary(outcome))
    return 1 if outcome.skipped else 0
