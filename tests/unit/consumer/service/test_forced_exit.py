"""A second stop signal sets the force flag: the wait in progress is cancelled at once and
later waits are cut short, instead of ``os._exit`` skipping the clean-up."""

from __future__ import annotations

import asyncio

import pytest

from consumer.config.settings import Settings
from consumer.service.service import FORCED_EXIT_CODE, Service


def _service() -> Service:
    return Service(Settings(kafka_bootstrap="k:1", pg_dsn="postgresql://u:p@h/db"))


async def _stuck(cancelled: asyncio.Event) -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        cancelled.set()
        raise


async def test_the_first_signal_drains_the_second_cancels_the_wait() -> None:
    service = _service()
    cancelled = asyncio.Event()
    waiting = asyncio.create_task(service._cut(_stuck(cancelled), None))
    await asyncio.sleep(0.01)
    service.request_exit()
    await asyncio.sleep(0.01)
    assert not waiting.done()  # a first signal lets the drain go on
    assert service.exit_code == 0
    service.request_exit()
    with pytest.raises(TimeoutError):
        await waiting
    assert cancelled.is_set()
    assert service.forced
    assert service.exit_code == FORCED_EXIT_CODE


async def test_once_forced_a_close_step_is_cut_short_and_a_quick_one_completes() -> None:
    service = _service()
    service.request_exit()
    service.request_exit()
    service.request_exit()  # a third signal changes nothing
    cancelled = asyncio.Event()
    with pytest.raises(TimeoutError):
        await service._cut(_stuck(cancelled), 3600)
    assert cancelled.is_set()
    await service._cut(asyncio.sleep(0), 3600)  # what finishes in time is awaited normally


async def test_stop_after_a_forced_exit_still_logs_the_totals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = _service()
    service.request_exit()
    service.request_exit()
    with caplog.at_level("INFO", logger="consumer.service.service"):
        await service.stop()
    assert [r for r in caplog.records if r.getMessage() == "consumer stopped"]
