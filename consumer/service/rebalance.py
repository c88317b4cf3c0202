"""Rebalance: partitions start where PostgreSQL says, and leave with nothing partial.

The DB (ingest.consumer_offsets, written in each batch's transaction) is the only source of
truth for positions; Kafka's committed offsets are for lag tooling only. aiokafka runs these
callbacks inside the rebalance, and every member finishes ``revoked`` before any member
runs ``assigned``, so flushing in ``revoked`` hands the next owner a consistent position.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import ConsumerRebalanceListener

from consumer.checkpoint.checkpoint import Checkpoint
from consumer.checkpoint.state import State, partition_name, partition_names
from consumer.config import errors
from consumer.config.retry import Backoff
from consumer.intake.batch import Batch
from consumer.observe.logs import ctx

log = logging.getLogger(__name__)


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, state: State, checkpoint: Checkpoint) -> None:
        self._state = state
        self._checkpoint = checkpoint

    async def on_partitions_revoked(self, revoked: Any) -> None:
        state = self._state
        revoked = frozenset(revoked)
        state.joined = False
        for tp in revoked:  # no stale series: this process no longer reads them
            with contextlib.suppress(KeyError):
                state.metrics.consumer_lag.remove(tp.topic, str(tp.partition))
        state.abandon = True  # a batch stuck in retries gives up instead of holding the group
        async with state.lock:
            state.positions.reset({})
            try:
                committed = await self._checkpoint.await_inflight()
            except Exception as exc:  # noqa: BLE001 - the next owner re-reads from DB offsets
                log.warning("in-flight batch failed on revoke", extra=ctx(error=repr(exc)[:200]))
                committed = False
            state.abandon = False
            batch = Batch.of(state.batcher.take())
            # After a batch given up, what was fetched later must not move the offsets past it.
            if batch and committed and not state.past_deadline():
                try:
                    await self._checkpoint.flush_once(batch)
                except Exception as exc:  # noqa: BLE001 - the next owner re-reads from DB offsets
                    log.warning(
                        "flush on revoke failed: batch dropped",
                        extra=ctx(messages=len(batch), error=repr(exc)[:200]),
                    )
        log.info("partitions revoked", extra=ctx(partitions=partition_names(revoked)))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        try:
            await self._position(frozenset(assigned))
        except Exception:
            # aiokafka logs and swallows a failing callback: the partitions would stay
            # unpositioned and every record of them dropped. Exit; a restart re-joins.
            log.exception("positioning assigned partitions failed: exiting")
            self._state.exit_code = 1
            self._state.should_exit.set()

    async def _stored_offsets(self, assigned: frozenset[Any]) -> dict[str, dict[int, int]] | None:
        """The DB offsets of ``assigned`` by topic; None when a stop came while retrying."""
        state = self._state
        by_topic: dict[str, list[int]] = {}
        for tp in assigned:
            by_topic.setdefault(tp.topic, []).append(tp.partition)
        backoff = Backoff(state.settings.retry_base_s, state.settings.retry_cap_s)
        while True:
            try:
                sink = state.require_sink()
                return {
                    topic: await sink.committed_offsets(topic, parts)
                    for topic, parts in by_topic.items()
                }
            except (errors.TransientError, OSError) as exc:
                if state.should_exit.is_set():
                    return None
                log.warning("cannot read DB offsets, retrying", extra=ctx(error=repr(exc)[:200]))
                await asyncio.sleep(backoff.next_delay())

    async def _position(self, assigned: frozenset[Any]) -> None:
        state = self._state
        stored = await self._stored_offsets(assigned)
        if stored is None:
            return  # Kafka offsets never run ahead of the DB: starting there only replays
        async with state.lock:
            positions = {
                tp: stored[tp.topic][tp.partition]
                for tp in assigned
                if tp.partition in stored.get(tp.topic, {})
            }
            fresh = [tp for tp in assigned if tp not in positions]
            if fresh:
                # Explicit offsets, not seek_to_beginning(): its reset is applied lazily.
                positions.update(await state.consumer.beginning_offsets(fresh))
            for tp, offset in positions.items():
                state.consumer.seek(tp, offset)
            # The fetcher starts as soon as the assignment is known, from Kafka's position,
            # while this callback is still reading PostgreSQL: what it handed out before these
            # seeks was never written and will be fetched again from the DB offsets.
            state.batcher.take()
            state.positions.reset(positions)
        state.joined = True
        log.info(
            "partitions assigned",
            extra=ctx(
                partitions=partition_names(assigned),
                db_offsets={partition_name(tp): o for tp, o in positions.items()
                            if tp not in fresh},
                from_beginning=partition_names(fresh),
            ),
        )  # fmt: skip
