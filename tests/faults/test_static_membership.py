"""Static membership: a restarted member reclaims its partitions without waiting out the dead
one's session, and a member stopped cleanly still hands its partitions over at once.

The session timeout is set far beyond each test's deadline: an outcome within the deadline
(every row committed, exit 0) is only possible if the group did not wait for a session.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time

import pytest

from tests.e2e.harness import Harness, dump, wait_count, wait_exit
from tests.faults.conftest import BigTopic
from tests.faults.group import static_members, wait_slot_held
from tests.faults.invariants import db_offsets, lag
from tests.kafka import end_offsets

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(600)]

RAW = "SELECT count(*) FROM raw.file_rows"
SESSION_MS = "300000"
DEADLINE_S = 200  # well below the session: a member waiting for it could not finish
TP = tuple[str, int]
RESUME_S = 20  # a dead member's partitions move on within this long after its replacement
DRAINED_S = 60  # the rest of 50k rows by one member once a dead one is freed (within 5 s)


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


async def test_replacement_in_another_slot_frees_the_killed_members_partitions(
    big: Harness, big_topic: BigTopic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#28: the lowest slot leaves cleanly, another member is SIGKILLed; the replacement takes
    the freed lowest slot (another instance id than the dead one's) and must still not wait
    out the dead member's session."""
    monkeypatch.setenv("VINOPS_SESSION_TIMEOUT_MS", SESSION_MS)
    slow = ["--batch-size", "200"]  # work left on every partition when the member dies
    procs = []
    for slot in range(3):
        procs.append(big.start(extra=slow))
        await wait_slot_held(big.group, slot)  # slots in start order: we know who is who
    lowest, victim, survivor = procs
    dead_id = f"{socket.gethostname()}-1"
    members = await _wait_members(big.bootstrap, big.group, 3)
    lowest.send_signal(signal.SIGTERM)
    assert wait_exit(lowest, 60) == 0
    members = await _wait_members(big.bootstrap, big.group, 2)
    orphaned = members[dead_id]
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    at_kill = await db_offsets(big.admin_dsn, big.group)
    ends = await end_offsets(big.bootstrap, big_topic.topic, big_topic.files_topic)
    behind = {tp for tp in orphaned if at_kill.get(tp, 0) < ends[tp]}
    assert behind, "the killed member had no work left: nothing to measure"

    started = time.monotonic()
    replacement = big.start(extra=[*slow, "--exit-when-idle", "3"])
    await wait_slot_held(big.group, 0)  # the clean leaver's slot, not the dead one's
    while not _moved(at_kill, await db_offsets(big.admin_dsn, big.group), behind):
        assert time.monotonic() - started < RESUME_S, "the dead member's partitions stood still"
        await asyncio.sleep(0.2)
    assert dead_id not in await static_members(big.bootstrap, big.group)

    assert wait_exit(replacement, DEADLINE_S) == 0  # every partition committed to its end
    survivor.send_signal(signal.SIGTERM)
    assert wait_exit(survivor, 60) == 0
    await wait_count(big.admin_dsn, RAW, big_topic.rows, wait_s=10)
    assert await dump(big.admin_dsn) == big_topic.baseline


async def test_survivor_drains_a_killed_members_partitions_without_a_replacement(
    big: Harness, big_topic: BigTopic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#28: one of two members is SIGKILLed for good; the other (--exit-when-idle) frees the
    dead one's membership itself, drains its partitions and exits, long before the session."""
    monkeypatch.setenv("VINOPS_SESSION_TIMEOUT_MS", SESSION_MS)
    slow = ["--batch-size", "200"]
    victim = big.start(extra=slow)
    await wait_slot_held(big.group, 0)
    survivor = big.start(extra=[*slow, "--exit-when-idle", "3"])
    await wait_slot_held(big.group, 1)
    await _wait_members(big.bootstrap, big.group, 2)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert await lag(big.admin_dsn, big.group, big.bootstrap, big_topic.topic), "nothing left"
    # It exits only once every partition, the dead one's included, is committed to its end.
    assert wait_exit(survivor, DRAINED_S) == 0
    await wait_count(big.admin_dsn, RAW, big_topic.rows, wait_s=10)
    assert await dump(big.admin_dsn) == big_topic.baseline


async def _wait_members(
    bootstrap: str, group: str, count: int, wait_s: float = 120
) -> dict[str, set[TP]]:
    """The group's members once it has ``count`` of them, each with partitions."""
    deadline = time.monotonic() + wait_s
    while True:
        members = await static_members(bootstrap, group)
        if len(members) == count and all(members.values()):
            return members
        assert time.monotonic() < deadline, f"group never had {count} assigned members"
        await asyncio.sleep(0.5)


def _moved(before: dict[TP, int], now: dict[TP, int], tps: set[TP]) -> bool:
    return any(now.get(tp, 0) > before.get(tp, 0) for tp in tps)
