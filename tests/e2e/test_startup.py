"""Start-up failures end in one line: an unmigrated database (exit 2), and a stop signal
while Kafka is still unreachable (exit 0, no traceback). /readyz says not ready while a
dependency is down (at start-up or later) and ready again once it is back."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from devstack.dsn import dsn_for
from tests.conftest import UniqueName
from tests.databases import FreshDb, new_database
from tests.e2e.harness import ROOT, Harness, free_port, wait_exit
from tests.e2e.proxy import Proxy

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _run_cmd(unique_name: UniqueName, bootstrap: str) -> list[str]:
    return [
        sys.executable, "-m", "consumer", "run", "--bootstrap-servers", bootstrap,
        "--topic", unique_name("rows"), "--files-topic", unique_name("files"),
        "--dlq-topic", unique_name("dlq"), "--group-id", unique_name("group"),
        "--metrics-port", "0", "--exit-when-idle", "1",
    ]  # fmt: skip


async def test_an_unmigrated_database_ends_in_one_line_and_exit_2(
    kafka_bootstrap: str, pg_dsn: str, pg_admin_dsn: str, pg_superuser_dsn: str,
    unique_name: UniqueName,
) -> None:  # fmt: skip
    async with new_database(pg_admin_dsn, pg_superuser_dsn, "vinops_u_") as name:
        done = await asyncio.to_thread(
            subprocess.run, _run_cmd(unique_name, kafka_bootstrap), cwd=ROOT,
            env={"VINOPS_PG_DSN": dsn_for(pg_dsn, name), "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("consumer run: the database lacks ")
    assert last.endswith("run `consumer migrate`")


def test_sigterm_while_kafka_is_unreachable_exits_cleanly(
    fresh_db: FreshDb, unique_name: UniqueName, tmp_path: Path
) -> None:
    log = tmp_path / "consumer.log"
    nobody = f"127.0.0.1:{free_port()}"  # nothing listens there
    with log.open("wb") as out:
        proc = subprocess.Popen(
            _run_cmd(unique_name, nobody), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=out,
            env={"VINOPS_PG_DSN": fresh_db.etl_dsn, "PATH": "/usr/bin:/bin"},
        )  # fmt: skip
    try:
        for _ in range(600):  # the first failed attempt to reach Kafka is logged
            if b"failing, retrying" in log.read_bytes():
                break
            assert proc.poll() is None, log.read_text()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        code = wait_exit(proc, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert code == 0, text[-2000:]
    assert "Traceback" not in text
    assert "stopped during start-up" in text.strip().splitlines()[-1]


def _readyz(port: int) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


async def _until_readyz(
    port: int, status: int, text: str, proc: subprocess.Popen[bytes], log: Path
) -> None:
    seen: tuple[int, str] = (0, "")
    for _ in range(1200):  # a guard against a hang, not a timing assertion
        seen = await asyncio.to_thread(_readyz, port)
        if seen[0] == status and text in seen[1]:
            return
        assert proc.poll() is None, (await asyncio.to_thread(log.read_text))[-3000:]
        await asyncio.sleep(0.2)
    raise AssertionError(f"/readyz never {status} {text!r}; last {seen}")


async def test_readyz_is_false_while_dependencies_are_down_and_true_after_they_return(
    harness: Harness, fresh_db: FreshDb, tmp_path: Path
) -> None:
    pg_host, pg_port = re.search(r"@([^:/]+):(\d+)/", fresh_db.etl_dsn).groups()  # type: ignore[union-attr]
    kafka_host, kafka_port = harness.bootstrap.split(",")[0].rsplit(":", 1)
    pg, kafka = Proxy(pg_host, int(pg_port)), Proxy(kafka_host, int(kafka_port))
    metrics = free_port()
    log = tmp_path / "consumer.log"
    env = {
        **harness.env(),
        "VINOPS_PG_DSN": fresh_db.etl_dsn.replace(
            f"@{pg_host}:{pg_port}/", f"@127.0.0.1:{pg.port}/"
        ),
        "VINOPS_KAFKA_BOOTSTRAP": kafka.address,
        "VINOPS_METRICS_PORT": str(metrics),
        "VINOPS_STARTUP_TIMEOUT_S": "0",  # wait for ever: this test brings them up
    }

    def start() -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen(
                harness.consumer_cmd(), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out
            )

    proc = await asyncio.to_thread(start)
    harness.procs.append(proc)
    try:
        await _until_readyz(metrics, 503, "start-up: waiting for PostgreSQL", proc, log)
        await pg.up()
        await _until_readyz(metrics, 503, "start-up: waiting for Kafka", proc, log)
        await kafka.up()  # bootstrap only: the broker's advertised address is used after
        await _until_readyz(metrics, 200, "ready", proc, log)
        await pg.down()  # PostgreSQL goes away while running
        await _until_readyz(metrics, 503, "database unreachable", proc, log)
        await pg.up()
        await _until_readyz(metrics, 200, "ready", proc, log)
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(wait_exit, proc, 60)
    finally:
        await pg.down()
        await kafka.down()
    text = await asyncio.to_thread(log.read_text)
    assert code == 0, text[-3000:]
    # asyncpg's pool and aiokafka log their own errors (with tracebacks) while a service
    # is down; the consumer's own lines have none.
    ours = [line for line in text.splitlines() if '"logger":"consumer' in line]
    assert not [line for line in ours if "Traceback" in line or '"level":"error"' in line]
