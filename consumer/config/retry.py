"""Capped exponential backoff with "equal jitter".

Attempt n (0-based) sleeps uniform(c/2, c) with c = min(cap, base * 2**n): jitter keeps
several consumers from hammering a recovering PostgreSQL in lock step, and the floor of
c/2 keeps a long outage from turning into a busy loop.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    base_s: float = 0.2
    cap_s: float = 10.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def ceiling(self, attempt: int) -> float:
        """The upper bound of the sleep for one attempt (no jitter)."""
        return float(min(self.cap_s, self.base_s * (2.0 ** min(attempt, 62))))

    def next_delay(self) -> float:
        ceiling = self.ceiling(self.attempt)
        delay = self.rng.uniform(ceiling / 2, ceiling)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
