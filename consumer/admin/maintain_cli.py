"""``consumer maintain [--retention-days N] [--json]``: staging's rolling window, once, now.

The same work as the service's timer (consumer/store/maintenance.py): the days ahead made,
the days past the retention dropped. It waits for a maintainer already running (a consumer's
timer) instead of skipping, so what it prints is done. The consumer's login is enough
(VINOPS_PG_DSN): the work runs inside a SECURITY DEFINER function owned by the table's owner.

Exit codes: 0 done; 1 the database failed the work; 2 usage or configuration (no DSN, a bad
VINOPS_STAGING_RETENTION_DAYS, a database lacking migration 0022); 5 cannot connect.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import orjson

from consumer.config import pg_connect
from consumer.config.errors import ConfigError, IngestError
from consumer.config.settings import SettingsError, Storage, read_dsn
from consumer.service.startup import require_migrated_on
from consumer.store.maintenance import maintain
from feed.settings import load


def add_maintain_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "maintain",
        help="staging's rolling window now: days made ahead, days past the retention dropped",
        description="Create staging.copart_raw's next day partitions and drop those older "
        "than the retention (whole partitions, never row deletes); waits for a maintainer "
        "already running.",
    )
    parser.add_argument(
        "--retention-days", type=int, metavar="N",
        help="keep this many days (env VINOPS_STAGING_RETENTION_DAYS, default 30)",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


async def run_maintain(
    args: argparse.Namespace, env: Mapping[str, str], out: TextIO | None = None
) -> int:
    try:
        settings = load(Storage, env, {"staging_retention_days": args.retention_days})
    except SettingsError as exc:
        print(f"consumer maintain: {exc}", file=sys.stderr)
        return 2
    dsn = read_dsn("maintain", env)
    if dsn is None:
        return 2
    retention = settings.staging_retention_days
    conn = await pg_connect.connect(dsn)
    try:
        await require_migrated_on(conn)  # a database lacking 0022: exit 2, `consumer migrate`
        done = await maintain(conn, retention, wait=True)
    except ConfigError:
        raise  # exit 2, printed by the CLI
    except IngestError as exc:
        # One line: PostgreSQL's message may carry CONTEXT lines (pg_partman re-raises its
        # errors with theirs).
        print(f"consumer maintain: {' '.join(str(exc).split())[:400]}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    out = out or sys.stdout
    if args.json:
        body = {"retention_days": retention, "created": done.created, "dropped": done.dropped}
        print(orjson.dumps(body).decode(), file=out)
        return 0
    for name in done.created:
        print(f"created staging.{name}", file=out)
    for name in done.dropped:
        print(f"dropped staging.{name}", file=out)
    print(done.summary(retention), file=out)
    return 0
