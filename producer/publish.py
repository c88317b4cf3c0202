"""Publishing one file: ``started`` record, every row (bulk, bounded window), ``completed``.

Rows are appended to one aiokafka ``BatchBuilder`` per partition (the partition chosen
exactly like the default partitioner: murmur2 of the key), which is several times cheaper per
row than ``send()``; full batches are handed to the producer without awaiting them, and the
delivery futures are awaited in bulk once ``window`` batches are in flight, so memory stays
bounded. The ``completed`` record is written only after every batch was acknowledged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from feed.contract import FileCompleted, FileEvent, FileStarted, encode_file_event
from producer.errors import DeliveryFailedError
from producer.feedfile import FeedFile
from producer.messages import MessageBuilder, is_blank
from producer.reader import CsvReader
from producer.settings import Settings
from producer.topics import ensure_topics

ProgressFn = Callable[[int, int], None]  # (rows so far, bytes read so far)


@dataclass(slots=True)
class Counts:
    """Mutable tallies of one file, readable after an interruption."""

    rows: int = 0  # messages built (rows + malformed)
    malformed: int = 0
    blank: int = 0
    confirmed: int = 0  # messages acknowledged by Kafka


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_counts(feed: FeedFile, counts: Counts, progress: ProgressFn | None = None) -> None:
    """Dry run: read and build every message, send nothing."""
    with feed.path.open("rb") as stream:
        reader = CsvReader(stream)
        builder = MessageBuilder(feed.layout, feed.file_id, feed.sha256)
        for record in reader.records():
            if is_blank(record):
                counts.blank += 1
                continue
            counts.rows += 1
            counts.malformed += builder.build(record).malformed
            if progress is not None and not counts.rows % 4096:
                progress(counts.rows, record.offset)


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> Publisher:
        await ensure_topics(self.settings)
        settings = self.settings
        # Created only once Kafka answered: an unstarted producer warns when collected.
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.require_bootstrap(),
            enable_idempotence=True,
            acks="all",
            compression_type=None if settings.compression == "none" else settings.compression,
            linger_ms=settings.linger_ms,
            max_batch_size=settings.max_batch_size,
            request_timeout_ms=settings.request_timeout_ms,
        )
        try:
            await producer.start()
        except KafkaError as exc:
            await producer.stop()
            raise DeliveryFailedError(f"Kafka at {settings.bootstrap_servers}: {exc}") from exc
        self._producer = producer
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        # stop() flushes what was handed over, so an interrupted run still delivers its sends.
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("Publisher used outside 'async with'")
        return self._producer

    async def partitions_for(self, topic: str) -> set[int]:
        partitions: set[int] = await self.producer.partitions_for(topic)
        return partitions

    async def send_event(self, event: FileEvent) -> None:
        try:
            await self.producer.send_and_wait(
                self.settings.files_topic, encode_file_event(event), key=event.sha256.encode()
            )
        except KafkaError as exc:
            raise DeliveryFailedError(f"files topic {self.settings.files_topic}: {exc}") from exc

    async def publish(
        self, feed: FeedFile, counts: Counts, progress: ProgressFn | None = None
    ) -> float:
        """Send one file; returns its duration in seconds. Raises ``DeliveryFailedError``."""
        started = time.monotonic()
        await self.send_event(
            FileStarted(
                file_id=str(feed.file_id),
                sha256=feed.sha256,
                path=str(feed.path),
                bytes=feed.scan.size,
                headers=list(feed.layout.headers),
                dialect=feed.layout.dialect.value,
                encoding=feed.scan.encoding,
                started_at=now_iso(),
            )
        )
        try:
            await self._send_rows(feed, counts, progress)
        except KafkaError as exc:
            raise DeliveryFailedError(f"topic {self.settings.topic}: {exc}") from exc
        seconds = round(time.monotonic() - started, 3)
        await self.send_event(
            FileCompleted(
                file_id=str(feed.file_id),
                sha256=feed.sha256,
                rows=counts.confirmed,
                malformed=counts.malformed,
                seconds=seconds,
                completed_at=now_iso(),
                encoding=feed.scan.encoding,
                extra={"blank_lines": counts.blank, "path": str(feed.path)},
            )
        )
        return seconds

    async def _send_rows(self, feed: FeedFile, counts: Counts, progress: ProgressFn | None) -> None:
        producer, topic = self.producer, self.settings.topic
        partitions = sorted(await producer.partitions_for(topic))
        n_partitions = len(partitions)
        builders: dict[int, Any] = {}
        sizes: dict[int, int] = {}
        in_flight: list[tuple[asyncio.Future[Any], int]] = []

        async def flush(partition: int) -> None:
            future = await producer.send_batch(builders.pop(partition), topic, partition=partition)
            in_flight.append((future, sizes.pop(partition)))
            if len(in_flight) >= self.settings.window:
                await confirm()

        async def confirm() -> None:
            await asyncio.gather(*(f for f, _ in in_flight))
            counts.confirmed += sum(n for _, n in in_flight)
            in_flight.clear()

        with feed.path.open("rb") as stream:
            reader = CsvReader(stream)
            build = MessageBuilder(feed.layout, feed.file_id, feed.sha256).build
            for record in reader.records():
                if is_blank(record):
                    counts.blank += 1
                    continue
                message = build(record)
                partition = partitions[(murmur2(message.key) & 0x7FFFFFFF) % n_partitions]
                batch = builders.get(partition)
                if batch is None:
                    batch = builders[partition] = producer.create_batch()
                    sizes[partition] = 0
                if (
                    batch.append(
                        timestamp=None,
                        key=message.key,
                        value=message.value,
                        headers=message.headers,
                    )
                    is None
                ):
                    await flush(partition)
                    batch = builders[partition] = producer.create_batch()
                    sizes[partition] = 0
                    # An empty batch takes any one record, however large.
                    batch.append(
                        timestamp=None,
                        key=message.key,
                        value=message.value,
                        headers=message.headers,
                    )
                    if progress is not None:
                        progress(counts.rows, record.offset)
                sizes[partition] += 1
                counts.rows += 1
                counts.malformed += message.malformed
            for partition in list(builders):
                await flush(partition)
            await confirm()
            if progress is not None:
                progress(counts.rows, reader.offset)
