"""Progress on a terminal (rows, rows/s, ETA from bytes read) and the per-file summary."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, TextIO


class Progress:
    """Redraws one stderr line at most 5 times a second; silent unless stderr is a tty."""

    def __init__(self, stream: TextIO, name: str, total_bytes: int) -> None:
        self._stream = stream
        self._name = name
        self._total = max(total_bytes, 1)
        self._enabled = stream.isatty()
        self._start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def __call__(self, rows: int, offset: int) -> None:
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        elapsed = max(now - self._start, 1e-6)
        fraction = min(offset / self._total, 1.0)
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        width = 24
        bar = "#" * int(width * fraction)
        self._stream.write(
            f"\r{self._name[-30:]} [{bar:<{width}}] {fraction:4.0%} {rows:,} rows "
            f"{rows / elapsed:,.0f} rows/s ETA {eta:,.0f}s "
        )
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


@dataclass(frozen=True, slots=True)
class Summary:
    file: str
    sha256: str
    file_id: str
    dialect: str
    encoding: str
    rows: int
    malformed: int
    skipped: bool
    seconds: float
    blank: int = 0
    oversized: int = 0
    dry_run: bool = False
    status: str = "published"  # published | skipped | dry-run | interrupted

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "file_id": self.file_id,
            "dialect": self.dialect,
            "encoding": self.encoding,
            "rows": self.rows,
            "malformed": self.malformed,
            "skipped": self.skipped,
            "seconds": self.seconds,
            "blank": self.blank,
            "oversized": self.oversized,
            "status": self.status,
        }

    def line(self) -> str:
        if self.skipped:
            return f"{self.file}: skipped, already published (sha256 {self.sha256[:12]}…)"
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        oversized = f", {self.oversized:,} oversized" if self.oversized else ""
        return (
            f"{self.file}: {self.status}, {self.rows:,} rows ({self.malformed:,} malformed"
            f"{oversized}), "
            f"{self.dialect}, {self.encoding}, {self.seconds:.2f}s, {rate:,.0f} rows/s"
        )
