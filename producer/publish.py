"""Publishing one file: ``started`` record, every row (bulk, bounded window), ``completed``.

A second process reads and parses the file and builds each row's key and JSON value
(``producer.pipeline``); this one adds the headers, picks the partition exactly like
Kafka's default partitioner (murmur2 of the key, ``producer.partitioner``), appends to one
record batch per partition (several times cheaper per row than ``send()``) and compresses
full batches at a fast level (``producer.batches``). Full batches are handed to the
producer without awaiting them; once ``window`` batches are in flight the oldest is
awaited, so memory stays bounded. The ``completed`` record is written only after every
batch was acknowledged; a publication that stops early leaves an ``aborted`` record.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from feed.contract import (
    DEFAULT_MAX_ROW_BYTES,
    H_ROW_NO,
    FileAborted,
    FileCompleted,
    FileEvent,
    FileStarted,
    RowKind,
    RowMeta,
    digest_header,
    encode_file_event,
)
from producer.batches import CODECS, CompressedBatch
from producer.errors import DeliveryFailedError
from producer.feedfile import FeedFile
from producer.messages import MessageBuilder, is_blank
from producer.partitioner import partition_index
from producer.pipeline import CP1252_FLAG, MALFORMED_FLAG, WorkerError, chunks_of
from producer.reader import CP1252, UTF8, CsvReader
from producer.settings import Settings
from producer.topics import check_kafka_login, ensure_topics

ProgressFn = Callable[[int, int], None]  # (rows so far, bytes read so far)
ABORT_TIMEOUT_S = 5.0


@dataclass(slots=True)
class Counts:
    """Mutable tallies of one file, readable after an interruption."""

    rows: int = 0  # messages built (rows + malformed)
    malformed: int = 0
    oversized: int = 0  # longer than Settings.max_row_bytes: sent, kept raw by the consumer
    blank: int = 0
    confirmed: int = 0  # messages acknowledged by Kafka


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read_counts(
    feed: FeedFile, counts: Counts, progress: ProgressFn | None = None,
    max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
) -> None:  # fmt: skip
    """Dry run: read and build every message, send nothing."""
    with feed.path.open("rb") as stream:
        reader = CsvReader(stream)
        builder = MessageBuilder(feed.layout, feed.file_id, feed.sha256)
        for record in reader.records():
            if is_blank(record):
                counts.blank += 1
                continue
            counts.rows += 1
            message = builder.build(record)
            counts.malformed += message.malformed
            counts.oversized += len(message.value) > max_row_bytes
            if progress is not None and not counts.rows % 4096:
                progress(counts.rows, record.offset)


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> Publisher:
        settings = self.settings
        await check_kafka_login(settings)
        await ensure_topics(settings)
        # Created only once Kafka answered: an unstarted producer warns when collected.
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.require_bootstrap(),
            enable_idempotence=True,
            acks="all",
            compression_type=None if settings.compression == "none" else settings.compression,
            linger_ms=settings.linger_ms,
            max_batch_size=settings.max_batch_size,
            request_timeout_ms=settings.request_timeout_ms,
            **settings.kafka_security.client_options(),
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
        self, feed: FeedFile, counts: Counts, progress: ProgressFn | None = None, *,
        full_snapshot: bool = False,
    ) -> float:  # fmt: skip
        """Send one file; returns its duration in seconds. Raises ``DeliveryFailedError``.

        A publication that does not complete (Ctrl-C, delivery failure, unreadable file)
        leaves an ``aborted`` record, best effort, so that its run is marked failed.
        """
        started = time.monotonic()
        try:
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
                    full_snapshot=full_snapshot,
                )
            )
        except (asyncio.CancelledError, KeyboardInterrupt):
            # Interrupted while the broker acknowledged `started`: it may well be stored.
            await self._abort(feed, counts, "interrupted")
            raise
        try:
            await self._send_rows(feed, counts, progress)
        except KafkaError as exc:
            await self._abort(feed, counts, f"delivery failed: {exc}")
            raise DeliveryFailedError(f"topic {self.settings.topic}: {exc}") from exc
        except WorkerError as exc:
            await self._abort(feed, counts, f"reading failed: {exc}")
            raise DeliveryFailedError(f"{feed.path}: reading failed: {exc}") from exc
        except (asyncio.CancelledError, KeyboardInterrupt):
            await self._abort(feed, counts, "interrupted")
            raise
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
                extra={
                    "blank_lines": counts.blank,
                    "path": str(feed.path),
                    "oversized": counts.oversized,
                },
            )
        )
        return seconds

    async def _abort(self, feed: FeedFile, counts: Counts, reason: str) -> None:
        """Best effort: Kafka may be the very thing that failed, so never wait long."""
        event = FileAborted(
            file_id=str(feed.file_id),
            sha256=feed.sha256,
            rows=counts.confirmed,
            reason=" ".join(reason.split()),
            aborted_at=now_iso(),
        )
        with contextlib.suppress(DeliveryFailedError, KafkaError, TimeoutError):
            await asyncio.wait_for(self.send_event(event), ABORT_TIMEOUT_S)

    def _batch_factory(self) -> Callable[[], Any]:
        codec = self.settings.compression
        if codec in CODECS or codec == "none":
            size = self.settings.max_batch_size
            chosen = None if codec == "none" else codec
            return lambda: CompressedBatch(size, chosen)
        factory: Callable[[], Any] = self.producer.create_batch  # gzip: aiokafka compresses
        return factory

    async def _send_rows(self, feed: FeedFile, counts: Counts, progress: ProgressFn | None) -> None:
        producer, topic, window = self.producer, self.settings.topic, self.settings.window
        max_row_bytes = self.settings.max_row_bytes
        partitions = sorted(await producer.partitions_for(topic))
        n_partitions = len(partitions)
        new_batch = self._batch_factory()
        builders: dict[int, Any] = {}
        sizes: dict[int, int] = {}
        # Oldest first: waiting for the oldest batch only (not the whole window) keeps
        # batches flowing while earlier ones are acknowledged.
        in_flight: deque[tuple[asyncio.Future[Any], int]] = deque()

        async def flush(partition: int) -> None:
            future = await producer.send_batch(builders.pop(partition), topic, partition=partition)
            in_flight.append((future, sizes.pop(partition)))
            while len(in_flight) >= window:
                oldest, n = in_flight.popleft()
                await oldest
                counts.confirmed += n

        # The row-number header is the only one that varies, besides kind and encoding
        # (the chunk's per-record flag): one template per flag, copied per record.
        templates = [
            [
                *RowMeta(
                    file_id=feed.file_id,
                    sha256=feed.sha256,
                    row_no=0,
                    dialect=feed.layout.dialect,
                    kind=RowKind.MALFORMED if flag & MALFORMED_FLAG else RowKind.ROW,
                    encoding=CP1252 if flag & CP1252_FLAG else UTF8,
                ).kafka_headers(),
                digest_header(b""),
            ]
            for flag in range(4)
        ]
        row_at = [name for name, _ in templates[0]].index(H_ROW_NO)
        dialect = str(feed.layout.dialect)
        digest_at = len(templates[0]) - 1

        async with chunks_of(feed.path, feed.layout, feed.file_id, feed.sha256) as chunks:
            async for chunk in chunks:
                for row_no, flag, key, value in zip(
                    chunk.row_nos, chunk.flags, chunk.keys, chunk.values, strict=True
                ):
                    counts.oversized += len(value) > max_row_bytes
                    headers = templates[flag].copy()
                    headers[row_at] = (H_ROW_NO, b"%d" % row_no)
                    # A malformed row's value is its own content; a row's leaves out the
                    # dialect's observation cells (feed.contract.content_of).
                    headers[digest_at] = digest_header(
                        value, "" if flag & MALFORMED_FLAG else dialect
                    )
                    partition = partitions[partition_index(key, n_partitions)]
                    batch = builders.get(partition)
                    if batch is None:
                        batch = builders[partition] = new_batch()
                        sizes[partition] = 0
                    if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
                        await flush(partition)
                        batch = builders[partition] = new_batch()
                        sizes[partition] = 0
                        # An empty batch takes any one record, however large.
                        batch.append(timestamp=None, key=key, value=value, headers=headers)
                    sizes[partition] += 1
                counts.rows += len(chunk.row_nos)
                counts.malformed += chunk.malformed
                counts.blank += chunk.blank
                if progress is not None:
                    progress(counts.rows, chunk.offset)
        for partition in list(builders):
            await flush(partition)
        while in_flight:
            oldest, n = in_flight.popleft()
            await oldest
            counts.confirmed += n
