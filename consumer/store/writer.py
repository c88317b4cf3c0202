"""Writing one batch: its dead letters first, then one transaction. A DataError splits the
batch in fetch order until the bad message stands alone; that one is dead-lettered and
recorded in audit.parse_errors, with its raw row kept when the database takes it."""

from __future__ import annotations

import collections
import logging
import time

from consumer.config import errors
from consumer.intake.batch import Batch
from consumer.intake.offsets import BatchOffsets
from consumer.observe.logs import ctx
from consumer.observe.metrics import Metrics
from consumer.prepare.prepare import prepare
from consumer.prepare.prepared import PreparedBatch
from consumer.prepare.rejects import reject
from consumer.store.dlq import DeadLetterSender, Delivery, position, stored_of
from consumer.store.params import BatchOutcome
from consumer.store.sink import Sink
from feed.contract import DEFAULT_MAX_ROW_BYTES

log = logging.getLogger(__name__)

Sent = set[tuple[str, int, int]]  # dead letters acked: not re-sent when a batch is retried


def reject_reason(exc: BaseException) -> str:
    """The parse-error reason of a message the DB refused: by SQLSTATE class, never text."""
    cause = exc.__cause__ or exc.__context__
    sqlstate = str(getattr(cause, "sqlstate", "") or getattr(exc, "sqlstate", "") or "")
    return "bad_value" if sqlstate.startswith("22") else "constraint"


class BatchWriter:
    def __init__(
        self, sink: Sink, dlq: DeadLetterSender, metrics: Metrics, *,
        max_row_bytes: int = DEFAULT_MAX_ROW_BYTES,
    ) -> None:  # fmt: skip
        self._sink = sink
        self._dlq = dlq
        self._metrics = metrics
        self._max_row_bytes = max_row_bytes

    async def write(
        self, batch: Batch, sent: Sent, prepared: PreparedBatch | None = None
    ) -> BatchOffsets:
        """Commit ``batch``; returns the offsets committed with it."""
        ready = prepared or prepare(batch, max_row_bytes=self._max_row_bytes)
        try:
            await self._send_dead_letters(ready, sent)
            outcome = await self._sink.write(ready)
        except errors.DataError as exc:
            if len(batch) > 1:
                log.info(
                    "data error: bisecting", extra=ctx(messages=len(batch), error=str(exc)[:200])
                )
                # Each half is assembled again from what this batch decoded and mapped, and
                # from its look-up: nothing is decoded, mapped or looked up twice.
                halves = [
                    (half, prepare(half, known=ready.known, contents=ready.contents,
                                   max_row_bytes=self._max_row_bytes))
                    for half in batch.halves()
                ]  # fmt: skip
                done = [await self.write(half, sent, again) for half, again in halves]
                return done[0].merged(done[1])
            reason = reject_reason(exc)
            record = batch.messages[0].record
            log.warning(
                "message refused by the database: dead-lettered",
                extra=ctx(topic=record.topic, partition=record.partition, offset=record.offset,
                          reason=reason, error=str(exc)[:300]),
            )  # fmt: skip
            ready = reject(batch, reason=reason, error=exc)
            await self._send_dead_letters(ready, sent)
            try:
                outcome = await self._sink.write(ready)
            except errors.DataError:
                # Even its raw row is refused: record the rejection without it.
                ready = reject(batch, reason=reason, error=exc, keep_raw=False)
                outcome = await self._sink.write(ready)
        self._record(ready, outcome)
        return batch.offsets

    async def _send_dead_letters(self, batch: PreparedBatch, sent: Sent) -> None:
        todo = [d for d in batch.rejections if position(d) not in sent]
        if not todo:
            return
        stored = stored_of(batch)
        delivered = await self._dlq.send(todo, stored)
        waiting = 0
        for d in todo:
            how = delivered[position(d)]
            if how is Delivery.TRANSIENT:
                waiting += 1
                continue
            sent.add(position(d))
            if how is not Delivery.UNSENT:
                self._metrics.dead_letters.labels(d.letter_reason).inc()
            if how is not Delivery.FULL:
                self._metrics.dead_letters_incomplete.labels(how.value).inc()
                where = stored.get(position(d))
                log.warning(
                    "dead letter not sent in full: the database keeps the message",
                    extra=ctx(
                        delivery=how.value, reason=d.letter_reason, topic=d.record.topic,
                        partition=d.record.partition, offset=d.record.offset,
                        value_bytes=len(d.record.value or b""), dlq_limit=self._dlq.limit,
                        parse_error_key=where.parse_error_key if where else None,
                        raw_row=where.raw_row if where else None,
                    ),
                )  # fmt: skip
        if waiting:
            # Acked letters stay in ``sent``: the retry sends only these again.
            raise errors.TransientError(f"{waiting} dead letter(s) not acknowledged: broker away")

    def _record(self, batch: PreparedBatch, outcome: BatchOutcome) -> None:
        now = time.time()
        m = self._metrics
        m.record_outcome(outcome)
        m.rows_unchanged.inc(batch.unchanged)
        if batch.digest_mismatches:
            m.digest_mismatches.inc(batch.digest_mismatches)
            log.warning(
                "digest header disagrees with the value: rows processed in full",
                extra=ctx(rows=batch.digest_mismatches, offsets=str(batch.offsets)[:200]),
            )
        m.commits.inc()
        m.last_commit.set(now)
        if outcome.newest_timestamp_ms is not None:
            m.event_lag.set(max(now - outcome.newest_timestamp_ms / 1000, 0.0))
        sent_at = collections.Counter(msg.record.timestamp_ms for msg in batch.batch.messages)
        m.publish_to_commit.observe_counts(
            (max(now - ms / 1000, 0.0), count) for ms, count in sent_at.items()
        )
