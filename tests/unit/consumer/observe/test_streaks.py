"""Failure streaks log one line when they start and one with the count when they end."""

from __future__ import annotations

import logging

import pytest

from consumer.observe.streaks import RepeatFilter, Streak


def test_a_streak_logs_its_start_and_its_end_with_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("t.streak")
    streak = Streak(log, "batch write")
    with caplog.at_level(logging.INFO, logger="t.streak"):
        for _ in range(500):
            streak.failed(error="KafkaConnectionError")
        streak.ended("committed")
        streak.ended("committed")  # no streak: nothing more
    assert [r.getMessage() for r in caplog.records] == [
        "batch write: failing, retrying",
        "batch write: committed after 500 failure(s)",
    ]
    assert caplog.records[1].ctx["failures"] == 500  # type: ignore[attr-defined]


def test_repeats_of_a_library_line_are_counted_and_summarised_once() -> None:
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Keep()
    repeats = RepeatFilter("t.lib", quiet_s=10.0)
    handler.addFilter(repeats)
    lib, own = logging.getLogger("t.lib.conn"), logging.getLogger("t.own")
    for logger in (lib, own):
        logger.addHandler(handler)
        logger.propagate = False
    try:
        for _ in range(1563):
            lib.error("Unable connect to node with id %s", 1)
        own.warning("ours always pass")
        own.warning("ours always pass")
        repeats.flush()  # not quiet for 10 s yet: nothing
        assert len(seen) == 3
        repeats.flush(now=1e12)
    finally:
        for logger in (lib, own):
            logger.removeHandler(handler)
    assert seen[0] == "Unable connect to node with id 1"
    assert seen[1:3] == ["ours always pass", "ours always pass"]
    assert seen[3].startswith("repeated 1562 more time(s) in ")
    assert seen[3].endswith(": Unable connect to node with id 1")
    assert len(seen) == 4
