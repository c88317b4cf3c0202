"""Schema migrations: the registry of numbered SQL files and the runner that applies them.

The ledger is ``ingest.schema_migrations`` (created here, before 0001). One fixed advisory
lock serialises runners on a database, so two at once never interleave: the second waits,
then finds nothing pending. An applied file whose bytes changed stops the runner before it
touches anything, because the database no longer matches what the repository says.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import asyncpg

REGISTRY_FILE = "_registry.json"
# 'vinops' in ASCII: any fixed bigint works, it only has to be the same for every runner.
LOCK_KEY = 0x76696E6F7073

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS ingest;
CREATE TABLE IF NOT EXISTS ingest.schema_migrations (
    id         text PRIMARY KEY,
    file       text NOT NULL,
    sha256     text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT session_user
);
"""


class MigrateError(Exception):
    """A migration run cannot go on; ``str()`` is one line, never a DSN or password."""

    exit_code: ClassVar[int] = 1


class RegistryError(MigrateError):
    exit_code = 2


class IntegrityError(MigrateError):
    """The database's ledger disagrees with the repository (edited or unknown migration)."""

    exit_code = 3


class MigrationFailedError(MigrateError):
    exit_code = 4


class ConnectError(MigrateError):
    exit_code = 5


@dataclass(frozen=True, slots=True)
class Migration:
    id: str
    file: str
    purpose: str
    rollback: str
    superseded: bool
    path: Path
    sha256: str

    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def default_migrations_dir() -> Path:
    """<repo>/migrations next to the consumer package (a source checkout or a copied tree)."""
    return Path(__file__).resolve().parents[2] / "migrations"


def _entry(raw: Any, directory: Path, position: int) -> Migration:
    if not isinstance(raw, dict):
        raise RegistryError(f"{REGISTRY_FILE}: entry {position} is not an object")
    try:
        mid, file, purpose, rollback = (str(raw[k]) for k in ("id", "file", "purpose", "rollback"))
        superseded = raw["superseded"]
    except KeyError as exc:
        raise RegistryError(f"{REGISTRY_FILE}: entry {position} lacks {exc.args[0]!r}") from None
    if not isinstance(superseded, bool):
        raise RegistryError(f"{REGISTRY_FILE}: {mid}: 'superseded' must be true or false")
    if mid != f"{position:04d}" or not file.startswith(f"{mid}_") or not file.endswith(".sql"):
        raise RegistryError(
            f"{REGISTRY_FILE}: entry {position} must have id {position:04d} "
            f"and a file named {position:04d}_*.sql, got {mid!r} / {file!r}"
        )
    path = directory / file
    if not path.is_file() or path.name != file:
        raise RegistryError(f"{REGISTRY_FILE}: {mid}: file {file} not found in {directory}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Migration(mid, file, purpose, rollback, superseded, path, digest)


def load_registry(directory: Path) -> tuple[Migration, ...]:
    """The registry in order; ids are 0001, 0002, ... without gaps, every file exists."""
    registry = directory / REGISTRY_FILE
    try:
        entries = json.loads(registry.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(
            f"no {REGISTRY_FILE} in {directory} (use --migrations-dir or VINOPS_MIGRATIONS_DIR)"
        ) from None
    except ValueError as exc:
        raise RegistryError(f"{REGISTRY_FILE} is not valid JSON: {exc}") from None
    if not isinstance(entries, list) or not entries:
        raise RegistryError(f"{REGISTRY_FILE} must be a non-empty JSON list")
    return tuple(_entry(raw, directory, n + 6 * (n > 23)) for n, raw in enumerate(entries, 1))


class State(enum.StrEnum):
    APPLIED = "applied"
    PENDING = "pending"
    SUPERSEDED = "superseded"
    CHANGED = "changed"  # applied, but the file's bytes differ now


@dataclass(frozen=True, slots=True)
class Applied:
    id: str
    file: str
    sha256: str
    applied_at: datetime
    applied_by: str


@dataclass(frozen=True, slots=True)
class StatusLine:
    migration: Migration
    state: State
    applied: Applied | None


def status_lines(registry: Sequence[Migration], applied: Mapping[str, Applied]) -> list[StatusLine]:
    out = []
    for m in registry:
        row = applied.get(m.id)
        if row is not None:
            state = State.APPLIED if row.sha256 == m.sha256 else State.CHANGED
        else:
            state = State.SUPERSEDED if m.superseded else State.PENDING
        out.append(StatusLine(m, state, row))
    return out


def pending(registry: Sequence[Migration], applied: Mapping[str, Applied]) -> list[Migration]:
    """What to apply, in order; raises IntegrityError when the ledger disagrees with the files."""
    known = {m.id for m in registry}
    unknown = sorted(set(applied) - known)
    if unknown:
        row = applied[unknown[0]]
        raise IntegrityError(
            f"database has migration {row.id} ({row.file}) that this registry does not list"
        )
    lines = status_lines(registry, applied)
    for line in lines:
        if line.state is State.CHANGED:
            raise IntegrityError(
                f"migration {line.migration.file} was changed after it was applied "
                "(sha256 differs); restore it and add a new migration instead"
            )
    return [line.migration for line in lines if line.state is State.PENDING]


async def read_applied(conn: asyncpg.Connection) -> dict[str, Applied]:
    if await conn.fetchval("SELECT to_regclass('ingest.schema_migrations')") is None:
        return {}
    rows = await conn.fetch(
        "SELECT id, file, sha256, applied_at, applied_by FROM ingest.schema_migrations"
    )
    return {r["id"]: Applied(**dict(r)) for r in rows}


@dataclass(frozen=True, slots=True)
class RunResult:
    applied: tuple[Migration, ...]  # applied by this run (or, on a dry run, that would be)
    dry_run: bool


async def migrate(
    conn: asyncpg.Connection,
    registry: Sequence[Migration],
    *,
    dry_run: bool = False,
    target: str | None = None,
) -> RunResult:
    """Apply every pending migration, each in its own transaction, under the advisory lock.

    ``target``: stop after that id (upgrade tests build the schema an older release had).
    """
    await conn.execute("SET client_min_messages = warning")
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        if not dry_run:
            await conn.execute(_BOOTSTRAP)
        todo = pending(registry, await read_applied(conn))
        if target is not None:
            todo = [m for m in todo if m.id <= target]
        if dry_run:
            return RunResult(tuple(todo), dry_run=True)
        for m in todo:
            await _apply(conn, m)
        return RunResult(tuple(todo), dry_run=False)
    finally:
        # A lost connection has released the lock already; do not mask the original error.
        if not conn.is_closed():
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)


async def _apply(conn: asyncpg.Connection, m: Migration) -> None:
    try:
        async with conn.transaction():
            await conn.execute(m.sql())
            await conn.execute(
                "INSERT INTO ingest.schema_migrations (id, file, sha256) VALUES ($1, $2, $3)",
                m.id,
                m.file,
                m.sha256,
            )
    except asyncpg.PostgresError as exc:
        raise MigrationFailedError(
            f"migration {m.file} failed and was rolled back: "
            f"[{exc.sqlstate}] {' '.join(str(exc).split())}"
        ) from exc


async def status(conn: asyncpg.Connection, registry: Sequence[Migration]) -> list[StatusLine]:
    return status_lines(registry, await read_applied(conn))


async def unapplied(conn: Any, registry: Sequence[Migration]) -> list[Migration]:
    """Migrations of ``registry`` the database lacks (superseded ones never count). A
    database ahead of this code (a newer consumer migrated it) is not reported."""
    applied = await read_applied(conn)
    return [m for m in registry if not m.superseded and m.id not in applied]
