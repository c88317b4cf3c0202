"""The dead-letter topic: original key, value and headers plus why the consumer refused it.

Records are sent with acks=all and awaited BEFORE the DB transaction that records the
rejection commits, so a crash can only duplicate a dead letter, never lose one.

A letter the topic cannot take (larger than its max.message.bytes, read at start) is sent
cut: the same headers, the first ``CUT_VALUE_BYTES`` of the value, the original size, its
SHA-256 and where the database keeps it in full (audit.parse_errors, raw.rows). A letter
Kafka refuses even so (errors.LetterRefusedError and its kin) is kept in the database only:
one bad row never stops the batch. Only a broker that is away makes the batch wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from consumer.config import errors
from consumer.intake.records import position_of
from consumer.observe.logs import ctx
from consumer.prepare.prepared import PreparedBatch, Rejection
from feed.kafka_security import KafkaSecurity

log = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 2000
_PARTITIONS = 6
# A cut letter carries at most this much of the original value (less if the topic's
# limit leaves less room): enough to recognise the row, the rest is in the database.
CUT_VALUE_BYTES = 64 * 1024
_BATCH_BYTES = 16 * 1024  # aiokafka's default max_batch_size

Position = tuple[str, int, int]  # (topic, partition, offset) of the refused message
Header = tuple[str, bytes]
Record = tuple[Rejection, bytes | None, list[Header]]  # a letter as sent: value, headers


class Delivery(enum.Enum):
    FULL = "full"
    TRUNCATED = "truncated"  # a cut letter went; the full message is in the database
    UNSENT = "unsent"  # Kafka refused even the cut letter; the database holds it
    TRANSIENT = "transient"  # the broker is away: send again with the batch's retry


@dataclass(frozen=True, slots=True)
class Stored:
    """Where the database keeps a dead-lettered message in full."""

    parse_error_key: str | None = None  # audit.parse_errors.dedup_key
    raw_row: str | None = None  # raw.rows '{file_id}:{row_no}'

    def headers(self) -> list[Header]:
        out: list[Header] = []
        if self.parse_error_key is not None:
            out.append(("vinops-stored-parse-error", self.parse_error_key.encode()))
        if self.raw_row is not None:
            out.append(("vinops-stored-raw-row", self.raw_row.encode()))
        return out


def stored_of(batch: PreparedBatch) -> dict[Position, Stored]:
    """Where this batch's transaction keeps each dead-lettered message in full."""
    raw = {position_of(r.record): f"{r.meta.file_id}:{r.meta.row_no}" for r in batch.rows}
    out: dict[Position, Stored] = {}
    for p in batch.rejections:
        at = position_of(p.record)
        out[at] = Stored(parse_error_key=p.dedup_key, raw_row=raw.get(at))
    return out


def position(letter: Rejection) -> Position:
    return position_of(letter.record)


def dead_letter_headers(letter: Rejection, consumer_name: str) -> list[Header]:
    msg = letter.record
    return [
        *msg.headers,
        ("vinops-error-class", letter.error_class.encode()),
        ("vinops-error", letter.error[:_MAX_ERROR_CHARS].encode("utf-8", "replace")),
        ("vinops-reason", letter.letter_reason.encode()),
        ("vinops-consumer", consumer_name.encode()),
        ("vinops-source-topic", msg.topic.encode()),
        ("vinops-source-partition", str(msg.partition).encode()),
        ("vinops-source-offset", str(msg.offset).encode()),
    ]


def record_size(key: bytes | None, value: bytes | None, headers: list[Header]) -> int:
    """The size aiokafka checks against max_request_size (an upper bound, uncompressed)."""
    size: int = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, list(headers))
    return size


def cut_letter(
    letter: Rejection, headers: list[Header], stored: Stored, limit: int
) -> tuple[bytes, list[Header]] | None:
    """The value cut to fit ``limit`` and the headers that say so; None if nothing fits."""
    value = letter.record.value or b""
    extra = [
        ("vinops-value-bytes", str(len(value)).encode()),
        ("vinops-value-sha256", hashlib.sha256(value).hexdigest().encode()),
        *stored.headers(),
    ]
    # The kept length is a header too: measure with the widest it can be.
    probe = [*headers, *extra, ("vinops-value-cut-to", str(CUT_VALUE_BYTES).encode())]
    room = limit - record_size(letter.record.key, b"", probe)
    if room < 0:
        return None
    kept = value[: min(CUT_VALUE_BYTES, room)]
    return kept, [*headers, *extra, ("vinops-value-cut-to", str(len(kept)).encode())]


