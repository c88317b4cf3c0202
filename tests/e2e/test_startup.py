"""Start-up failures end in one line: an unmigrated database (exit 2), and a stop signal
while Kafka is still unreachable (exit 0, no traceback)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devstack.dsn import dsn_for
from tests.conftest import UniqueName
from tests.databases import FreshDb, new_database
from tests.e2e.harness import ROOT, free_port, wait_exit

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
