"""Child processes timed and watched: wall time and peak RSS (psutil polling, children too)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.stack import ROOT

_POLL_S = 0.05


@dataclass(slots=True)
class Proc:
    """A running child; ``peak_rss_mb`` grows while it runs."""

    name: str
    process: asyncio.subprocess.Process
    started: float  # time.time() at spawn
    peak_rss_mb: float = 0.0
    ended: float | None = None
    returncode: int | None = None
    log_dir: Path = ROOT / "bench" / "out" / "logs"
    _watch: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def seconds(self) -> float:
        return (self.ended or time.time()) - self.started

    async def _poll(self) -> None:
        try:
            ps = psutil.Process(self.process.pid)
            while self.process.returncode is None:
                with contextlib.suppress(psutil.Error):
                    rss = ps.memory_info().rss
                    for child in ps.children(recursive=True):
                        with contextlib.suppress(psutil.Error):
                            rss += child.memory_info().rss
                    self.peak_rss_mb = max(self.peak_rss_mb, rss / 2**20)
                await asyncio.sleep(_POLL_S)
        except psutil.Error:
            return

    @property
    def stdout(self) -> str:
        return (self.log_dir / f"{self.name}.out").read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return (self.log_dir / f"{self.name}.err").read_text(errors="replace")

    async def wait(self, limit_s: float | None = None) -> int:
        """Wait for exit; past ``limit_s`` the child is terminated (and the run fails)."""
        try:
            await asyncio.wait_for(self.process.wait(), limit_s)
        except TimeoutError:
            self.terminate()
            await self.process.wait()
        self.ended = self.ended or time.time()
        self.returncode = self.process.returncode
        if self._watch is not None:
            await self._watch
        return self.returncode if self.returncode is not None else -1

    def terminate(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    async def stop(self, grace: float = 15.0) -> int:
        self.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            self.process.kill()
        return await self.wait()


async def spawn(name: str, cmd: Sequence[str | Path], env: Mapping[str, str]) -> Proc:
    """Start a child; its stdout/stderr go to bench/out/logs/<name>.out/.err (never a pipe
    that a chatty child could fill and block on)."""
    log_dir = ROOT / "bench" / "out" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / f"{name}.out").open("wb") as out, (log_dir / f"{name}.err").open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            *[str(c) for c in cmd], cwd=ROOT, env=dict(env), stdout=out, stderr=err
        )
    proc = Proc(name=name, process=process, started=time.time(), log_dir=log_dir)
    proc._watch = asyncio.create_task(proc._poll())
    return proc


def tail(text: str, lines: int = 8) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