async def ensure_topic(bootstrap: str, topic: str, security: KafkaSecurity | None = None) -> None:
    """Create the DLQ topic if the broker does not have it (brokers may refuse auto-create)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, **(security or KafkaSecurity()).client_options()
    )
    await admin.start()
    try:
        if topic in await admin.list_topics():
            return
        try:
            await admin.create_topics(
                [NewTopic(topic, num_partitions=_PARTITIONS, replication_factor=1)]
            )
            log.info("created dead-letter topic", extra=ctx(topic=topic))
        except TopicAlreadyExistsError:
            pass  # another consumer process won the race
    finally:
        await admin.close()


class DeadLetterSender:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        consumer_name: str,
        *,
        max_message_bytes: int,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.topic = topic
        self.limit = max_message_bytes
        self._bootstrap = bootstrap
        self._security = security or KafkaSecurity()
        self._consumer_name = consumer_name
        self._producer: Any = self._new_producer()
        self._started = False
        # A batch the broker refused leaves an idempotent producer's sequence numbers
        # behind (every later send: OutOfOrderSequenceNumber); the next send starts anew.
        self._broken = False

    def _new_producer(self) -> Any:
        return AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=15000,
            client_id=f"{self._consumer_name}-dlq",
            # Like the row producer: a long value shrinks a lot, and the broker checks the
            # compressed batch. The client checks each record uncompressed against
            # max_request_size, so a letter it lets through always fits the topic.
            compression_type="lz4",
            max_request_size=self.limit,
            max_batch_size=min(_BATCH_BYTES, self.limit),
            **self._security.client_options(),
        )

    async def start(self) -> None:
        try:
            await self._producer.start()
        except BaseException:
            # A producer that failed to start still holds its client: close it.
            with contextlib.suppress(Exception):
                await self._producer.stop()
            raise
        self._started = True
        self._broken = False

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._producer.stop()

    async def _renew(self) -> None:
        old, self._producer = self._producer, self._new_producer()
        with contextlib.suppress(Exception):
            await old.stop()
        self._started = False
        await self.start()

    async def send(
        self, letters: Sequence[Rejection], stored: Mapping[Position, Stored]
    ) -> dict[Position, Delivery]:
        """Send every letter, cut if it does not fit; how each one went (never raises for
        one letter: a refusal is reported as UNSENT, a broker away as TRANSIENT)."""
        outcome: dict[Position, Delivery] = {}
        cut: list[Rejection] = []
        full: list[Record] = []
        for letter in letters:
            headers = dead_letter_headers(letter, self._consumer_name)
            if record_size(letter.record.key, letter.record.value, headers) <= self.limit:
                full.append((letter, letter.record.value, headers))
            else:
                cut.append(letter)
        for letter, _ in await self._deliver(full, Delivery.FULL, outcome):
            cut.append(letter)  # refused as it is: try it cut
        todo: list[Record] = []
        for letter in cut:
            headers = dead_letter_headers(letter, self._consumer_name)
            fitted = cut_letter(letter, headers, stored.get(position(letter), Stored()), self.limit)
            if fitted is None:
                outcome[position(letter)] = Delivery.UNSENT
            else:
                todo.append((letter, *fitted))
        for letter, error in await self._deliver(todo, Delivery.TRUNCATED, outcome):
            outcome[position(letter)] = Delivery.UNSENT
            log.warning(
                "dead letter refused by Kafka: kept in the database only",
                extra=ctx(topic=self.topic, error=str(error)[:300]),
            )
        return outcome

    async def _deliver(
        self, records: Sequence[Record], acked: Delivery, outcome: dict[Position, Delivery]
    ) -> list[tuple[Rejection, errors.IngestError]]:
        """Send ``records``: an acked letter is ``acked`` in ``outcome``, one whose broker is
        away TRANSIENT; the letters Kafka refused come back with their error."""
        refused: list[tuple[Rejection, errors.IngestError]] = []
        for letter, result in await self._send_all(records):
            if result is None:
                outcome[position(letter)] = acked
            elif isinstance(result, errors.TransientError):
                outcome[position(letter)] = Delivery.TRANSIENT
            else:
                refused.append((letter, result))
        return refused

    async def _send_all(
        self, records: Sequence[Record]
    ) -> list[tuple[Rejection, errors.IngestError | None]]:
        """Send all, then await every ack; each letter with None (acked) or its error."""
        if not records:
            return []
        if self._broken:
            try:
                await self._renew()
            except Exception as exc:  # noqa: BLE001 - the broker is away: every letter waits
                error = errors.translate_kafka(exc)
                return [(letter, error) for letter, _, _ in records]
        pending: list[tuple[Rejection, asyncio.Future[Any] | errors.IngestError]] = []
        for letter, value, headers in records:
            try:
                future = await self._producer.send(
                    self.topic, key=letter.record.key, value=value, headers=headers
                )
            except Exception as exc:  # noqa: BLE001 - classified below, per letter
                pending.append((letter, errors.translate_kafka(exc)))
            else:
                pending.append((letter, future))
        results: list[tuple[Rejection, errors.IngestError | None]] = []
        for letter, sent in pending:
            if isinstance(sent, errors.IngestError):
                results.append((letter, sent))
                continue
            try:
                await sent
            except Exception as exc:  # noqa: BLE001 - classified, per letter
                error = errors.translate_kafka(exc)
                self._broken = self._broken or not error.retriable
                results.append((letter, error))
            else:
                results.append((letter, None))
        return results
