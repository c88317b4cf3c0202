"""Failure streaks: an outage is logged as one line when it starts and one with the count
when it ends, not once per retry (a 19 s broker outage used to log 1,563 lines).

``Streak`` is for our own retry loops. ``RepeatFilter`` does the same for a library's
logger (aiokafka logs every failed connection attempt): the first record of a kind passes,
repeats are counted, and ``flush`` writes one summary line once the kind has been quiet.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from consumer.observe.logs import ctx


class Streak:
    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._log = logger
        self._what = what
        self.failures = 0
        self._since = 0.0

    def failed(self, **fields: Any) -> None:
        """One failure; only the first of a streak is logged."""
        if self.failures == 0:
            self._since = time.monotonic()
            self._log.warning("%s: failing, retrying", self._what, extra=ctx(**fields))
        self.failures += 1

    def ended(self, outcome: str = "recovered", **fields: Any) -> None:
        """The streak is over (success, or given up): one line with its count and length."""
        if self.failures:
            seconds = round(time.monotonic() - self._since, 3)
            self._log.warning(
                "%s: %s after %d failure(s)", self._what, outcome, self.failures,
                extra=ctx(failures=self.failures, seconds=seconds, **fields),
            )  # fmt: skip
        self.failures = 0


@dataclass(slots=True)
class _Seen:
    first: float
    last: float
    text: str  # the first record, rendered
    repeats: int = 0
    level: int = logging.WARNING


_SUMMARY = "_vinops_repeat_summary"


class RepeatFilter(logging.Filter):
    """A handler filter: the first record of each (logger, message) of the loggers under
    ``prefix`` goes through; its repeats are counted until it has been quiet ``quiet_s``."""

    def __init__(self, prefix: str, quiet_s: float = 10.0) -> None:
        super().__init__()
        self.prefix = prefix
        self.quiet_s = quiet_s
        self._seen: dict[tuple[str, str], _Seen] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _SUMMARY, False) or not record.name.startswith(self.prefix):
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        seen = self._seen.get(key)
        if seen is None or now - seen.last >= self.quiet_s:
            if seen is not None:
                self._summarise(key, seen)
            self._seen[key] = _Seen(now, now, record.getMessage(), level=record.levelno)
            return True
        seen.last = now
        seen.repeats += 1
        return False

    def flush(self, now: float | None = None) -> None:
        """Summarise every kind quiet for ``quiet_s`` (call it now and then)."""
        now = time.monotonic() if now is None else now
        for key, seen in list(self._seen.items()):
            if now - seen.last >= self.quiet_s:
                del self._seen[key]
                self._summarise(key, seen)

    @staticmethod
    def _summarise(key: tuple[str, str], seen: _Seen) -> None:
        if not seen.repeats:
            return
        logging.getLogger(key[0]).log(
            seen.level,
            "repeated %d more time(s) in %.1f s: %s", seen.repeats, seen.last - seen.first,
            seen.text,
            extra={_SUMMARY: True, **ctx(repeats=seen.repeats)},
        )  # fmt: skip


# aiokafka retries a broker that is away every 100 ms or so, on several connections.
KAFKA_REPEATS = RepeatFilter("aiokafka")


def install(handler: logging.Handler) -> None:
    handler.addFilter(KAFKA_REPEATS)
