from __future__ import annotations

import random

import pytest

from consumer.config.retry import Backoff


def test_ceiling_doubles_then_caps() -> None:
    b = Backoff(base_s=0.1, cap_s=2.0)
    assert [b.ceiling(n) for n in range(7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0])
    assert b.ceiling(10_000) == 2.0  # no overflow on very long outages


def test_delays_are_jittered_within_bounds_and_capped() -> None:
    b = Backoff(base_s=0.1, cap_s=1.0, rng=random.Random(7))
    delays = [b.next_delay() for _ in range(50)]
    for n, d in enumerate(delays):
        ceiling = min(1.0, 0.1 * 2**n)
        assert ceiling / 2 <= d <= ceiling
    assert max(delays) <= 1.0
    assert len(set(delays)) > 40  # jitter: not lock step


def test_reset_starts_over() -> None:
    b = Backoff(base_s=0.5, cap_s=8.0, rng=random.Random(1))
    for _ in range(5):
        b.next_delay()
    b.reset()
    assert b.next_delay() <= 0.5
