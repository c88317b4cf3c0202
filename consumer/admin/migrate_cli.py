"""``consumer migrate [--dry-run]`` and ``consumer migrate status``: argparse glue only.

Exit codes: 0 done, 2 configuration (no DSN, bad registry), 3 the ledger disagrees with the
files (an applied file was edited), 4 a migration failed (rolled back), 5 cannot connect.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import asyncpg

from consumer.config.settings import Database, mask_dsn
from consumer.store.migrate import (
    ConnectError,
    MigrateError,
    Migration,
    MigrationFailedError,
    RegistryError,
    State,
    StatusLine,
    default_migrations_dir,
    load_registry,
    migrate,
    status,
)
from feed.settings import SettingsError, load

CONNECT_TIMEOUT_S = 10.0


def add_migrate_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``migrate`` on the CLI's subparsers (``parser.add_subparsers()``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "migrate",
        help="apply pending database migrations (or show their status)",
        description="Apply pending migrations in registry order, each in its own transaction.",
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=("apply", "status"),
        default="apply",
        help="apply (default) or status: applied/pending/superseded per migration",
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would be applied")
    parser.add_argument(
        "--dsn",
        default=None,
        help="PostgreSQL DSN (default: VINOPS_PG_ADMIN_DSN, else VINOPS_PG_DSN)",
    )
    parser.add_argument(
        "--migrations-dir",
        type=Path,
        default=None,
        help="directory of _registry.json (default: VINOPS_MIGRATIONS_DIR or <repo>/migrations)",
    )
    return parser


def resolve_dsn(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    """--dsn, else VINOPS_PG_ADMIN_DSN, else VINOPS_PG_DSN (each also as ``_FILE``), with
    VINOPS_PG_SSLMODE / VINOPS_PG_SSLROOTCERT applied."""
    try:
        db = load(Database, env)
    except SettingsError as exc:
        raise RegistryError(str(exc)) from None
    dsn = args.dsn or db.admin_dsn or db.dsn
    if not dsn:
        raise RegistryError("no DSN: set VINOPS_PG_ADMIN_DSN or VINOPS_PG_DSN, or pass --dsn")
    return db.tls.apply(dsn)


def resolve_dir(args: argparse.Namespace, env: Mapping[str, str]) -> Path:
    if args.migrations_dir is not None:
        return Path(args.migrations_dir)
    from_env = env.get("VINOPS_MIGRATIONS_DIR")
    return Path(from_env) if from_env else default_migrations_dir()


async def connect(dsn: str) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # The exception text never holds the password; the DSN is shown masked.
        raise ConnectError(
            f"cannot connect to {mask_dsn(dsn)}: {type(exc).__name__}: {exc}"
        ) from exc


def _print_status(registry: list[StatusLine], out: TextIO) -> int:
    changed = 0
    for line in registry:
        when = ""
        if line.applied is not None:
            when = f"  {line.applied.applied_at:%Y-%m-%d %H:%M:%S%z} by {line.applied.applied_by}"
        changed += line.state is State.CHANGED
        print(f"{line.migration.id}  {line.state.value:<10}  {line.migration.file}{when}", file=out)
    counts = {s: sum(1 for x in registry if x.state is s) for s in State}
    summary = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    print(summary, file=out)
    return 3 if changed else 0


def _print_run(todo: tuple[Migration, ...], dry_run: bool, out: TextIO) -> None:
    verb = "would apply" if dry_run else "applied"
    for m in todo:
        print(f"{verb} {m.id}  {m.file}", file=out)
    print(f"{len(todo)} pending" if dry_run else f"{len(todo)} applied, 0 pending", file=out)


async def run_migrate(
    args: argparse.Namespace,
    env: Mapping[str, str],
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run ``consumer migrate``; returns the exit code, messages go to ``out`` / ``err``."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        registry = load_registry(resolve_dir(args, env))
        conn = await connect(resolve_dsn(args, env))
        try:
            if args.action == "status":
                return _print_status(await status(conn, registry), out)
            result = await migrate(conn, registry, dry_run=args.dry_run)
        finally:
            await conn.close()
    except MigrateError as exc:
        print(f"consumer migrate: {exc}", file=err)
        return exc.exit_code
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        # e.g. the login may not create the ingest schema, or the connection dropped.
        print(f"consumer migrate: {type(exc).__name__}: {' '.join(str(exc).split())}", file=err)
        return MigrationFailedError.exit_code
    _print_run(result.applied, result.dry_run, out)
    return 0
