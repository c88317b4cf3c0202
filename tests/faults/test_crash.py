"""SIGKILL the consumer at seeded random moments; the final state equals a clean run."""

from __future__ import annotations

import asyncio
import random
import signal

import pytest

from tests.e2e.harness import Harness, count, dump, wait_count
from tests.faults.conftest import BigTopic

pytestmark = [pytest.mark.faults, pytest.mark.integration, pytest.mark.timeout(600)]

KILLS = 5


async def test_sigkill_at_random_moments_changes_nothing(big: Harness, big_topic: BigTopic) -> None:
    rng = random.Random(20240601)
    raw = "SELECT count(*) FROM raw.file_rows"
    for _ in range(KILLS):
        before = await count(big.admin_dsn, raw)
        proc = big.start()
        # Kill only after this run committed something, so every kill interrupts real work.
        await wait_count(big.admin_dsn, raw, min(before + 1, big_topic.rows))
        await asyncio.sleep(rng.uniform(0.0, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    big.consume()
    assert await count(big.admin_dsn, raw) == big_topic.rows
    assert await dump(big.admin_dsn) == big_topic.baseline
