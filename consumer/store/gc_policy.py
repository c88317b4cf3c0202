"""Garbage collection for a batch consumer: the start-up heap frozen, the cyclic collector
run on a clock instead of on allocation counts.

The data path allocates ~17 container objects per record (aiokafka's record and its headers,
the ``Inbound``, the reference, the COPY row) and keeps two or three batches of them alive
while they are fetched, prepared and written. CPython's allocation-driven collector
(thresholds 700/10/10) then scanned those live batches again and again: on a repeated
snapshot, 29 full and 320 middle collections took 4.5 s of the consumer's 16 s of CPU, and
found next to nothing to free (BENCHMARKS.md). Reference counting frees a batch the moment
it is written: the data path makes no reference cycles, which a unit test keeps true.

So: after start-up, the heap built so far (modules, settings, clients) is frozen, automatic
collection is off, and a full collection runs every ``interval_s`` seconds, which frees what
cycles the rest of the process (asyncio, exceptions) makes. ``interval_s`` 0 keeps Python's
own collector.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

from consumer.observe.logs import ctx

log = logging.getLogger(__name__)


def start(interval_s: float) -> bool:
    """Freeze what start-up built and turn automatic collection off; False when the
    interval is 0 (Python's own collector stays in charge)."""
    if interval_s <= 0:
        return False
    gc.collect()
    gc.freeze()
    gc.disable()
    return True


def stop() -> None:
    """Python's own collector again (tests and embedders start more than one service)."""
    gc.enable()
    gc.unfreeze()


async def collect_every(interval_s: float) -> None:
    """Run in a background task for as long as the service lives."""
    while True:
        await asyncio.sleep(interval_s)
        started = time.perf_counter()
        freed = gc.collect()
        seconds = round(time.perf_counter() - started, 4)
        log.debug("garbage collected", extra=ctx(freed=freed, seconds=seconds))
