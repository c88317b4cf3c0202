"""Static membership: a restarted member reclaims its partitions without waiting out the dead
one's session, and a member stopped cleanly still hands its partitions over at once.

The session timeout is set far beyond each test's deadline: an outcome within the deadline
(every row committed, exit 0) is only possible if the group did not wait for a session.
"""

from __future__ import annotations

import signal

import pytest

from tests.e2e.harness import Harness, dump, wait_count, wait_exit
from tests.faults.conftest import BigTopic

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(600)]

RAW = "SELECT count(*) FROM raw.file_rows"
SESSION_MS = "300000"
DEADLINE_S = 200  # well below the session: a member waiting for it could not finish


async def test_sigkilled_member_restarted_takes_its_partitions_back(
    big: Harness, big_topic: BigTopic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VINOPS_SESSION_TIMEOUT_MS", SESSION_MS)
    first = big.start()
    await wait_count(big.admin_dsn, RAW, 1)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    # Same host, same group, and the dead process's slot is free: the same instance id.
    again = big.start(extra=["--exit-when-idle", "3"])
    assert wait_exit(again, DEADLINE_S) == 0
    await wait_count(big.admin_dsn, RAW, big_topic.rows, wait_s=10)
    assert await dump(big.admin_dsn) == big_topic.baseline


async def test_member_stopped_cleanly_hands_its_partitions_over(
    big: Harness, big_topic: BigTopic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VINOPS_SESSION_TIMEOUT_MS", SESSION_MS)
    leaving = big.start()
    staying = big.start(extra=["--exit-when-idle", "3"])
    await wait_count(big.admin_dsn, RAW, 5000)
    leaving.send_signal(signal.SIGTERM)
    assert wait_exit(leaving, 60) == 0
    # Exits only once every partition is committed to its end, the left one's included.
    assert wait_exit(staying, DEADLINE_S) == 0
    assert await dump(big.admin_dsn) == big_topic.baseline
