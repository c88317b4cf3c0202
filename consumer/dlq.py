"""The dead-letter topic: original key, value and headers plus why the consumer refused it.

Records are sent with acks=all and awaited BEFORE the DB transaction that records the
rejection commits, so a crash can only duplicate a dead letter, never lose one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from consumer.logs import ctx
from consumer.prepare import DeadLetter

log = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 2000
_PARTITIONS = 6


def dead_letter_headers(letter: DeadLetter, consumer_name: str) -> list[tuple[str, bytes]]:
    msg = letter.message
    return [
        *msg.headers,
        ("vinops-error-class", letter.error_class.encode()),
        ("vinops-error", letter.error[:_MAX_ERROR_CHARS].encode("utf-8", "replace")),
        ("vinops-reason", letter.reason.encode()),
        ("vinops-consumer", consumer_name.encode()),
        ("vinops-source-topic", msg.topic.encode()),
        ("vinops-source-partition", str(msg.partition).encode()),
        ("vinops-source-offset", str(msg.offset).encode()),
    ]


async def ensure_topic(bootstrap: str, topic: str) -> None:
    """Create the DLQ topic if the broker does not have it (brokers may refuse auto-create)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
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
    def __init__(self, bootstrap: str, topic: str, consumer_name: str) -> None:
        self.topic = topic
        self._consumer_name = consumer_name
        self._producer: Any = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=15000,
            client_id=f"{consumer_name}-dlq",
        )
        self._started = False

    async def start(self) -> None:
        await self._producer.start()
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._producer.stop()

    async def send(self, letters: Sequence[DeadLetter]) -> None:
        """Send and await acks for every letter; raises KafkaError if any is not acked."""
        if not letters:
            return
        futures: Iterable[asyncio.Future[Any]] = [
            await self._producer.send(
                self.topic,
                key=letter.message.key,
                value=letter.message.value,
                headers=dead_letter_headers(letter, self._consumer_name),
            )
            for letter in letters
        ]
        results = await asyncio.gather(*futures, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result if isinstance(result, KafkaError) else KafkaError(str(result))
