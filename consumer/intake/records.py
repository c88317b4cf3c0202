"""One fetched Kafka record, decoupled from aiokafka's type: the original bytes, which the
raw layer and dead letters keep as they came. ``decoder`` makes the typed message of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


# Not frozen: a frozen dataclass sets each field through object.__setattr__, ~5x the cost of a
# plain slots class, paid for every record fetched. Nothing mutates an Inbound after creation.
@dataclass(slots=True)
class Inbound:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int  # producer CreateTime: publish-to-commit latency and event lag


def to_inbound(record: Any) -> Inbound:
    """An aiokafka ConsumerRecord as an ``Inbound``.

    Kafka allows a header without a value (aiokafka gives None): it becomes b"", which the
    contract checks then refuse like any other wrong value, instead of failing the fetch loop.
    """
    headers = tuple(record.headers or ())
    for _, value in headers:
        if value.__class__ is not bytes:
            headers = tuple((k, b"" if v is None else bytes(v)) for k, v in headers)
            break
    return Inbound(
        record.topic, record.partition, record.offset, record.key, record.value, headers,
        int(record.timestamp),
    )  # fmt: skip


def position_of(record: Inbound) -> tuple[str, int, int]:
    return record.topic, record.partition, record.offset
