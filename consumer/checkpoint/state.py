"""What the parts of a running consumer share: the Kafka consumer, the sink, the batch being
filled and the one being written, and the flags that stop, pause or abandon work.

One object, created by the service and handed to the checkpoint, rebalance and health parts;
data only (the checkpoint owns the batches in flight); each field says who sets it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from consumer.config.settings import Settings
from consumer.intake.batcher import Batcher
from consumer.intake.messages import Message
from consumer.intake.positions import Positions
from consumer.observe.metrics import Metrics
from consumer.store.sink import Sink
from consumer.store.writer import BatchWriter


@dataclass(eq=False)
class State:
    settings: Settings
    metrics: Metrics
    batcher: Batcher[Message]
    # Set by a stop signal, a failed assignment or --exit-when-idle: the main loop ends.
    should_exit: asyncio.Event = field(default_factory=asyncio.Event)
    # One writer at a time: the main loop or a rebalance callback.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set by the seeks on assignment, advanced as records are accepted (positions.py).
    positions: Positions = field(default_factory=Positions)
    consumer: Any = None  # AIOKafkaConsumer, set by start()
    sink: Sink | None = None  # set by start()
    writer: BatchWriter | None = None  # set by start()
    exit_deadline: float | None = None  # drain until then once a stop is requested
    abandon: bool = False  # a revoke: a batch stuck in retries gives up
    joined: bool = False  # partitions assigned and positioned (rebalance.py)
    retrying: str | None = None  # the transient failure a batch is retrying on, for /readyz
    last_record_at: float = field(default_factory=time.monotonic)
    exit_code: int = 0

    def past_deadline(self) -> bool:
        return self.exit_deadline is not None and time.monotonic() > self.exit_deadline

    def require_sink(self) -> Sink:
        assert self.sink is not None  # noqa: S101 - set in start(), before any callback runs
        return self.sink

    def require_writer(self) -> BatchWriter:
        assert self.writer is not None  # noqa: S101 - set in start()
        return self.writer


def partition_name(tp: Any) -> str:
    return f"{tp.topic}:{tp.partition}"


def partition_names(tps: Any) -> list[str]:
    return sorted(map(partition_name, tps))
