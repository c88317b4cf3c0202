"""One fetched Kafka record, decoupled from aiokafka's type so the data path stays pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int  # producer CreateTime: publish-to-commit latency and event lag
