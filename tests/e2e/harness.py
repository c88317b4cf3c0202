"""Drive the real CLIs as subprocesses and read the database back, for e2e and fault tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson

ROOT = Path(__file__).resolve().parents[2]
_PRODUCER = "import sys; from producer.cli import main; sys.exit(main())"

# Columns whose values legitimately differ between two runs of the same input.
_VOLATILE = {"id", "created_at", "updated_at", "ingested_at", "detected_at", "consumer"}
# csv_files publication times follow the latest publication (schema spec: COALESCE(EXCLUDED..)).
_VOLATILE_BY_TABLE = {
    "audit.etl_runs": {"started_at", "completed_at"},
    "raw.csv_files": {"started_at", "completed_at"},
    # Where a body sits depends on which batch stored it; the body itself is compared.
    "raw.v_contents": {"chunk_id", "pos", "stored_at"},
    # Which of the rows carrying a version came first depends on arrival; the rest must not.
    "public.lot_versions": {"file_id", "row_no", "content_digest", "recorded_at"},
    # Which block holds a reference depends on the batch that wrote it (0024).
    "raw.file_rows": {"block_first_row_no", "block_last_row_no"},
}
TABLES = (
    "public.vehicles", "public.lots", "public.sale_events", "public.images", "raw.csv_files",
    "raw.file_rows", "raw.v_contents", "staging.copart_raw", "audit.vin_conflicts",
    "audit.parse_errors", "audit.etl_runs", "public.lot_versions",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Harness:
    bootstrap: str
    etl_dsn: str = field(repr=False)  # secrets stay out of pytest's failure output
    admin_dsn: str = field(repr=False)
    topic: str
    files_topic: str
    dlq_topic: str
    group: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # The change topic the consumers' relay sends to: the row topic's own, so that tests
    # sharing one broker never read each other's events.
    changes_topic: str = ""

    def __post_init__(self) -> None:
        if not self.changes_topic:
            self.changes_topic = f"{self.topic}.changes"

    # ---- producer -------------------------------------------------------------------
    def publish(
        self, files: Sequence[Path], *, force: bool = False, full_snapshot: bool = False
    ) -> None:
        cmd = [
            sys.executable, "-c", _PRODUCER, "publish", "--bootstrap-servers", self.bootstrap,
            "--topic", self.topic, "--files-topic", self.files_topic,
        ]  # fmt: skip
        if force:
            cmd.append("--force")
        if full_snapshot:
            cmd.append("--full-snapshot")
        done = subprocess.run(
            [*cmd, *map(str, files)], cwd=ROOT, capture_output=True, timeout=180, check=False
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]

    # ---- consumer -------------------------------------------------------------------
    def consumer_cmd(self, *, group: str | None = None, extra: Sequence[str] = ()) -> list[str]:
        return [
            sys.executable, "-m", "consumer", "run", "--topic", self.topic,
            "--files-topic", self.files_topic, "--dlq-topic", self.dlq_topic,
            "--group-id", group or self.group, *extra,
        ]  # fmt: skip

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            VINOPS_KAFKA_BOOTSTRAP=self.bootstrap,
            VINOPS_PG_DSN=self.etl_dsn,
            VINOPS_LOG_FORMAT="json",
            VINOPS_METRICS_HOST="127.0.0.1",
            VINOPS_METRICS_PORT="0",
            VINOPS_CHANGES_TOPIC=self.changes_topic,
        )
        return env

    def consume(
        self, *, group: str | None = None, idle: float = 3, extra: Sequence[str] = (),
        timeout: float = 150,
    ) -> dict[str, Any]:  # fmt: skip
        """Run `consumer run --exit-when-idle` to completion; returns its exit totals."""
        done = subprocess.run(
            self.consumer_cmd(group=group, extra=["--exit-when-idle", str(idle), *extra]),
            cwd=ROOT, env=self.env(), capture_output=True, timeout=timeout, check=False,
        )  # fmt: skip
        stderr = done.stderr.decode()
        if log := _log_path(group or self.group):
            log.write_text(stderr, encoding="utf-8")
        assert done.returncode == 0, stderr[-3000:]
        return totals_of(stderr)

    def start(
        self, *, group: str | None = None, extra: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:  # fmt: skip
        log = _log_path(group or self.group)
        with open(log, "ab") if log else contextlib.nullcontext(subprocess.DEVNULL) as out:
            # The child keeps its own descriptor: the parent's copy closes here.
            proc = subprocess.Popen(
                self.consumer_cmd(group=group, extra=extra), cwd=ROOT,
                env={**self.env(), **(env or {})}, stdout=subprocess.DEVNULL, stderr=out,
            )  # fmt: skip
        self.procs.append(proc)
        return proc

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)

    def status(self) -> list[dict[str, Any]]:
        done = subprocess.run(
            [sys.executable, "-m", "consumer", "status", "--json"],
            cwd=ROOT, env=self.env(), capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr.decode()
        result: list[dict[str, Any]] = orjson.loads(done.stdout)["files"]
        return result


def _log_path(group: str) -> Path | None:
    """Where a consumer's log goes when VINOPS_TEST_LOG_DIR is set (CI prints their warnings
    when a test fails); nowhere otherwise."""
    folder = os.environ.get("VINOPS_TEST_LOG_DIR")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder) / f"consumer-{time.time():.3f}-{group[-40:]}.log"


def totals_of(stderr: str) -> dict[str, Any]:
    for line in reversed(stderr.splitlines()):
        with contextlib.suppress(orjson.JSONDecodeError):
            record = orjson.loads(line)
            if isinstance(record, dict) and "totals" in record:
                return dict(record["totals"])
    raise AssertionError(f"no totals line in consumer output:\n{stderr[-2000:]}")


def wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> int:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        raise


# ---- database --------------------------------------------------------------------------


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    schema, name = table.split(".")
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
        schema, name,
    )  # fmt: skip
    skip = _VOLATILE | _VOLATILE_BY_TABLE.get(table, set())
    return [r["column_name"] for r in rows if r["column_name"] not in skip]


def _comparable(column: str) -> str:
    """A column as equal runs give it: generated ids replaced by what they name."""
    if column == "lot_id":
        return "(SELECT l.lot_external_id FROM public.lots l WHERE l.id = t.lot_id)"
    if column == "layout_id":
        return "(SELECT l.names::text FROM raw.layouts l WHERE l.layout_id = t.layout_id)"
    return f't."{column}"::text'


async def dump(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's content without run-dependent columns, rows sorted: equal runs -> equal."""
    conn = await asyncpg.connect(dsn)
    try:
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table in TABLES:
            exprs = [_comparable(c) for c in await _columns(conn, table)]
            rows = await conn.fetch(f"SELECT {', '.join(exprs)} FROM {table} t")
            out[table] = sorted((tuple(r) for r in rows), key=repr)
        return out
    finally:
        await conn.close()


async def fetch(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def count(dsn: str, sql: str, *args: Any) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def wait_count(dsn: str, sql: str, at_least: int, wait_s: float = 120) -> int:
    deadline = time.monotonic() + wait_s
    while True:
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            n = await count(dsn, sql)
            if n >= at_least:
                return n
        assert time.monotonic() < deadline, f"timed out waiting for {sql} >= {at_least}"
        await asyncio.sleep(0.2)
