"""Whole publications ingested without Kafka (started record, rows, completed record: the run
completes), and `consumer archive` / `export-raw` run as the CLI runs them: for the archive
tests, local and S3."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, redirect_stdout
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import orjson

from consumer.admin.cli import main
from consumer.intake.records import Inbound
from feed.contract import FileCompleted, FileStarted, encode_file_event, file_id_for
from tests.coredump import inbound, ingest
from tests.rawfiles import published
from tests.unit.consumer.feedrows import FILES_TOPIC

NOW = "2026-11-01T08:00:00Z"


def publication(path: Path, first_offset: int) -> list[Inbound]:
    """What the producer sends for ``path``: its started record, every row, its completed one."""
    data = path.read_bytes()
    sha256, dialect, messages = published(data)
    file_id = str(file_id_for(sha256))
    header = list(orjson.loads(next(m for _, m in messages if not m.malformed).value))
    started = FileStarted(file_id, sha256, str(path), len(data), header, dialect, "utf-8", NOW)
    done = FileCompleted(file_id, sha256, len(messages),
                         sum(m.malformed for _, m in messages), 1.0, NOW)  # fmt: skip
    key = sha256.encode()
    return [
        Inbound(FILES_TOPIC, 0, first_offset, key, encode_file_event(started), (), 1),
        *inbound([m for _, m in messages], first_offset),
        Inbound(FILES_TOPIC, 0, first_offset + 1, key, encode_file_event(done), (), 1),
    ]


async def ingest_files(dsn: str, paths: list[Path]) -> list[str]:
    """Each file ingested in turn (its run completed before the next starts); their sha256s."""
    shas = []
    for n, path in enumerate(paths):
        await ingest(dsn, publication(path, n * 100_000), size=500)
        shas.append(published(path.read_bytes())[0])
    return shas


def cli(argv: list[str], env: Mapping[str, str]) -> tuple[int, str]:
    """The CLI in this process: exit code and stdout."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    with redirect_stdout(out):
        code = main(argv, env=dict(env))
    out.flush()
    return code, raw.getvalue().decode()


async def export(sha256: str, out: Path, env: Mapping[str, str]) -> tuple[int, bytes]:
    argv = ["export-raw", sha256, "--out", str(out)]
    code, _ = await asyncio.to_thread(cli, argv, env)
    exists = await asyncio.to_thread(out.exists)
    return code, await asyncio.to_thread(out.read_bytes) if exists else b""


@asynccontextmanager
async def archiver_login(superuser_dsn: str, db_dsn: str) -> AsyncIterator[str]:
    """A login that is a member of raw_archiver only (dropped afterwards): its DSN on ``db``."""
    name = f"vinops_archiver_{uuid.uuid4().hex[:8]}"
    password = uuid.uuid4().hex
    su = await asyncpg.connect(superuser_dsn)
    try:
        await su.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' IN ROLE raw_archiver")
        parts = urlsplit(db_dsn)
        host = parts.netloc.rsplit("@", 1)[-1]
        yield urlunsplit(parts._replace(netloc=f"{name}:{password}@{host}"))
    finally:
        await su.execute(
            f"DO $$ BEGIN PERFORM pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE usename = '{name}'; END $$"
        )
        await su.execute(f"DROP OWNED BY {name}")
        await su.execute(f"DROP ROLE {name}")
        await su.close()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
