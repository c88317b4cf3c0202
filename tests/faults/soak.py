"""The fault soak: a consumer group drains generated feed files while faults come one by one.

A seeded schedule picks the faults (tests.faults.injectors.KINDS); before each one the
backlog is topped up with the next generated file (bench.generate, file k re-lists lots of
file k-1 with newer times), so every fault hits a group that is working. After each fault
the soak waits for the group's next commit; the seconds from the end of the fault (the
service answers again, the killed consumer restarted) to that commit are its recovery time.
Two sizes: CI (fixed seed, each kind at least once) and long (``make soak``: random kinds
until the time is up).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.harness import ROOT, Harness
from tests.faults.fleet import Fleet
from tests.faults.injectors import KINDS, Injector
from tests.faults.invariants import lag

RECOVERY_LIMIT_S = 240.0  # a fault not followed by a commit this long is a failed recovery
# Slower is a finding: every kind recovers in a few seconds, and a consumer waiting out a
# dead member's session (45 s, #28) or a backoff gone long would show up here.
FINDING_S = 10.0


@dataclass(frozen=True)
class Size:
    seed: int
    faults: int | None = None  # CI: this many faults
    minutes: float | None = None  # long: faults until this much time has passed
    rows_per_file: int = 8000
    gap_s: tuple[float, float] = (1.0, 4.0)  # pause between a recovery and the next fault


@dataclass
class Fault:
    kind: str
    started: float
    ended: float
    note: str
    committed: float | None = None  # the group's first commit after the fault ended

    @property
    def recovery_s(self) -> float | None:
        return None if self.committed is None else self.committed - self.ended


@dataclass
class Soak:
    harness: Harness
    fleet: Fleet
    injector: Injector
    size: Size
    feed_dir: Path
    rng: random.Random
    faults: list[Fault] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    _next: asyncio.Future[Path] | None = None  # the next file, being generated

    def schedule(self) -> list[str]:
        """CI: every kind once, then random ones, shuffled. Long: drawn as it goes."""
        assert self.size.faults is not None
        kinds = [*KINDS, *(self.rng.choice(KINDS) for _ in range(self.size.faults - len(KINDS)))]
        self.rng.shuffle(kinds)
        return kinds

    async def run(self) -> None:
        await self.top_up(force=True)
        self.fleet.start()
        assert await self.fleet.wait_commit_after(0, RECOVERY_LIMIT_S), self.fleet.violations
        if self.size.faults is not None:
            for kind in self.schedule():
                await self.one(kind)
        else:
            assert self.size.minutes is not None
            deadline = time.monotonic() + self.size.minutes * 60
            while time.monotonic() < deadline:
                await self.one(self.rng.choice(KINDS))
        await self.drain()
        if self._next is not None:
            await self._next

    async def one(self, kind: str) -> None:
        await asyncio.sleep(self.rng.uniform(*self.size.gap_s))
        await self.top_up()  # last thing before the fault: there is work to recover to
        self.fleet.check()
        started = time.time()
        note = await self.injector.inject(kind)
        fault = Fault(kind, started, time.time(), note)
        self.faults.append(fault)
        if await self._drained_during(fault):
            # Nothing was left to commit, so there is no recovery to time: time it from new
            # work instead (a fast group can drain a file's worth during a slow fault).
            await self.top_up()
            fault.ended = time.time()
            fault.note += " (backlog drained during it: timed from a top-up)"
        fault.committed = await self.fleet.wait_commit_after(fault.ended, RECOVERY_LIMIT_S)
        print(f"soak: {kind:<22} {fault.note}; recovery {secs(fault.recovery_s)}", flush=True)

    async def _drained_during(self, fault: Fault) -> bool:
        h = self.harness
        topics = (h.topic, h.files_topic)
        left = await _retry(lambda: lag(h.admin_dsn, h.group, h.bootstrap, *topics))
        return not left and self.fleet.first_commit_after(fault.ended) is None

    async def top_up(self, *, force: bool = False) -> None:
        """Publish files until at least a file's worth of rows is left to commit."""
        h = self.harness
        while force or await _retry(lambda: lag(h.admin_dsn, h.group, h.bootstrap, h.topic)) < (
            self.size.rows_per_file
        ):
            force = False
            path = await (self._next or self._generate(len(self.files)))
            await asyncio.to_thread(h.publish, [path])
            self.files.append(path)
            # The next file is generated while the group works: a top-up is a publish only.
            self._next = asyncio.ensure_future(self._generate(len(self.files)))

    async def _generate(self, index: int) -> Path:
        path = self.feed_dir / f"soak-{index}.csv"
        generate = [
            sys.executable, "-m", "bench.generate", "--rows", str(self.size.rows_per_file),
            "--seed", str(self.size.seed), "--file-index", str(index), "--out", str(path),
        ]  # fmt: skip
        await asyncio.to_thread(subprocess.run, generate, cwd=ROOT, check=True, capture_output=True)
        return path

    async def drain(self, limit_s: float = 600) -> None:
        """Wait until the group committed every record, then stop the group (exit 0 each)."""
        h = self.harness
        deadline = time.monotonic() + limit_s
        while await _retry(lambda: lag(h.admin_dsn, h.group, h.bootstrap, h.topic, h.files_topic)):
            self.fleet.check()
            assert time.monotonic() < deadline, "the group did not drain the topics"
            await asyncio.sleep(0.5)
        self.fleet.check()
        for member in self.fleet.running:
            await self.fleet.stop(member)

    def table(self) -> str:
        lines = [
            f"{'fault':<22} {'count':>5} {'recovery s median':>18} {'max':>7}  outcome",
        ]
        for kind in KINDS:
            mine = [f for f in self.faults if f.kind == kind]
            if not mine:
                continue
            times = [f.recovery_s for f in mine if f.recovery_s is not None]
            failed = len(mine) - len(times)
            slow = sum(t > FINDING_S for t in times)
            outcome = "recovered" if not failed else f"{failed} without a commit"
            if slow:
                outcome += f", {slow} over {FINDING_S:.0f} s"
            median = statistics.median(times) if times else None
            lines.append(
                f"{kind:<22} {len(mine):>5} {secs(median):>18} "
                f"{secs(max(times) if times else None):>7}  {outcome}"
            )
        return "\n".join(lines)

    def unrecovered(self) -> Sequence[Fault]:
        return [f for f in self.faults if f.committed is None]

    def max_recovery_s(self) -> float | None:
        return max((t for f in self.faults if (t := f.recovery_s) is not None), default=None)

    def findings(self) -> list[str]:
        """Each recovery slower than FINDING_S, with what happened."""
        return [
            f"{f.kind} ({f.note}): recovery {secs(f.recovery_s)} s > {FINDING_S:.0f} s"
            for f in self.faults
            if f.recovery_s is not None and f.recovery_s > FINDING_S
        ]


def secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


async def _retry(query: Callable[[], Awaitable[int]], attempts: int = 60) -> int:
    """A database/broker read that may meet a service still coming back."""
    for _ in range(attempts - 1):
        try:
            return await query()
        except Exception:  # noqa: BLE001 - anything transient; the last try raises
            await asyncio.sleep(1)
    return await query()
