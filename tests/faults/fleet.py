"""The soak's consumer processes: started, killed, stopped and restarted, each with its log.

Every process has a fate the soak chose for it (running, killed, stopped); an exit the soak
did not cause, or a non-zero exit after SIGTERM, is a violation: the service must never
exit on a transient fault. Commit times come from the "batch committed" log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from tests.e2e.harness import ROOT, Harness


@dataclass
class Member:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    fate: str = "running"  # running | killed | stopped
    commits: list[float] = field(default_factory=list)  # wall-clock times of commits
    # Wall-clock times its change relay logged a round sent and not yet stored (the window
    # the fleet's VINOPS_RELAY_PAUSE_AFTER_SEND_S holds open).
    relay_sends: list[float] = field(default_factory=list)
    _read: int = 0  # bytes of the log already parsed

    def poll_log(self) -> None:
        with self.log.open("rb") as f:
            f.seek(self._read)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1  # a partial last line is read next time
        self._read += end
        for line in chunk[:end].splitlines():
            with contextlib.suppress(orjson.JSONDecodeError, KeyError, ValueError, TypeError):
                record = orjson.loads(line)
                if record.get("msg") == "batch committed":
                    self.commits.append(datetime.fromisoformat(record["ts"]).timestamp())
                elif record.get("msg") == "relay: events sent, storing the position":
                    self.relay_sends.append(datetime.fromisoformat(record["ts"]).timestamp())

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Fleet:
    """Consumers of one group on one harness; logs in ``log_dir``."""

    harness: Harness
    log_dir: Path
    extra: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # on top of the harness's
    members: list[Member] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def start(self) -> Member:
        name = f"c{len(self.members)}"
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                self.harness.consumer_cmd(extra=self.extra), cwd=ROOT,
                env={**self.harness.env(), **self.env}, stdout=subprocess.DEVNULL, stderr=out,
            )  # fmt: skip
        member = Member(name, proc, log)
        self.members.append(member)
        return member

    @property
    def running(self) -> list[Member]:
        return [m for m in self.members if m.fate == "running"]

    async def kill(self, member: Member) -> None:
        member.fate = "killed"
        member.proc.send_signal(signal.SIGKILL)
        await asyncio.to_thread(member.proc.wait, 30)

    async def stop(self, member: Member, limit_s: float = 60) -> None:
        """SIGTERM; the member must drain and exit 0."""
        member.fate = "stopped"
        member.proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.to_thread(member.proc.wait, limit_s)
        except subprocess.TimeoutExpired:
            member.proc.kill()
            member.proc.wait(10)
            self.violations.append(f"{member.name}: no exit {limit_s} s after SIGTERM")
            return
        if code != 0:
            self.violations.append(f"{member.name}: exit {code} after SIGTERM\n{member.tail()}")

    def check(self) -> None:
        """Record members that exited by themselves (the soak never asked them to) and start
        a replacement for each, so the soak goes on and reports every such exit."""
        for m in self.running:
            code = m.proc.poll()
            if code is not None:
                m.fate = "exited"
                self.violations.append(f"{m.name}: exited {code} on its own\n{m.tail(40)}")
                self.start()

    def commits(self) -> list[float]:
        for m in self.members:
            m.poll_log()
        return sorted(t for m in self.members for t in m.commits)

    def first_commit_after(self, t: float) -> float | None:
        return next((c for c in self.commits() if c > t), None)

    async def wait_commit_after(self, t: float, limit_s: float) -> float | None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            self.check()
            if (c := self.first_commit_after(t)) is not None:
                return c
            await asyncio.sleep(0.1)
        return None

    def cleanup(self) -> None:
        for m in self.members:
            if m.proc.poll() is None:
                m.proc.kill()
                m.proc.wait(10)
