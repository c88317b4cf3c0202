"""``consumer status [--json] [--watch [--interval S]] | --storage [--json]``: argparse
glue, settings, output. ``--storage`` shows where the bytes are instead (storage_view.py).

PostgreSQL (VINOPS_PG_DSN) is required; Kafka (VINOPS_KAFKA_BOOTSTRAP and its security
settings) is asked when set, for the partitions' ends, lag and the dead-letter topic's size.
Exit codes: 0, 2 configuration, 5 cannot connect.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

import asyncpg
import orjson
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.live import Live

from consumer.admin import status_report, status_view, storage_view
from consumer.config import pg_connect
from consumer.config.errors import CannotConnectError
from consumer.config.settings import read_dsn
from consumer.observe import status
from consumer.service.startup import require_migrated_on
from consumer.store import storage_report
from feed.contract import DEFAULT_DLQ_TOPIC, DEFAULT_FILES_TOPIC, DEFAULT_ROW_TOPIC
from feed.kafka_security import KafkaSecurity, LoginRefusedError, check_login
from feed.settings import load

DEFAULT_GROUP = "vinops-ingest"


def add_status_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "status",
        help="lag, commits, dead letters, the last hour, storage and files",
        description="Ingest status: per partition lag (messages, seconds) and last commit, "
        "dead letters, rows per outcome over the last hour, storage, and per file counts.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--watch", action="store_true", help="redraw in place until stopped")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between redraws")
    parser.add_argument(
        "--iterations", type=int, default=None, help="with --watch: stop after this many draws"
    )
    parser.add_argument(
        "--storage", action="store_true",
        help="size and rows per schema and table, growth per day, staging partitions, "
        "files archived or not (PostgreSQL only)",
    )  # fmt: skip
    parser.add_argument("--group-id", help=f"env VINOPS_GROUP_ID (default {DEFAULT_GROUP})")
    parser.add_argument("--bootstrap-servers", help="env VINOPS_KAFKA_BOOTSTRAP (optional)")
    return parser


def _kafka_target(args: argparse.Namespace, env: Mapping[str, str]) -> status_report.KafkaTarget:
    return status_report.KafkaTarget(
        bootstrap=args.bootstrap_servers or env.get("VINOPS_KAFKA_BOOTSTRAP", ""),
        topics=(
            env.get("VINOPS_TOPIC") or DEFAULT_ROW_TOPIC,
            env.get("VINOPS_FILES_TOPIC") or DEFAULT_FILES_TOPIC,
        ),
        dlq_topic=env.get("VINOPS_DLQ_TOPIC") or DEFAULT_DLQ_TOPIC,
        security=load(KafkaSecurity, env),
    )


async def gather(
    conn: asyncpg.Connection, target: status_report.KafkaTarget, group_id: str
) -> tuple[status_report.Report, list[status.FileStatus]]:
    report = await status_report.from_database(conn, group_id, list(target.topics))
    if target.bootstrap:
        try:
            await check_login(target.bootstrap, target.security)
            await status_report.add_kafka(report, target)
        except LoginRefusedError as exc:
            raise CannotConnectError(str(exc)) from exc
        except (KafkaError, OSError) as exc:
            raise CannotConnectError(
                f"cannot connect to Kafka at {target.bootstrap}: {type(exc).__name__}: {exc}"
            ) from exc
    return report, await status.file_statuses(conn)


def as_json(report: status_report.Report, files: list[status.FileStatus]) -> str:
    body = report.as_json() | {"files": orjson.loads(status.render_json(files))}
    return orjson.dumps(body, option=orjson.OPT_INDENT_2).decode()


async def _watch(
    conn: asyncpg.Connection,
    target: status_report.KafkaTarget,
    group_id: str,
    args: argparse.Namespace,
    console: Console,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    drawn = 0
    with Live(console=console, auto_refresh=False, transient=False) as live:
        while not stop.is_set():
            report, files = await gather(conn, target, group_id)
            live.update(status_view.render(report, files, datetime.now(UTC)), refresh=True)
            drawn += 1
            if args.iterations is not None and drawn >= args.iterations:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.interval)


async def _storage(dsn: str, args: argparse.Namespace, out: TextIO) -> int:
    conn = await pg_connect.connect(dsn)
    try:
        await require_migrated_on(conn)  # ingest.storage_daily and the partitions: exit 2
        report = await storage_report.gather(conn)
    finally:
        await conn.close()
    if args.json:
        print(orjson.dumps(report.as_json(), option=orjson.OPT_INDENT_2).decode(), file=out)
    else:
        Console(file=out, width=max(120, Console(file=out).width)).print(
            storage_view.render(report, datetime.now(UTC))
        )
    return 0


async def run_status(
    args: argparse.Namespace, env: Mapping[str, str], out: TextIO | None = None
) -> int:
    dsn = read_dsn("status", env)
    if dsn is None:
        return 2
    out = out or sys.stdout
    if args.storage:
        return await _storage(dsn, args, out)
    target = _kafka_target(args, env)
    group_id = args.group_id or env.get("VINOPS_GROUP_ID") or DEFAULT_GROUP
    conn = await pg_connect.connect(dsn)
    try:
        if args.watch and not args.json:
            await _watch(conn, target, group_id, args, Console(file=out))
            return 0
        report, files = await gather(conn, target, group_id)
    finally:
        await conn.close()
    if args.json:
        print(as_json(report, files), file=out)
    else:
        Console(file=out, width=max(120, Console(file=out).width)).print(
            status_view.render(report, files, datetime.now(UTC))
        )
    return 0
