"""The soak's fault kinds: each injects one fault and returns when the fault is over.

"Over" means the harness has done its part (the killed consumer restarted, the service
answers again); the recovery time is measured from there to the group's next commit.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from tests.e2e.harness import ROOT
from tests.faults.fleet import Fleet, Member

KINDS = (
    "sigkill", "sigterm-mid-batch", "pg-restart-fast", "pg-restart-immediate",
    "kafka-kill-9", "rebalance", "connection-reset", "relay-kill",
)  # fmt: skip
# The fleet's relays wait this long between Kafka's acknowledgement and the position write:
# the window relay-kill aims at (VINOPS_RELAY_PAUSE_AFTER_SEND_S).
RELAY_PAUSE_S = 0.5


def stack(*command: str) -> None:
    for _ in range(15):
        done = subprocess.run(
            ["bash", str(ROOT / "devstack" / "stack.sh"), *command],
            cwd=ROOT, capture_output=True, timeout=240, check=False,
        )  # fmt: skip
        # A port in the ephemeral range (a second stack's, e.g. 59092) can be taken for a
        # moment by a client reconnecting to it, which then talks to itself (TCP self-connect)
        # until it gives up: retry the start, as a supervisor would.
        if done.returncode == 0 or b"is taken by another process" not in done.stderr:
            break
        time.sleep(2)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


@dataclass
class Injector:
    fleet: Fleet
    rng: random.Random
    superuser_dsn: str
    database: str  # the soak's database: its consumer sessions are the ones reset

    async def inject(self, kind: str) -> str:
        """Inject ``kind``; returns a short note on what was done."""
        action: Callable[[], Awaitable[str]] = getattr(self, "_" + kind.replace("-", "_"))
        return await action()

    async def _sigkill(self) -> str:
        victim = self.rng.choice(self.fleet.running)
        await self.fleet.kill(victim)
        # At once, as a supervisor would: the new process claims the dead one's slot, so
        # its group instance id, and takes its partitions back.
        new = self.fleet.start()
        return f"{victim.name} killed, {new.name} started"

    async def _relay_kill(self) -> str:
        """SIGKILL a consumer whose relay has sent a round and not stored its position yet:
        the next relay sends that round again (the change stream's check counts on it)."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.fleet.commits()  # reads the logs
            now = time.time()
            for victim in self.fleet.running:
                if victim.relay_sends and now - victim.relay_sends[-1] < RELAY_PAUSE_S / 2:
                    await self.fleet.kill(victim)
                    new = self.fleet.start()
                    return f"{victim.name} killed between send and position, {new.name} started"
            await asyncio.sleep(0.02)
        return (await self._sigkill()) + " (no relay round in 60 s: an ordinary kill)"

    async def _working(self) -> Member:
        """A running member that has committed: SIGTERM before Python installed its handlers
        (during imports) would kill it, which says nothing about the service."""
        deadline = time.monotonic() + 120
        while True:
            self.fleet.commits()
            if working := [m for m in self.fleet.running if m.commits]:
                return self.rng.choice(working)
            assert time.monotonic() < deadline, "no running consumer commits"
            await asyncio.sleep(0.1)

    async def _sigterm_mid_batch(self) -> str:
        victim = await self._working()
        seen = len(victim.commits)
        deadline = time.monotonic() + 30
        # Right after one of its commits its next batch is being fetched, prepared or written.
        while len(victim.commits) == seen and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            self.fleet.commits()
        await asyncio.sleep(self.rng.uniform(0.05, 0.6))
        await self.fleet.stop(victim)
        new = self.fleet.start()
        return f"{victim.name} stopped (exit {victim.proc.returncode}), {new.name} started"

    async def _pg_restart_fast(self) -> str:
        await asyncio.to_thread(stack, "restart-pg", "fast")
        return "postgres restarted -m fast"

    async def _pg_restart_immediate(self) -> str:
        await asyncio.to_thread(stack, "restart-pg", "immediate")
        return "postgres restarted -m immediate"

    async def _kafka_kill_9(self) -> str:
        await asyncio.to_thread(stack, "kill-kafka")
        down = self.rng.uniform(0.0, 3.0)
        await asyncio.sleep(down)
        await asyncio.to_thread(stack, "restart-kafka")
        return f"broker killed, down {down:.1f} s + restart"

    async def _rebalance(self) -> str:
        if len(self.fleet.running) < 2:
            new = self.fleet.start()
            return f"{new.name} joined"
        leaver = await self._working()
        await self.fleet.stop(leaver)
        return f"{leaver.name} left (exit {leaver.proc.returncode})"

    async def _connection_reset(self) -> str:
        ended = await _terminate_backends(self.superuser_dsn, self.database)
        return f"{ended} consumer connections terminated"


async def _terminate_backends(superuser_dsn: str, database: str) -> int:
    conn = await asyncpg.connect(superuser_dsn)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND usename = 'vinops_etl'",
                database,
            )
        )
    finally:
        await conn.close()
