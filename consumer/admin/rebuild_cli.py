"""``consumer rebuild (--all | --file F | --since DATE | --lot L) [--dry-run] [--batch N]``:
argparse glue, the progress bar and the exit codes of ``consumer.admin.rebuild``.

Exit codes: 0 done (or, with --dry-run, counted); 2 usage (no DSN, FILE names no file or
several, a bad date); 5 cannot connect.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Mapping
from typing import Any

import asyncpg
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from consumer.admin import export
from consumer.admin.rebuild import DEFAULT_BATCH, Selection, rebuild
from consumer.admin.rebuild import Progress as Done
from consumer.config import pg_connect
from consumer.config.settings import read_dsn
from consumer.store.sink import Sink


def add_rebuild_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rebuild",
        help="re-derive the core tables from the raw layer through the current mapping",
        description=(
            "Re-derive lots, vehicles, sale events and images from the raw layer, in batches, "
            "with the same rule as the consumer (safe beside a running one). Resumes a "
            "rebuild of the same selection that was killed."
        ),
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every row of every file")
    which.add_argument("--file", metavar="F", help="one file: id or sha256, or a unique prefix")
    which.add_argument("--since", metavar="DATE", help="rows ingested since DATE (ISO 8601)")
    which.add_argument("--lot", metavar="L", help="one lot number")
    parser.add_argument("--dry-run", action="store_true", help="count the rows, write nothing")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="rows per transaction")
    return parser


def _since(text: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


async def _selection(conn: asyncpg.Connection, args: argparse.Namespace) -> Selection:
    if args.file:
        return Selection(file_id=(await export.find_file(conn, args.file)).file_id)
    if args.since:
        return Selection(since=_since(args.since))
    if args.lot:
        return Selection(lot=args.lot.strip())
    return Selection()


async def run_rebuild(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    dsn = read_dsn("rebuild", env)
    if dsn is None:
        return 2
    if args.batch < 1:
        print("consumer rebuild: --batch must be at least 1", file=sys.stderr)
        return 2
    conn = await pg_connect.connect(dsn)
    try:
        try:
            selection = await _selection(conn, args)
        except (export.ExportError, ValueError) as exc:
            print(f"consumer rebuild: {exc}", file=sys.stderr)
            return 2
        async with asyncpg.create_pool(dsn, min_size=1, max_size=1) as pool:
            sink = Sink(pool, group_id="rebuild", consumer_name="consumer-rebuild")
            with Progress(
                TextColumn(f"rebuild {selection.key}"), BarColumn(), MofNCompleteColumn(),
                TimeRemainingColumn(), transient=True, disable=not sys.stderr.isatty(),
            ) as bar:  # fmt: skip
                task = bar.add_task("rows", total=None)

                def shown(done: Done) -> None:
                    bar.update(task, total=done.rows_total, completed=done.rows_done)

                done = await rebuild(
                    conn, sink, selection, batch=args.batch, dry_run=args.dry_run,
                    on_batch=shown,
                )  # fmt: skip
    finally:
        await conn.close()
    verb = "would re-derive" if args.dry_run else "re-derived"
    resumed = ", resumed" if done.resumed else ""
    print(
        f"consumer rebuild: {verb} {done.rows_done if not args.dry_run else done.rows_total} "
        f"row(s) of {selection.key}; {done.lots_changed} lot(s) inserted or changed{resumed}",
        file=sys.stderr,
    )
    return 0
