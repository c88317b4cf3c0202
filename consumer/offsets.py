"""Rebalance listener: partitions start where PostgreSQL says, and leave with nothing partial.

The DB (ingest.consumer_offsets, written in each batch's transaction) is the only source of
truth for positions; Kafka's committed offsets are for lag tooling only. aiokafka runs these
callbacks inside the rebalance, and every member finishes ``revoked`` before any member
runs ``assigned``, so flushing in ``revoked`` hands the next owner a consistent position.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRebalanceListener

Callback = Callable[[frozenset[Any]], Awaitable[None]]


class DbOffsetsListener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, on_revoked: Callback, on_assigned: Callback) -> None:
        self._on_revoked = on_revoked
        self._on_assigned = on_assigned

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._on_revoked(frozenset(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self._on_assigned(frozenset(assigned))
