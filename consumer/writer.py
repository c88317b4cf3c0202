"""Writing one batch: its dead letters first, then one transaction. A DataError splits the
batch in fetch order until the bad message stands alone; that one is dead-lettered and
recorded in audit.parse_errors, with its raw row kept when the database takes it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from consumer import errors
from consumer.dlq import DeadLetterSender
from consumer.logs import ctx
from consumer.metrics import Metrics
from consumer.prepare import DeadLetter, PreparedBatch, prepare, reject
from consumer.records import Inbound
from consumer.sink import BatchOutcome, Sink

log = logging.getLogger(__name__)

Offsets = dict[tuple[str, int], int]
Sent = set[tuple[str, int, int]]  # dead letters acked: not re-sent when a batch is retried


def reject_reason(exc: BaseException) -> str:
    """The parse-error reason of a message the DB refused: by SQLSTATE class, never text."""
    cause = exc.__cause__ or exc.__context__
    sqlstate = str(getattr(cause, "sqlstate", "") or getattr(exc, "sqlstate", "") or "")
    return "bad_value" if sqlstate.startswith("22") else "constraint"


class BatchWriter:
    def __init__(
        self, sink: Sink, dlq: DeadLetterSender, metrics: Metrics, *, row_topic: str,
        files_topic: str,
    ) -> None:  # fmt: skip
        self._sink = sink
        self._dlq = dlq
        self._metrics = metrics
        self._row_topic = row_topic
        self._files_topic = files_topic

    async def write(
        self, messages: Sequence[Inbound], sent: Sent, prepared: PreparedBatch | None = None
    ) -> Offsets:
        """Commit ``messages``; returns the next offsets committed with them."""
        batch = prepared or prepare(
            messages, row_topic=self._row_topic, files_topic=self._files_topic
        )
        try:
            await self._send_dead_letters(batch.dead_letters, sent)
            outcome = await self._sink.write(batch)
        except errors.DataError as exc:
            if len(messages) > 1:
                mid = len(messages) // 2
                log.info(
                    "data error: bisecting", extra=ctx(messages=len(messages), error=str(exc)[:200])
                )
                first = await self.write(messages[:mid], sent)
                second = await self.write(messages[mid:], sent)
                return {
                    k: max(first.get(k, 0), second.get(k, 0)) for k in first.keys() | second.keys()
                }
            reason = reject_reason(exc)
            log.warning(
                "message refused by the database: dead-lettered",
                extra=ctx(topic=messages[0].topic, partition=messages[0].partition,
                          offset=messages[0].offset, reason=reason, error=str(exc)[:300]),
            )  # fmt: skip
            batch = reject(messages, reason=reason, error=exc)
            await self._send_dead_letters(batch.dead_letters, sent)
            try:
                outcome = await self._sink.write(batch)
            except errors.DataError:
                # Even its raw row is refused: record the rejection without it.
                batch = reject(messages, reason=reason, error=exc, keep_raw=False)
                outcome = await self._sink.write(batch)
        self._record(batch, outcome)
        return dict(batch.offsets)

    async def _send_dead_letters(self, letters: Sequence[DeadLetter], sent: Sent) -> None:
        todo = [
            d for d in letters
            if (d.message.topic, d.message.partition, d.message.offset) not in sent
        ]  # fmt: skip
        await self._dlq.send(todo)
        for d in todo:
            sent.add((d.message.topic, d.message.partition, d.message.offset))
            self._metrics.dead_letters.labels(d.reason).inc()

    def _record(self, batch: PreparedBatch, outcome: BatchOutcome) -> None:
        now = time.time()
        m = self._metrics
        m.record_outcome(
            rows=outcome.rows,
            parse_errors=outcome.parse_errors,
            conflicts=outcome.conflicts,
            runs=outcome.runs,
            fields_total=outcome.fields_total,
            fields_unknown=outcome.fields_unknown,
        )
        m.rows_unchanged.inc(batch.unchanged)
        m.commits.inc()
        m.last_commit.set(now)
        if outcome.newest_timestamp_ms is not None:
            m.event_lag.set(max(now - outcome.newest_timestamp_ms / 1000, 0.0))
        for msg in batch.messages:
            m.publish_to_commit.observe(max(now - msg.timestamp_ms / 1000, 0.0))
