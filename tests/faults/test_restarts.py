"""PostgreSQL and the broker restarted mid-ingest: the consumer recovers on its own."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.harness import ROOT, Harness, dump, wait_count, wait_exit
from tests.faults.conftest import BigTopic
from tests.kafka import read_topic

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(600)]

RAW = "SELECT count(*) FROM raw.file_rows"


def _stack(command: str) -> None:
    done = subprocess.run(
        ["bash", str(ROOT / "devstack" / "stack.sh"), command],
        cwd=ROOT, capture_output=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-2000:]


@pytest.mark.parametrize("service", ["restart-pg", "restart-kafka"])
async def test_service_restart_mid_ingest(big: Harness, big_topic: BigTopic, service: str) -> None:
    proc = big.start(extra=["--exit-when-idle", "5"])
    await wait_count(big.admin_dsn, RAW, 5000)
    _stack(service)  # returns once the service answers again
    assert wait_exit(proc, 170) == 0
    await wait_count(big.admin_dsn, RAW, big_topic.rows, wait_s=30)
    assert await dump(big.admin_dsn) == big_topic.baseline
    # Nothing good was dead-lettered: only the file's one malformed row (maybe re-sent).
    dlq = await read_topic(big.bootstrap, big.dlq_topic)
    assert {dict(r.headers)["vinops-reason"] for r in dlq} == {b"malformed_row"}


async def test_second_consumer_joins_mid_ingest(big: Harness, big_topic: BigTopic) -> None:
    first = big.start(extra=["--exit-when-idle", "5"])
    await wait_count(big.admin_dsn, RAW, 5000)
    second = big.start(extra=["--exit-when-idle", "5"])  # same group: rebalance mid-ingest
    assert wait_exit(first, 150) == 0
    assert wait_exit(second, 150) == 0
    assert await dump(big.admin_dsn) == big_topic.baseline
