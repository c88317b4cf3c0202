"""DeadLetterSender against a real broker that refuses what the client let through: the
refusal is classified by class, the letter is retried cut, and nothing raises."""

from __future__ import annotations

import os
from typing import Any

import pytest

from consumer.intake.records import Inbound
from consumer.prepare.prepared import Rejection
from consumer.service.topic_limits import max_message_bytes
from consumer.store.dlq import DeadLetterSender, Delivery, Stored
from tests.kafka import create_topics, read_topic

pytestmark = pytest.mark.integration


def _letter(offset: int, value: bytes) -> Rejection:
    message = Inbound("rows", 0, offset, b"k", value, (("vinops-row-no", b"1"),), 0)
    return Rejection(message, "oversized", "too long", "oversized", "oversized", None, None, None)


async def test_broker_refusals_are_per_letter_and_do_not_raise(
    kafka_bootstrap: str, unique_name: Any
) -> None:
    topic = unique_name("dlq")
    await create_topics(kafka_bootstrap, topic, partitions=1, configs={"max.message.bytes": "4000"})
    assert (await max_message_bytes(kafka_bootstrap, [topic]))[topic] == 4000
    # The sender believes the topic takes 1 MB: the broker, not the client, refuses.
    sender = DeadLetterSender(kafka_bootstrap, topic, "c1", max_message_bytes=1_000_000)
    await sender.start()
    try:
        small = _letter(1, b"fits")
        noise = os.urandom(200_000)  # incompressible: lz4 cannot save it
        delivered = await sender.send(
            [small, _letter(2, noise)], {("rows", 0, 2): Stored("f:2", "f:2")}
        )
        # The idempotent producer goes on after a refused batch.
        after = await sender.send([_letter(3, b"after")], {})
    finally:
        await sender.stop()
    assert delivered == {("rows", 0, 1): Delivery.FULL, ("rows", 0, 2): Delivery.UNSENT}
    assert after == {("rows", 0, 3): Delivery.FULL}
    assert [r.value for r in await read_topic(kafka_bootstrap, topic)] == [b"fits", b"after"]
